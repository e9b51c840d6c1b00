"""The real Snakemake workflow on a tiny city: outputs, contract, reruns, determinism."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import rasterio
from conftest import run_snakemake

from aiddeserts.config import PRODUCTS


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_region_runs_to_all_outputs(tmp_path, tiny_region):
    result = run_snakemake(tmp_path / "run", tiny_region, "outputs/tiny/map.html")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "run" / "outputs" / "tiny"
    for product in PRODUCTS:
        assert (out / product).exists(), product

    tracts = gpd.read_file(out / "tracts.gpkg", layer="tracts")
    assert tracts["TRACT_CODE"].tolist() == [f"T{k:02d}" for k in range(16)]
    for column in ["population", "access_score", "need_score", "desert_class", "is_desert",
                   "assets_fridge", "assets_pantry", "assets_total"]:
        assert column in tracts.columns, column
    assert tracts["assets_total"].sum() == 6
    # The north-east corner: highest poverty, no asset within kilometres → a desert.
    assert tracts.loc[tracts["TRACT_CODE"] == "T15", "desert_class"].item() == "desert"
    # The south-west corner holds the assets → not a desert.
    assert not tracts.loc[tracts["TRACT_CODE"] == "T00", "is_desert"].item()

    with rasterio.open(out / "density.tif") as src:
        assert src.dtypes[0] == "float32"
        assert src.nodata is not None
        assert src.crs.to_epsg() == 32618
        assert src.res == (25.0, 25.0)
        values = src.read(1, masked=True)
        # 6 assets near the south-west edge: part of their kernels falls outside the area.
        assert 4.5 < values.sum() * 0.025 * 0.025 < 6

    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"]["assets"]["read"] == 6
    # No exact survey count is published: the kept rows stay in data/processed/ (private) and
    # summary.json shows the DP release's noisy total.
    private = json.loads((tmp_path / "run/data/processed/tiny/counts_survey.json").read_text())
    assert private["survey"]["kept"] == 200
    assert set(summary["inputs"]["survey"]) == {"configured", "respondents_released"}
    assert abs(summary["inputs"]["survey"]["respondents_released"] - 200) <= 60
    assert summary["privacy"]["survey_release"]["epsilon_spent"] == 1.0
    assert sum(summary["classes"].values()) == 16
    assert summary["parameters"]["density"]["bandwidth_m"] == 800

    html = (out / "map.html").read_text()
    assert "Fridge 3" in html and "Mutual aid desert" in html
    # Popups list asset types only, not the method's assets_within_* counts as a "type".
    assert "Fridge: " in html and "Within threshold" not in html
    for canary in ["Canary Name", "canary1@example.invalid"]:
        for product in PRODUCTS:
            assert canary not in (out / product).read_text(errors="ignore"), (canary, product)


def test_rerun_does_no_work_and_outputs_are_deterministic(tmp_path, tiny_region):
    work = tmp_path / "run"
    assert run_snakemake(work, tiny_region).returncode == 0
    out = work / "outputs" / "tiny"
    # manifest.json records the run's start and end times, so only it may differ on a forced rerun.
    stable = [p for p in PRODUCTS if p != "manifest.json"]
    before = {p: digest(out / p) for p in stable}

    again = run_snakemake(work, tiny_region, extra=("--dry-run",))
    assert "Nothing to be done" in again.stdout + again.stderr

    forced = run_snakemake(work, tiny_region, extra=("--forceall",))
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert {p: digest(out / p) for p in stable} == before


def test_bad_input_stops_before_any_output(tmp_path, tiny_region):
    tiny_region["regions"]["tiny"]["tracts"]["id"] = "TRACT_COD"
    result = run_snakemake(tmp_path / "run", tiny_region)
    assert result.returncode != 0
    assert "did you mean 'TRACT_CODE'" in result.stderr
    assert not (tmp_path / "run" / "outputs" / "tiny").exists()


def test_invalid_config_names_key_and_allowed_values(tmp_path, tiny_region):
    tiny_region["density"]["kernel"] = "triangle"
    result = run_snakemake(tmp_path / "run", tiny_region, extra=("--dry-run",))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "density.kernel" in output and "'quartic'" in output


def test_density_matches_direct_kde(tmp_path, tiny_region):
    assert run_snakemake(tmp_path / "run", tiny_region).returncode == 0
    from aiddeserts.method.density import kernel_value

    assets = gpd.read_file(tmp_path / "run" / "data" / "processed" / "tiny" / "assets.gpkg")
    with rasterio.open(tmp_path / "run" / "outputs" / "tiny" / "density.tif") as src:
        values = src.read(1)
        rows, cols = np.indices(values.shape)
        xs, ys = src.xy(rows.ravel(), cols.ravel())
    d = np.hypot(np.subtract.outer(xs, assets.geometry.x.to_numpy()),
                 np.subtract.outer(ys, assets.geometry.y.to_numpy()))
    exact = kernel_value("quartic", d, 800.0).sum(axis=1).reshape(values.shape) * 1e6
    # Where density is at least 10 % of its peak, binning on 25 m cells (bandwidth 800 m) errs
    # by under 2 %; near the quartic's edge the relative error grows (see tests/test_density.py).
    strong = exact > 0.1 * exact.max()
    assert np.max(np.abs(values[strong] - exact[strong]) / exact[strong]) < 0.02
