"""Privacy functions on known cases: suppression, redaction, stories, visibility, geomasking, audit."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, asset_region, grid_tracts, points_lonlat
from shapely.geometry import Point

from aiddeserts.config import schema_defaults
from aiddeserts.errors import InputError
from aiddeserts.io.assets import read_assets
from aiddeserts.io.survey import read_survey
from aiddeserts.method.need import survey_by_tract
from aiddeserts.privacy.audit import (
    Candidates,
    PrivacyLeakError,
    Secrets,
    audit_files,
    binary_text,
    file_contents,
    finish_audit,
    load_secrets,
    save_secrets,
    scan_files,
    text_pairs,
    text_variants,
)
from aiddeserts.privacy.disclosure import suppression_mask
from aiddeserts.privacy.rules import (
    REDACTED,
    assets_for_display,
    donut_geomask,
    parse_visibility,
    personal_values,
    protected_locations,
    redact,
    stories_by_tract,
)

#: The privacy section with its schema defaults (approximate assets at their tract).
AT_TRACT = {"approximate_to": "tract", "approximate_grid_m": 500}


# ------------------------------------------------------------------------------ suppression
def derivable(counts: pd.Series, suppressed: pd.Series) -> int:
    """What an onlooker learns from the published total minus the shown cells."""
    return int(counts.sum() - counts[~suppressed].sum())


def test_single_suppressed_cell_gets_a_complement():
    counts = pd.Series([4, 30, 12, 0, 50], index=list("abcde"))
    mask = suppression_mask(counts, 11)
    # Alone, b..e shown would give a = total − shown = 4. The smallest shown cell (c) joins it.
    assert mask.tolist() == [True, False, True, False, False]
    assert derivable(counts, mask) == 16 and mask.sum() == 2


def test_two_small_cells_summing_below_k_pull_in_a_complement():
    counts = pd.Series([3, 2, 40, 20, 0])
    mask = suppression_mask(counts, 11)
    assert mask.tolist() == [True, True, False, True, False]
    assert derivable(counts, mask) >= 11


def test_enough_small_cells_need_no_complement_and_empty_cells_stay_shown():
    counts = pd.Series([6, 7, 40, 0])
    assert suppression_mask(counts, 11).tolist() == [True, True, False, False]
    assert not suppression_mask(pd.Series([20, 0, 11]), 11).any()


def test_survey_by_tract_applies_complementary_suppression():
    survey = pd.DataFrame({"tid": ["a"] * 12 + ["b"] * 4 + ["d"] * 20,
                           "unmet_need": [True] * 6 + [False] * 30})
    table = survey_by_tract(survey, "tid", pd.Series(["a", "b", "c", "d"]), min_respondents=11)
    # b (4) is primary; a (12, the smallest shown) is suppressed too; d stays.
    assert table["survey_suppressed"].tolist() == [True, True, False, False]
    assert table["survey_respondents"].isna().tolist() == [True, True, True, False]
    assert table["survey_respondents"].iloc[3] == 20
    assert table["survey_unmet_rate"].iloc[3] == 0.0


# ---------------------------------------------------------------------------------- stories
def test_redact_removes_emails_phones_urls_handles_and_known_values():
    text = ("Ask Ana Lima at ana.lima+1@example.org or call (212) 555-0199 / +44 20 7946 0958, "
            "see https://example.org/me and @ana_l. Café Niño stays.")
    out = redact(text, ["Ana Lima"])
    for secret in ["Ana Lima", "ana.lima", "555-0199", "7946", "example.org", "@ana_l"]:
        assert secret not in out, secret
    assert out.count(REDACTED) == 6
    assert "Café Niño stays." in out


def test_redact_keeps_short_numbers_and_whole_words_only():
    assert redact("Open 9 to 5, 2 fridges, since 2021.", ["Ann"]) == \
        "Open 9 to 5, 2 fridges, since 2021."
    assert redact("Annabel and ann", ["Ann"]) == f"Annabel and {REDACTED}"


def test_personal_values_skip_allow_list_common_answers_and_short_values():
    table = pd.DataFrame({"lat": ["40.1"] * 12, "name": [f"Person {i}" for i in range(12)],
                          "help": ["yes"] * 6 + ["sometimes"] * 6,
                          "phone": ["5550100"] + [""] * 11, "code": ["ab"] * 12})
    values = personal_values(table, ["lat"], min_respondents=5)
    # "sometimes" is shared by 6 ≥ 5 respondents: identifies nobody.
    assert values == sorted([f"Person {i}" for i in range(12)] + ["5550100"])


def test_stories_only_consented_by_tract_sorted():
    survey = pd.DataFrame({"TRACT_CODE": ["T2", "T1", "T1", "T3"],
                           "story_consented": [True, True, False, True],
                           "story": ["zebra", "apple", "", "  "]})
    table = stories_by_tract(survey, "TRACT_CODE")
    assert table.columns.tolist() == ["TRACT_CODE", "story"]
    assert table.values.tolist() == [["T1", "apple"], ["T2", "zebra"]]


def test_read_survey_redacts_consented_stories_with_other_respondents_details(tmp_path):
    tracts = grid_tracts(2)
    wgs = gpd.GeoSeries(tracts.geometry.centroid, crs=CRS).to_crs(4326)
    pd.DataFrame({"lat": wgs.y, "lon": wgs.x, "need": ["yes", "no", "no", "yes"],
                  "story": ["Zora Quill helps me, zq@example.invalid", "s2",
                            "call 555 0100 123", "no consent"],
                  "ok": ["yes", "sí", "1", "no"],
                  "name": ["Zora Quill", "Bo Xu", "Cy Ray", "Di Lu"]}
                 ).to_csv(tmp_path / "s.csv", index=False)
    survey, _, _ = read_survey({"path": str(tmp_path / "s.csv"), "lat": "lat", "lon": "lon",
                                "need": "need", "story": "story", "consent": "ok"},
                               tracts, "TRACT_CODE", min_respondents=5)
    assert survey["story"].tolist() == [f"{REDACTED} helps me, {REDACTED}", "s2",
                                        f"call {REDACTED}", ""]


# ---------------------------------------------------------------------------------- visibility
def test_visibility_values_are_checked_with_row_and_column():
    assert parse_visibility(pd.Series(["Public", "", "HIDDEN", "approximate"]), "a.csv",
                            "vis").tolist() == ["public", "public", "hidden", "approximate"]
    with pytest.raises(InputError) as err:
        parse_visibility(pd.Series(["public", "secret"]), "a.csv", "vis")
    assert "a.csv" in str(err.value) and "row 2" in str(err.value) and "'vis'" in str(err.value)


def asset_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["Open", "Near", "Home"], "type": "fridge",
                             "source": "s", "visibility": ["public", "approximate", "hidden"],
                             "TRACT_CODE": ["T00", "T00", "T03"]},
                            geometry=[Point(X0 + 120, Y0 + 130), Point(X0 + 740, Y0 + 260),
                                      Point(X0 + 1900, Y0 + 1900)], crs=CRS)


def test_assets_for_display_moves_approximate_and_drops_hidden():
    tracts = grid_tracts(2)
    shown = assets_for_display(asset_frame(), tracts, "TRACT_CODE", AT_TRACT)
    assert shown["name"].tolist() == ["Open", "Near"]
    assert shown.geometry.iloc[0].equals(Point(X0 + 120, Y0 + 130))
    rep = tracts.geometry.iloc[0].representative_point()
    assert shown.geometry.iloc[1].distance(rep) < 1e-6
    gridded = assets_for_display(asset_frame(), tracts, "TRACT_CODE",
                                 {"approximate_to": "grid", "approximate_grid_m": 500})
    assert (gridded.geometry.iloc[1].x - X0, gridded.geometry.iloc[1].y - Y0) == (750.0, 250.0)


def test_hidden_assets_are_counted_at_their_tract(tmp_path):
    tracts = grid_tracts(2)
    moved = protected_locations(asset_frame(), tracts, "TRACT_CODE", "tract", 500.0)
    assert moved["TRACT_CODE"].tolist() == ["T00", "T00", "T03"]
    assert moved.geometry.iloc[2].distance(tracts.geometry.iloc[3].representative_point()) < 1e-6


def test_read_assets_reads_visibility_column(tmp_path):
    lat, lon = points_lonlat([(X0 + 100, Y0 + 100), (X0 + 1500, Y0 + 1500)])
    pd.DataFrame({"lat": lat, "lon": lon, "name": ["A", "B"], "vis": ["", "hidden"]}
                 ).to_csv(tmp_path / "a.csv", index=False)
    region = asset_region({"path": str(tmp_path / "a.csv"), "name": "name", "visibility": "vis"})
    assets, _, _ = read_assets(region, grid_tracts(2))
    assert assets["visibility"].tolist() == ["public", "hidden"]


@pytest.mark.parametrize("visibility", [None, "approximate"])
def test_prepare_assets_writes_exactly_the_protected_layer(tmp_path, tiny_region, visibility):
    from aiddeserts.config import validate_config
    from aiddeserts.io.files import read_gpkg, write_gpkg
    from aiddeserts.stages.ingest import ingest_assets, ingest_tracts

    if visibility:
        tiny_region["regions"]["tiny"]["assets"]["visibility_value"] = visibility
    region = validate_config(tiny_region)["regions"]["tiny"]
    out = {name: str(tmp_path / name) for name in ("t.gpkg", "a.gpkg", "exact.gpkg")}
    ingest_tracts(region["tracts"], None, out["t.gpkg"], str(tmp_path / "r1.csv"),
                  str(tmp_path / "c1.json"))
    ingest_assets(region["assets"], [], region["inventory"], "TRACT_CODE", "tract", 500.0,
                  out["t.gpkg"], out["a.gpkg"], str(tmp_path / "r2.csv"),
                  str(tmp_path / "c2.json"), out["exact.gpkg"], str(tmp_path / "inv.gpkg"))
    exact = read_gpkg(out["exact.gpkg"])
    assert len(exact) == 6
    # The analysis layer is the exact layer with protected assets moved, written as such;
    # with every asset public (copied, not written again) it is the exact file byte for byte.
    write_gpkg(protected_locations(exact, read_gpkg(out["t.gpkg"]), "TRACT_CODE", "tract", 500.0),
               tmp_path / "expected.gpkg", layer="assets", intermediate=True)
    written = Path(out["a.gpkg"]).read_bytes()
    assert written == (tmp_path / "expected.gpkg").read_bytes()
    assert (written == Path(out["exact.gpkg"]).read_bytes()) is (visibility is None)


# ---------------------------------------------------------------------------------- geomask
def test_donut_geomask_displaces_within_the_donut_and_is_seeded():
    points = gpd.GeoSeries([Point(X0, Y0)] * 500, crs=CRS)
    masked = donut_geomask(points, 50, 250, seed=7)
    distance = masked.distance(points)
    assert distance.min() >= 50 and distance.max() <= 250
    assert masked.geom_equals(donut_geomask(points, 50, 250, seed=7)).all()
    assert not masked.geom_equals(donut_geomask(points, 50, 250, seed=8)).all()
    with pytest.raises(ValueError):
        donut_geomask(points.to_crs(4326), 50, 250, seed=1)


# ------------------------------------------------------------------------------------- audit
HOME = (X0 + 1234.5, Y0 + 2345.6)


def secrets(tmp_path) -> Secrets:
    tracts = grid_tracts(4)
    from shapely import get_coordinates
    return Secrets(crs=tracts.crs, respondents=np.array([HOME]),
                   public=get_coordinates(tracts.geometry.to_numpy()),
                   values={"personal value from survey column 'name'": ["Zora O'Quill"]})


def home_lonlat() -> tuple[float, float]:
    lat, lon = points_lonlat([HOME])
    return float(lon[0]), float(lat[0])


@pytest.mark.parametrize("text", [
    "[{lon:.6f}, {lat:.6f}]",                 # GeoJSON order, full precision
    "L.marker([{lat:.4f}, {lon:.4f}])",       # rounded to 4 decimals (~11 m)
    "{lat:.3f},{lon:.3f}",                    # rounded to 3 decimals (~111 m)
    '{{"lat": {lat:.5f}, "lng": {lon:.5f}}}',  # JS object
    "POINT ({x:.0f} {y:.0f})",                # metres in the working CRS
])
def test_audit_finds_a_respondent_at_any_rounding_that_locates_a_home(tmp_path, text):
    lon, lat = home_lonlat()
    path = tmp_path / "map.html"
    path.write_text("<p>" + text.format(lon=lon, lat=lat, x=HOME[0], y=HOME[1]) + "</p>")
    with pytest.raises(PrivacyLeakError) as err:
        audit_files([path], secrets(tmp_path), schema_defaults("privacy"))
    message = str(err.value)
    assert "map.html: coordinates near a survey respondent (1 found)" in message
    assert f"{lat:.3f}" not in message


def test_audit_passes_coarse_rounding_and_public_tract_vertices(tmp_path):
    lon, lat = home_lonlat()
    # 2 decimals (~1.1 km) cannot locate a home; a tract corner 1 km from it is public anyway.
    corner_lat, corner_lon = points_lonlat([(X0 + 1000, Y0 + 2000)])
    path = tmp_path / "map.html"
    path.write_text(f"[{lon:.2f}, {lat:.2f}] [{corner_lon[0]:.5f}, {corner_lat[0]:.5f}]")
    report = audit_files([path], secrets(tmp_path), schema_defaults("privacy"))
    assert report["passed"] and report["files"]["map.html"]["number_pairs"] == 2


def test_audit_finds_escaped_personal_values_and_vector_points(tmp_path):
    html_file = tmp_path / "map.html"
    html_file.write_text("<b>Zora O&#x27;Quill</b>")
    gpkg = tmp_path / "tracts.gpkg"
    gpd.GeoDataFrame({"v": [1]}, geometry=[Point(*HOME)], crs=CRS).to_file(gpkg, layer="x")
    with pytest.raises(PrivacyLeakError) as err:
        audit_files([html_file, gpkg], secrets(tmp_path), schema_defaults("privacy"))
    message = str(err.value)
    assert "map.html: personal value from survey column 'name' (1 found)" in message
    assert ("tracts.gpkg: coordinates near a survey respondent (vector geometry) (1 found)"
            in message)
    assert "Quill" not in message


def test_audit_reads_pdf_and_png_without_their_compressed_bytes(tmp_path):
    """Compressed PDF streams and PNG pixels are left out of the text scan (random look-alikes
    only); the words a PDF draws, its dictionaries and a PNG's text chunks are still read."""
    from matplotlib.figure import Figure
    from PIL import Image, PngImagePlugin

    found, settings = secrets(tmp_path), schema_defaults("privacy")
    png = tmp_path / "map.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Zora O'Quill")
    Image.effect_noise((300, 300), 80).convert("RGB").save(png, pnginfo=info)
    text = binary_text(png)
    assert "Zora O'Quill" in text and "IDAT" not in text and len(text) < 200
    assert png.stat().st_size > 50_000
    with pytest.raises(PrivacyLeakError, match="map.png: personal value from survey column"):
        audit_files([png], found, settings)
    pdf = tmp_path / "map.pdf"
    figure = Figure()
    figure.text(0.5, 0.5, "Zora O'Quill")
    figure.figimage(np.random.default_rng(0).random((200, 200)))
    figure.savefig(pdf, metadata={"Subject": "a public subject"})
    text = binary_text(pdf)
    assert "/FlateDecode" in text and "stream\nendstream" in text and "a public subject" in text
    assert len(text) < pdf.stat().st_size / 4
    with pytest.raises(PrivacyLeakError, match="map.pdf: personal value from survey column"):
        audit_files([pdf], found, settings)


