"""Faults a user or a supervisor can cause: each gets a clear message and exit code, no
traceback, and outputs/ stays as it was."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from conftest import REPO
from test_cli import aiddeserts, snapshot, write_config

from aiddeserts.config import load_config
from aiddeserts.errors import InputError


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, 10):
        lines.append(f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nregions: {r: {map: {about: *a9}}}\n")
    start = time.perf_counter()
    with pytest.raises(InputError, match="aliases expand to more than"):
        load_config(bomb)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_settings_are_refused_by_name(tiny_region, tmp_path, value):
    config = copy.deepcopy(tiny_region)
    config["density"] = {"bandwidth_m": value}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(InputError, match=r"density\.bandwidth_m.*not a finite number"):
        load_config(path)


def test_check_refuses_a_grid_larger_than_the_machine_with_the_memory_it_needs(tmp_path,
                                                                               tiny_region):
    config = copy.deepcopy(tiny_region)
    config["regions"]["tiny"]["density"] = {"cell_size_m": 0.001}
    work = tmp_path / "run"
    cfg = write_config(work, config)
    result = aiddeserts(work, "check", "--configfile", str(cfg))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "density.cell_size_m" in result.stdout and "GB of memory" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    run = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "1")
    assert run.returncode == 3 and "Traceback" not in run.stderr.split("Error in rule")[0]
    assert not (work / "outputs" / "tiny").exists()


def test_passthrough_flags_keep_their_values(tmp_path, tiny_region):
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2",
                        "--until", "privacy_audit")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "data" / "processed" / "tiny" / "privacy_audit.json").exists()
    assert not (work / "outputs" / "tiny" / "map.html").exists()  # stopped before publish


#: Starts a program with SIGINT ignored, as a shell starts a background job (`cmd &`).
SIGINT_IGNORED = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                  "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


@pytest.mark.parametrize("started_in_background", [False, True],
                         ids=["foreground", "sigint-ignored"])
def test_sigterm_stops_snakemake_too_and_the_next_run_completes(tmp_path, tiny_region,
                                                                started_in_background):
    """`timeout -s TERM` signals only the main process: its Snakemake must stop with it, also
    when the CLI was started with SIGINT ignored (a background job of a script or cron)."""
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    cmd = [sys.executable, "-m", "aiddeserts.cli", "run", "--configfile", str(cfg),
           "--cores", "1", "-d", str(work)]
    if started_in_background:
        cmd = [sys.executable, "-c", SIGINT_IGNORED, *cmd[1:]]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 60
    while time.time() < deadline and not any(
            "snakemake" in " ".join(c.cmdline()) for c in parent.children()):
        time.sleep(0.2)
    # Stop it once its first job runs (a job's log exists), while most jobs are still to come.
    job_logs = work / "logs" / "tiny"
    while time.time() < deadline and not (job_logs.is_dir() and any(job_logs.iterdir())):
        time.sleep(0.05)
    children = parent.children(recursive=True)
    assert children, "Snakemake never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by signal" in err
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"orphans kept running: {[p.cmdline() for p in alive]}"
    before = snapshot(work)
    again = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert again.returncode == 0, again.stderr[-3000:]  # not "another run is working" (5)
    assert (work / "outputs" / "tiny" / "map.html").exists()
    assert f"Map of tiny: {work / 'outputs' / 'tiny' / 'map.html'}" in again.stdout
    # The first run was stopped before the end: the second one had work left.
    assert before != snapshot(work), ("the first run went on to the end after the signal:\n"
                                      + err[-3000:])


def test_a_directory_given_as_the_config_is_a_clear_error(tmp_path):
    result = aiddeserts(tmp_path, "check", "--configfile", str(tmp_path))
    assert result.returncode == 3
    assert "is a directory" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_survey_answer_equal_to_public_text_cannot_block_publication(tmp_path, tiny_region):
    """A respondent who writes a phrase the map always holds, or the name of a listed public
    asset, is not a leak: the run publishes, and the report counts such values."""
    import json

    import pandas as pd

    survey_path = Path(tiny_region["regions"]["tiny"]["survey"]["path"])
    survey = pd.read_csv(survey_path)
    survey.loc[0, "name"] = "report unmet need"
    survey.loc[1, "name"] = "Fridge 3"
    survey.to_csv(survey_path, index=False)
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    # The audit's survey-derived counts are in its private report (not in summary.json).
    report = json.loads((work / "data" / "processed" / "tiny" / "privacy_audit.json").read_text())
    assert report["personal_values_in_public_text"] >= 2
    # The other respondents' names are still looked for.
    checked = report["personal_values_checked"]
    assert checked["personal value from survey column 'name'"] == len(survey) - 2


def test_numbers_as_people_type_them_are_read_and_listed(tmp_path, tiny_region):
    """$1,234, 12% and 1 234 in a need column are read as the numbers they show (repaired,
    listed in rejects), not dropped."""
    import geopandas as gpd

    from aiddeserts.io.tracts import load_tracts

    tracts = gpd.read_file(tiny_region["regions"]["tiny"]["tracts"]["path"])
    tracts["poverty"] = tracts["poverty"].astype(str)
    tracts["pop"] = tracts["pop"].astype(str)
    tracts.loc[0, "poverty"] = "12%"
    tracts.loc[1, "pop"] = "1 234"
    tracts.loc[2, "poverty"] = "$1,234"
    path = tmp_path / "typed.gpkg"
    tracts.to_file(path)
    config = {**tiny_region["regions"]["tiny"]["tracts"], "path": str(path)}
    frame, rejects, _ = load_tracts(config)
    assert frame["poverty"].iloc[0] == 12.0 and frame["pop"].iloc[1] == 1234.0
    assert frame["poverty"].iloc[2] == 1234.0
    repaired = rejects[rejects["action"] == "repaired"]
    assert len(repaired) == 3 and repaired["reason"].str.contains("formatted number").all()


def test_unreadable_and_directory_inputs_are_clear_errors(tmp_path, tiny_region):
    from aiddeserts.io.readers import check_exists

    folder = tmp_path / "sites.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="directory, not a file"):
        check_exists(folder)
    if os.geteuid() != 0:  # root reads every file
        locked = tmp_path / "locked.csv"
        locked.write_text("a,b\n1,2\n")
        locked.chmod(0)
        with pytest.raises(InputError, match="permission denied"):
            check_exists(locked)


def test_a_source_that_keeps_nothing_is_never_a_pass(tmp_path, tiny_region):
    import pandas as pd

    bad = tmp_path / "pantries.csv"
    pd.DataFrame({"lat": ["40°42′N"] * 5, "lon": ["74°00′W"] * 5,
                  "name": [f"Pantry {k}" for k in range(5)]}).to_csv(bad, index=False)
    config = copy.deepcopy(tiny_region)
    region = config["regions"]["tiny"]
    region["assets"] = [region["assets"], {"path": str(bad), "name": "name"}]
    work = tmp_path / "run"
    cfg = write_config(work, config)
    result = aiddeserts(work, "check", "--configfile", str(cfg))
    assert result.returncode == 3, result.stdout
    assert "keeps 0 of 5 rows" in result.stdout
    assert "all inputs pass" not in result.stdout


COUNTS_INTERRUPTS = """\
import signal, sys, time
seen = []
def interrupted(*_):
    seen.append(1)
    if len(seen) == 2:
        sys.exit(130)
signal.signal(signal.SIGINT, interrupted)
print("ready", flush=True)
while True:
    time.sleep(0.02)
"""


def test_an_interrupt_snakemake_swallowed_is_sent_again_and_a_heard_one_is_not(monkeypatch):
    """Snakemake's log handler swallows a KeyboardInterrupt that lands while it writes: the CLI
    interrupts again until Snakemake says it stops (here a process that ignores the first)."""
    import threading

    from aiddeserts import cli

    monkeypatch.setattr(cli, "INTERRUPT_AGAIN_S", 0.2)
    for heard in (False, True):
        child = subprocess.Popen([sys.executable, "-c", COUNTS_INTERRUPTS],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            child.send_signal(signal.SIGINT)  # the first one, lost
            said = threading.Event()
            if heard:
                said.set()
            cli._interrupt_until_heard(child, said)
            if heard:
                assert child.poll() is None  # not interrupted again
            else:
                assert child.wait(10) == 130
        finally:
            child.kill()
            child.wait()
