"""The reader matrix: every supported format, read from real-format files, gives the same points,
tracts and attributes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import asset_region

from aiddeserts.io.assets import read_assets
from aiddeserts.io.readers import (
    acs_numbers,
    find_column,
    parse_geopoint,
    read_census_api_json,
    read_csv_text,
    read_table,
)
from aiddeserts.io.survey import read_survey
from aiddeserts.io.tracts import read_tracts

FIXTURES = Path(__file__).parent / "fixtures"
ACS_CSV = FIXTURES / "ACSDT5Y2020.B01003-Data.csv"
ACS_JSON = FIXTURES / "acs5_2020_api.json"
TIGER = FIXTURES / "tl_2020_27_tract.zip"
CB = FIXTURES / "cb_2020_27_tract_500k.zip"
GEOIDS_FIRST = ["27053005901", "27053005902", "27053006800"]


@pytest.fixture(scope="module")
def tracts() -> gpd.GeoDataFrame:
    out, _ = read_tracts({"path": str(TIGER), "id": "GEOID", "population": "ALAND",
                          "need": ["AWATER"]})
    return out.to_crs(26915)


def sites(tracts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Five points, one inside each of the first five tracts, with a name with an accent."""
    points = tracts.geometry.iloc[:5].representative_point().to_crs(4326)
    return gpd.GeoDataFrame({"Name": [f"Café {k}" for k in range(5)],
                             "Kind": ["fridge", "pantry", "fridge", "pantry", "fridge"]},
                            geometry=points.to_numpy(), crs=4326)


@pytest.mark.parametrize("tract_file", [TIGER, CB])
def test_census_tract_zips_read_as_downloaded(tract_file):
    out, rejects = read_tracts({"path": str(tract_file), "id": "GEOID", "population": "ALAND",
                                "need": ["AWATER"]})
    assert len(out) == 16 and rejects.empty
    assert out.crs.to_epsg() == 4269
    assert out["GEOID"].tolist()[:3] == GEOIDS_FIRST


def test_data_census_gov_csv_two_header_rows_and_annotations():
    table = read_table(ACS_CSV)
    assert len(table) == 16 and table.attrs["header_rows"] == 2
    assert table["GEO_ID"].iloc[0] == "1400000US27053005901"
    assert "Unnamed: 8" not in table.columns  # the trailing comma of every line
    values, notes = acs_numbers(table["B19013_001E"])
    assert values.iloc[3] == 250000.0 and notes.iloc[3] == "top/bottom-coded"
    assert np.isnan(values.iloc[7]) and notes.iloc[7] == "annotation"
    assert notes.isna().sum() == 14


def test_acs_csv_joins_tiger_tracts_by_geo_id():
    out, rejects = read_tracts({
        "path": str(TIGER), "id": "GEOID", "population": "B01003_001E",
        "need": [{"column": "B19013_001E", "higher_is_worse": False, "moe": "B19013_001M"}],
        "attributes": {"path": str(ACS_CSV), "id": "GEO_ID"}})
    assert out["B01003_001E"].iloc[0] == 1676.0 and out["B19013_001E"].iloc[0] == 112297.0
    assert out["B01003_001E"].notna().all()
    assert rejects["row"].tolist() == [4, 8]
    assert rejects["action"].tolist() == ["repaired", "repaired"]
    assert rejects["reason"].iloc[0] == (
        "top/bottom-coded value in 'B19013_001E' used as its bound; annotation value in "
        "'B19013_001M' treated as missing")


def test_census_api_json_builds_geoid_and_maps_sentinel():
    table = read_census_api_json(ACS_JSON)
    assert table["GEOID"].tolist()[:3] == GEOIDS_FIRST
    out, rejects = read_tracts({"path": str(CB), "id": "GEOID", "population": "B01003_001E",
                                "need": ["B19013_001E"],
                                "attributes": {"path": str(ACS_JSON), "id": "GEOID"}})
    assert out["B19013_001E"].isna().tolist() == [i == 7 for i in range(16)]
    assert rejects[["row", "action"]].values.tolist() == [[8, "repaired"]]
    assert "sentinel" in rejects["reason"].iloc[0]


