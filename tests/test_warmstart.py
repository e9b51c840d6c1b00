"""The warm server (aiddeserts.warmstart): a job's script runs in a fork of a process that has
imported the libraries, passes its streams, status, folder and environment through, stops when
its job is cancelled, and leaves the pipeline's outputs byte for byte the same."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run_snakemake
from test_cli import aiddeserts, write_config

from aiddeserts import warmstart

JOB = textwrap.dedent("""\
    import os, sys, time
    from aiddeserts.warmstart import hand_off

    hand_off()
    from aiddeserts import warmstart

    print("in", "server" if warmstart._in_server_child else "own process",
          "numpy preloaded" if "numpy" in sys.modules else "nothing preloaded")
    print("cwd", os.getcwd(), "env", os.environ.get("JOB_VALUE"), "argv", sys.argv[1:],
          "umask", oct(os.umask(0)))
    print("stdin", sys.stdin.read().strip(), "parent", os.getppid())
    import gc
    print("gc", "on" if gc.isenabled() else "off",
          "frozen" if gc.get_freeze_count() else "unfrozen")
    print("to stderr", file=sys.stderr)
    Path = __import__("pathlib").Path
    Path("pid").write_text(str(os.getpid()))
    action = sys.argv[1]
    if action == "sleep":
        time.sleep(60)
    if action == "message":
        raise SystemExit("aiddeserts: a message for the user")
    if action == "error":
        raise RuntimeError("a bug")
    raise SystemExit(int(action))
    """)


def _wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def server(tmp_path):
    socket_path, handle = warmstart.start_server(tmp_path / "server.log")
    assert _wait(lambda: os.path.exists(socket_path))
    yield socket_path, handle, tmp_path / "server.log"
    warmstart.stop_server(handle)


def _job(tmp_path: Path, socket_path: str | None, *args: str, stdin: str = "hello"
         ) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    script.write_text(JOB)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    env = {**os.environ, "JOB_VALUE": "seven"}
    env.pop(warmstart.SOCKET_ENV, None)
    if socket_path:
        env[warmstart.SOCKET_ENV] = socket_path
    return subprocess.run([sys.executable, str(script), *args], cwd=work, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, umask=0o027)


def test_a_job_runs_in_a_fork_of_the_server_with_its_streams_folder_and_status(tmp_path, server):
    socket_path, _, log = server
    result = _job(tmp_path, socket_path, "7")
    assert result.returncode == 7
    assert "in server numpy preloaded" in result.stdout
    # The server's objects are frozen before the fork, so the job's collector skips them.
    assert "gc on frozen" in result.stdout
    assert f"cwd {tmp_path / 'work'} env seven argv ['7'] umask 0o27" in result.stdout
    # The fork's parent is the server, not this test (which started the job's own process).
    assert "stdin hello parent" in result.stdout
    assert f"parent {os.getpid()}" not in result.stdout
    assert result.stderr.strip() == "to stderr"
    # The server's log names the script, no data.
    assert _wait(lambda: "job.py" in log.read_text() and "exited 7" in log.read_text())
    assert "hello" not in log.read_text() and "seven" not in log.read_text()


def test_the_log_gives_when_a_job_ended_not_when_the_next_one_came(tmp_path, server):
    """The server's loop wakes when a job ends (SIGCHLD), so the log's time for a job is its
    own even with no job after it: no longer than the job's process took from its start."""
    socket_path, _, log = server
    assert _wait(lambda: "ready in" in log.read_text())  # from here its loop sleeps up to 1 s
    started = time.perf_counter()
    assert _job(tmp_path, socket_path, "0").returncode == 0
    whole_job = time.perf_counter() - started
    assert _wait(lambda: "exited 0" in log.read_text())
    took = float(re.search(r"exited 0 after ([\d.]+) s", log.read_text())[1])
    assert took <= whole_job


def test_exit_messages_and_tracebacks_come_out_as_from_python(tmp_path, server):
    socket_path, _, _ = server
    message = _job(tmp_path, socket_path, "message")
    assert message.returncode == 1
    assert message.stderr.strip().endswith("aiddeserts: a message for the user")
    error = _job(tmp_path, socket_path, "error")
    assert error.returncode == 1
    assert "Traceback" in error.stderr and "RuntimeError: a bug" in error.stderr
    assert _job(tmp_path, socket_path, "0").returncode == 0


