"""The catalogue of bad input: one test per case, asserting the exact outcome.

Fatal cases raise one InputError naming the file, the row (where there is one), the column and the
fix. Repairable cases go on and list every dropped or changed row in the rejects (source, row,
reason, action) without the row's content, so that rows read = kept + rejected.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, REPO, X0, Y0, asset_region, grid_tracts, points_lonlat, run_snakemake
from shapely.geometry import LineString, Polygon
from test_cli import aiddeserts, write_config

from aiddeserts.cli import EXIT_ENVIRONMENT
from aiddeserts.config import validate_config
from aiddeserts.errors import InputError
from aiddeserts.io.assets import read_assets
from aiddeserts.io.rejects import count_rows
from aiddeserts.io.survey import read_survey
from aiddeserts.io.tracts import read_tracts

TRACTS_CFG = {"id": "TRACT_CODE", "population": "pop", "need": ["poverty"]}


def fatal(call, *args, path=None, row=None, column=None, contains: str = "") -> InputError:
    """Run `call`, expect exactly one InputError with these coordinates and a fix."""
    with pytest.raises(InputError) as info:
        call(*args)
    error = info.value
    assert error.path == (str(path) if path is not None else None), str(error)
    assert error.row == row, str(error)
    assert error.column == column, str(error)
    assert error.fix, str(error)
    assert contains in str(error), str(error)
    return error


def write_tracts(tmp_path: Path, frame: gpd.GeoDataFrame | None = None, name="t.gpkg") -> dict:
    frame = grid_tracts(2) if frame is None else frame
    frame.to_file(tmp_path / name)
    return {**TRACTS_CFG, "path": str(tmp_path / name)}


def centre_lonlat(tracts: gpd.GeoDataFrame, k: int) -> tuple[float, float]:
    c = tracts.geometry.iloc[k].centroid
    lat, lon = points_lonlat([(c.x, c.y)])
    return float(lat[0]), float(lon[0])


def asset_csv(tmp_path: Path, rows: list[dict], name="a.csv", **source) -> dict:
    pd.DataFrame(rows).to_csv(tmp_path / name, index=False)
    return asset_region({"path": str(tmp_path / name), "name": "name", **source})


# ------------------------------------------------------------------------------ fatal: files
def test_01_missing_file(tmp_path):
    cfg = {**TRACTS_CFG, "path": str(tmp_path / "nope.gpkg")}
    fatal(read_tracts, cfg, path=tmp_path / "nope.gpkg", contains="file not found")


def test_02_empty_file(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"")
    region = asset_region({"path": str(tmp_path / "a.csv")})
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "a.csv", contains="file is empty")


def test_03_header_only(tmp_path):
    (tmp_path / "a.csv").write_text("lat,lon,name\n")
    region = asset_region({"path": str(tmp_path / "a.csv")})
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "a.csv",
          contains="has a header but no data rows")


def test_04_corrupt_vector_file(tmp_path):
    (tmp_path / "t.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x13" * 500)
    fatal(read_tracts, {**TRACTS_CFG, "path": str(tmp_path / "t.gpkg")}, path=tmp_path / "t.gpkg",
          contains="cannot be read as a vector file")


def test_05_binary_file_named_csv(tmp_path):
    (tmp_path / "a.csv").write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)))
    region = asset_region({"path": str(tmp_path / "a.csv")})
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "a.csv",
          contains="not a text CSV")


def test_06_corrupt_census_api_json(tmp_path):
    cfg = write_tracts(tmp_path)
    (tmp_path / "acs.json").write_text('[["NAME","B01003_001E"],["x",')
    cfg["attributes"] = {"path": str(tmp_path / "acs.json"), "id": "GEOID"}
    fatal(read_tracts, cfg, path=tmp_path / "acs.json", contains="is not valid JSON")


def test_07_tract_file_without_features(tmp_path):
    (tmp_path / "t.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    fatal(read_tracts, {**TRACTS_CFG, "path": str(tmp_path / "t.geojson")},
          path=tmp_path / "t.geojson", contains="no features")


# ---------------------------------------------------------------------------- fatal: columns
def test_08_misspelled_column_suggests_closest(tmp_path):
    cfg = {**write_tracts(tmp_path), "population": "popp"}
    fatal(read_tracts, cfg, path=tmp_path / "t.gpkg", column="popp",
          contains="did you mean 'pop'?")


def test_09_missing_column_lists_columns(tmp_path):
    cfg = {**write_tracts(tmp_path), "id": "GEOID"}
    fatal(read_tracts, cfg, path=tmp_path / "t.gpkg", column="GEOID",
          contains="columns are: TRACT_CODE, pop, poverty, geometry")


def test_10_no_coordinate_columns(tmp_path):
    region = asset_csv(tmp_path, [{"name": "A", "address": "1 Main St"}])
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "a.csv",
          contains="no latitude/longitude columns found")


def test_11_need_column_is_text(tmp_path):
    tracts = grid_tracts(2)
    tracts["poverty"] = ["1", "2", "high", "4"]
    cfg = write_tracts(tmp_path, tracts)
    fatal(read_tracts, cfg, path=tmp_path / "t.gpkg", row=3, column="poverty",
          contains="value 'high' is not a number")


# ------------------------------------------------------------------------------ fatal: ids
def test_12_duplicate_tract_ids(tmp_path):
    tracts = grid_tracts(2)
    tracts.loc[3, "TRACT_CODE"] = "T01"
    fatal(read_tracts, write_tracts(tmp_path, tracts), path=tmp_path / "t.gpkg", row=4,
          column="TRACT_CODE", contains="tract id 'T01' appears more than once (also row 2)")


def test_13_blank_tract_id(tmp_path):
    tracts = grid_tracts(2)
    tracts.loc[2, "TRACT_CODE"] = " "
    fatal(read_tracts, write_tracts(tmp_path, tracts), path=tmp_path / "t.gpkg", row=3,
          column="TRACT_CODE", contains="tract id is blank")


def test_14_duplicate_attribute_ids(tmp_path):
    cfg = write_tracts(tmp_path, grid_tracts(2).drop(columns=["pop", "poverty"]))
    pd.DataFrame({"id": ["T00", "T01", "T01", "T03"], "pop": 1, "poverty": 2}).to_csv(
        tmp_path / "a.csv", index=False)
    cfg["attributes"] = {"path": str(tmp_path / "a.csv"), "id": "id"}
    fatal(read_tracts, cfg, path=tmp_path / "a.csv", row=3, column="id",
          contains="attribute id 'T01' appears more than once")


# ------------------------------------------------------------------------------ fatal: CRS
def test_15_tracts_without_crs_and_none_in_config(tmp_path):
    grid_tracts(2).to_file(tmp_path / "t.shp")
    (tmp_path / "t.prj").unlink()
    fatal(read_tracts, {**TRACTS_CFG, "path": str(tmp_path / "t.shp")}, path=tmp_path / "t.shp",
          contains="no CRS and the config gives none")


def test_16_projected_file_labelled_lon_lat(tmp_path):
    tracts = grid_tracts(2).set_crs(4326, allow_override=True)  # metres claimed as degrees
    error = fatal(read_tracts, write_tracts(tmp_path, tracts, "t.geojson"),
                  path=tmp_path / "t.geojson", contains="they are projected")
    assert "Set CRS" in error.fix


def test_17_configured_crs_contradicts_file(tmp_path):
    cfg = {**write_tracts(tmp_path), "crs": "EPSG:2263"}
    fatal(read_tracts, cfg, path=tmp_path / "t.gpkg", contains="differs from tracts.crs")


def test_18_point_file_without_crs(tmp_path):
    pts = gpd.GeoDataFrame({"name": ["A"]}, geometry=gpd.points_from_xy([X0 + 10], [Y0 + 10]))
    pts.to_file(tmp_path / "p.shp")
    region = asset_region({"path": str(tmp_path / "p.shp")})
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "p.shp", contains="no CRS")


# ---------------------------------------------------------------------- fatal: config, region
def test_19_config_fails_schema_names_key_and_allowed_values():
    config = {"regions": {"r": {"tracts": {"path": "t.gpkg", **TRACTS_CFG},
                                "assets": {"path": "a.csv"}}},
              "density": {"kernel": "triangle"}}
    error = fatal(validate_config, config, contains="config key 'density.kernel'")
    assert "allowed values: 'quartic', 'gaussian', 'epanechnikov', 'uniform'" in str(error)


def test_20_config_retrieve_state_must_be_fips():
    config = {"regions": {"r": {"tracts": {"path": "t.gpkg", **TRACTS_CFG},
                                "assets": {"path": "a.csv"}, "retrieve": {"state": "MN"}}}}
    fatal(validate_config, config, contains="config key 'regions.r.retrieve.state'")


def test_21_region_with_no_assets_at_all(tmp_path):
    region = asset_csv(tmp_path, [{"lat": 10.0, "lon": 10.0, "name": "far away"}])
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "a.csv",
          contains="no asset of any source lies inside the study area")


# ------------------------------------------------------------------------ repairable: points
def _rejects_of(rejects: pd.DataFrame) -> list[list]:
    return rejects[["row", "reason", "action"]].astype(object).values.tolist()


def test_22_non_numeric_and_out_of_range_coordinates(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    region = asset_csv(tmp_path, [{"lat": lat, "lon": lon, "name": "ok"},
                                  {"lat": "north", "lon": lon, "name": "text"},
                                  {"lat": "", "lon": lon, "name": "blank"},
                                  {"lat": 95.0, "lon": 200.0, "name": "range"}])
    assets, rejects, read = read_assets(region, tracts)
    assert assets["name"].tolist() == ["ok"]
    assert _rejects_of(rejects) == [
        [2, "latitude/longitude (lat/lon) blank or not a number", "dropped"],
        [3, "latitude/longitude (lat/lon) blank or not a number", "dropped"],
        [4, "latitude/longitude out of range", "dropped"]]
    assert count_rows(read, rejects)["kept"] == 1


def test_23_lat_lon_swapped_is_detected_from_the_extent(tmp_path):
    tracts = grid_tracts(2)
    lat0, lon0 = centre_lonlat(tracts, 0)
    lat3, lon3 = centre_lonlat(tracts, 3)
    region = asset_csv(tmp_path, [{"lat": lat0, "lon": lon0, "name": "right"},
                                  {"lat": lon3, "lon": lat3, "name": "swapped"}])
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T00", "T03"]
    assert _rejects_of(rejects) == [[2, "latitude and longitude were swapped (the point lies in "
                                        "the study area only when swapped): corrected",
                                     "repaired"]]


SWAPPED = ("latitude and longitude were swapped (the point lies in the study area only when "
           "swapped): corrected")


def test_23b_geojson_written_as_lat_lon_is_swapped_back(tmp_path):
    tracts = grid_tracts(2)
    (lat0, lon0), (lat3, lon3) = centre_lonlat(tracts, 0), centre_lonlat(tracts, 3)
    # A tool that wrote [lat, lon]: the second point's x is its latitude.
    gpd.GeoDataFrame({"name": ["right", "swapped"]},
                     geometry=gpd.points_from_xy([lon0, lat3], [lat0, lon3]), crs=4326
                     ).to_file(tmp_path / "a.geojson")
    raw = gpd.read_file(tmp_path / "a.geojson")
    assert raw.geometry.x.iloc[1] == pytest.approx(lat3)  # really written swapped
    region = asset_region({"path": str(tmp_path / "a.geojson"), "name": "name"})
    assets, rejects, read = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T00", "T03"]
    centre = tracts.geometry.iloc[3].centroid
    assert assets.geometry.iloc[1].distance(centre) < 0.01  # metres: back at the tract's centre
    assert _rejects_of(rejects) == [[2, SWAPPED, "repaired"]]
    assert count_rows(read, rejects)["repaired"] == 1


def test_23c_geopackage_survey_with_swapped_points_in_nad83(tmp_path):
    tracts = grid_tracts(2)
    (lat0, lon0), (lat2, lon2) = centre_lonlat(tracts, 0), centre_lonlat(tracts, 2)
    gpd.GeoDataFrame({"need": ["yes", "no", "yes"]},
                     geometry=gpd.points_from_xy([lon0, lat2, lat0 + 1], [lat0, lon2, lon0]),
                     crs=4326).to_crs("EPSG:4269").to_file(tmp_path / "s.gpkg")
    survey, rejects, read = read_survey({"path": str(tmp_path / "s.gpkg"), "need": "need"},
                                        tracts, "TRACT_CODE", min_respondents=11)
    assert survey["TRACT_CODE"].tolist() == ["T00", "T02"]
    assert survey["unmet_need"].tolist() == [True, False]
    # Row 3 is outside the study area either way round: dropped, not swapped.
    assert _rejects_of(rejects) == [[2, SWAPPED, "repaired"],
                                    [3, "outside the study area (in no tract)", "dropped"]]
    assert read == 3


def test_23c2_swapped_file_west_of_90w_is_repaired_not_called_projected(tmp_path):
    # Around Fairbanks (UTM 6N): swapped, every y is about -146, beyond ±90.
    tracts = grid_tracts(2).set_crs("EPSG:32606", allow_override=True)
    centre = tracts.geometry.iloc[1].centroid
    where = gpd.GeoSeries([centre], crs=tracts.crs).to_crs(4326)
    lon, lat = float(where.x[0]), float(where.y[0])
    assert lon < -90
    gpd.GeoDataFrame({"name": ["A"]}, geometry=gpd.points_from_xy([lat], [lon]), crs=4326
                     ).to_file(tmp_path / "a.geojson")
    region = asset_region({"path": str(tmp_path / "a.geojson"), "name": "name"})
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T01"]
    assert _rejects_of(rejects) == [[1, SWAPPED, "repaired"]]


def test_23d_projected_point_file_is_never_swapped(tmp_path):
    tracts = grid_tracts(2)
    (lat0, lon0), (lat3, lon3) = centre_lonlat(tracts, 0), centre_lonlat(tracts, 3)
    # Web Mercator metres of the right place and of the swapped place (lon = lat3, lat = lon3):
    # read as degrees and swapped, the second would land in T03; in a projected file it must not.
    gpd.GeoDataFrame({"name": ["right", "elsewhere"]},
                     geometry=gpd.points_from_xy([lon0, lat3], [lat0, lon3]), crs=4326
                     ).to_crs("EPSG:3857").to_file(tmp_path / "p.gpkg")
    region = asset_region({"path": str(tmp_path / "p.gpkg"), "name": "name"})
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["name"].tolist() == ["right"]
    assert _rejects_of(rejects) == [[2, "outside the study area (in no tract)", "dropped"]]


def test_23e_csv_with_projected_xy_stops_and_names_the_crs_key(tmp_path):
    tracts = grid_tracts(2)
    region = asset_csv(tmp_path, [{"x": X0 + 500, "y": Y0 + 500, "name": "A"},
                                  {"x": X0 + 1500, "y": Y0 + 1500, "name": "B"}])
    error = fatal(read_assets, region, tracts, path=tmp_path / "a.csv", row=1, column="y/x",
                  contains="they look like projected coordinates (metres or feet)")
    assert "set `crs:` for this source to EPSG:32618 (the values fall in the study area" in (
        error.fix)
    assert "x is then read from the longitude column" in error.fix
    # Away from the study area the fix names examples instead of the tracts' CRS.
    fatal(read_assets, region, tracts.to_crs(4326), path=tmp_path / "a.csv", row=1,
          column="y/x", contains="look like projected coordinates")


def test_23f_csv_with_projected_xy_and_crs_is_read(tmp_path):
    tracts = grid_tracts(2)
    region = asset_csv(tmp_path, [{"x": X0 + 500, "y": Y0 + 500, "name": "A"},
                                  {"x": X0 + 1500, "y": Y0 + 1500, "name": "B"},
                                  {"x": "", "y": Y0 + 10, "name": "blank"}],
                       crs="EPSG:32618")
    assets, rejects, read = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T00", "T03"]
    assert assets.geometry.x.tolist() == pytest.approx([X0 + 500, X0 + 1500], abs=1e-3)
    assert assets.geometry.y.tolist() == pytest.approx([Y0 + 500, Y0 + 1500], abs=1e-3)
    assert _rejects_of(rejects) == [[3, "latitude/longitude (y/x) blank or not a number",
                                     "dropped"]]
    # In state plane feet (EPSG:2263) the same places have other numbers and read the same.
    xy = gpd.GeoSeries(gpd.points_from_xy([X0 + 500], [Y0 + 500]), crs=CRS).to_crs("EPSG:2263")
    region = asset_csv(tmp_path, [{"easting": xy.x[0], "northing": xy.y[0], "name": "A"}],
                       name="b.csv", lon="easting", lat="northing", crs="EPSG:2263")
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T00"] and rejects.empty
    assert assets.geometry.x[0] == pytest.approx(X0 + 500, abs=0.01)


def test_23g_a_few_out_of_range_rows_are_dropped_not_fatal(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    region = asset_csv(tmp_path, [{"lat": lat, "lon": lon, "name": "ok"},
                                  {"lat": lat, "lon": lon, "name": "ok too"},
                                  {"lat": 4507000, "lon": 583000, "name": "typo"}])
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["name"].tolist() == ["ok", "ok too"]
    assert _rejects_of(rejects) == [[3, "latitude/longitude out of range", "dropped"]]


def test_23h_point_file_without_crs_uses_the_source_crs(tmp_path):
    pts = gpd.GeoDataFrame({"name": ["A"]}, geometry=gpd.points_from_xy([X0 + 10], [Y0 + 10]))
    pts.to_file(tmp_path / "p.shp")
    region = asset_region({"path": str(tmp_path / "p.shp"), "name": "name", "crs": CRS})
    assets, rejects, _ = read_assets(region, grid_tracts(2))
    assert assets["TRACT_CODE"].tolist() == ["T00"] and rejects.empty
    pts.set_crs(CRS).to_file(tmp_path / "q.gpkg")
    region["assets"] = {"path": str(tmp_path / "q.gpkg"), "crs": "EPSG:2263"}
    fatal(read_assets, region, grid_tracts(2), path=tmp_path / "q.gpkg",
          contains="differs from the source's crs (EPSG:2263)")


def test_24_points_outside_the_study_area(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    region = asset_csv(tmp_path, [{"lat": lat, "lon": lon, "name": "in"},
                                  {"lat": lat + 0.2, "lon": lon, "name": "out"}])
    assets, rejects, _ = read_assets(region, tracts)
    assert _rejects_of(rejects) == [[2, "outside the study area (in no tract)", "dropped"]]


def test_25_duplicate_asset_rows_across_sources(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 1)
    rows = [{"lat": lat, "lon": lon, "name": "Fridge A"}, {"lat": lat, "lon": lon,
                                                            "name": "Fridge B"}]
    pd.DataFrame(rows).to_csv(tmp_path / "one.csv", index=False)
    pd.DataFrame([rows[1], {"lat": lat, "lon": lon, "name": " fridge a "}]).to_csv(
        tmp_path / "two.csv", index=False)
    region = asset_region([{"path": str(tmp_path / "one.csv"), "name": "name"},
                         {"path": str(tmp_path / "two.csv"), "name": "name"}])
    assets, rejects, read = read_assets(region, tracts)
    assert assets["name"].tolist() == ["Fridge A", "Fridge B"]
    assert assets["asset_id"].str.match(r"^a-[0-9a-f]{10}$").all()
    assert assets["asset_id"].is_unique
    one = f"assets[1]:{tmp_path / 'one.csv'}"
    assert rejects[["source", "row", "reason"]].astype(object).values.tolist() == [
        [f"assets[2]:{tmp_path / 'two.csv'}", 1, f"duplicate of {one} row 2: dropped"],
        [f"assets[2]:{tmp_path / 'two.csv'}", 2, f"duplicate of {one} row 1: dropped"]]
    counts = count_rows(read, rejects)
    assert (counts["read"], counts["kept"], counts["rejected"]) == (4, 2, 2)


def test_26_non_point_geometry_in_a_point_file(tmp_path):
    tracts = grid_tracts(2)
    gpd.GeoDataFrame({"name": ["pt", "line"]}, geometry=[
        gpd.points_from_xy([X0 + 100], [Y0 + 100])[0],
        LineString([(X0, Y0), (X0 + 50, Y0 + 50)])], crs=CRS).to_file(tmp_path / "p.gpkg")
    region = asset_region({"path": str(tmp_path / "p.gpkg"), "name": "name"})
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["name"].tolist() == ["pt"]
    assert _rejects_of(rejects) == [[2, "geometry is a LineString, not a point", "dropped"]]


def test_27_latin1_file_is_read_and_reported(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    pd.DataFrame([{"lat": lat, "lon": lon, "name": "Señora Peña"}]).to_csv(
        tmp_path / "a.csv", index=False, encoding="latin-1")
    region = asset_region({"path": str(tmp_path / "a.csv"), "name": "name"})
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["name"].tolist() == ["Señora Peña"]
    assert rejects[["reason", "action"]].values.tolist() == [
        ["file is not UTF-8: read as Latin-1 (check accented names)", "note"]]


# ------------------------------------------------------------------------ repairable: tracts
def test_28_invalid_and_empty_geometries(tmp_path):
    tracts = grid_tracts(2)
    x, y = X0, Y0
    bowtie = Polygon([(x, y), (x + 1000, y + 1000), (x + 1000, y), (x, y + 1000)])
    tracts.loc[0, "geometry"] = bowtie
    tracts.loc[2, "geometry"] = Polygon()
    out, rejects = read_tracts(write_tracts(tmp_path, tracts))
    assert out["TRACT_CODE"].tolist() == ["T00", "T01", "T03"]
    assert out.geometry.is_valid.all()
    assert out.geometry.iloc[0].area == pytest.approx(500_000)
    assert _rejects_of(rejects) == [
        [3, "empty geometry: tract dropped", "dropped"],
        [1, "invalid geometry repaired with make_valid (tract kept)", "repaired"]]


def test_29_mixed_geometry_types(tmp_path):
    tracts = grid_tracts(2)
    tracts.loc[1, "geometry"] = LineString([(X0, Y0), (X0 + 10, Y0 + 10)])
    out, rejects = read_tracts(write_tracts(tmp_path, tracts, "t.geojson"))
    assert out["TRACT_CODE"].tolist() == ["T00", "T02", "T03"]
    assert _rejects_of(rejects) == [
        [2, "geometry is a LineString, not a polygon: tract dropped", "dropped"]]


def test_30_zero_population_is_flagged(tmp_path):
    tracts = grid_tracts(2)
    tracts.loc[1, "pop"] = 0
    out, rejects = read_tracts(write_tracts(tmp_path, tracts))
    assert len(out) == 4 and out["pop"].iloc[1] == 0
    assert _rejects_of(rejects) == [
        [2, "population is 0: tract kept, classed insufficient_data", "flagged"]]


def test_31_acs_sentinels_and_blank_cells(tmp_path):
    cfg = write_tracts(tmp_path, grid_tracts(2).drop(columns=["pop", "poverty"]))
    pd.DataFrame({"id": ["T00", "T01", "T02", "T03"], "pop": ["10", "", "30", "40"],
                  "poverty": ["1.5", "2", "-666666666", "-999999999"]}).to_csv(
        tmp_path / "a.csv", index=False)
    cfg["attributes"] = {"path": str(tmp_path / "a.csv"), "id": "id"}
    out, rejects = read_tracts(cfg)
    assert out["pop"].isna().tolist() == [False, True, False, False]
    assert out["poverty"].isna().tolist() == [False, False, True, True]
    source = f"attributes:{tmp_path / 'a.csv'}"
    assert rejects[["source", "row", "reason", "action"]].astype(object).values.tolist() == [
        [source, 2, "blank value in 'pop' treated as missing", "flagged"],
        [source, 3, "sentinel value in 'poverty' treated as missing", "repaired"],
        [source, 4, "sentinel value in 'poverty' treated as missing", "repaired"]]


def test_32_geoids_that_lost_their_leading_zero(tmp_path):
    tracts = grid_tracts(2)
    tracts["GEOID"] = [f"06001400{k}00" for k in range(1, 5)]
    tracts["GEOID"] = tracts["GEOID"].astype("int64")  # saved by a spreadsheet as numbers
    cfg = {**write_tracts(tmp_path, tracts), "id": "GEOID"}
    out, rejects = read_tracts(cfg)
    assert out["GEOID"].tolist() == [f"06001400{k}00" for k in range(1, 5)]
    assert rejects[["row", "action"]].values.tolist() == [[1, "repaired"], [2, "repaired"],
                                                          [3, "repaired"], [4, "repaired"]]
    assert set(rejects["reason"]) == {"GEOID had lost its leading zero(s): restored"}


def test_33_attribute_rows_without_tract_and_tracts_without_row(tmp_path):
    cfg = write_tracts(tmp_path, grid_tracts(2).drop(columns=["pop", "poverty"]))
    pd.DataFrame({"id": ["T00", "T01", "T02", "T99"], "pop": 1, "poverty": 2}).to_csv(
        tmp_path / "a.csv", index=False)
    cfg["attributes"] = {"path": str(tmp_path / "a.csv"), "id": "id"}
    out, rejects = read_tracts(cfg)
    assert out["pop"].isna().tolist() == [False, False, False, True]
    assert _rejects_of(rejects) == [
        [4, "attribute row matches no tract id: not used", "dropped"],
        [4, "no attribute row for this tract: need data missing", "flagged"]]


# ------------------------------------------------------------------------ repairable: survey
def _survey(tmp_path, need, consent, story="my story"):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    pd.DataFrame({"lat": lat, "lon": lon, "need": need, "consent": consent, "story": story,
                  "phone": "555-0100"}).to_csv(tmp_path / "s.csv", index=False)
    return read_survey({"path": str(tmp_path / "s.csv"), "need": "need", "consent": "consent",
                        "story": "story"}, tracts, "TRACT_CODE", min_respondents=11)


def test_34_consent_in_mixed_forms(tmp_path):
    forms = ["yes", "Y", "true", "1", "sí", "Sí", "TRUE", "no", "N", "false", "0", "", "maybe"]
    survey, rejects, read = _survey(tmp_path, ["yes"] * len(forms), forms)
    assert survey["story_consented"].tolist() == [True] * 7 + [False] * 6
    assert (survey["story"] != "").sum() == 7
    assert _rejects_of(rejects) == [
        [13, "consent answer in 'consent' is not yes/no: story withheld", "repaired"]]


def test_35_unmet_need_answer_not_yes_no(tmp_path):
    survey, rejects, read = _survey(tmp_path, ["yes", "No", "sometimes", ""], ["yes"] * 4)
    assert survey["unmet_need"].tolist() == [True, False]
    assert _rejects_of(rejects) == [[3, "unmet-need answer in 'need' is not yes/no", "dropped"],
                                    [4, "unmet-need answer in 'need' is not yes/no", "dropped"]]
    counts = count_rows({"survey": read}, rejects.assign(source="survey"))
    assert (counts["read"], counts["kept"], counts["rejected"]) == (4, 2, 2)


def test_rejects_never_carry_row_content(tmp_path):
    survey, rejects, _ = _survey(tmp_path, ["sometimes"], ["maybe"], story="secret canary")
    text = rejects.to_csv()
    for value in ("sometimes", "maybe", "secret canary", "555-0100"):
        assert value not in text


def test_count_rows_invariant_holds_per_source():
    rejects = pd.DataFrame({"source": ["a", "a", "b", "b"], "row": [1, 2, 1, 1],
                            "reason": ["x", "y", "z", "w"],
                            "action": ["dropped", "repaired", "flagged", "dropped"]})
    counts = count_rows({"a": 10, "b": 3}, rejects)
    assert counts["sources"] == {"a": {"read": 10, "kept": 9, "rejected": 1, "repaired": 1,
                                       "flagged": 0},
                                 "b": {"read": 3, "kept": 2, "rejected": 1, "repaired": 0,
                                       "flagged": 1}}
    assert counts["read"] == counts["kept"] + counts["rejected"] == 13
    assert json.dumps(counts)  # serialisable as is
    assert np.all([s["read"] == s["kept"] + s["rejected"] for s in counts["sources"].values()])


# ------------------------------------------------- messages about a survey never quote its values
def canary_survey(path: Path, tracts: gpd.GeoDataFrame, n: int = 30, encoding: str = "utf-8"
                  ) -> list[str]:
    """A survey CSV exported without its header row: id, lat, lon, unmet_need, story, consent,
    name, phone, e-mail; each personal cell a unique canary. Returns every canary written."""
    rows = []
    for i in range(1, n + 1):
        lat, lon = centre_lonlat(tracts, i % len(tracts))
        rows.append([f"S{i:05d}", f"{lat + i * 1e-5:.6f}", f"{lon - i * 1e-5:.6f}",
                     "yes" if i % 2 else "no", f"Story of canary {i:05d}", "yes",
                     f"Synthetic Persön {i:05d}", f"555-0101-{i:04d}",
                     f"respondent{i:05d}@example.invalid"])
    pd.DataFrame(rows).to_csv(path, index=False, header=False, encoding=encoding)
    return [cell for row in rows for cell in row if cell not in {"yes", "no"}]


def leaked(text: str, canaries: list[str]) -> list[str]:
    return [c for c in canaries if c in text]


@pytest.mark.parametrize("columns", [
    {"lat": "lat", "lon": "lon", "need": "unmet_need", "story": "story", "consent": "consent"},
    {"need": "unmet_need"},  # location autodetected
    {"geopoint": "location", "need": "unmet_need"},
])
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_36_survey_without_header_row_quotes_no_answer(tmp_path, columns, encoding):
    tracts = grid_tracts(2)
    canaries = canary_survey(tmp_path / "s.csv", tracts, encoding=encoding)
    with pytest.raises(InputError) as info:
        read_survey({"path": str(tmp_path / "s.csv"), **columns}, tracts, "TRACT_CODE",
                    min_respondents=11)
    error = info.value
    assert error.path == str(tmp_path / "s.csv") and error.fix
    assert "the file has 9 columns and its first row looks like data, not a header" in str(error)
    assert leaked(f"{error}\n{error.problem}\n{error.fix}", canaries) == []
    # The same file as an asset source lists its columns: the canaries are live.
    with pytest.raises(InputError) as as_asset:
        read_assets(asset_region({"path": str(tmp_path / "s.csv"),
                                                                **columns}), tracts)
    assert "respondent00001@example.invalid" in str(as_asset.value)


def test_36b_snakemake_run_on_a_survey_without_header_row_writes_no_answer(tmp_path, tiny_region):
    region = tiny_region["regions"]["tiny"]
    canaries = canary_survey(Path(region["survey"]["path"]), grid_tracts())
    work = tmp_path / "run"
    result = run_snakemake(work, tiny_region)
    assert result.returncode != 0
    assert ("column 'lat': the configured lat column is missing: no column is named 'lat' (the "
            "file has 9 columns and its first row looks like data") in result.stderr
    logs = sorted((work / "logs" / "tiny").glob("*.log"))
    snakemake_logs = sorted((work / ".snakemake" / "log").glob("*.log"))
    assert work / "logs" / "tiny" / "ingest_survey.log" in logs and snakemake_logs
    assert "no column is named 'lat'" in (work / "logs/tiny/ingest_survey.log").read_text()
    assert leaked(result.stdout + result.stderr, canaries) == []
    # Nothing the run wrote (logs, Snakemake's own records, processed files) holds a canary.
    for path in sorted(p for p in work.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert leaked(text, canaries) == [], path


def test_37_projected_survey_coordinates_are_not_quoted(tmp_path):
    tracts = grid_tracts(2)
    rows = [{"x": X0 + 523.4, "y": Y0 + 517.2, "need": "yes"},
            {"x": X0 + 1611.7, "y": Y0 + 1488.9, "need": "no"}]
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    error = fatal(read_survey, {"path": str(tmp_path / "s.csv"), "need": "need"}, tracts,
                  "TRACT_CODE", 11, path=tmp_path / "s.csv", row=1, column="y/x",
                  contains="look like projected coordinates (metres or feet), not degrees (2 of 2")
    coordinates = [f"{v:.0f}" for r in rows for v in (r["x"], r["y"])]
    assert leaked(str(error), coordinates) == []
    as_asset = fatal(read_assets, asset_region({"path": str(tmp_path / "s.csv")}), tracts,
                     path=tmp_path / "s.csv", row=1, column="y/x")
    assert "values such as 4500517, 580523" in str(as_asset)


def test_37b_survey_file_labelled_lon_lat_but_projected_gives_no_extent(tmp_path):
    tracts = grid_tracts(2)
    gpd.GeoDataFrame({"need": ["yes", "no"]},
                     geometry=gpd.points_from_xy([X0 + 523.4, X0 + 1611.7], [Y0 + 517.2, Y0 + 1488.9]),
                     crs=4326).to_file(tmp_path / "s.gpkg")
    error = fatal(read_survey, {"path": str(tmp_path / "s.gpkg"), "need": "need"}, tracts,
                  "TRACT_CODE", 11, path=tmp_path / "s.gpkg",
                  contains="(longitude/latitude) but its coordinates are beyond ±180/±90")
    assert leaked(str(error), ["580523", "581612", "4500517", "4501489"]) == []
    as_asset = fatal(read_assets, asset_region({"path": str(tmp_path / "s.gpkg")}), tracts,
                     path=tmp_path / "s.gpkg")
    assert "reach x 580523..581612, y 4500517..4501489" in str(as_asset)


def test_37c_survey_geopoint_found_by_its_values_is_named_by_position(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    # Without a header row a geopoint column's "name" is a respondent's location.
    header = f"{lat:.6f} {lon:.6f} 12 5"
    pd.DataFrame({"need": ["yes", "no", "yes"],
                  header: [f"{lat:.6f} {lon:.6f} 10 4", "", f"{lat:.6f} {lon:.6f} 11 3"]}
                 ).to_csv(tmp_path / "s.csv", index=False)
    survey, rejects, read = read_survey({"path": str(tmp_path / "s.csv"), "need": "need"},
                                        tracts, "TRACT_CODE", min_respondents=11)
    assert (read, len(survey)) == (3, 2)
    assert _rejects_of(rejects) == [
        [2, "latitude/longitude (column 2, read as a geopoint) blank or not a number", "dropped"]]
    # An asset source's rejects name the column by its header, as before.
    _, asset_rejects, _ = read_assets(asset_region({"path": str(tmp_path / "s.csv")}), tracts)
    assert header in asset_rejects["reason"].iloc[0]


def test_37d_survey_column_misnamed_suggests_no_header(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    pd.DataFrame({"lat": [lat], "lon": [lon], "Need": ["yes"], "Nedra Canary": ["x"]}
                 ).to_csv(tmp_path / "s.csv", index=False)
    error = fatal(read_survey, {"path": str(tmp_path / "s.csv"), "need": "need"}, tracts,
                  "TRACT_CODE", 11, path=tmp_path / "s.csv", column="need",
                  contains="no column is named 'need'; one differs only in letter case (the file "
                           "has 4 columns; the first row may be data, not a header")
    assert leaked(str(error), ["Nedra", "Canary", "'Need'"]) == []
    as_asset = fatal(read_assets, asset_region({
        "path": str(tmp_path / "s.csv"), "name": "nedra canary"}), tracts,
        path=tmp_path / "s.csv", column="nedra canary")
    assert "did you mean 'Nedra Canary'?" in str(as_asset)


# --------------------------------------------- environment: read-only, immutable and full folders
# Tests run as root, where chmod denies nothing: the folders are made unwritable by real
# mechanisms that bind root too (a read-only tmpfs or bind mount, chattr +i, a full tmpfs).
# Without them (not root, no CAP_SYS_ADMIN) the cases skip, except under CI=true, where the
# machine runs them as root and a skip would hide a regression.


def _need_mechanism(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        _need_mechanism(f"`{' '.join(cmd)}` failed: {done.stderr.strip() or done.returncode}")


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "16m") -> Iterator[Path]:
    """A fresh tmpfs of `size` mounted at `path` (unmounted afterwards, whatever happens)."""
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def checksums(folder: Path) -> dict[str, str]:
    """Every file and link under `folder` (links by their target), for before/after checks."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def debris(*folders: Path) -> list[str]:
    """Temporary files a writer or the publish left: atomic_path's `.name.xxxx`, probes,
    `.region.link.*`, half-written versions (no `.complete` marker)."""
    found = []
    for folder in folders:
        for path in folder.rglob(".*"):
            if path.name == ".versions" or path.name.endswith(".complete") or (
                    path.parent.name == ".versions"):
                continue
            found.append(str(path))
        for versions in folder.glob(".versions/*"):
            found += [str(v) for v in versions.iterdir() if v.is_dir()
                      and not v.with_name(v.name + ".complete").exists()]
    return found


