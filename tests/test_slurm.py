"""`aiddeserts run --profile slurm` against a real one-node SLURM cluster on localhost.

The cluster (tests/slurm_cluster.py) is a small site's: SlurmUser=root, no accounting database,
so ``sacct`` does not answer and the profile's ``slurm-status-command: squeue`` is what makes
the run finish. The test is skipped, with the reason, where no cluster can run (not root, no
SLURM and no apt-get); under CI (``CI=true``) as root it fails instead of skipping.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from slurm_cluster import MIN_JOB_AGE_S, PARTITION, SlurmCluster, in_ci, unavailable

from aiddeserts import sizing

#: The executor checks on a job 3 s after its submission, then 13 s later, instead of 40 s + 50 s
#: (the only flag the test adds to the profile, to keep the run short; MinJobAge ≥ 3 × 3 s).
FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "3")
SUBMITTED = re.compile(r"Job (?P<job>\d+) has been submitted with SLURM jobid (?P<slurm_id>\d+) ")
FINISHED = re.compile(r"Finished jobid: (?P<job>\d+) \(Rule: (?P<rule>\w+)\)")
#: A ``localrules:`` directive: its line and the indented lines that continue it.
LOCALRULES = re.compile(r"^localrules:(?P<names>.*(?:\n[ \t]+.*)*)", re.MULTILINE)
RULE = re.compile(r"^rule (\w+):", re.MULTILINE)
#: Manifest fields that record when a run happened, not what it made.
TIME_KEYS = ("started_utc", "finished_utc")


@pytest.fixture(scope="session")
def cluster() -> Iterator[SlurmCluster]:
    must_run = in_ci() and os.geteuid() == 0
    give_up = pytest.fail if must_run else pytest.skip
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        give_up("snakemake-executor-plugin-slurm is not installed (pip install -e .[slurm])")
    reason = unavailable()
    if reason:
        give_up(f"no local SLURM cluster: {reason}")
    try:
        running = SlurmCluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        give_up(f"the local SLURM cluster did not start: {exc}")
    try:
        yield running
    finally:
        running.stop()


def aiddeserts_command(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "aiddeserts.cli", "run", "tiny", "--configfile",
            str(workdir / "config.yaml"), "-d", str(workdir), *args]


def run_env(cluster: SlurmCluster) -> dict[str, str]:
    return {**cluster.env, "PYTHONPATH": str(REPO / "src")}


def aiddeserts_run(cluster: SlurmCluster, workdir: Path, *args: str) -> tuple[int, str]:
    result = subprocess.run(aiddeserts_command(workdir, *args), capture_output=True, text=True,
                            env=run_env(cluster), cwd=workdir, timeout=600)
    return result.returncode, result.stdout + result.stderr


def slurm_run(cluster: SlurmCluster, workdir: Path, *args: str) -> tuple[int, str]:
    return aiddeserts_run(cluster, workdir, "--profile", "slurm", *FAST_STATUS, *args)


def local_rules() -> set[str]:
    """Rules the workflow runs on the submit host, never submitted: those named in a
    ``localrules:`` directive and those with ``localrule: True``."""
    names: set[str] = set()
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        text = path.read_text()
        for match in LOCALRULES.finditer(text):
            names.update(re.findall(r"\w+", match["names"]))
        pieces = RULE.split(text)  # [before, name, body, name, body, ...]
        names.update(name for name, body in zip(pieces[1::2], pieces[2::2], strict=True)
                     if re.search(r"^\s+localrule:\s*True", body, re.MULTILINE))
    return names


def slurm_seconds(duration: str) -> int:
    """A SLURM duration ([D-][HH:]MM:SS, as in TimeLimit and RunTime) in seconds."""
    days, _, clock = duration.rpartition("-")
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return int(days or 0) * 86_400 + seconds


def job_inputs(workdir: Path, env: dict[str, str]) -> dict[str, list[Path]]:
    """Each rule's input files for the region, from ``snakemake --detailed-summary``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--detailed-summary", "--cores", "1",
           "outputs/tiny/manifest.json"]
    text = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir,
                          check=True).stdout
    rows = csv.DictReader(text[text.index("output_file\t"):].splitlines(), delimiter="\t")
    return {job_name(row["rule"], row["output_file"]):
            [workdir / p for p in row["input-file(s)"].split(",") if p] for row in rows}


def job_name(rule: str, output: str) -> str:
    """A job's name: its rule, and for a part of the privacy audit its part (the wildcard
    besides the region: data/processed/tiny/audit/<part>.json)."""
    return f"{rule}_{Path(output).stem}" if rule == "privacy_audit_part" else rule


def expected_request(rule: str, inputs: list[Path], config: dict, attempt: int = 1
                     ) -> tuple[int, int]:
    """(MB, minutes) that sizing.py asks for on `attempt`, from the job's input files."""
    input_mb = sum(p.stat().st_size for p in inputs) / 2**20
    if rule == "asset_density":
        density = config["density"]
        tracts = next(p for p in inputs if p.name == "tracts.gpkg")
        mem = sizing.density_mem_mb(str(tracts), density["cell_size_m"], density["bandwidth_m"],
                                    attempt)
    else:
        mem = sizing.mem_mb(rule, input_mb, attempt)
    return mem, sizing.runtime_min(rule, input_mb, attempt)