def test_audit_secrets_are_saved_for_the_parts_and_read_back_the_same(tmp_path):
    found = secrets(tmp_path)
    found.values["personal value from survey column 'note'"] = ["Café Zoë 5"]
    found.in_public_text = 2
    paths = [(tmp_path / f"s{k}.json", tmp_path / f"p{k}.npy") for k in (1, 2)]
    for json_path, npy_path in paths:
        save_secrets(found, json_path, npy_path)
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()  # same secrets, same bytes
    assert paths[0][1].read_bytes() == paths[1][1].read_bytes()
    back = load_secrets(*paths[0])
    assert back.crs == found.crs and back.values == found.values and back.in_public_text == 2
    for name in ("respondents", "private_assets", "public", "public_assets"):
        assert np.array_equal(getattr(back, name), np.asarray(getattr(found, name), float)
                              .reshape(-1, 2)), name
    html_file = tmp_path / "map.html"
    html_file.write_text("<b>Zora O&#x27;Quill</b> and Café Zoë 5")
    settings = schema_defaults("privacy")
    assert scan_files([html_file], back, settings) == scan_files([html_file], found, settings)


def test_audit_in_parts_reports_and_fails_as_the_whole_audit(tmp_path):
    """The pipeline audits each product apart (privacy_audit_part) and gathers the parts: the
    same report, files in the products' order, and the same error naming every leak."""
    lon, lat = home_lonlat()
    clean = tmp_path / "map.html"
    clean.write_text(f"[{lon:.2f}, {lat:.2f}] <p>a public page</p>")
    table = tmp_path / "summary.json"
    table.write_text('{"tracts": 3}')
    leaky = tmp_path / "leaky.html"
    leaky.write_text("<b>Zora O&#x27;Quill</b>")
    gpkg = tmp_path / "tracts.gpkg"
    gpd.GeoDataFrame({"v": [1]}, geometry=[Point(*HOME)], crs=CRS).to_file(gpkg, layer="x")
    found, settings = secrets(tmp_path), schema_defaults("privacy")
    order = ["tracts.gpkg", "map.html", "summary.json", "leaky.html"]
    whole = audit_files([clean, table], found, settings)
    parts = [scan_files([table], found, settings), scan_files([clean], found, settings)]
    gathered = finish_audit(json.loads(json.dumps(parts)), order)  # as read back from files
    assert gathered == whole and list(gathered["files"]) == ["map.html", "summary.json"]
    with pytest.raises(PrivacyLeakError) as whole_error:
        audit_files([gpkg, leaky], found, settings)
    with pytest.raises(PrivacyLeakError) as parts_error:
        finish_audit([scan_files([leaky], found, settings), scan_files([clean], found, settings),
                      scan_files([gpkg], found, settings)], order)
    assert str(parts_error.value) == str(whole_error.value)
    assert "tracts.gpkg" in str(parts_error.value) and "leaky.html" in str(parts_error.value)


