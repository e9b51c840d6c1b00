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


def test_density_memory_follows_the_grid_not_the_files():
    # A 760 km square state at 50 m cells, 1 km bandwidth: 15,241² cells ≈ 14 GB at 64 B/cell.
    cells = sizing.density_cells((0.0, 0.0, 760_000.0, 760_000.0), 50.0, 1000.0)
    assert cells == 15_241 * 15_241
    assert sizing.density_cells((0.0, 0.0, 760_000.0, 760_000.0), 200.0, 1000.0) == 3_811 ** 2
    with pytest.raises(FileNotFoundError):  # Snakemake shows <TBD> until the tracts exist
        sizing.density_mem_mb("/nonexistent/tracts.gpkg", 50.0, 1000.0)


def test_sizing_grows_with_input_and_attempt():
    small = sizing.mem_mb("asset_density", 1.0)
    assert sizing.mem_mb("asset_density", 101.0) - small == 100 * 60  # 60 MB per input MB
    assert sizing.mem_mb("asset_density", 1.0, attempt=2) == 2 * small
    assert sizing.runtime_min("classify_tracts", 0.0) == 10
    assert sizing.mem_mb("a_rule_added_later", 0.0) == sizing.DEFAULT.mem_base_mb
    assert sizing.mem_mb("asset_density", 1e9) == sizing.MAX_MEM_MB


@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
                    reason="snakemake-executor-plugin-slurm is not installed (pip install .[slurm])")
def test_the_figure_starts_first_only_with_large_asset_files():
    limit = sizing.FIGURE_FIRST_ASSET_MB
    assert sizing.figure_priority(limit * 2, default=1, first=3) == 3
    assert sizing.figure_priority(limit, default=1, first=3) == 1
    assert sizing.figure_priority(0.0, default=1, first=3) == 1


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
    # Density memory follows the grid: the 4 km city plus the kernel's margin, in 25 m cells.
    density_in = size_mb(processed / "tracts.gpkg", processed / "assets.gpkg")
    cells = (4000 + 2 * 800) / 25 + 1
    assert jobs["Asset density of tiny"] == (
        sizing.DENSITY_BASE_MB + round(sizing.DENSITY_BYTES_PER_CELL * int(cells**2) / 2**20),
        sizing.runtime_min("asset_density", density_in))
    # Every job of the region (ingest ×3, density, classify, inventory, changes, stories, the
    # map shapes, two maps, the data-walk posters, the audit's secrets, its 6 parts and
    # verdict, summary, manifest, publish), resources all resolved.
    assert len(jobs) == 23


@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None,
                    reason="snakemake-executor-plugin-slurm is not installed (pip install .[slurm])")
def test_slurm_profile_settings_are_the_installed_plugins_options():
    """Each ``slurm-*`` key of the profile is an option of the installed plugin, with a value it
    accepts; squeue polls job status, so a site without an accounting database works."""
    import yaml
    from snakemake_executor_plugin_slurm import ExecutorSettings

    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    options = {key.removeprefix("slurm-").replace("-", "_"): value
               for key, value in profile.items() if key.startswith("slurm-")}
    settings = ExecutorSettings(**options)  # unknown option: TypeError; bad value: WorkflowError
    assert settings.status_command == "squeue"
    assert profile["executor"] == "slurm"
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])