def published(workdir: Path) -> dict[str, bytes]:
    """outputs/tiny/, byte for byte; the manifest without the run's start and finish times,
    history entries by their order (their folders are named by the time of the run) and
    changes.csv without the previous run's time."""
    import csv
    import io

    root = workdir / "outputs" / "tiny"
    stamps = {d.name: f"run{k}" for k, d in enumerate(sorted((root / "history").iterdir()))
              } if (root / "history").is_dir() else {}
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        data = path.read_bytes()
        if name == "manifest.json":
            manifest = json.loads(data)
            for key in TIME_KEYS:
                manifest.pop(key)
            # changes.csv names the previous run's time; its content is compared below.
            manifest["outputs"] = [o for o in manifest["outputs"] if o["file"] != "changes.csv"]
            data = json.dumps(manifest, sort_keys=True).encode()
        if path.name == "changes.csv":
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
            data = json.dumps([{k: v for k, v in r.items() if k != "previous_run_utc"}
                               for r in rows], sort_keys=True).encode()
        parts = name.split("/")
        if parts[0] == "history" and len(parts) > 2:
            name = "/".join(["history", stamps[parts[1]], *parts[2:]])
        files[name] = data
    return files


def snapshot(directory: Path) -> dict[str, tuple[int, str]]:
    return {str(p.relative_to(directory)): (p.stat().st_mtime_ns,
                                            hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(directory.rglob("*")) if p.is_file()}


def slurm_jobs(cluster: SlurmCluster) -> dict[str, str]:
    """Every job the controller knows (MinJobAge keeps finished ones): id → comment."""
    out = cluster.run("squeue", "--states=all", "--noheader", "--format=%i|%k").stdout
    return dict(line.split("|", 1) for line in out.splitlines() if line)


def run_and_cancel(cluster: SlurmCluster, workdir: Path, rule: str, *args: str,
                   log_path: Path, timeout_s: float = 300) -> tuple[int, str, str]:
    """A SLURM run in which the scheduler cancels the first job of `rule` once it is running:
    the run's exit code, its output and the cancelled job's id."""
    with open(log_path, "w") as out:
        run = subprocess.Popen(aiddeserts_command(workdir, "--profile", "slurm", *FAST_STATUS,
                                                  *args),
                               stdout=out, stderr=subprocess.STDOUT, env=run_env(cluster),
                               cwd=workdir, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        cancelled = None
        while cancelled is None and run.poll() is None and time.monotonic() < deadline:
            out = cluster.run("squeue", "--states=RUNNING", "--noheader", "--format=%i|%k").stdout
            for line in out.splitlines():
                slurm_id, comment = line.split("|", 1)
                if comment == f"rule_{rule}_wildcards_tiny":
                    assert cluster.run("scancel", slurm_id).returncode == 0
                    cancelled = slurm_id
            time.sleep(0.2)
        if cancelled is None:
            pytest.fail(f"no job of {rule} was seen running:\n{log_path.read_text()[-3000:]}")
        code = run.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(timeout=30)
    return code, log_path.read_text(), cancelled


def request(record: dict[str, str]) -> tuple[float, float]:
    """A job's requested memory (MB, MinMemoryNode) and wall time (minutes, TimeLimit)."""
    number, unit = re.fullmatch(r"([\d.]+)([MGT])", record["MinMemoryNode"]).groups()
    return (float(number) * 1024 ** "MGT".index(unit), slurm_seconds(record["TimeLimit"]) / 60)


def test_region_runs_on_slurm_as_it_does_locally(cluster, tmp_path, tiny_region):
    config = tiny_region
    local, remote = tmp_path / "local", tmp_path / "slurm"
    for workdir in (local, remote):
        workdir.mkdir()
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    env = run_env(cluster)
    code, log = aiddeserts_run(cluster, local, "--cores", "2")
    assert code == 0, log[-3000:]
    # The survey is released with fresh DP noise unless the region's ledger holds a release of
    # the same answers: the cluster run gets the local run's ledger, so it reuses that release
    # (as a rerun on the same server does) and the outputs can be compared byte for byte.
    ledger = Path("data") / "processed" / "tiny" / "survey_ledger.json"
    (remote / ledger).parent.mkdir(parents=True)
    shutil.copy2(local / ledger, remote / ledger)

    # 1. Every rule but the local ones ran as a SLURM job, in this working directory.
    started = time.monotonic()
    code, log = slurm_run(cluster, remote)
    elapsed = time.monotonic() - started
    assert code == 0, log[-4000:] + "\n" + cluster.logs()
    assert "no accounting database" not in log
    submitted = {m["job"]: m["slurm_id"] for m in SUBMITTED.finditer(log)}
    finished = {m["job"]: m["rule"] for m in FINISHED.finditer(log)}
    local_only = local_rules()
    assert local_only, "the workflow declares no localrules: the test expects manifest, publish"
    assert {rule for job, rule in finished.items() if job not in submitted} <= local_only
    assert set(submitted) == {job for job, rule in finished.items() if rule not in local_only}
    assert len(submitted) >= 9, log[-3000:]

    # 2. Each job asked SLURM for what sizing.py computes from its input files.
    inputs = job_inputs(remote, env)
    for job, slurm_id in submitted.items():
        rule = finished[job]
        record = cluster.job(slurm_id)
        assert record["JobState"] == "COMPLETED", record
        # The executor names a job by its rule and wildcards: the region, and an audit part.
        assert record["Comment"].startswith(f"rule_{rule}_wildcards_tiny"), record["Comment"]
        part = record["Comment"].removeprefix(f"rule_{rule}_wildcards_tiny").lstrip("_")
        name = f"{rule}_{part}" if part else rule
        assert record["Partition"] == PARTITION
        assert Path(record["WorkDir"]) == remote
        assert request(record) == expected_request(rule, inputs[name], config), name
    run_s = sum(slurm_seconds(cluster.job(i)["RunTime"]) for i in submitted.values())
    print(f"\nSLURM run: {len(submitted)} jobs in {elapsed:.0f} s; jobs ran {run_s} s in all "
          f"({run_s / len(submitted):.1f} s each)")

    # 3. The published outputs are the local run's, byte for byte (manifest times aside).
    assert published(remote) == published(local)

    # 4. A rerun with nothing changed submits no job.
    jobs_before = slurm_jobs(cluster)
    code, log = slurm_run(cluster, remote)
    assert code == 0, log[-3000:]
    assert "Nothing to be done" in log
    assert not SUBMITTED.search(log)
    assert slurm_jobs(cluster) == jobs_before

    # 5. A job the scheduler cancels fails the run and leaves outputs/ as it was...
    assets = Path(config["regions"]["tiny"]["assets"]["path"])
    rows = assets.read_text().splitlines(keepends=True)
    assets.write_text("".join(rows[:-1]))  # one asset fewer: everything from ingest_assets reruns
    before = snapshot(remote / "outputs")
    code, log, cancelled = run_and_cancel(cluster, remote, "ingest_assets", "--retries", "0",
                                          log_path=tmp_path / "cancelled.log")
    assert code == 1, log[-3000:]
    assert cluster.job(cancelled)["JobState"] == "CANCELLED"
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in log
    assert "Publishing outputs/tiny/" not in log
    assert snapshot(remote / "outputs") == before

    # 6. ...and the next run, as a user starts it, recovers — even when the scheduler cancels
    # the same job again: the profile's retry resubmits it with twice the memory and time.
    code, log, cancelled = run_and_cancel(cluster, remote, "ingest_assets",
                                          log_path=tmp_path / "recovered.log")
    assert code == 0, log[-4000:]
    retried = [i for i in (m["slurm_id"] for m in SUBMITTED.finditer(log))
               if cluster.job(i)["Comment"] == "rule_ingest_assets_wildcards_tiny"]
    assert retried[0] == cancelled and len(retried) == 2, retried
    for attempt, slurm_id in enumerate(retried, start=1):
        assert request(cluster.job(slurm_id)) == expected_request(
            "ingest_assets", inputs["ingest_assets"], config, attempt)
    code, local_log = aiddeserts_run(cluster, local, "--cores", "2")
    assert code == 0, local_log[-3000:]
    assert published(remote) == published(local)
    manifest = json.loads((remote / "outputs" / "tiny" / "manifest.json").read_text())
    recorded = {entry["path"]: entry["sha256"] for entry in manifest["inputs"]}
    assert recorded[str(assets)] == hashlib.sha256(assets.read_bytes()).hexdigest()


def test_run_refuses_a_status_check_that_could_never_see_a_job_finish(cluster, tmp_path,
                                                                      tiny_region):
    """Without accounting, sacct cannot answer and squeue forgets a job MinJobAge after it ends:
    `aiddeserts run` says what to set instead of submitting jobs it would wait for forever."""
    work = tmp_path / "run"
    work.mkdir()
    (work / "config.yaml").write_text(yaml.safe_dump(tiny_region))
    jobs_before = slurm_jobs(cluster)
    for flags, fix in [(("--slurm-status-command", "sacct"), "--slurm-status-command squeue"),
                       (("--slurm-init-seconds-before-status-checks", "2000"),
                        f"--slurm-init-seconds-before-status-checks {MIN_JOB_AGE_S // 3}")]:
        code, log = aiddeserts_run(cluster, work, "--profile", "slurm", *flags)
        assert code == 1, log[-3000:]
        assert f"no accounting database (sacct cannot answer) and keeps finished jobs for " \
               f"MinJobAge={MIN_JOB_AGE_S} s" in log
        assert f"Fix: run with {fix} " in log
        assert not (work / "outputs").exists()
    assert slurm_jobs(cluster) == jobs_before
