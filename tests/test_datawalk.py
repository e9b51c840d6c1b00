"""The printed products: the data-walk posters (datawalk.pdf) and the static map (map.png/pdf).

The pipeline runs for real (Snakemake, twice: the second run has a previous one, so the posters
say what changed); the PDFs are rendered with poppler's pdftoppm and read back with pdftotext.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, grid_tracts, points_lonlat, run_snakemake
from PIL import Image
from shapely.geometry import box

from aiddeserts.privacy.audit import PrivacyLeakError, Secrets, audit_files

POPPLER = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="poppler-utils (pdftoppm, pdftotext) not installed; .ci/run installs it with apt-get")

TITLES = ["What our community has", "Where help is thin for people with high need",
          "What residents told us"]
PROMPTS = ["What is missing from this map?", "Where do you go when you need food, help or company?",
           "Who is left out of these numbers?", "Whose voices are missing?"]
CANARIES = ["Canary Name", "canary1@example.invalid", "Private story"]
SETTINGS = {"audit_min_decimals": 3, "audit_slack_m": 30.0}


def write_region(raw: Path) -> dict:
    """A 4×4 km city (ids are census GEOIDs of two counties), 7 assets of two types, one of
    them closed, and a survey with personal fields and stories, some without consent."""
    raw.mkdir(parents=True)
    tracts = grid_tracts()
    tracts["TRACT_CODE"] = [f"36{'061' if k % 4 < 2 else '047'}{k:06d}" for k in range(16)]
    tracts.to_file(raw / "tracts.gpkg")
    xy = [(X0 + 300 + 150 * k, Y0 + 300 + 100 * (k % 3)) for k in range(7)]
    lat, lon = points_lonlat(xy)
    pd.DataFrame({"Latitude": lat, "Longitude": lon, "Site": [f"Fridge {k}" for k in range(7)],
                  "Kind": ["fridge", "pantry", "fridge", "pantry", "fridge", "pantry", "pantry"],
                  "Open": ["yes"] * 6 + ["no"]}).to_csv(raw / "assets.csv", index=False)
    rng = np.random.default_rng(1)
    sx, sy = X0 + rng.uniform(0, 4000, 300), Y0 + rng.uniform(0, 4000, 300)
    slat, slon = points_lonlat(list(zip(sx, sy, strict=True)))
    consent = np.where(np.arange(300) % 2 == 0, "yes", "no")
    pd.DataFrame({"lat": slat, "lon": slon,
                  "need": np.where(sx + sy - X0 - Y0 > 4000, "yes", "no"),
                  "story": [f"Shared story {i}: the pantry line is long." if c == "yes"
                            else f"Private story {i} about my landlord." for i, c in
                            enumerate(consent)],
                  "consent": consent,
                  "name": [f"Canary Name {i}" for i in range(300)],
                  "email": [f"canary{i}@example.invalid" for i in range(300)]}
                 ).to_csv(raw / "survey.csv", index=False)
    places = gpd.GeoDataFrame({"hood": ["Riverside Heights", "Old Market"]},
                              geometry=[box(X0, Y0, X0 + 2000, Y0 + 4000),
                                        box(X0 + 2000, Y0, X0 + 4000, Y0 + 4000)], crs=CRS)
    places.to_crs(4326).to_file(raw / "places.geojson", driver="GeoJSON")
    return {
        "regions": {"tiny": {
            "title": "Tiny test city",
            "tracts": {"path": str(raw / "tracts.gpkg"), "id": "TRACT_CODE", "population": "pop",
                       "need": ["poverty"]},
            "assets": {"path": str(raw / "assets.csv"), "lat": "Latitude", "lon": "Longitude",
                       "name": "Site", "type": "Kind", "status": "Open"},
            "survey": {"path": str(raw / "survey.csv"), "lat": "lat", "lon": "lon",
                       "need": "need", "story": "story", "consent": "consent"},
            "map": {"places": {"path": str(raw / "places.geojson"), "label_column": "hood"}},
        }},
        "density": {"bandwidth_m": 800, "cell_size_m": 25},
        "classification": {"min_population": 10},
        "survey_rules": {"min_respondents": 5},
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Two real runs: the first (no history), then one with an asset removed."""
    base = tmp_path_factory.mktemp("walk")
    config = write_region(base / "raw")
    work = base / "run"
    first = run_snakemake(work, config, "outputs/tiny/datawalk.pdf")
    assert first.returncode == 0, first.stderr[-3000:]
    out = work / "outputs" / "tiny"
    kept = base / "first_datawalk.pdf"
    kept.write_bytes((out / "datawalk.pdf").read_bytes())
    assets = pd.read_csv(base / "raw" / "assets.csv")
    assets.iloc[:-2].to_csv(base / "raw" / "assets.csv", index=False)
    second = run_snakemake(work, config, "outputs/tiny/datawalk.pdf")
    assert second.returncode == 0, second.stderr[-3000:]
    return {"first": kept, "second": out / "datawalk.pdf", "work": work, "config": config,
            "out": out, "stage": work / "data" / "processed" / "tiny" / "stage"}


