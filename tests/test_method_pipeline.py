"""The method layer end to end on synthetic cities where the right answer is known by
construction: the pipeline's stage functions run on real files, as Snakemake runs them."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, grid_tracts, points_lonlat
from shapely.geometry import box

from aiddeserts.config import validate_config
from aiddeserts.errors import InputError
from aiddeserts.stages.classify import classify_tracts
from aiddeserts.stages.density import build_density
from aiddeserts.stages.ingest import ingest_assets, ingest_survey, ingest_tracts
from aiddeserts.stages.summary import summarize


def run_stages(config: dict, work: Path, zones: bool = False,
               ledger_from: Path | None = None) -> gpd.GeoDataFrame:
    """ingest → density → classify for region `tiny`; returns the classified tracts.
    `zones`: classify reads the density stage's tract raster; `ledger_from`: the survey ledger
    of an earlier run (the same survey release, so two runs can be compared)."""
    work.mkdir(parents=True, exist_ok=True)
    cfg = validate_config(config)
    region = cfg["regions"]["tiny"]
    p = {name: str(work / name) for name in ("tracts.gpkg", "assets.gpkg", "survey.gpkg",
                                             "density.tif", "out.gpkg")}
    ingest_tracts(region["tracts"], region.get("working_crs"), p["tracts.gpkg"],
                  str(work / "r1.csv"), str(work / "c1.json"))
    ingest_assets(region["assets"], region.get("corrections") or [], region["inventory"],
                  region["tracts"]["id"], region["privacy"]["approximate_to"],
                  region["privacy"]["approximate_grid_m"], p["tracts.gpkg"], p["assets.gpkg"],
                  str(work / "r2.csv"), str(work / "c2.json"), str(work / "exact.gpkg"),
                  str(work / "inventory.gpkg"))
    ingest_survey(region.get("survey"), region["tracts"]["id"],
                  region["survey_rules"]["min_respondents"], p["tracts.gpkg"], p["survey.gpkg"],
                  str(work / "r3.csv"), str(work / "c3.json"))
    zones_path = str(work / "zones.npy") if zones else None
    build_density(p["tracts.gpkg"], p["assets.gpkg"], region["density"], p["density.tif"],
                  out_zones=zones_path)
    ledger = Path(p["out.gpkg"]).with_name("survey_ledger.json")
    if ledger_from:
        ledger.write_bytes(ledger_from.read_bytes())
    classify_tracts(p["tracts.gpkg"], p["assets.gpkg"], p["survey.gpkg"], p["density.tif"],
                    tract_id=region["tracts"]["id"], population=region["tracts"]["population"],
                    need=region["tracts"]["need"], survey_configured=bool(region.get("survey")),
                    classification=region["classification"],
                    min_respondents=region["survey_rules"]["min_respondents"],
                    out_tracts=p["out.gpkg"], region="tiny",
                    questions=(region.get("survey") or {}).get("questions"),
                    survey_rules=region["survey_rules"],
                    ledger_path=str(ledger), zones_path=zones_path)
    return gpd.read_file(p["out.gpkg"], layer="tracts")


def test_classify_from_the_density_stage_zones_writes_the_same_bytes(tmp_path, tiny_region):
    """Classify reading the tract raster the density stage wrote gives the same file as
    rasterising the tracts itself; a raster that does not fit the grid is not used."""
    run_stages(tiny_region, tmp_path / "own")
    run_stages(tiny_region, tmp_path / "shared", zones=True,
               ledger_from=tmp_path / "own" / "survey_ledger.json")
    assert (tmp_path / "shared" / "zones.npy").is_file()
    assert ((tmp_path / "shared" / "out.gpkg").read_bytes()
            == (tmp_path / "own" / "out.gpkg").read_bytes())
    from aiddeserts.io.files import read_zones, write_zones

    zones = np.arange(12, dtype=np.int32).reshape(3, 4)
    write_zones(zones, str(tmp_path / "z.npy"))
    assert np.load(tmp_path / "z.npy").dtype == np.uint8
    assert (read_zones(str(tmp_path / "z.npy"), (3, 4), 11) == zones).all()
    assert read_zones(str(tmp_path / "z.npy"), (4, 3), 11) is None  # another grid
    assert read_zones(str(tmp_path / "z.npy"), (3, 4), 10) is None  # other tracts


def add_assets(config: dict, xy: list[tuple[float, float]], tag: str) -> dict:
    """A copy of `config` whose asset CSV has extra assets at `xy` (working-CRS metres)."""
    source = Path(config["regions"]["tiny"]["assets"]["path"])
    frame = pd.read_csv(source)
    lat, lon = points_lonlat(xy)
    extra = pd.DataFrame({"Latitude": lat, "Longitude": lon,
                          "Site": [f"{tag} {k}" for k in range(len(xy))], "Kind": "fridge"})
    path = source.with_name(f"assets_{tag}.csv")
    pd.concat([frame, extra], ignore_index=True).to_csv(path, index=False)
    new = {**config, "regions": {"tiny": {**config["regions"]["tiny"]}}}
    new["regions"]["tiny"]["assets"] = {**config["regions"]["tiny"]["assets"], "path": str(path)}
    return new


def row(tracts: gpd.GeoDataFrame, code: str) -> pd.Series:
    return tracts.loc[tracts["TRACT_CODE"] == code].iloc[0]


def test_new_columns_and_known_desert(tmp_path, tiny_region):
    tracts = run_stages(tiny_region, tmp_path / "a")
    for column in ["fca_access", "urban", "far_threshold_m", "share_beyond_threshold",
                   "edge_share", "survey_unmet_rate_eb", "need_score_low", "need_score_high",
                   "need_uncertain", "desert_stability", "robustness_margin", "gi_star_z",
                   "cold_spot", "survey_disparity", "survey_bias_flag"]:
        assert column in tracts.columns, column
    t15, t00 = row(tracts, "T15"), row(tracts, "T00")
    # 1,000 people per km²: urban; the north-east corner is 3+ km from every asset.
    assert t15["urban"] and t15["far_threshold_m"] == 805
    assert t15["share_beyond_threshold"] == 1.0 and t15["fca_access"] == 0.0
    assert t15["desert_class"] == "desert" and t15["desert_stability"] == 1.0
    assert t15["robustness_margin"] >= 1
    assert t00["fca_access"] > 0 and t00["share_beyond_threshold"] < 0.33
    assert not t00["is_desert"] and np.isnan(t00["robustness_margin"])
    # The corner tract's bandwidth disc reaches past the city's edge; the raster share of the
    # disc outside agrees with the exact polygon geometry.
    disc = t15.geometry.representative_point().buffer(800.0, 256)
    outside = 1.0 - disc.intersection(box(X0, Y0, X0 + 4000, Y0 + 4000)).area / disc.area
    assert t15["edge_share"] == pytest.approx(outside, abs=0.01) and outside > 0.2
    assert row(tracts, "T05")["edge_share"] == 0.0
    # No margins of error in this city: the need interval collapses onto the score.
    np.testing.assert_allclose(tracts["need_score_low"], tracts["need_score"], atol=1e-4)
    np.testing.assert_allclose(tracts["need_score_high"], tracts["need_score"], atol=1e-4)
    assert not tracts["need_uncertain"].any()


def test_same_high_need_tract_with_assets_is_not_a_desert(tmp_path, tiny_region):
    centre = (X0 + 3500, Y0 + 3500)  # T15
    cluster = [(centre[0] + dx, centre[1] + dy) for dx, dy in [(-150, 0), (150, 0), (0, 200)]]
    tracts = run_stages(add_assets(tiny_region, cluster, "served"), tmp_path / "b")
    t15 = row(tracts, "T15")
    assert t15["need_high"] and t15["assets_total"] == 3
    assert t15["desert_class"] != "desert" and not t15["access_low"]


def test_robustness_margin_is_the_number_of_assets_that_lifts_a_desert(tmp_path, tiny_region):
    # Without the survey: each run's survey release draws fresh DP noise (no shared ledger),
    # which would move need, and the margin counts assets against the same need.
    tiny_region["regions"]["tiny"].pop("survey")
    base = run_stages(tiny_region, tmp_path / "base")
    deserts = base[base["is_desert"]]
    assert len(deserts) >= 2
    reps = gpd.GeoSeries(deserts.geometry, crs=base.crs).representative_point()
    for (_, tract), point in zip(deserts.iterrows(), reps, strict=True):
        k = int(tract["robustness_margin"])
        code = tract["TRACT_CODE"]
        lifted = run_stages(add_assets(tiny_region, [(point.x, point.y)] * k, f"k{code}"),
                            tmp_path / f"k{code}")
        assert not row(lifted, code)["is_desert"], code
        if k > 1:
            short = run_stages(add_assets(tiny_region, [(point.x, point.y)] * (k - 1),
                                          f"s{code}"), tmp_path / f"s{code}")
            assert row(short, code)["is_desert"], code


def test_empty_countryside_does_not_change_the_city(tmp_path, tiny_region):
    # Without the survey: each run of it is a fresh differentially private release (fresh
    # noise), so only the census need and access can be compared between two regions.
    del tiny_region["regions"]["tiny"]["survey"]
    city = run_stages(tiny_region, tmp_path / "city")
    tracts = grid_tracts()
    country = gpd.GeoDataFrame(
        {"TRACT_CODE": [f"C{k}" for k in range(4)], "pop": 5.0, "poverty": 1.0},
        geometry=[box(X0 - 20000, Y0 - 20000, X0, Y0 + 24000),
                  box(X0 + 4000, Y0 - 20000, X0 + 24000, Y0 + 24000),
                  box(X0, Y0 - 20000, X0 + 4000, Y0),
                  box(X0, Y0 + 4000, X0 + 4000, Y0 + 24000)], crs=CRS)
    path = tmp_path / "wide" / "tracts.shp"
    path.parent.mkdir()
    pd.concat([tracts, country], ignore_index=True).to_file(path)
    wide_config = {**tiny_region, "regions": {"tiny": {**tiny_region["regions"]["tiny"]}}}
    wide_config["regions"]["tiny"]["tracts"] = {**tiny_region["regions"]["tiny"]["tracts"],
                                                "path": str(path), "crs": None}
    del wide_config["regions"]["tiny"]["tracts"]["crs"]
    wide = run_stages(wide_config, tmp_path / "wide_run")
    assert (wide.loc[wide["TRACT_CODE"].str.startswith("C"), "desert_class"]
            == "insufficient_data").all()
    same = wide.iloc[:16].reset_index(drop=True)
    for column in ["desert_class", "need_score", "access_low", "access_score",
                   "share_beyond_threshold", "robustness_margin", "desert_stability"]:
        pd.testing.assert_series_equal(same[column], city[column], check_names=False,
                                       obj=column)


def test_capacity_weights_the_floating_catchment(tmp_path, tiny_region):
    source = Path(tiny_region["regions"]["tiny"]["assets"]["path"])
    frame = pd.read_csv(source)
    frame["cap"] = 2
    doubled_path = source.with_name("assets_cap.csv")
    frame.to_csv(doubled_path, index=False)
    config = {**tiny_region, "regions": {"tiny": {**tiny_region["regions"]["tiny"]}}}
    config["regions"]["tiny"]["assets"] = {**tiny_region["regions"]["tiny"]["assets"],
                                           "path": str(doubled_path), "capacity": "cap"}
    plain = run_stages(tiny_region, tmp_path / "plain")
    doubled = run_stages(config, tmp_path / "doubled")
    np.testing.assert_allclose(doubled["fca_access"], 2 * plain["fca_access"], atol=2e-6)

    frame["cap"] = frame["cap"].astype(str)
    frame.loc[3, "cap"] = "lots"
    frame.to_csv(doubled_path, index=False)
    with pytest.raises(InputError, match=r"row 4.*column 'cap'"):
        run_stages(config, tmp_path / "bad")


def test_auto_bandwidth_is_recorded_and_used(tmp_path, tiny_region):
    tiny_region["density"]["bandwidth_m"] = "auto"
    tracts = run_stages(tiny_region, tmp_path / "auto")
    import rasterio

    with rasterio.open(tmp_path / "auto" / "density.tif") as src:
        bandwidth = float(src.tags()["bandwidth_m"])
    assets = gpd.read_file(tmp_path / "auto" / "assets.gpkg")
    from aiddeserts.method.density import auto_bandwidth

    assert bandwidth == round(auto_bandwidth(assets.geometry.x, assets.geometry.y), 1)
    assert row(tracts, "T15")["is_desert"]

    work = tmp_path / "auto"
    summarize("tiny", tiny_region["regions"]["tiny"].get("title"),
              {"density": {"bandwidth_m": "auto"}},
              [str(work / f"c{k}.json") for k in (1, 2, 3)],
              [str(work / f"r{k}.csv") for k in (1, 2, 3)], str(work / "out.gpkg"),
              str(work / "density.tif"), str(work / "summary.json"), str(work / "rejects.csv"))
    summary = json.loads((work / "summary.json").read_text())
    assert summary["bandwidth_m_used"] == bandwidth
    deserts = tracts[tracts["is_desert"]]
    assert summary["confidence"]["deserts_lifted_by_one_asset"] == int(
        (deserts["robustness_margin"] == 1).sum())
    assert summary["confidence"]["deserts_stable_90pct"] == int(
        (deserts["desert_stability"] >= 0.9).sum()) > 0


def rural_config(tmp_path: Path, assets_xy: list[tuple[float, float]]) -> dict:
    """A 3×3 county of 10 km tracts with 1,000 people each (10 per km²: rural); poverty rises
    towards the north-east tract T8."""
    raw = tmp_path / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    tracts = grid_tracts(3, size=10_000.0)
    tracts.to_file(raw / "county.gpkg", layer="tracts")
    lat, lon = points_lonlat(assets_xy)
    pd.DataFrame({"lat": lat, "lon": lon}).to_csv(raw / "sites.csv", index=False)
    return {"regions": {"tiny": {
        "tracts": {"path": str(raw / "county.gpkg"), "id": "TRACT_CODE", "population": "pop",
                   "need": ["poverty"]},
        "assets": {"path": str(raw / "sites.csv"), "type_value": "pantry"}}},
        "classification": {"need_threshold": 0.85}}


def test_rural_tracts_are_judged_on_rural_distances(tmp_path):
    t8 = (X0 + 25_000, Y0 + 25_000)
    far_west = (X0 + 1000, Y0 + 1000)
    # Only a pantry in the far south-west: T8 is ~34 km away, beyond the 10 miles → desert.
    alone = run_stages(rural_config(tmp_path / "a", [far_west]), tmp_path / "a" / "w")
    tract = row(alone, "T08")
    assert not tract["urban"] and tract["far_threshold_m"] == 16093
    assert tract["desert_class"] == "desert"
    # One pantry in T8 itself: nobody is beyond 10 miles, but one closure away → fragile.
    one = run_stages(rural_config(tmp_path / "b", [far_west, t8]), tmp_path / "b" / "w")
    assert row(one, "T08")["desert_class"] == "fragile"
    assert row(one, "T08")["assets_within_catchment"] == 1
    # Two pantries within reach (though neither within walking distance): served.
    two = run_stages(rural_config(tmp_path / "c", [far_west, t8, (t8[0] - 3000, t8[1])]),
                     tmp_path / "c" / "w")
    assert row(two, "T08")["assets_within_catchment"] == 1
    assert row(two, "T08")["desert_class"] == "served"


def test_tracts_with_uncertain_need_are_reported(tmp_path, tiny_region):
    """Margins of error that span the high-need line make the tract `need_uncertain`."""
    tracts = grid_tracts()
    tracts["poverty"] = np.arange(16, dtype=float) * 3.0  # T11 → 33, T12 → 36 (threshold 0.75)
    tracts["pov_moe"] = 0.0
    tracts.loc[tracts["TRACT_CODE"].isin(["T11", "T12"]), "pov_moe"] = 20.0
    path = tmp_path / "moe" / "tracts.gpkg"
    path.parent.mkdir()
    tracts.to_file(path, layer="tracts")
    config = {**tiny_region, "regions": {"tiny": {**tiny_region["regions"]["tiny"]}}}
    config["regions"]["tiny"]["tracts"] = {"path": str(path), "id": "TRACT_CODE",
                                           "population": "pop",
                                           "need": [{"column": "poverty", "moe": "pov_moe"}]}
    del config["regions"]["tiny"]["survey"]
    out = run_stages(config, tmp_path / "moe_run")
    uncertain = set(out.loc[out["need_uncertain"], "TRACT_CODE"])
    assert {"T11", "T12"} <= uncertain
    assert not {"T00", "T05", "T15"} & uncertain
    # T15 can only be overtaken by the two uncertain tracts: at worst third from the top.
    assert row(out, "T15")["need_score_low"] >= 13 / 15 and row(out, "T15")["need_high"]
    assert row(out, "T00")["need_score_low"] == row(out, "T00")["need_score_high"] == 0.0
