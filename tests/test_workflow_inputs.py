"""Acceptance: the files people actually have run through the real pipeline unchanged — a
KoboToolbox survey export, a data.census.gov ACS table, a TIGER/Line zip, a Google My Maps KML —
and every repaired or dropped row is in rejects.csv and counted in summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from conftest import run_snakemake

from aiddeserts.config import PRODUCTS

FIXTURES = Path(__file__).parent / "fixtures"


def config(messy_csv: Path) -> dict:
    return {"regions": {"mpls": {
        "title": "Minneapolis (test)",
        "tracts": {"path": str(FIXTURES / "tl_2020_27_tract.zip"), "id": "GEOID",
                   "population": "B01003_001E",
                   "need": ["B17001_002E", {"column": "B19013_001E", "higher_is_worse": False,
                                            "moe": "B19013_001M"}],
                   "attributes": {"path": str(FIXTURES / "ACSDT5Y2020.B01003-Data.csv"),
                                  "id": "GEO_ID"}},
        "assets": [{"path": str(FIXTURES / "google_my_maps.kml"), "name": "Name",
                    "type": "kml_layer", "label": "My Maps"},
                   {"path": str(messy_csv), "name": "Site", "type_value": "fridge"}],
        "survey": {"path": str(FIXTURES / "kobo_survey_export.csv"), "need": "unmet_need",
                   "story": "story", "consent": "consent_to_share"}}},
        "survey_rules": {"min_respondents": 5}}


def messy_assets(path: Path) -> Path:
    """Fridges typed by hand: one with lat/lon swapped, one copied twice, one without a place."""
    pd.DataFrame({"Site": ["North fridge", "Swapped fridge", "North fridge", "No place"],
                  "Lat": ["44.9700", "-93.2700", "44.9700", "n/a"],
                  "Long": ["-93.2650", "44.9650", "-93.2650", ""]}).to_csv(path, index=False)
    return path


def test_kobo_export_and_census_download_run_unchanged(tmp_path):
    work = tmp_path / "run"
    messy = messy_assets(tmp_path / "fridges.csv")
    result = run_snakemake(work, config(messy), "outputs/mpls/map.html")
    assert result.returncode == 0, result.stderr[-3000:]
    out = work / "outputs" / "mpls"
    for product in PRODUCTS:
        assert (out / product).exists(), product

    tracts = gpd.read_file(out / "tracts.gpkg")
    assert len(tracts) == 16 and tracts["GEOID"].iloc[0] == "27053005901"
    assert tracts["B19013_001E"].iloc[3] == 250000.0  # "250,000+" from data.census.gov
    # Noisy counts (DP release): shown only at k or more, summing to about the 160 respondents.
    shown = tracts["survey_respondents"].dropna()
    summary_rules = json.loads((out / "summary.json").read_text())
    k = summary_rules["parameters"]["survey_rules"]["min_respondents"]
    assert len(shown) > 0 and (shown >= k).all() and shown.sum() <= 160 + 60
    assert tracts["assets_total"].sum() == 8 + 2

    summary = json.loads((out / "summary.json").read_text())
    inputs = summary["inputs"]
    private = json.loads((work / "data/processed/mpls/counts_survey.json").read_text())
    assert (private["survey"]["read"], private["survey"]["kept"]) == (160, 160)
    assert abs(inputs["survey"]["respondents_released"] - 160) <= 60  # noisy, never exact
    assert (inputs["attributes"]["read"], inputs["attributes"]["repaired"]) == (16, 2)
    assets = inputs["assets"]
    assert (assets["read"], assets["kept"], assets["rejected"], assets["repaired"]) == (12, 10, 2, 1)
    for kind in ("tracts", "attributes", "assets"):
        assert inputs[kind]["read"] == inputs[kind]["kept"] + inputs[kind]["rejected"], kind
        for source in inputs[kind]["sources"].values():
            assert source["read"] == source["kept"] + source["rejected"]

    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    assert list(rejects.columns) == ["source", "row", "name", "reason", "action"]
    mine = rejects[rejects["source"] == f"assets[2]:{messy}"]
    assert mine[["row", "action"]].values.tolist() == [["4", "dropped"], ["2", "repaired"],
                                                       ["3", "dropped"]]
    assert mine["reason"].tolist()[2] == f"duplicate of assets[2]:{messy} row 1: dropped"
    assert summary["rejects_total"] == len(rejects)

    # manifest.json lists each input under its role: the ACS table is `attributes`, not `tracts`.
    manifest = json.loads((out / "manifest.json").read_text())
    roles = {Path(f["path"]).name: f["role"] for f in manifest["inputs"]}
    assert roles == {"tl_2020_27_tract.zip": "tracts", "ACSDT5Y2020.B01003-Data.csv": "attributes",
                     "google_my_maps.kml": "assets", "fridges.csv": "assets",
                     "kobo_survey_export.csv": "survey"}

    for canary in ["Canary Respondent", "collect:canary", "555-01", "00000000-0000-4000"]:
        for product in PRODUCTS:
            assert canary not in (out / product).read_text(errors="ignore"), (canary, product)


def test_bad_asset_file_stops_before_any_output(tmp_path):
    work = tmp_path / "run"
    bad = tmp_path / "fridges.csv"
    bad.write_bytes(b"")
    result = run_snakemake(work, config(bad), "outputs/mpls/map.html")
    assert result.returncode != 0
    assert f"file {bad}: file is empty (0 bytes). Fix: export the data again." in result.stderr
    assert not (work / "outputs").exists()
