"""What a new organizer meets in the first hour (issue: honest classes, maps from assets alone):
honest classes on real runs, a map from assets alone, readable published files, clear config."""

from __future__ import annotations

import copy
import datetime
import html
import os
import re
import stat
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import run_snakemake

from aiddeserts.config import validate_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def map_text(path: Path) -> str:
    """map.html with the JSON escapes of its embedded markup undone and entities read."""
    text = path.read_text(encoding="utf-8")
    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'")):
        text = text.replace(code, char)
    return html.unescape(text)


def class_legend_counts(text: str) -> dict[str, int]:
    """Tract count per class in the map's class legend (the legend box after "Census tracts")."""
    legend = text[text.index("<b>Census tracts</b>"):]
    legend = legend[:legend.index('";')]
    return {label: int(n.replace(",", "")) for label, n in
            re.findall(r"<b>([^<]+)</b> \(([\d,]+) tracts\)", legend)}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_published_files_are_world_readable_and_respondent_files_private(tmp_path, tiny_region,
                                                                         umask_022):
    work = tmp_path / "run"
    result = run_snakemake(work, tiny_region)
    assert result.returncode == 0, result.stderr[-3000:]
    published = sorted((work / "outputs" / "tiny").iterdir())
    assert published
    for path in published:
        assert mode(path) & 0o044 == 0o044, f"{path.name} is {oct(mode(path))}"
    processed = work / "data" / "processed" / "tiny"
    assert mode(processed) == 0o700
    for private in (processed / "survey.gpkg", processed / "assets_exact.gpkg",
                    processed / "stage" / "stories.csv", processed / "rejects_survey.csv",
                    processed / "counts_survey.json", processed / "survey_release.json",
                    processed / "privacy_audit.json",
                    *sorted((processed / "audit").glob("*.json")),
                    processed / "audit" / "secret_points.npy"):
        assert mode(private) & 0o077 == 0, f"{private.name} is {oct(mode(private))}"
    # No served tract fails the tool's own access test; the legend's counts add up.
    tracts = gpd.read_file(work / "outputs" / "tiny" / "tracts.gpkg")
    assert not (tracts["access_low"] & (tracts["desert_class"] == "served")).any()
    counts = class_legend_counts(map_text(work / "outputs" / "tiny" / "map.html"))
    assert len(counts) == 6 and sum(counts.values()) == len(tracts)
    assert counts["Served (access passes)"] == int((tracts["desert_class"] == "served").sum())


def test_a_map_from_assets_alone(tmp_path, tiny_region):
    """Tracts and assets only (no need, no population, no survey): it runs end to end, the
    classes rest on access, and the map and figure say need was not assessed."""
    config = copy.deepcopy(tiny_region)
    region = config["regions"]["tiny"]
    del region["tracts"]["need"], region["tracts"]["population"], region["survey"]
    work = tmp_path / "run"
    result = run_snakemake(work, config)
    assert result.returncode == 0, result.stderr[-3000:]
    tracts = gpd.read_file(work / "outputs" / "tiny" / "tracts.gpkg")
    assert set(tracts["need_level"]) == {"not_assessed"}
    assert not tracts["is_desert"].any()
    assert set(tracts["desert_class"]) <= {"low_access", "served", "strength", "fragile"}
    assert "low_access" in set(tracts["desert_class"])
    text = map_text(work / "outputs" / "tiny" / "map.html")
    assert "Need was not assessed" in text
    assert "`retrieve`" in text and "config/README.md" in text
    counts = class_legend_counts(text)
    assert "Mutual aid desert" not in counts and sum(counts.values()) == len(tracts)
    assert "Need</b> ranks" not in text  # no need variables to name


def test_years_and_dates_in_map_sources_are_accepted_as_written(tiny_region):
    config = copy.deepcopy(tiny_region)
    config["regions"]["tiny"]["map"] = {"sources": [
        {"name": "Sites", "date": 2020}, {"name": "Tracts", "date": datetime.date(2020, 10, 26)},
        {"name": "ACS", "date": "2016–2020"}]}
    region = validate_config(config)["regions"]["tiny"]
    assert [s["date"] for s in region["map"]["sources"]] == ["2020", "2020-10-26", "2016–2020"]


def test_retrieve_takes_a_list_of_counties(tiny_region):
    config = copy.deepcopy(tiny_region)
    config["regions"]["tiny"]["retrieve"] = {"state": "27", "county": ["053", "123"]}
    assert validate_config(config)["regions"]["tiny"]["retrieve"]["county"] == ["053", "123"]


def test_rejects_name_the_dropped_site_but_never_a_hidden_one(tmp_path):
    """An organizer finds a dropped row by its name (source, row, name, reason); a hidden or
    approximate asset's name never reaches rejects.csv."""
    import pandas as pd
    from conftest import X0, Y0, asset_region, grid_tracts, points_lonlat

    from aiddeserts.io.assets import read_assets

    inside = [(X0 + 500, Y0 + 500), (X0 + 1500, Y0 + 500)]
    outside = [(X0 - 5000, Y0), (X0 - 6000, Y0)]
    lat, lon = points_lonlat(inside + outside)
    pd.DataFrame({"lat": lat, "lon": lon,
                  "site": ["Corner Fridge", "Free Store", "Far Fridge", "Secret Shelter"],
                  "vis": ["", "", "public", "hidden"]}).to_csv(tmp_path / "a.csv", index=False)
    region = asset_region({"path": str(tmp_path / "a.csv"), "name": "site",
                           "visibility": "vis"})
    assets, rejects, _ = read_assets(region, grid_tracts())
    assert len(assets) == 2
    dropped = rejects.set_index("row")
    assert dropped.loc[3, "name"] == "Far Fridge" and "outside" in dropped.loc[3, "reason"]
    assert dropped.loc[4, "name"] == ""  # hidden: never named
    assert "Secret Shelter" not in rejects.to_csv()


def test_check_before_retrieving_says_to_run_first(tmp_path):
    from test_cli import aiddeserts, write_config

    config = {"regions": {"mpls": {
        "retrieve": {"state": "27", "county": ["053", "123"]},
        "tracts": {"path": "data/raw/mpls/retrieved/tracts.zip", "id": "GEOID"},
        "assets": {"path": "sites.csv"}}}}
    cfg = write_config(tmp_path, config)
    result = aiddeserts(tmp_path, "check", "--configfile", str(cfg))
    assert result.returncode == 3
    assert "not downloaded yet" in result.stdout and "aiddeserts run" in result.stdout


def test_every_missing_need_or_population_column_is_named_at_once(tmp_path, tiny_region):
    from aiddeserts.io.tracts import load_tracts

    tracts = copy.deepcopy(tiny_region["regions"]["tiny"]["tracts"])
    tracts.update(population="popp", need=[{"column": "povrty", "higher_is_worse": True}])
    with pytest.raises(Exception) as info:
        load_tracts(tracts)
    message = str(info.value)
    assert "'popp' (did you mean 'pop'?)" in message and "'povrty'" in message
    assert "retrieve" in message and "leave the keys out" in message
