"""Readers on real file formats: kept rows, rejects, and actionable errors."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from conftest import CRS, asset_region, grid_tracts

from aiddeserts.errors import InputError
from aiddeserts.io.assets import read_assets
from aiddeserts.io.columns import to_number
from aiddeserts.io.survey import read_survey
from aiddeserts.io.tracts import read_tracts


def test_tracts_without_crs_need_config(tmp_path):
    tracts = grid_tracts(2)
    tracts.to_file(tmp_path / "t.shp")
    (tmp_path / "t.prj").unlink()
    cfg = {"path": str(tmp_path / "t.shp"), "id": "TRACT_CODE", "population": "pop",
           "need": ["poverty"]}
    with pytest.raises(InputError, match="no CRS.*Fix: add tracts.crs"):
        read_tracts(cfg)
    out, rejects = read_tracts({**cfg, "crs": CRS})
    assert out.crs == CRS and len(out) == 4 and rejects.empty


def test_attributes_join_keeps_leading_zeros_and_maps_sentinels(tmp_path):
    tracts = grid_tracts(2)
    tracts["GEOID"] = ["01001000100", "01001000200", "01001000300", "01001000400"]
    tracts.drop(columns=["pop", "poverty"]).to_file(tmp_path / "t.gpkg")
    pd.DataFrame({"GEOID": ["01001000100", "01001000200", "01001000300", "01001000400"],
                  "pop": ["10", "20", "", "40"],
                  "pov": ["1.5", "-666666666", "3", "4"]}).to_csv(tmp_path / "a.csv", index=False)
    out, _ = read_tracts({"path": str(tmp_path / "t.gpkg"), "id": "GEOID", "population": "pop",
                          "need": ["pov"], "attributes": {"path": str(tmp_path / "a.csv"),
                                                          "id": "GEOID"}})
    assert out["GEOID"].iloc[0] == "01001000100"
    assert out["pop"].isna().tolist() == [False, False, True, False]
    assert out["pov"].isna().tolist() == [False, True, False, False]


def test_text_in_need_column_names_row_and_column(tmp_path):
    tracts = grid_tracts(2)
    tracts["poverty"] = ["1", "2", "high", "4"]
    tracts.to_file(tmp_path / "t.gpkg")
    with pytest.raises(InputError, match=r"row 3, column 'poverty': value 'high' is not a number"):
        read_tracts({"path": str(tmp_path / "t.gpkg"), "id": "TRACT_CODE", "population": "pop",
                     "need": ["poverty"]})


def test_duplicate_tract_ids_are_fatal(tmp_path):
    tracts = grid_tracts(2)
    tracts.loc[3, "TRACT_CODE"] = "T00"
    tracts.to_file(tmp_path / "t.gpkg")
    with pytest.raises(InputError, match=r"row 4.*'T00' appears more than once"):
        read_tracts({"path": str(tmp_path / "t.gpkg"), "id": "TRACT_CODE", "population": "pop",
                     "need": ["poverty"]})


def test_assets_csv_rejects_bad_and_outside_rows(tmp_path):
    tracts = grid_tracts(2)
    wgs = gpd.GeoSeries(tracts.geometry.centroid, crs=CRS).to_crs(4326)
    pd.DataFrame({"lat": [wgs.y[0], "abc", 95, 10.0], "lon": [wgs.x[0], wgs.x[1], 0, 10.0],
                  "name": ["A", "B", "C", "D"]}).to_csv(tmp_path / "a.csv", index=False)
    region = asset_region({"path": str(tmp_path / "a.csv"), "name": "name"})
    assets, rejects, read = read_assets(region, tracts)
    assert assets["name"].tolist() == ["A"] and assets["type"].tolist() == ["asset"]
    assert rejects["row"].tolist() == [2, 3, 4]
    assert rejects["reason"].tolist() == [
        "latitude/longitude (lat/lon) blank or not a number", "latitude/longitude out of range",
        "outside the study area (in no tract)"]
    assert sum(read.values()) == len(assets) + len(rejects)


def test_misspelled_column_gets_a_suggestion(tmp_path):
    pd.DataFrame({"latitude": [1.0], "lon": [1.0]}).to_csv(tmp_path / "a.csv", index=False)
    region = asset_region({"path": str(tmp_path / "a.csv"), "lat": "latitud"})
    with pytest.raises(InputError, match="did you mean 'latitude'"):
        read_assets(region, grid_tracts(2))


def test_survey_keeps_only_allow_listed_fields(tmp_path):
    tracts = grid_tracts(2)
    wgs = gpd.GeoSeries(tracts.geometry.centroid, crs=CRS).to_crs(4326)
    pd.DataFrame({"lat": wgs.y, "lon": wgs.x, "need": ["yes", "Y", "no", "maybe"],
                  "story": ["s1", "s2", "s3", "s4"], "ok": ["sí", "no", "TRUE", "1"],
                  "email": ["a@example.invalid"] * 4}).to_csv(tmp_path / "s.csv", index=False)
    survey, rejects, read = read_survey(
        {"path": str(tmp_path / "s.csv"), "lat": "lat", "lon": "lon", "need": "need",
         "story": "story", "consent": "ok"}, tracts, "TRACT_CODE", min_respondents=11)
    assert set(survey.columns) == {"TRACT_CODE", "unmet_need", "story_consented", "story",
                                   "geometry"}
    assert survey["unmet_need"].tolist() == [True, True, False]
    assert survey["story"].tolist() == ["s1", "", "s3"]
    assert rejects["row"].tolist() == [4] and read == 4


def test_to_number_rejects_text():
    with pytest.raises(ValueError):
        to_number(pd.Series(["1", "x"]))


def test_asset_notes_updated_and_community_flag(tmp_path):
    tracts = grid_tracts(2)
    wgs = gpd.GeoSeries(tracts.geometry.centroid, crs=CRS).to_crs(4326)
    pd.DataFrame({"lat": wgs.y[:2], "lon": wgs.x[:2], "name": ["Heladera Ñuñoa", "B"],
                  "hours": [" Open 24/7 ", ""], "seen": ["2024-05-01", ""]}
                 ).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"lat": wgs.y[2:3], "lon": wgs.x[2:3]}).to_csv(tmp_path / "b.csv", index=False)
    region = asset_region([
        {"path": str(tmp_path / "a.csv"), "name": "name", "notes": "hours", "updated": "seen",
         "community_reported": True},
        {"path": str(tmp_path / "b.csv")}])
    assets, _, _ = read_assets(region, tracts)
    assert assets["name"].tolist() == ["Heladera Ñuñoa", "B", ""]
    assert assets["notes"].tolist() == ["Open 24/7", "", ""]
    assert assets["updated"].tolist() == ["2024-05-01", "", ""]
    assert assets["community_reported"].tolist() == [True, True, False]
    region["assets"][0]["notes"] = "hour"
    with pytest.raises(InputError, match="did you mean 'hours'"):
        read_assets(region, tracts)