def _built(tmp_path: Path, config: dict, outputs_size: str | None = None
           ) -> tuple[Path, Path, contextlib.ExitStack]:
    """A working directory with one complete run published (outputs/ on a tmpfs of
    `outputs_size` when given); the stack unmounts it."""
    work = tmp_path / "run"
    stack = contextlib.ExitStack()
    if outputs_size:
        stack.enter_context(tmpfs(work / "outputs", outputs_size))
    cfg = write_config(work, config)
    first = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    return work, cfg, stack


def _edit_assets(config: dict) -> None:
    """A real change of an input, so that the next run rebuilds and publishes."""
    path = Path(config["regions"]["tiny"]["assets"]["path"])
    frame = pd.read_csv(path)
    frame.loc[0, "Site"] = "Fridge renamed"
    frame.to_csv(path, index=False)


def _assert_environment_error(result: subprocess.CompletedProcess, folder: Path, *words: str
                              ) -> None:
    text = result.stdout + result.stderr
    assert result.returncode == EXIT_ENVIRONMENT, text[-3000:]
    assert f"aiddeserts (environment): folder {folder}" in result.stderr, text[-3000:]
    assert "Fix: " in result.stderr
    for word in words:
        assert word in result.stderr, text[-3000:]
    assert "Traceback" not in text