def test_text_pairs_reads_chains_keys_signs_and_decimals():
    pairs = Candidates()
    text_pairs('[-73.95, 40.7123, 7] {"lat": 40.1, "lng": -74} 1.5.2, 3 4] 5 x9 ab_1 2', pairs)
    a, b, dec = pairs.arrays()
    # A chain gives consecutive pairs; `1.5.2`, `x9` and `ab_1` are not numbers; `]` parts.
    assert a.tolist() == [-73.95, 40.7123, 40.1, 3.0]
    assert b.tolist() == [40.7123, 7.0, -74.0, 4.0]
    assert dec.tolist() == [2, 0, 0, 0]


def test_file_contents_without_texts_finds_the_same_pairs(tmp_path):
    path = tmp_path / "map.html"
    path.write_text('<img src="data:image/png;base64,AAAA1,2">[1.2345, 2.5]'
                    "<b>caf\\u00e9 &amp; 3.25 4</b>")
    texts, pairs, _ = file_contents(path)
    no_texts, same_pairs, _ = file_contents(path, with_texts=False)
    assert no_texts == [] and len(texts) == 1  # read with its 3 variants, images removed
    assert len(text_variants(texts[0].text)) == 3 and "base64" not in texts[0].text
    for left, right in zip(pairs.arrays(), same_pairs.arrays(), strict=True):
        assert left.tolist() == right.tolist()
    assert pairs.arrays()[0].tolist() == [1.2345, 3.25]


