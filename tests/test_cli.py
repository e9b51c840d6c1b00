"""`aiddeserts` CLI on a tiny city, for real: no-op reruns, a killed run, overlapping runs, status,
exit codes, the run manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import REPO

from aiddeserts import cli
from aiddeserts.manifest import sha256_file

PRODUCTS = ["density.tif", "tracts.gpkg", "map.html", "summary.json", "rejects.csv",
            "manifest.json"]


def aiddeserts(workdir: Path, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "aiddeserts.cli", *args, "-d", str(workdir)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)


def write_config(workdir: Path, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snapshot(workdir: Path) -> dict[str, tuple[int, str]]:
    """Every file outside .snakemake/: modification time and content hash."""
    out = {}
    for path in sorted(workdir.rglob("*")):
        rel = path.relative_to(workdir)
        if path.is_file() and rel.parts[0] != ".snakemake":
            out[str(rel)] = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def test_second_run_with_nothing_changed_runs_no_job_and_changes_no_file(tmp_path, tiny_region):
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    first = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    for product in PRODUCTS:
        assert (work / "outputs" / "tiny" / product).exists(), product
    before = snapshot(work)

    second = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Nothing to be done" in second.stderr
    assert "Execute" not in second.stderr  # no job started
    assert snapshot(work) == before

    status = aiddeserts(work, "status", "--configfile", str(cfg))
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == "tiny: up to date"

    # A changed input reruns the stages that read it, not the tract ingest.
    assets = Path(tiny_region["regions"]["tiny"]["assets"]["path"])
    lines = assets.read_text().splitlines()
    assets.write_text("\n".join([*lines, lines[1].replace("Fridge 0", "Fridge 6")]) + "\n")
    status = aiddeserts(work, "status", "--configfile", str(cfg))
    report = status.stdout
    assert "tiny: would rerun" in report
    assert "ingest_assets: updated input files" in report
    assert "ingest_tracts" not in report


def test_manifest_names_inputs_checksums_config_and_versions(tmp_path, tiny_region):
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    result = aiddeserts(work, "run", "tiny", "--configfile", str(cfg), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    out = work / "outputs" / "tiny"
    manifest = json.loads((out / "manifest.json").read_text())
    raw = Path(tiny_region["regions"]["tiny"]["tracts"]["path"]).parent
    listed = {Path(f["path"]).name: f for f in manifest["inputs"]}
    # The Shapefile with its companions, the assets CSV and the survey CSV.
    assert set(listed) == {"tracts.shp", "tracts.shx", "tracts.dbf", "tracts.cpg", "assets.csv",
                           "survey.csv"}
    for name, entry in listed.items():
        assert entry["sha256"] == sha256_file(raw / name), name
        assert entry["bytes"] == (raw / name).stat().st_size
    assert listed["survey.csv"]["role"] == "survey"
    for entry in manifest["outputs"]:  # the manifest vouches for the published bytes
        assert entry["sha256"] == sha256_file(out / entry["file"]), entry["file"]
    assert len(manifest["config_sha256"]) == 64
    assert manifest["settings"]["density"]["bandwidth_m"] == 800
    assert manifest["software"]["snakemake"].split(".")[0] in {"8", "9"}
    assert manifest["software"]["aiddeserts"]
    assert set(manifest["software"]["code_versions"]) >= {"ingest_tracts", "asset_density"}
    assert manifest["git"] is None or len(manifest["git"]["commit"]) == 40
    assert manifest["started_utc"] <= manifest["finished_utc"]
    text = (out / "manifest.json").read_text()
    assert "Canary Name" not in text and "example.invalid" not in text


def test_killed_run_leaves_old_outputs_and_next_run_completes(tmp_path, tiny_region):
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    assert aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2").returncode == 0
    out = work / "outputs" / "tiny"
    old = {p: sha256_file(out / p) for p in PRODUCTS}

    # A new parameter: density and everything after it must rerun. A finer grid makes the
    # density job take a few seconds, long enough to kill the run inside it.
    tiny_region["density"] = {"bandwidth_m": 600, "cell_size_m": 5}
    write_config(work, tiny_region)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONUNBUFFERED": "1"}
    killed = subprocess.Popen(
        [sys.executable, "-m", "aiddeserts.cli", "run", "--configfile", str(cfg), "--cores", "2",
         "-d", str(work)], cwd=work, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    deadline = time.monotonic() + 120
    for line in killed.stderr:
        seen.append(line)
        if "Asset density of tiny" in line or time.monotonic() > deadline:
            break
    assert any("Asset density of tiny" in line for line in seen), "".join(seen)

    # A second run while the first is working: refused with exit code 5, nothing touched.
    overlap = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert overlap.returncode == cli.EXIT_BUSY, overlap.stderr
    assert "another run is working" in overlap.stderr

    os.killpg(killed.pid, signal.SIGKILL)  # like a power cut: no clean-up at all
    killed.wait()
    assert {p: sha256_file(out / p) for p in PRODUCTS} == old
    assert any((work / ".snakemake" / "locks").iterdir())  # the stale lock of the killed run
    status = aiddeserts(work, "status", "--configfile", str(cfg))
    assert "asset_density" in status.stdout
    assert "killed run left a lock" in status.stdout

    final = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert final.returncode == 0, final.stderr[-3000:]
    assert "removing the stale Snakemake lock" in final.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["density"]["cell_size_m"] == 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["density"]["bandwidth_m"] == 600
    assert aiddeserts(work, "status", "--configfile", str(cfg)).stdout.strip() == "tiny: up to date"


def test_exit_codes_bad_input_unknown_region_and_on_failure(tmp_path, tiny_region):
    work = tmp_path / "run"
    tiny_region["regions"]["tiny"]["tracts"]["id"] = "TRACT_COD"
    cfg = write_config(work, tiny_region)
    marker = tmp_path / "told.txt"
    result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2", "--on-failure",
                        f'echo "$AIDDESERTS_EXIT_CODE $AIDDESERTS_REASON" > {marker}')
    assert result.returncode == cli.EXIT_BAD_INPUT, result.stderr[-3000:]
    assert "did you mean 'TRACT_CODE'" in result.stderr
    assert marker.read_text().strip() == "3 bad input"
    assert not (work / "outputs" / "tiny").exists()

    unknown = aiddeserts(work, "run", "atlantis", "--configfile", str(cfg))
    assert unknown.returncode == cli.EXIT_BAD_INPUT
    assert "no region named 'atlantis'" in unknown.stderr and "tiny" in unknown.stderr

    tiny_region["density"]["kernel"] = "triangle"
    write_config(work, tiny_region)
    invalid = aiddeserts(work, "status", "--configfile", str(cfg))
    assert invalid.returncode == cli.EXIT_BAD_INPUT
    assert "density.kernel" in invalid.stderr


def test_failed_privacy_audit_rule_is_its_own_exit_code(tmp_path):
    """The contract with the privacy audit: a failing job of a rule named privacy_audit*."""
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(
        'rule privacy_audit:\n    output: "audit.ok"\n'
        '    shell: "echo respondent coordinates found in outputs >&2; exit 1"\n'
        'rule other:\n    output: "other.ok"\n    shell: "exit 1"\n')
    base = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path),
            "--cores", "1"]
    audit = subprocess.run([*base, "audit.ok"], capture_output=True, text=True)
    assert audit.returncode != 0
    assert cli.failed_rules(audit.stdout + audit.stderr) == ["privacy_audit"]
    assert cli.classify_failure(audit.returncode, audit.stdout + audit.stderr) == cli.EXIT_PRIVACY
    other = subprocess.run([*base, "other.ok"], capture_output=True, text=True)
    assert cli.classify_failure(other.returncode, other.stdout + other.stderr) == cli.EXIT_FAILURE
    assert cli.classify_failure(0, "") == cli.EXIT_OK


def test_a_full_disk_that_stops_an_audit_part_too_is_the_environment(tmp_path):
    """Every failed job refused a write (one ``aiddeserts (environment):`` line each): the
    machine's fault, also when an audit part is among them; a leak found beside it wins."""
    full = 'echo "aiddeserts (environment): folder x cannot be written: the disk is full" >&2'
    snakefile = tmp_path / "Snakefile"
    leak = "echo aiddeserts: coordinates near a survey respondent >&2"
    snakefile.write_text("".join(
        f'rule {rule}:\n    output: "{output}"\n    shell: \'{say}; exit 1\'\n'
        for rule, output, say in (("privacy_audit_part", "part.ok", full),
                                  ("privacy_audit", "leak.ok", leak),
                                  ("datawalk", "walk.ok", full))))
    base = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(tmp_path),
            "--cores", "2", "--keep-going"]
    refused = subprocess.run([*base, "part.ok", "walk.ok"], capture_output=True, text=True)
    output = refused.stdout + refused.stderr
    assert sorted(cli.failed_rules(output)) == ["datawalk", "privacy_audit_part"]
    assert cli.classify_failure(refused.returncode, output) == cli.EXIT_ENVIRONMENT
    leaked = subprocess.run([*base, "leak.ok", "walk.ok"], capture_output=True, text=True)
    output = leaked.stdout + leaked.stderr
    assert sorted(cli.failed_rules(output)) == ["datawalk", "privacy_audit"]
    assert cli.classify_failure(leaked.returncode, output) == cli.EXIT_PRIVACY