def test_38_read_only_outputs_folder_is_an_environment_error(tmp_path, tiny_region):
    work, cfg, stack = _built(tmp_path, tiny_region, outputs_size="16m")
    with stack:
        before = checksums(work / "outputs")
        _run("mount", "-o", "remount,ro", str(work / "outputs"))
        _edit_assets(tiny_region)
        result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
        _assert_environment_error(result, work / "outputs", "mounted read-only",
                                  f"mount -o remount,rw {work / 'outputs'}")
        assert checksums(work / "outputs") == before


def test_39_read_only_region_folder_is_an_environment_error(tmp_path, tiny_region):
    work, cfg, stack = _built(tmp_path, tiny_region, outputs_size="16m")
    with stack:
        before = checksums(work / "outputs")
        versions = work / "outputs" / ".versions" / "tiny"  # where outputs/tiny's files live
        _run("mount", "--bind", str(versions), str(versions))
        stack.callback(subprocess.run, ["umount", "-l", str(versions)], check=False)
        _run("mount", "-o", "remount,bind,ro", str(versions))
        _edit_assets(tiny_region)
        result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
        _assert_environment_error(result, versions, "mounted read-only")
        assert checksums(work / "outputs") == before


def test_40_immutable_outputs_folder_names_chattr_and_the_owner(tmp_path, tiny_region):
    work, cfg, stack = _built(tmp_path, tiny_region, outputs_size="16m")
    with stack:
        before = checksums(work / "outputs")
        _run("chattr", "+i", str(work / "outputs"))
        stack.callback(subprocess.run, ["chattr", "-i", str(work / "outputs")], check=False)
        _edit_assets(tiny_region)
        result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2",
                            "--on-failure", f"echo $AIDDESERTS_EXIT_CODE $AIDDESERTS_REASON > "
                                            f"{tmp_path / 'alert'}")
        _assert_environment_error(result, work / "outputs", "(owned by root)", "chattr -i",
                                  "run aiddeserts as the folder's owner")
        assert checksums(work / "outputs") == before
        assert (tmp_path / "alert").read_text() == f"{EXIT_ENVIRONMENT} environment\n"