def test_collect_secrets_reads_raw_survey_and_skips_public_values(tmp_path):
    from aiddeserts.privacy.audit import collect_secrets

    tracts = grid_tracts(2)
    ids = {f"T{k:02d}": f"3606100{k:04d}" for k in range(4)}
    tracts["TRACT_CODE"] = tracts["TRACT_CODE"].map(ids)
    lat, lon = points_lonlat([(X0 + 100 + 30 * i, Y0 + 100) for i in range(6)])
    pd.DataFrame({"lat": lat, "lon": lon, "need": "yes",
                  # A geocoded tract id (11 digits, < k rows each) is public, not personal.
                  "tract": [ids["T00"], ids["T01"], ids["T02"], ids["T03"], ids["T00"],
                            ids["T01"]],
                  "name": [f"Resp {i}" for i in range(6)],
                  "story": ["shared tale", "shared tale", "only mine, no consent", "x", "",
                            "shared tale"],
                  "ok": ["yes", "no", "no", "no", "no", "no"]}).to_csv(tmp_path / "s.csv",
                                                                       index=False)
    survey = {"path": str(tmp_path / "s.csv"), "need": "need", "story": "story",
              "consent": "ok"}
    assets = asset_frame()
    assets["TRACT_CODE"] = assets["TRACT_CODE"].map(ids)
    shown = assets_for_display(assets, tracts, "TRACT_CODE", AT_TRACT)
    found = collect_secrets(survey, "TRACT_CODE", tracts, assets, shown, 5, [])
    assert found.values == {
        "personal value from survey column 'name'": [f"Resp {i}" for i in range(6)],
        "story without consent": ["only mine, no consent"],
        "name of a hidden asset": ["Home"],
    }
    assert found.respondents.shape == (6, 2) and found.private_assets.shape == (2, 2)
    assert found.respondents[0] == pytest.approx((X0 + 100, Y0 + 100), abs=0.01)


