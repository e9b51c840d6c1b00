"""Real Snakemake runs: planted survey values never reach outputs/, and a leaking run is stopped
by the privacy audit before anything is published."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from conftest import CRS, X0, Y0, points_lonlat, run_snakemake

from aiddeserts.config import PRODUCTS

PLANTED = ["Canary Name", "example.invalid", "Canary Lane", "Secret story", "+1 212 555",
           "Hidden Kitchen"]


def plant(config: dict) -> pd.DataFrame:
    """Give the tiny survey unique personal values and stories, and the assets visibility."""
    region = config["regions"]["tiny"]
    survey = pd.read_csv(region["survey"]["path"], dtype=str)
    n = len(survey)
    consented = survey["consent"] == "yes"
    survey["phone"] = [f"+1 212 555 {i:04d}" for i in range(n)]
    survey["street"] = [f"{100 + i} Canary Lane" for i in range(n)]
    survey["story"] = np.where(
        consented,
        [f"Tell Canary Name {(i + 1) % n} at canary{i}@example.invalid, or call "
         f"+1 212 555 {i:04d}: we share food on Fridays" for i in range(n)],
        [f"Secret story {i} that was never meant to be shared" for i in range(n)])
    survey.to_csv(region["survey"]["path"], index=False)

    assets = pd.read_csv(region["assets"]["path"])
    lat, lon = points_lonlat([(X0 + 3500, Y0 + 3500), (X0 + 2600, Y0 + 600)])
    extra = pd.DataFrame({"Latitude": lat, "Longitude": lon,
                          "Site": ["Hidden Kitchen at Home", "Approximate Pantry"],
                          "Kind": ["kitchen", "pantry"]})
    assets = pd.concat([assets, extra], ignore_index=True)
    assets["Visibility"] = ["public"] * 6 + ["hidden", "approximate"]
    assets.to_csv(region["assets"]["path"], index=False)
    region["assets"]["visibility"] = "Visibility"
    return survey


def output_texts(out: Path) -> dict[str, str]:
    texts = {}
    for product in PRODUCTS:
        texts[product] = (out / product).read_bytes().decode("latin-1")
    for layer, _ in pyogrio.list_layers(out / "tracts.gpkg"):
        frame = gpd.read_file(out / "tracts.gpkg", layer=layer)
        texts[f"tracts.gpkg:{layer}"] = frame.drop(columns="geometry").to_csv()
    return texts


def truncated(value: float, decimals: int = 4) -> str:
    text = f"{value:.10f}"
    return text[: text.index(".") + 1 + decimals]


def test_planted_survey_values_never_reach_outputs(tmp_path, tiny_region):
    survey = plant(tiny_region)
    work = tmp_path / "run"
    result = run_snakemake(work, tiny_region)
    assert result.returncode == 0, result.stderr[-3000:]
    out = work / "outputs" / "tiny"

    texts = output_texts(out)
    for name, text in texts.items():
        for value in PLANTED:
            assert value.lower() not in text.lower(), (value, name)
        for lat, lon in zip(survey["lat"].astype(float), survey["lon"].astype(float),
                            strict=True):
            la, lo = re.escape(truncated(lat)), re.escape(truncated(lon))
            assert not re.search(rf"{la}\d*[\s,\"']+{lo}|{lo}\d*[\s,\"']+{la}", text), name
    # No output vertex sits on a respondent.
    homes = gpd.GeoSeries(gpd.points_from_xy(survey["lon"].astype(float),
                                             survey["lat"].astype(float)), crs=4326).to_crs(CRS)
    tracts = gpd.read_file(out / "tracts.gpkg", layer="tracts")
    vertices = gpd.GeoSeries(gpd.points_from_xy(*tracts.get_coordinates().to_numpy().T),
                             crs=tracts.crs)
    assert vertices.sindex.nearest(homes.to_numpy(), return_distance=True)[1].min() > 1.0

    # Consented stories, redacted, attached to tracts only; the others are nowhere.
    stories = pd.read_csv(work / "data/processed/tiny/stage/stories.csv", dtype=str)
    assert stories.columns.tolist() == ["TRACT_CODE", "story"]
    assert len(stories) == int((survey["consent"] == "yes").sum()) > 0
    assert set(stories["story"]) == {
        "Tell [redacted] at [redacted], or call [redacted]: we share food on Fridays"}
    assert set(stories["TRACT_CODE"]) <= {f"T{k:02d}" for k in range(16)}
    processed = (work / "data/processed/tiny/survey.gpkg").read_bytes().decode("latin-1")
    assert "Secret story" not in processed and "example.invalid" not in processed

    # Hidden asset: counted in its tract (T15), never drawn; approximate: drawn, not in place.
    assert tracts.loc[tracts["TRACT_CODE"] == "T15", "assets_kitchen"].item() == 1
    assert tracts["assets_total"].sum() == 8
    html = texts["map.html"]
    assert "Approximate Pantry" in html and "Fridge 3" in html
    lat, lon = points_lonlat([(X0 + 2600, Y0 + 600)])
    assert truncated(lat[0]) not in html
    assert "Assets: kitchen" not in html

    summary = json.loads((out / "summary.json").read_text())
    public = summary["privacy"]
    assert public["passed"] is True and public["protected_asset_locations_checked"] == 2
    assert set(public["files"]) == {*(Path(p).name for p in PRODUCTS), "stories.csv"}
    assert public["personal_values_checked"] == {"name of a hidden asset": 1}
    # The counts that follow from the survey stay in the private report, never in outputs/.
    assert "personal value from survey column 'email'" in public["survey_values_checked"]
    assert not {"respondents_checked", "personal_values_in_public_text",
                "public_asset_pins_near_respondents"} & set(public)
    privacy = json.loads((work / "data" / "processed" / "tiny" / "privacy_audit.json").read_text())
    assert privacy["passed"] is True and privacy["respondents_checked"] == 200
    assert privacy["personal_values_checked"]["personal value from survey column 'email'"] == 200
    assert privacy["personal_values_checked"]["story without consent"] == int(
        (survey["consent"] != "yes").sum())
    assert privacy["personal_values_checked"]["name of a hidden asset"] == 1
    # Public coordinates: every tract vertex, representative point and centroid, and the
    # map's view (its centre, its bounds' and its density picture's corners: 5 + 4).
    assert privacy["rules"]["public_coordinates"] == len(tracts.get_coordinates()) \
        + 2 * len(tracts) + 9


def digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def published_run(tmp_path: Path, config: dict) -> tuple[Path, Path, dict[str, str]]:
    """A first, clean run: its work dir, published outputs and their digests."""
    work = tmp_path / "run"
    assert run_snakemake(work, config).returncode == 0
    out = work / "outputs" / "tiny"
    return work, out, digests(out)


def test_leaking_asset_list_fails_the_audit_and_keeps_published_outputs(tmp_path, tiny_region):
    work, out, before = published_run(tmp_path, tiny_region)

    # Someone pastes a respondent into the asset list: their name and their home as a pin.
    survey = pd.read_csv(tiny_region["regions"]["tiny"]["survey"]["path"])
    path = Path(tiny_region["regions"]["tiny"]["assets"]["path"])
    assets = pd.read_csv(path)
    leaked = pd.DataFrame({"Latitude": [survey["lat"][7]], "Longitude": [survey["lon"][7]],
                           "Site": [survey["name"][7]], "Kind": ["fridge"]})
    pd.concat([assets, leaked]).to_csv(path, index=False)

    result = run_snakemake(work, tiny_region)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "privacy audit failed" in log
    assert "map.html: personal value from survey column 'name' (1 found)" in log
    assert survey["name"][7] not in log and f"{survey['lat'][7]:.4f}" not in log
    assert digests(out) == before


def test_respondent_coordinates_injected_into_a_stage_fail_the_audit(tmp_path, tiny_region):
    work, out, before = published_run(tmp_path, tiny_region)

    # A faulty stage writes one respondent's home, rounded to 4 decimals, into the map.
    survey = pd.read_csv(tiny_region["regions"]["tiny"]["survey"]["path"])
    staged = work / "data" / "processed" / "tiny" / "stage" / "map.html"
    staged.write_text(staged.read_text() + f"<script>var p = [{survey['lat'][3]:.4f}, "
                      f"{survey['lon'][3]:.4f}];</script>")

    result = run_snakemake(work, tiny_region)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "map.html: coordinates near a survey respondent (1 found)" in log
    assert digests(out) == before
    assert not (work / "data" / "processed" / "tiny" / "privacy_audit.json").exists()


def test_a_survey_answer_equal_to_a_printed_place_name_does_not_block_publication(tmp_path):
    """The maps print the places layer's labels, so a neighbourhood named by two respondents
    (fewer than k) is no leak; a landmark labelled with a respondent's name and pinned on
    their home still is (as for an asset)."""
    from test_datawalk import pdf_text, write_region

    config = write_region(tmp_path / "raw")
    raw = tmp_path / "raw"
    survey = pd.read_csv(raw / "survey.csv")
    survey["neighbourhood"] = ["Riverside Heights"] * 2 + ["Old Market"] * (len(survey) - 2)
    survey.to_csv(raw / "survey.csv", index=False)
    places = gpd.read_file(raw / "places.geojson")
    home = gpd.points_from_xy([survey.at[7, "lon"]], [survey.at[7, "lat"]], crs=4326)
    landmark = gpd.GeoDataFrame({"hood": [survey.at[7, "name"]]}, geometry=home)
    pd.concat([places, landmark], ignore_index=True).to_file(raw / "places.geojson",
                                                            driver="GeoJSON")
    work = tmp_path / "run"
    leaking = run_snakemake(work, config)
    assert leaking.returncode != 0
    assert "personal value from survey column 'name'" in leaking.stderr
    assert "survey column 'neighbourhood'" not in leaking.stderr
    assert survey.at[7, "name"] not in leaking.stderr
    places.to_file(raw / "places.geojson", driver="GeoJSON")  # the landmark gone
    result = run_snakemake(work, config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Riverside Heights" in pdf_text(work / "outputs" / "tiny" / "datawalk.pdf")
    audit = json.loads((work / "data/processed/tiny/privacy_audit.json").read_text())
    assert audit["passed"] and audit["personal_values_in_public_text"] >= 1