def _fill(folder: Path, leave: int) -> Path:
    """Fill `folder`'s file system until `leave` bytes are free; returns the filler file."""
    filler = folder / "filler.bin"
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - leave
    with open(filler, "wb") as handle:
        for _ in range(size // (1 << 20)):
            handle.write(b"\0" * (1 << 20))
        handle.write(b"\0" * (size % (1 << 20)))
    return filler


#: Free space left on a "full" disk: the CLI's 64 KiB probe passes, a new published set does not.
ALMOST_FULL = 256 * 1024


def test_41_full_outputs_disk_keeps_the_old_set_and_leaves_no_debris(tmp_path, tiny_region):
    work, cfg, stack = _built(tmp_path, tiny_region, outputs_size="16m")
    with stack:
        _fill(work / "outputs", ALMOST_FULL)
        before = checksums(work / "outputs")
        _edit_assets(tiny_region)
        result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
        versions = work / "outputs" / ".versions" / "tiny"
        _assert_environment_error(result, versions, "the disk (or the quota) is full",
                                  f"df -h {versions}", "the old outputs are as they were")
        assert "Error in rule publish" in result.stderr
        assert checksums(work / "outputs") == before
        assert debris(work / "outputs") == []
        # Space freed, the new set publishes. (Snakemake restored the update() outputs by copying
        # them back, so a plain next run takes them for up to date: --forcerun publish.)
        (work / "outputs" / "filler.bin").unlink()
        again = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2",
                           "--forcerun", "publish")
        assert again.returncode == 0, again.stderr[-3000:]
        assert os.readlink(work / "outputs" / "tiny") != before["tiny"].removeprefix("-> ")
        assert "Fridge renamed" in (work / "outputs" / "tiny" / "map.html").read_text()
        assert debris(work / "outputs") == []