def test_plain_csv_attributes_with_numeric_geoid_lost_zero(tmp_path):
    # A state with FIPS 01: a spreadsheet turned "01001020100" into 1001020100.
    tracts = gpd.read_file(TIGER)
    tracts["GEOID"] = ["01001" + g[5:] for g in tracts["GEOID"]]
    tracts.to_file(tmp_path / "t.gpkg")
    pd.DataFrame({"GEOID": [str(int(g)) for g in tracts["GEOID"]], "pop": range(16),
                  "need": range(16)}).to_csv(tmp_path / "a.csv", index=False)
    out, rejects = read_tracts({"path": str(tmp_path / "t.gpkg"), "id": "GEOID",
                                "population": "pop", "need": ["need"],
                                "attributes": {"path": str(tmp_path / "a.csv"), "id": "GEOID"}})
    assert out["GEOID"].iloc[0] == "01001005901"
    assert out["pop"].tolist() == list(range(16))
    padded = rejects[rejects["reason"].str.startswith("GEOID had lost")]
    assert len(padded) == 16 and set(padded["action"]) == {"repaired"}
    assert padded["source"].str.startswith("attributes:").all()


def _asset_region(path: Path, **extra) -> dict:
    return asset_region({"path": str(path), "name": "Name", **extra}, "GEOID")


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "shp.zip", "csv", "csv-bom",
                                 "csv-latin1", "csv-semicolon"])
def test_asset_formats_give_the_same_points(tmp_path, tracts, fmt):
    frame = sites(tracts)
    if fmt in {"geojson", "gpkg", "shp"}:
        path = tmp_path / f"sites.{fmt}"
        frame.to_file(path)
    elif fmt == "shp.zip":
        frame.to_file(tmp_path / "sites.shp")
        path = tmp_path / "sites.zip"
        with zipfile.ZipFile(path, "w") as z:
            for f in tmp_path.glob("sites.*"):
                if f.suffix != ".zip":
                    z.write(f, f.name)
    else:
        table = pd.DataFrame({"Name": frame["Name"], "Latitude": frame.geometry.y,
                              "Lng": frame.geometry.x})
        path = tmp_path / "sites.csv"
        encoding = {"csv-bom": "utf-8-sig", "csv-latin1": "latin-1"}.get(fmt, "utf-8")
        table.to_csv(path, index=False, encoding=encoding, sep=";" if "semicolon" in fmt else ",")
    assets, rejects, read = read_assets(_asset_region(path), tracts)
    assert assets["name"].tolist() == [f"Café {k}" for k in range(5)]
    assert assets["GEOID"].tolist() == tracts["GEOID"].iloc[:5].tolist()
    if fmt == "csv-latin1":
        assert rejects[["reason", "action"]].values.tolist() == [
            ["file is not UTF-8: read as Latin-1 (check accented names)", "note"]]
        assert pd.isna(rejects["row"].iloc[0])
    else:
        assert rejects.empty
    assert list(read.values()) == [5]


def test_google_my_maps_kml_reads_every_folder(tracts):
    assets, rejects, read = read_assets(
        _asset_region(FIXTURES / "google_my_maps.kml", type="kml_layer"), tracts)
    assert len(assets) == 8 and rejects.empty
    assert assets["type"].value_counts().to_dict() == {"Fridges": 5, "Pantries": 3}
    assert not assets.geometry.has_z.any()


SURVEYS = {
    "kobo": ("kobo_survey_export.csv", {"need": "unmet_need", "story": "story",
                                        "consent": "consent_to_share"}, 160),
    "odk": ("odk_central_export.csv", {"need": "unmet_need"}, 20),
    "google_forms": ("google_forms_responses.csv",
                     {"need": "Did you go without food you needed this month?"}, 20),
}