def test_without_a_server_the_script_runs_in_its_own_process(tmp_path):
    for socket_path in (None, str(tmp_path / "gone" / "jobs.sock")):
        result = _job(tmp_path, socket_path, "0")
        assert result.returncode == 0
        assert "in own process nothing preloaded" in result.stdout
        assert "gc on unfrozen" in result.stdout
        assert f"parent {os.getpid()}" in result.stdout


def test_a_cancelled_job_stops_its_fork(tmp_path, server):
    socket_path, _, _ = server
    script = tmp_path / "job.py"
    script.write_text(JOB)
    (tmp_path / "work").mkdir()
    env = {**os.environ, warmstart.SOCKET_ENV: socket_path}
    job = subprocess.Popen([sys.executable, str(script), "sleep"], cwd=tmp_path / "work",
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    pid_file = tmp_path / "work" / "pid"
    assert _wait(lambda: pid_file.exists() and pid_file.read_text())
    fork = int(pid_file.read_text())
    assert fork != job.pid and _alive(fork)
    job.send_signal(signal.SIGKILL)  # as Snakemake stops a job's process
    job.wait()
    assert _wait(lambda: not _alive(fork)), "the job's fork outlived its cancelled job"


HIDDEN_SITECUSTOMIZE = "import os\nopen(os.environ['HIDDEN_MARK'], 'w').write(str(os.getpid()))\n"


def _snakemake_job(tmp_path: Path, socket_path: str, body: str) -> subprocess.CompletedProcess:
    """Run `body` as Snakemake runs a job's script (.snakemake/scripts/tmp….py), with the
    variables the run sets for its jobs, over a PYTHONPATH holding another sitecustomize."""
    work = tmp_path / "work"
    scripts = work / ".snakemake" / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    script = scripts / "tmpabc123.some_rule.py"
    script.write_text(body)
    hidden = tmp_path / "hidden"
    hidden.mkdir(exist_ok=True)
    (hidden / "sitecustomize.py").write_text(HIDDEN_SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), *sys.path[1:]]),
           "HIDDEN_MARK": str(tmp_path / "hidden_ran")}
    env.pop(warmstart.SOCKET_ENV, None)
    env.update(warmstart.job_environment(socket_path, env))
    assert env["PYTHONPATH"].startswith(warmstart.JOB_HOOK_FOLDER + os.pathsep + str(hidden))
    return subprocess.run([sys.executable, str(script.relative_to(work))], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_job_script_is_handed_over_as_python_starts(tmp_path, server):
    socket_path, _, log = server
    result = _snakemake_job(tmp_path, socket_path, textwrap.dedent("""\
        import os, sys
        from aiddeserts import warmstart
        print("first line in", "server" if warmstart._in_server_child else "own process",
              os.getpid())
        raise SystemExit(5)
        """))
    assert result.returncode == 5, result.stderr
    place, pid = result.stdout.split()[-2:]
    assert place == "server" and int(pid) != os.getpid()
    # The sitecustomize the hook hides ran first, in the job's own process.
    hidden_pid = int((tmp_path / "hidden_ran").read_text())
    assert hidden_pid != int(pid)
    assert _wait(lambda: "tmpabc123.some_rule.py" in log.read_text())
    assert "some_rule.py at +" in log.read_text() and ", from its start" in log.read_text()


def test_when_the_hook_finds_no_server_the_script_runs_and_does_not_wait_again(tmp_path):
    folder = tmp_path / "starting"  # the server's folder, but its socket never appears
    folder.mkdir()
    result = _snakemake_job(tmp_path, str(folder / "jobs.sock"), textwrap.dedent("""\
        from aiddeserts import warmstart
        assert warmstart._tried and not warmstart._in_server_child
        def no_second_wait(seconds):
            raise AssertionError("hand_off waited for the server a second time")
        warmstart.time.sleep = no_second_wait
        warmstart.hand_off()
        print("ran in its own process")
        """))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ran in its own process"
    assert (tmp_path / "hidden_ran").exists()


def test_a_script_not_written_by_snakemake_is_left_to_itself():
    assert warmstart.is_job_script("/w/.snakemake/scripts/tmpk1.classify_tracts.py")
    assert warmstart.is_job_script(".snakemake/scripts/tmpk1.classify_tracts.py")
    for path in ("/w/scripts/classify.py", "/w/.snakemake/scripts/notes.txt", "-c", "",
                 "/w/.snakemake/log/x.py"):
        assert not warmstart.is_job_script(path)


def test_the_run_end_cancels_snakemakes_rescheduling_timers():
    import threading
    from types import SimpleNamespace

    from snakemake.scheduling.job_scheduler import JobScheduler

    scheduler = SimpleNamespace(_open_jobs=threading.Semaphore(0))
    JobScheduler._schedule_reevalutation(scheduler, 60)  # Snakemake's own code starts it
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
    assert timers
    assert warmstart.cancel_rescheduling_timers() >= 1
    for timer in timers:
        timer.join(5)
        assert not timer.is_alive()
    assert not scheduler._open_jobs.acquire(blocking=False)  # cancelled, not fired
    other = threading.Timer(60, lambda: None)  # anyone else's timer is left alone
    other.start()
    try:
        assert warmstart.cancel_rescheduling_timers() == 0 and other.is_alive()
    finally:
        other.cancel()


def test_the_server_stops_when_its_run_ends_without_stopping_it(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import time
        from aiddeserts import warmstart
        socket_path, handle = warmstart.start_server({str(tmp_path / 'server.log')!r})
        print(handle[0].pid, socket_path, flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    pid, socket_path = owner.stdout.readline().split()
    assert _wait(lambda: os.path.exists(socket_path))
    owner.kill()  # Snakemake killed: no onsuccess/onerror hook runs
    owner.wait()
    assert _wait(lambda: not os.path.exists(os.path.dirname(socket_path)))  # its folder too
    assert "stopped after 0 jobs" in (tmp_path / "server.log").read_text()
    assert _wait(lambda: not _alive(int(pid)) or _zombie(int(pid)))


def test_a_server_started_before_snakemake_serves_once_its_run_takes_it(tmp_path):
    """`aiddeserts run` starts the server first; the run's onstart confirms it (naming the
    log, from the server's start) and its end stops it."""
    variables, descriptor, early = warmstart.start_early()
    adopted = warmstart.adopt_early(dict(variables))  # as the Snakefile's onstart does
    assert adopted is not None
    socket_path, handle = adopted
    assert _wait(lambda: os.path.exists(socket_path))
    log = tmp_path / "logs" / "warm_server.log"
    warmstart.confirm_early(handle, log, ["json"])
    result = _job(tmp_path, socket_path, "3")
    assert result.returncode == 3 and "in server numpy preloaded" in result.stdout
    warmstart.stop_server(handle)  # the run's end: only asks
    warmstart.end_early(early)  # `aiddeserts run`, once Snakemake has ended: waits
    assert early[0].returncode == 0
    text = log.read_text()
    assert text.index("ready in") < text.index("taken by its run") < text.index("job.py")
    assert "stopped after 1 jobs" in text
    assert not os.path.exists(os.path.dirname(socket_path))


def test_a_server_started_before_snakemake_that_no_run_takes_writes_nothing(tmp_path):
    variables, descriptor, early = warmstart.start_early()
    socket_path = variables[warmstart.EARLY_ENV].partition(os.pathsep)[2]
    assert _wait(lambda: os.path.exists(socket_path))
    os.close(descriptor)  # Snakemake ended without a job to run (or before its onstart)
    warmstart.end_early(early, timeout=10)
    assert early[0].returncode == 0
    assert not os.path.exists(os.path.dirname(socket_path))
    # A variable without an inherited descriptor is no server.
    assert warmstart.adopt_early(dict(variables)) is None


def test_a_server_whose_temporary_folder_is_too_deep_for_a_socket_listens_in_tmp(
        tmp_path, monkeypatch):
    """A TMPDIR deeper than a socket path may be (a cluster's scratch space) used to stop
    every run with a traceback: the server's socket now goes to /tmp; and where no folder can
    be made at all, or the server is gone before its run takes it, the run goes on without."""
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    socket_path, handle = warmstart.start_server(tmp_path / "server.log")
    assert socket_path.startswith("/tmp/aiddeserts-warm-"), socket_path
    assert _wait(lambda: os.path.exists(socket_path))
    result = _job(tmp_path, socket_path, "0")
    assert result.returncode == 0 and "in server" in result.stdout
    warmstart.stop_server(handle)

    variables, descriptor, early = warmstart.start_early()
    socket_path, adopted = warmstart.adopt_early(dict(variables))
    assert socket_path.startswith("/tmp/aiddeserts-warm-")
    early[0].kill()  # gone before the run takes it
    early[0].wait()
    assert warmstart.confirm_early(adopted, tmp_path / "logs" / "warm.log", []) is False
    warmstart.stop_server(adopted)
    warmstart.end_early(early)

    monkeypatch.setattr(warmstart, "SOCKET_PATH_MAX", 10)  # no folder can hold the socket
    assert warmstart.start_server(tmp_path / "server.log") is None
    assert warmstart.start_early() is None


def test_aiddeserts_run_hands_its_early_server_to_the_run(tmp_path, tiny_region):
    """... also with a TMPDIR too deep for the server's socket path."""
    del tiny_region["regions"]["tiny"]["survey"]
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2",
                        env={"TMPDIR": str(deep)})
    assert result.returncode == 0, result.stderr[-3000:]
    served = (work / "logs" / "warm_server.log").read_text()
    assert "started before Snakemake, taken by its run" in served, served
    runs = [line for line in served.splitlines() if " runs " in line]
    assert len(runs) > 10 and all(line.endswith(", from its start") for line in runs), served
    assert "exited 1" not in served and "stopped after" in served


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def _run_independent(path: Path) -> Path:
    """history/<run time>/x as history/RUN/x: the run's folder is named by its time."""
    parts = path.parts
    return Path("history", "RUN", *parts[2:]) if parts[0] == "history" else path


def test_the_server_preloads_only_what_the_planned_jobs_import():
    assert warmstart.preload_for({"ingest_tracts", "stories"}) == []  # the first preload has it
    maps = warmstart.preload_for({"web_map", "asset_density"})
    assert "folium" in maps and "scipy.fft" in maps and "pypdfium2" not in maps
    assert maps.index("scipy.fft") < maps.index("folium")  # in the pipeline's order
    assert len(maps) == len(set(maps))


def test_pipeline_outputs_are_the_same_bytes_with_and_without_the_warm_server(
        tmp_path, tiny_region):
    del tiny_region["regions"]["tiny"]["survey"]  # fresh DP noise would differ run to run
    outputs = {}
    for warm in (True, False):
        work = tmp_path / ("warm" if warm else "cold")
        result = run_snakemake(work, {**tiny_region, "warm_start": warm})
        assert result.returncode == 0, result.stderr[-3000:]
        log = work / "logs" / "warm_server.log"
        if warm:
            served = log.read_text()
            for job in ("ingest_tracts", "classify_tracts", "web_map", "privacy_audit",
                        "publish"):
                assert f".{job}.py" in served, served
            assert "exited 1" not in served
            # Every job was handed over as its Python started, before Snakemake's preamble.
            runs = [line for line in served.splitlines() if " runs " in line]
            assert runs and all(line.endswith(", from its start") for line in runs), served
        else:
            assert not log.exists()
        published = work / "outputs" / "tiny"
        outputs[warm] = {_run_independent(p.relative_to(published)): p.read_bytes()
                         for p in sorted(published.rglob("*"))
                         if p.is_file() and p.name != "manifest.json"}
    assert len(outputs[True]) > 15
    assert outputs[True].keys() == outputs[False].keys()
    different = [str(p) for p in outputs[True] if outputs[True][p] != outputs[False][p]]
    assert not different
    # What the manifest says of the run, apart from its times, is the same too.
    manifests = [json.loads((tmp_path / w / "outputs" / "tiny" / "manifest.json").read_text())
                 for w in ("warm", "cold")]
    assert manifests[0]["outputs"] == manifests[1]["outputs"]
