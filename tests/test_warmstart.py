"""The warm server (aiddeserts.warmstart): a job's script runs in a fork of a process that has
imported the libraries, passes its streams, status, folder and environment through, stops when
its job is cancelled, and leaves the pipeline's outputs byte for byte the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run_snakemake

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
    assert f"cwd {tmp_path / 'work'} env seven argv ['7'] umask 0o27" in result.stdout
    # The fork's parent is the server, not this test (which started the job's own process).
    assert "stdin hello parent" in result.stdout
    assert f"parent {os.getpid()}" not in result.stdout
    assert result.stderr.strip() == "to stderr"
    # The server's log names the script, no data.
    assert _wait(lambda: "job.py" in log.read_text() and "exited 7" in log.read_text())
    assert "hello" not in log.read_text() and "seven" not in log.read_text()


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
    assert _wait(lambda: not os.path.exists(socket_path))
    assert "stopped after 0 jobs" in (tmp_path / "server.log").read_text()
    assert _wait(lambda: not _alive(int(pid)) or _zombie(int(pid)))


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