def test_redact_matches_values_whatever_the_separators():
    assert redact("ring Ana  Lima or 555.0101.0001!", ["Ana Lima", "555-0101-0001"]) == \
        f"ring {REDACTED} or {REDACTED}!"


def test_a_home_at_the_maps_centre_or_corners_does_not_block_publication(tmp_path):
    """The web map opens on the middle of the tracts' bounds, fits those bounds and lays the
    density picture over the grid's, all written at full precision: they come from the tracts
    alone, so a respondent living there (the centre is inside the region: it happens) is no
    leak. The same home written anywhere else is."""
    from shapely.geometry import box

    from aiddeserts.maps import webmap
    from aiddeserts.maps.raster import density_image_bounds
    from aiddeserts.maps.shapes import map_view
    from aiddeserts.method.density import grid_for_bounds
    from aiddeserts.privacy.audit import collect_secrets

    # A tract to the east moves the centre away from every vertex, centroid and inner point.
    tracts = grid_tracts(4)
    east = gpd.GeoDataFrame({"TRACT_CODE": ["T16"], "pop": 1000.0, "poverty": 10.0},
                            geometry=[box(X0 + 5000, Y0, X0 + 5300, Y0 + 300)], crs=CRS)
    tracts = pd.concat([tracts, east], ignore_index=True)
    _, (lat, lon) = map_view(tracts)
    grid = grid_for_bounds(tuple(tracts.total_bounds), 50.0)
    fmap, _ = webmap._base_map(tracts, "Tiny test city", offline=False)
    density, _, _ = webmap._density_layer(np.ones((grid.height, grid.width)), grid, CRS, 1000)
    density.add_to(fmap)
    page = tmp_path / "map.html"
    fmap.save(str(page))
    html = page.read_text()
    assert f"[{lat!r}, {lon!r}]" in html
    (south, west), (north, east) = density_image_bounds(grid, CRS)
    assert f"[[{south!r}, {west!r}], [{north!r}, {east!r}]]" in html
    homes = [(lat, lon), (south, west), (north, west)]
    pd.DataFrame({"lat": [round(a, 6) for a, _ in homes] + [round(lat, 6) + 0.01],
                  "lon": [round(b, 6) for _, b in homes] + [round(lon, 6)],
                  "need": "yes"}).to_csv(tmp_path / "s.csv", index=False)
    survey = {"path": str(tmp_path / "s.csv"), "need": "need"}
    assets = asset_frame()
    shown = assets_for_display(assets, tracts, "TRACT_CODE", AT_TRACT)
    found = collect_secrets(survey, "TRACT_CODE", tracts, assets, shown, 5, [],
                            density_cell_m=grid.cell_size)
    report = audit_files([page], found, schema_defaults("privacy"))
    assert report["passed"] and report["files"]["map.html"]["number_pairs"] >= 5
    elsewhere = tmp_path / "table.html"
    elsewhere.write_text(f"<p>{round(lat, 6) + 0.01:.6f}, {round(lon, 6):.6f}</p>")
    with pytest.raises(PrivacyLeakError, match="coordinates near a survey respondent"):
        audit_files([elsewhere], found, schema_defaults("privacy"))