@pytest.mark.parametrize("tool", sorted(SURVEYS))
def test_survey_exports_autodetect_location(tracts, tool):
    name, columns, n = SURVEYS[tool]
    survey, rejects, read = read_survey({"path": str(FIXTURES / name), **columns}, tracts, "GEOID",
                                        min_respondents=11)
    assert read == n and len(survey) == n and rejects.empty
    kobo = read_csv_text(FIXTURES / "kobo_survey_export.csv")
    # The same respondents at the same places in every export.
    assert survey["GEOID"].iloc[0] == "27053105400"
    lat = pd.to_numeric(kobo["_location_latitude"]).iloc[:n]
    assert np.allclose(survey.to_crs(4326).geometry.y.to_numpy(), lat.to_numpy())
    assert set(survey.columns) == {"GEOID", "unmet_need", "story_consented", "story", "geometry"}


def test_kobo_geopoint_column_and_geolocation(tmp_path, tracts):
    kobo = read_csv_text(FIXTURES / "kobo_survey_export.csv")
    via_geopoint, _, _ = read_survey({"path": str(FIXTURES / "kobo_survey_export.csv"),
                                      "geopoint": "location", "need": "unmet_need"},
                                     tracts, "GEOID", min_respondents=11)
    geo = pd.DataFrame({"_geolocation": [json.dumps([float(a), float(b)]) for a, b in zip(
        kobo["_location_latitude"], kobo["_location_longitude"], strict=True)],
        "unmet_need": kobo["unmet_need"]})
    geo.to_csv(tmp_path / "kobo_json_flat.csv", index=False)
    via_geolocation, _, _ = read_survey({"path": str(tmp_path / "kobo_json_flat.csv"),
                                         "need": "unmet_need"}, tracts, "GEOID",
                                        min_respondents=11)
    assert len(via_geopoint) == len(via_geolocation) == 160
    assert via_geopoint.geom_equals(via_geolocation).all()


def test_geopoint_forms_and_column_autodetection():
    lat, lon = parse_geopoint(pd.Series(["44.97 -93.26 256.3 4.9", "44.97, -93.26",
                                         "[44.97, -93.26]", "", "somewhere"]))
    assert lat.tolist()[:3] == [44.97] * 3 and lon.tolist()[:3] == [-93.26] * 3
    assert lat.isna().tolist() == [False, False, False, True, True]
    assert find_column(["id", "grp/_location_latitude"], ["latitude"]) == "grp/_location_latitude"
    assert find_column(["Y", "X"], ["latitude", "lat", "y"]) == "Y"
    assert find_column(["intro-location-Longitude"], ["longitude"]) == "intro-location-Longitude"


def test_numeric_fields_are_taken_as_numbers_not_reread_as_text(tmp_path):
    """A GeoPackage's number field keeps its values, also when every value has three decimals
    (as text, 1.234 could be a thousands group); missing values and sentinels are noted as for
    text, and any other numeric field reads as its text would."""
    values, notes = acs_numbers(pd.Series([1.234, 5.678, 0.125, np.nan, -666666666.0]))
    assert values.iloc[:3].tolist() == [1.234, 5.678, 0.125]
    assert values.iloc[3:].isna().all()
    assert notes.fillna("").tolist() == ["", "", "", "blank", "sentinel"]
    rng = np.random.default_rng(5)
    for column in (pd.Series(rng.random(50) * 1e4), pd.Series(rng.integers(0, 10**6, 50)),
                   pd.Series([1, None, 3], dtype="Int64")):
        as_text = column.astype("string")
        for got, expected in zip(acs_numbers(column), acs_numbers(as_text), strict=True):
            assert got.astype(object).where(got.notna(), None).tolist() == \
                expected.astype(object).where(expected.notna(), None).tolist()
    # Read from a real GeoPackage, as the tract stage reads it.
    frame = gpd.GeoDataFrame({"rate": [0.125, 0.375]},
                             geometry=gpd.points_from_xy([0, 1], [0, 1]), crs=4326)
    frame.to_file(tmp_path / "t.gpkg", layer="t")
    read = gpd.read_file(tmp_path / "t.gpkg", layer="t")
    assert acs_numbers(read["rate"])[0].tolist() == [0.125, 0.375]