def pdf_text(pdf: Path) -> str:
    """pdftotext's text of the PDF, whitespace collapsed (wrapped lines joined)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


def rendered_pages(pdf: Path, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


@POPPLER
def test_posters_render_one_page_per_idea_with_titles_and_prompts(runs, tmp_path):
    pages = rendered_pages(runs["first"], tmp_path / "first")
    assert len(pages) == 3  # no previous run: no "what changed" poster
    for page in pages:
        with Image.open(page) as image:
            grey = np.asarray(image.convert("L"))
            width, height = image.size
        assert width > height  # A3 landscape
        assert (grey < 200).mean() > 0.02, page  # ink on the page: a map, a chart, words
    text = pdf_text(runs["first"])
    for expected in [*TITLES, *PROMPTS, "Talk about it", "Page 3 of 3"]:
        assert expected in text, expected
    # The survey figures as the map shows them, and consented stories only.
    assert "respondents report unmet need" in text
    assert "Shared story" in text
    # Each poster's map is one image (its tract outlines are no vector paths to carry), while
    # its place names stay text.
    listed = subprocess.run(["pdfimages", "-list", str(runs["first"])], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]
    assert sorted({int(line.split()[0]) for line in listed}) == [1, 2, 3]
    assert all(max(int(line.split()[3]), int(line.split()[4])) >= 1000  # MAP_DPI
               for line in listed)


@POPPLER
def test_second_run_adds_what_changed_since_last_time(runs, tmp_path):
    pages = rendered_pages(runs["second"], tmp_path / "second")
    assert len(pages) == 4
    changes = pd.read_csv(runs["out"] / "changes.csv", dtype=str, keep_default_na=False)
    gone = int((changes["after"] == "gone").sum())
    assert gone == 2
    text = pdf_text(runs["second"])
    assert "What changed since last time" in text and "What caused these changes?" in text
    assert f"{gone} places are no longer listed." in text


@POPPLER
def test_places_layer_labels_the_published_maps(runs):
    for pdf in (runs["out"] / "map.pdf", runs["second"]):
        text = pdf_text(pdf)
        assert "Riverside Heights" in text and "Old Market" in text, pdf.name


@POPPLER
def test_posters_hold_no_survey_canary(runs):
    for pdf in (runs["first"], runs["second"], runs["out"] / "map.pdf"):
        text = pdf_text(pdf)
        for canary in CANARIES:
            assert canary not in text, (canary, pdf.name)


@POPPLER
def test_spanish_posters(runs, tmp_path):
    from aiddeserts.config import validate_config
    from aiddeserts.stages.maps import make_datawalk

    region = validate_config(runs["config"])["regions"]["tiny"]
    stage = runs["stage"]
    out = tmp_path / "datawalk_es.pdf"
    make_datawalk(region_name="tiny", title=region["title"], map_config=region["map"],
                  assets=region["assets"], classification=region["classification"],
                  tract_id="TRACT_CODE", min_respondents=5,
                  tracts_path=str(stage / "tracts.gpkg"),
                  assets_csv_path=str(stage / "assets.csv"),
                  stories_path=str(stage / "stories.csv"),
                  changes_path=str(stage / "changes.csv"), out_pdf=str(out), language="es")
    text = pdf_text(out)
    for spanish in ["Lo que tiene nuestra comunidad", "¿Qué falta en este mapa?",
                    "Lo que nos dijeron los vecinos", "Hablemos"]:
        assert spanish in text, spanish
    assert "What our community has" not in text
    again = tmp_path / "again.pdf"
    make_datawalk(region_name="tiny", title=region["title"], map_config=region["map"],
                  assets=region["assets"], classification=region["classification"],
                  tract_id="TRACT_CODE", min_respondents=5,
                  tracts_path=str(stage / "tracts.gpkg"),
                  assets_csv_path=str(stage / "assets.csv"),
                  stories_path=str(stage / "stories.csv"),
                  changes_path=str(stage / "changes.csv"), out_pdf=str(again), language="es")
    assert again.read_bytes() == out.read_bytes()  # same inputs, same bytes


@POPPLER
def test_audit_reads_poster_text_and_fails_on_a_respondent_value(runs, tmp_path):
    from aiddeserts.maps import datawalk, figure
    from aiddeserts.maps.legends import definitions_for

    tracts = gpd.read_file(runs["stage"] / "tracts.gpkg")
    table = pd.read_csv(runs["stage"] / "assets.csv", dtype=str, keep_default_na=False)
    data = datawalk.WalkData(
        tracts=tracts, assets=figure.assets_from_table(table, tracts.crs),
        stories=pd.DataFrame({"TRACT_CODE": [tracts["TRACT_CODE"].iloc[0]],
                              "story": ["Ask Canary Name 7 at canary7@example.invalid"]}),
        changes=pd.read_csv(runs["stage"] / "changes.csv", dtype=str),
        places=None, title="Tiny", sources=["test"],
        definitions=definitions_for({"catchment_m": 800, "far_rural_m": 16093}),
        assessed=True, catchment_words="800 m", id_col="TRACT_CODE", min_respondents=5)
    leaky = tmp_path / "datawalk.pdf"
    datawalk.write_datawalk(data, leaky)
    secrets = Secrets(crs=tracts.crs, values={
        "personal value from survey column 'email'": ["canary7@example.invalid"]})
    with pytest.raises(PrivacyLeakError) as info:
        audit_files([leaky], secrets, SETTINGS)
    assert "datawalk.pdf" in str(info.value) and "canary7" not in str(info.value)
    report = audit_files([runs["out"] / "datawalk.pdf"], secrets, SETTINGS)
    assert report["passed"]


@POPPLER
def test_static_map_draws_every_asset_and_keeps_legends_off_the_map(runs, tmp_path):
    from aiddeserts.maps import figure
    from aiddeserts.maps.legends import definitions_for

    tracts = gpd.read_file(runs["stage"] / "tracts.gpkg")
    table = pd.read_csv(runs["stage"] / "assets.csv", dtype=str, keep_default_na=False)
    assets = figure.assets_from_table(table, tracts.crs)
    places = figure.read_places(runs["config"]["regions"]["tiny"]["map"]["places"], tracts.crs)
    fig = figure.classification_figure(
        tracts, title="Tiny", sources=["test"], credit="",
        definitions=definitions_for({"catchment_m": 800, "far_rural_m": 16093}),
        assets=assets, id_col="TRACT_CODE", places=places)
    ax = fig.axes[0]
    drawn = {c.get_gid().removeprefix("assets:"): len(c.get_offsets())
             for c in ax.collections if (c.get_gid() or "").startswith("assets:")}
    assert drawn == table["type"].value_counts().to_dict()
    assert sum(drawn.values()) == len(table)
    fig.canvas.draw()
    frame = ax.get_window_extent()
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert f"Fridge ({(table['type'] == 'fridge').sum()})" in labels
    assert any(label.startswith("Closed") for label in labels) == (table["status"] == "closed").any()
    assert len(fig.legends) >= 2
    for legend in fig.legends:
        assert not legend.get_window_extent().overlaps(frame)
    figure.save_figure(fig, tmp_path / "m.png", tmp_path / "m.pdf")
    text = pdf_text(tmp_path / "m.pdf")
    assert "Riverside Heights" in text and "Old Market" in text


@POPPLER
def test_county_outlines_from_geoids(runs):
    from aiddeserts.maps.figure import county_outlines

    tracts = gpd.read_file(runs["stage"] / "tracts.gpkg")
    counties = county_outlines(tracts, "TRACT_CODE")
    assert sorted(counties["county"]) == ["36047", "36061"]
    assert counties.geometry.area.sum() == pytest.approx(tracts.geometry.area.sum())
    assert county_outlines(grid_tracts(), "TRACT_CODE") is None  # ids that are no GEOIDs


@POPPLER
def test_published_static_map_is_reproducible(runs, tmp_path):
    from aiddeserts.config import validate_config
    from aiddeserts.stages.maps import make_figure

    region = validate_config(runs["config"])["regions"]["tiny"]
    stage = runs["stage"]
    make_figure(region_name="tiny", title=region["title"], map_config=region["map"],
                assets=region["assets"], classification=region["classification"],
                tracts_path=str(stage / "tracts.gpkg"), out_png=str(tmp_path / "m.png"),
                out_pdf=str(tmp_path / "m.pdf"), assets_csv_path=str(stage / "assets.csv"),
                tract_id="TRACT_CODE")
    assert (tmp_path / "m.png").read_bytes() == (runs["out"] / "map.png").read_bytes()
    assert (tmp_path / "m.pdf").read_bytes() == (runs["out"] / "map.pdf").read_bytes()


def test_every_printed_message_has_its_spanish_translation():
    """Each message of the static map and the posters is in the Spanish catalogue (print.po)."""
    from babel.messages.extract import extract_from_file

    from aiddeserts.i18n import catalogue

    maps = Path(__file__).resolve().parents[1] / "src" / "aiddeserts" / "maps"
    marked = {message for module in ("figure.py", "datawalk.py")
              for _line, message, *_rest in extract_from_file(
                  "python", maps / module, keywords={"_": None, "N_": None})}
    assert len(marked) > 40
    assert sorted(marked - catalogue("es").keys()) == []