def test_42_full_processed_disk_stops_the_stage_and_keeps_the_old_outputs(tmp_path, tiny_region):
    work = tmp_path / "run"
    with tmpfs(work / "data" / "processed", "32m"):
        work, cfg, stack = _built(tmp_path, tiny_region)
        before = checksums(work / "outputs")
        filler = _fill(work / "data" / "processed", ALMOST_FULL)
        tiny = tiny_region["regions"]["tiny"]
        survey = pd.read_csv(tiny["survey"]["path"])  # a bigger survey: more to write
        pd.concat([survey] * 20).to_csv(tiny["survey"]["path"], index=False)
        _edit_assets(tiny_region)
        result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "2")
        text = result.stdout + result.stderr
        assert result.returncode == EXIT_ENVIRONMENT, text[-3000:]
        assert "the disk (or the quota) is full" in result.stderr, text[-3000:]
        assert str(work / "data" / "processed") in result.stderr.split("(environment): ")[1]
        assert "Traceback" not in text
        assert checksums(work / "outputs") == before
        assert debris(work / "outputs", work / "data" / "processed") == []
        filler.unlink()


def test_42_a_geopackage_that_gdal_cannot_finish_on_a_full_disk_is_a_full_disk(tmp_path):
    """GDAL may say only "no such table" when SQLite ran out of space: the writer probes the
    folder and reports ENOSPC for the file, and leaves no partial file."""
    import errno

    import geopandas as gpd
    from shapely.geometry import Point

    from aiddeserts.io.files import write_gpkg

    frame = gpd.GeoDataFrame({"name": [f"asset {i}" for i in range(20_000)]},
                             geometry=[Point(i, i) for i in range(20_000)], crs="EPSG:32618")
    with tmpfs(tmp_path / "disk", "4m") as disk:
        _fill(disk, ALMOST_FULL)
        with pytest.raises(OSError) as caught:
            write_gpkg(frame, disk / "assets.gpkg", "assets", intermediate=True)
        assert caught.value.errno == errno.ENOSPC
        assert caught.value.filename == str(disk / "assets.gpkg")
        assert sorted(p.name for p in disk.iterdir()) == ["filler.bin"]


