"""`aiddeserts check`: every validation alone, a printed report, exit 0 or 2, nothing written."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import yaml
from conftest import CRS, REPO

from aiddeserts.check import run_check


def _files(root) -> set:
    return {p for p in root.rglob("*") if p.is_file()}


def test_check_passes_and_reports_repairs(tmp_path, tiny_region):
    assets = tiny_region["regions"]["tiny"]["assets"]["path"]
    frame = pd.read_csv(assets)
    frame.loc[len(frame)] = [frame["Longitude"][0], frame["Latitude"][0], "Swapped", "fridge"]
    frame.to_csv(assets, index=False)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    before = _files(tmp_path)
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), out=out) == 0
    report = out.getvalue()
    assert "region tiny:" in report and report.rstrip().endswith("all inputs pass.")
    assert "tracts: 16 rows read, 16 kept, 0 dropped" in report
    assert "assets: 7 rows read, 7 kept, 0 dropped, 1 repaired" in report
    assert "latitude and longitude were swapped" in report and "rows 7)" in report
    assert "survey: 200 rows read, 200 kept" in report
    assert "Canary" not in report and "canary" not in report
    assert _files(tmp_path) == before


def test_check_returns_2_with_the_one_fix(tmp_path, tiny_region):
    tiny_region["regions"]["tiny"]["survey"]["need"] = "ned"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), ["tiny"], out=out) == 2
    assert "\nBAD INPUT: file " in out.getvalue()
    # A survey's column names are never quoted (without its header row they are answers).
    assert "column 'ned': the configured need column is missing: no column is named 'ned' (the " \
           "file has 7 columns; the first row may be data, not a header" in out.getvalue()
    assert "did you mean" not in out.getvalue()


def test_check_names_projected_survey_coordinates_and_passes_with_crs(tmp_path, tiny_region):
    # The survey exported from a GIS in UTM metres (the tracts' CRS) under x/y headers.
    survey = tiny_region["regions"]["tiny"]["survey"]
    frame = pd.read_csv(survey["path"])
    xy = gpd.GeoSeries(gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326).to_crs(CRS)
    frame = frame.drop(columns=["lat", "lon"]).assign(x=xy.x.round(1), y=xy.y.round(1))
    frame.to_csv(survey["path"], index=False)
    del survey["lat"], survey["lon"]  # autodetected: y/x
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), out=out) == 2
    report = out.getvalue()
    assert f"BAD INPUT: file {survey['path']}, row 1, column 'y/x': " in report
    assert "look like projected coordinates (metres or feet)" in report
    assert "Fix: set `crs:` for this source to EPSG:32618" in report
    survey["crs"] = CRS
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), out=out) == 0, out.getvalue()
    assert "survey: 200 rows read, 200 kept, 0 dropped, 0 repaired" in out.getvalue()


def test_check_rejects_bad_config_and_unknown_region(tmp_path, tiny_region):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), ["nowhere"], out=out) == 2
    assert "region 'nowhere' is not in the config" in out.getvalue()
    tiny_region["classification"]["need_threshold"] = 2
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    out = io.StringIO()
    assert run_check(str(tmp_path / "c.yaml"), out=out) == 2
    assert "classification.need_threshold" in out.getvalue()


def test_module_entry_point_exit_status(tmp_path, tiny_region):
    tiny_region["regions"]["tiny"]["tracts"].pop("crs")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(tiny_region))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-m", "aiddeserts.check", "--config",
                             str(tmp_path / "c.yaml")], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "no CRS and the config gives none" in result.stdout


def test_snakemake_check_target_prints_report_and_writes_nothing(tmp_path, tiny_region):
    from conftest import run_snakemake

    work = tmp_path / "run"
    ok = run_snakemake(work, tiny_region, "check_inputs")
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "all inputs pass." in ok.stdout + ok.stderr
    assert not (work / "outputs").exists() and not (work / "data").exists()
    tiny_region["regions"]["tiny"]["assets"]["lat"] = "Latitud"
    bad = run_snakemake(work, tiny_region, "check_inputs")
    assert bad.returncode != 0
    assert "BAD INPUT: file " in bad.stdout + bad.stderr
    assert "did you mean 'Latitude'?" in bad.stdout + bad.stderr