def test_parse_summary_and_region_of():
    text = ("Building DAG of jobs...\noutput_file\tdate\trule\tlog-file(s)\tstatus\tplan\n"
            "outputs/a/map.html\tWed\tpublish\tlogs/a/publish.log\tok\tupdate pending\n"
            "data/processed/a/stage/density.tif\tWed\tasset_density\t-\tparams changed\t"
            "update pending\n"
            "data/processed/b/tracts.gpkg\tWed\tingest_tracts\t-\tok\tno update\n")
    rows = cli.parse_summary(text)
    assert [r.rule for r in rows] == ["publish", "asset_density", "ingest_tracts"]
    report = cli.status_report(rows, ["a", "b", "c"])
    assert report.splitlines() == [
        "a: would rerun 2 step(s)", "  publish: an earlier step reruns",
        "  asset_density: params changed (a config value or the package code it runs)",
        "b: up to date", "c: not built yet"]


def test_a_code_change_reruns_only_the_rules_that_run_that_code(tmp_path, tiny_region):
    # A copy of the workflow and package, so the test can edit "the code".
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("Snakefile", "workflow", "src", "profiles"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, repo / part)
    work = tmp_path / "run"
    cfg = write_config(work, tiny_region)
    snakefile = str(repo / "Snakefile")
    first = aiddeserts(work, "run", "--snakefile", snakefile, "--configfile", str(cfg),
                       "--cores", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    status = aiddeserts(work, "status", "--snakefile", snakefile, "--configfile", str(cfg))
    assert status.stdout.strip() == "tiny: up to date"

    with open(repo / "src" / "aiddeserts" / "manifest.py", "a") as handle:
        handle.write("\n# a change in the code of the manifest step\n")
    report = aiddeserts(work, "status", "--snakefile", snakefile, "--configfile", str(cfg)).stdout
    assert "manifest: params changed (a config value or the package code it runs)" in report
    assert "publish: an earlier step reruns" in report
    for untouched in ("ingest_tracts", "asset_density", "classify_tracts", "web_map"):
        assert untouched not in report, report