# ------------------------------------------------- encodings, notations, geometry dimensions
def test_43_utf16_export_with_bom_is_read(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    # Excel's "Unicode text": UTF-16 with a BOM, tab separated.
    text = f"lat\tlon\tname\n{lat}\t{lon}\tSeñora Peña\n"
    (tmp_path / "a.csv").write_bytes(text.encode("utf-16"))
    assert (tmp_path / "a.csv").read_bytes()[:2] == b"\xff\xfe"
    assets, rejects, read = read_assets(asset_region({"path": str(tmp_path / "a.csv"),
                                                      "name": "name"}), tracts)
    assert assets["name"].tolist() == ["Señora Peña"] and rejects.empty and sum(read.values()) == 1


def test_44_windows_1252_export_keeps_its_quotes_and_dashes(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    name = "Peña’s “Free” Fridge – €0"
    pd.DataFrame([{"lat": lat, "lon": lon, "name": name}]).to_csv(
        tmp_path / "a.csv", index=False, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        (tmp_path / "a.csv").read_bytes().decode("utf-8")
    assets, rejects, _ = read_assets(asset_region({"path": str(tmp_path / "a.csv"),
                                                   "name": "name"}), tracts)
    assert assets["name"].tolist() == [name]
    assert rejects[["reason", "action"]].values.tolist() == [
        ["file is not UTF-8: read as Windows-1252 (check accented names)", "note"]]


def _dms(value: float, positive: str, negative: str) -> str:
    hemisphere = positive if value >= 0 else negative
    value = abs(value)
    degrees, minutes = int(value), (value - int(value)) * 60
    return f"{degrees}°{int(minutes)}′{(minutes - int(minutes)) * 60:.3f}″{hemisphere}"


def test_45_coordinate_notations_are_read_and_listed(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    rows = [{"lat": f"{lat:.6f}".replace(".", ","), "lon": f"{lon:.6f}".replace(".", ","),
             "name": "decimal comma"},
            {"lat": f"{lat:.6f}", "lon": f"\u2212{abs(lon):.6f}", "name": "unicode minus"},
            {"lat": f"\u00a0{lat:.6f}\u00a0", "lon": f"{lon:.6f}", "name": "no-break space"},
            {"lat": f"{lat:.8E}", "lon": f"{lon:.8E}", "name": "scientific"},
            {"lat": _dms(lat, "N", "S"), "lon": _dms(lon, "E", "W"), "name": "DMS"},
            {"lat": f"{lat:.6f} N", "lon": f"{abs(lon):.6f} W", "name": "hemisphere"},
            {"lat": "40°75′N", "lon": f"{lon:.6f}", "name": "75 minutes"}]
    pd.DataFrame(rows).to_csv(tmp_path / "a.csv", index=False, sep=";")
    region = asset_region({"path": str(tmp_path / "a.csv"), "name": "name"})
    assets, rejects, read = read_assets(region, tracts)
    assert assets["name"].tolist() == [r["name"] for r in rows[:-1]]
    assert (assets["TRACT_CODE"] == "T00").all()
    centre = tracts.geometry.iloc[0].centroid
    assert assets.geometry.distance(centre).max() < 0.5  # metres: every notation, one place
    read_as = "latitude/longitude (lat/lon) written {}: read as decimal degrees"
    assert _rejects_of(rejects) == [
        [7, "latitude/longitude (lat/lon) blank or not a number", "dropped"],
        [1, read_as.format("with a decimal comma"), "repaired"],
        [2, read_as.format("with a typographic minus sign or space"), "repaired"],
        [5, read_as.format("in degrees, minutes and seconds"), "repaired"],
        [6, read_as.format("with a hemisphere letter (N/S/E/W)"), "repaired"]]
    assert count_rows(read, rejects)["kept"] == 6


def test_46_swapped_dms_coordinates_are_swapped_back(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 3)
    region = asset_csv(tmp_path, [{"lat": _dms(lon, "E", "W"), "lon": _dms(lat, "N", "S"),
                                   "name": "swapped"}])
    assets, rejects, _ = read_assets(region, tracts)
    assert assets["TRACT_CODE"].tolist() == ["T03"]
    assert _rejects_of(rejects) == [
        [1, SWAPPED, "repaired"],
        [1, "latitude/longitude (lat/lon) written in degrees, minutes and seconds: read as "
            "decimal degrees", "repaired"]]


def test_47_number_notations_in_need_columns(tmp_path):
    cfg = write_tracts(tmp_path, grid_tracts(2).drop(columns=["pop", "poverty"]))
    pd.DataFrame({"id": ["T00", "T01", "T02", "T03"],
                  "pop": ["1.234,5", "2.000", "12,5", "\u22127"],  # a decimal-comma column
                  "poverty": ["1.5E+01", "\u221212.5", "7", "1\u00a0234"]}).to_csv(
        tmp_path / "a.csv", index=False)
    cfg["attributes"] = {"path": str(tmp_path / "a.csv"), "id": "id"}
    out, rejects = read_tracts(cfg)
    assert out["pop"].tolist() == [1234.5, 2000.0, 12.5, -7.0]
    assert out["poverty"].tolist() == [15.0, -12.5, 7.0, 1234.0]
    assert _rejects_of(rejects) == [
        [1, "formatted number value in 'pop' read as the number it shows", "repaired"],
        [2, "formatted number value in 'pop' read as the number it shows", "repaired"],
        [3, "formatted number value in 'pop' read as the number it shows", "repaired"],
        [4, "formatted number value in 'poverty' read as the number it shows", "repaired"]]


def test_47b_asset_capacity_as_typed(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 0)
    rows = [{"lat": lat, "lon": lon + k * 1e-4, "name": f"A{k}", "cap": cap}
            for k, cap in enumerate(["1.234,5", "12,5", "7"])]
    region = asset_csv(tmp_path, rows, capacity="cap")
    assets, _, _ = read_assets(region, tracts)
    assert assets["capacity"].tolist() == [1234.5, 12.5, 7.0]
    region = asset_csv(tmp_path, [{**rows[2], "cap": "lots"}], name="b.csv", capacity="cap")
    fatal(read_assets, region, tracts, path=tmp_path / "b.csv", row=1, column="cap",
          contains="capacity 'lots' is blank, negative or not a number")


def test_48_point_geometries_in_other_dimensions(tmp_path):
    from shapely.geometry import GeometryCollection, MultiPoint, Point

    tracts = grid_tracts(2)
    c = [tracts.geometry.iloc[k].centroid for k in range(4)]
    frame = gpd.GeoDataFrame({"name": ["z", "multi1", "multi2", "collection", "empty"]}, geometry=[
        Point(c[0].x, c[0].y, 12.0), MultiPoint([(c[1].x, c[1].y)]),
        MultiPoint([(c[2].x, c[2].y), (c[3].x, c[3].y)]),
        GeometryCollection([Point(c[3].x, c[3].y)]), Point()], crs=CRS)
    for name in ("a.gpkg", "a.geojson"):
        frame.to_file(tmp_path / name)
        region = asset_region({"path": str(tmp_path / name), "name": "name"})
        assets, rejects, _ = read_assets(region, tracts)
        assert assets["name"].tolist() == ["z", "multi1", "collection"], name
        assert assets["TRACT_CODE"].tolist() == ["T00", "T01", "T03"]
        assert not assets.geometry.has_z.any()
        one = "a MultiPoint or GeometryCollection holding one point: read as that point"
        assert sorted(_rejects_of(rejects)) == sorted([
            [5, "missing geometry", "dropped"], [3, "geometry is a MultiPoint, not a point",
                                                 "dropped"],
            [2, one, "repaired"], [4, one, "repaired"]]), name


def test_49_kml_points_with_height_are_read(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = centre_lonlat(tracts, 2)
    (tmp_path / "a.kml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f'<Document><Placemark><name>Fridge</name><Point><coordinates>{lon},{lat},35.5'
        '</coordinates></Point></Placemark></Document></kml>')
    assets, rejects, _ = read_assets(asset_region({"path": str(tmp_path / "a.kml"),
                                                   "name": "Name"}), tracts)
    assert assets["TRACT_CODE"].tolist() == ["T02"] and rejects.empty
    assert not assets.geometry.has_z.any()


def test_50_tracts_in_3d_with_collections_and_empty_parts(tmp_path):
    from shapely import force_3d
    from shapely.geometry import GeometryCollection, Point

    tracts = grid_tracts(2)
    tracts["geometry"] = force_3d(tracts.geometry.to_numpy(), 10.0)
    square = tracts.geometry.iloc[1]
    tracts.loc[1, "geometry"] = GeometryCollection([square, Point(X0, Y0, 1.0)])
    tracts.loc[2, "geometry"] = GeometryCollection([LineString([(X0, Y0), (X0 + 9, Y0 + 9)])])
    out, rejects = read_tracts(write_tracts(tmp_path, tracts))
    assert out["TRACT_CODE"].tolist() == ["T00", "T01", "T03"]
    assert not out.geometry.has_z.any()
    assert out.geometry.iloc[1].area == pytest.approx(1_000_000)
    assert _rejects_of(rejects) == [
        [2, "a GeometryCollection: its polygons kept, other parts dropped", "repaired"],
        [3, "geometry is a GeometryCollection, not a polygon: tract dropped", "dropped"]]


# ------------------------------------ the canary: no failing survey puts a respondent in a log
def _canary_rows(tracts: gpd.GeoDataFrame, n: int = 15) -> list[dict]:
    rows = []
    for i in range(1, n + 1):
        lat, lon = centre_lonlat(tracts, i % len(tracts))
        rows.append({"lat": f"{lat + i * 1e-5:.6f}", "lon": f"{lon - i * 1e-5:.6f}",
                     "need": "yes" if i % 2 else "no", "story": f"Story of canary {i:05d}",
                     "consent": "yes", "name": f"Synthetic Persön {i:05d}",
                     "phone": f"555-0101-{i:04d}", "email": f"respondent{i:05d}@example.invalid"})
    return rows


def _personal_cells(rows: list[dict]) -> list[str]:
    return [str(r[k]) for r in rows for k in ("lat", "lon", "story", "name", "phone", "email")]


def _headerless(path: Path, rows: list[dict], encoding: str) -> dict:
    pd.DataFrame(rows).to_csv(path, index=False, header=False, encoding=encoding)
    return {"lat": "lat", "lon": "lon", "need": "need", "story": "story", "consent": "consent"}


def _projected_csv(path: Path, rows: list[dict], tracts: gpd.GeoDataFrame) -> tuple[dict, list]:
    xy = gpd.GeoSeries(gpd.points_from_xy([float(r["lon"]) for r in rows],
                                          [float(r["lat"]) for r in rows]), crs=4326).to_crs(CRS)
    frame = pd.DataFrame(rows).assign(x=[f"{v:.1f}" for v in xy.x], y=[f"{v:.1f}" for v in xy.y])
    frame.drop(columns=["lat", "lon"]).to_csv(path, index=False)
    return {"need": "need"}, [f"{v:.0f}" for v in (*xy.x, *xy.y)]


def _projected_gpkg(path: Path, rows: list[dict]) -> tuple[dict, list]:
    xy = gpd.GeoSeries(gpd.points_from_xy([float(r["lon"]) for r in rows],
                                          [float(r["lat"]) for r in rows]), crs=4326).to_crs(CRS)
    gpd.GeoDataFrame(pd.DataFrame(rows).drop(columns=["lat", "lon"]),
                     geometry=gpd.points_from_xy(xy.x, xy.y), crs=4326,
                     ).to_file(path)  # metres labelled as degrees
    return {"need": "need"}, [f"{v:.0f}" for v in (*xy.x, *xy.y)]


SURVEY_FAILURES = ["headerless-utf8", "headerless-utf16", "headerless-cp1252", "projected-csv",
                   "projected-gpkg", "misnamed-need", "missing-geopoint", "binary"]


@pytest.mark.parametrize("case", SURVEY_FAILURES)
def test_51_no_failing_survey_puts_a_respondent_in_a_log_or_the_output(tmp_path, case):
    tracts = grid_tracts(2)
    tracts.to_file(tmp_path / "tracts.gpkg")
    rows = _canary_rows(tracts)
    canaries = _personal_cells(rows)
    path = tmp_path / ("s.gpkg" if case == "projected-gpkg" else "s.csv")
    if case.startswith("headerless"):
        encoding = {"headerless-utf8": "utf-8", "headerless-utf16": "utf-16",
                    "headerless-cp1252": "cp1252"}[case]
        columns = _headerless(path, rows, encoding)
    elif case == "projected-csv":
        columns, more = _projected_csv(path, rows, tracts)
        canaries += more
    elif case == "projected-gpkg":
        columns, more = _projected_gpkg(path, rows)
        canaries += more
    elif case == "misnamed-need":
        frame = pd.DataFrame(rows)
        frame.columns = [*frame.columns[:-1], rows[0]["email"]]  # a header cell holds an answer
        frame.to_csv(path, index=False)
        columns = {"need": "unmet_need"}
    elif case == "missing-geopoint":
        pd.DataFrame(rows).to_csv(path, index=False)
        columns = {"geopoint": "gps", "need": "need"}
    else:
        path.write_bytes(b"PK\x03\x04\x00" + "\n".join(canaries).encode("utf-8"))
        columns = {"need": "need"}
    survey = {"path": str(path), **columns}
    log = tmp_path / "logs" / "r" / "ingest_survey.log"
    # As the workflow's script runs it: its own process, the stage wrapped in run_logged.
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import json
        from aiddeserts.logs import run_logged
        from aiddeserts.stages.ingest import ingest_survey
        run_logged({str(log)!r}, lambda: ingest_survey(
            json.loads({json.dumps(survey)!r}), "TRACT_CODE", 11, {str(tmp_path / "tracts.gpkg")!r},
            {str(out / "survey.gpkg")!r}, {str(out / "rejects.csv")!r},
            {str(out / "counts.json")!r}), "ingest_survey")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"aiddeserts: file {path}" in done.stderr and "Fix: " in done.stderr, done.stderr
    written = "\n".join([done.stdout, done.stderr, log.read_text(encoding="utf-8")])
    assert "Traceback" not in written
    assert leaked(written, canaries) == [], case
    assert not out.exists()  # nothing written for a failing survey
