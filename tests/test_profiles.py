"""Snakemake profiles: the slurm profile dry-runs, with per-rule resources from input sizes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from conftest import REPO, run_snakemake

from aiddeserts import sizing

MESSAGE = re.compile(r"Job \d+: (?P<what>.+?) \[(?P<mem>\d+) MB, (?P<runtime>\d+) min\]")


def size_mb(*paths) -> float:
    return sum(p.stat().st_size for p in paths) / 1024 / 1024


def test_sizing_grows_with_input_and_attempt():
    small = sizing.mem_mb("asset_density", 1.0)
    assert sizing.mem_mb("asset_density", 101.0) - small == 100 * 60  # 60 MB per input MB
    assert sizing.mem_mb("asset_density", 1.0, attempt=2) == 2 * small
    assert sizing.runtime_min("classify_tracts", 0.0) == 10
    assert sizing.mem_mb("a_rule_added_later", 0.0) == sizing.DEFAULT.mem_base_mb
    assert sizing.mem_mb("asset_density", 1e9) == sizing.MAX_MEM_MB


@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
                    reason="snakemake-executor-plugin-slurm is not installed (pip install .[slurm])")
def test_slurm_profile_dry_runs_with_resources_from_input_sizes(tmp_path, tiny_region):
    work = tmp_path / "run"
    assert run_snakemake(work, tiny_region).returncode == 0
    result = run_snakemake(work, tiny_region, extra=(
        "--profile", str(REPO / "profiles" / "slurm"), "--dry-run", "--forceall"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "This was a dry-run" in output
    jobs = {m["what"]: (int(m["mem"]), int(m["runtime"])) for m in MESSAGE.finditer(output)}
    processed = work / "data" / "processed" / "tiny"
    raw = tiny_region["regions"]["tiny"]
    # ingest_tracts reads the Shapefile and its companions: sizes add up.

    shp = Path(raw["tracts"]["path"])
    tract_files = [shp.with_suffix(ext) for ext in (".shp", ".shx", ".dbf", ".cpg")
                   if shp.with_suffix(ext).exists()]
    expected_ingest = size_mb(*tract_files)
    assert jobs["Reading tracts of tiny"] == (
        sizing.mem_mb("ingest_tracts", expected_ingest),
        sizing.runtime_min("ingest_tracts", expected_ingest))
    density_in = size_mb(processed / "tracts.gpkg", processed / "assets.gpkg")
    assert jobs["Asset density of tiny"] == (
        sizing.mem_mb("asset_density", density_in), sizing.runtime_min("asset_density", density_in))
    assert len(jobs) == 9  # every rule of the region, resources all resolved
