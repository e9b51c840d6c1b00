"""The HTML map without a browser: escaping, offline bundle, layers, popups, determinism."""

from __future__ import annotations

import io
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, grid_tracts
from PIL import Image
from shapely.geometry import Point

from aiddeserts.config import schema_defaults
from aiddeserts.maps import legends, popups, raster, rendering, styles, webmap
from aiddeserts.method.density import grid_for_bounds, kernel_density

#: Payloads planted in every user-provided field; none may reach the page unescaped.
PAYLOADS = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
            '"><svg onload=alert(3)>', "'; alert(4); '"]
NON_ASCII = "Nevera Comunitaria Niño — 社区冰箱 ✓"
#: The classification settings of a region that sets none (the schema's defaults).
CLASSIFICATION = schema_defaults("classification")


def tiny_inputs(names: list[str] | None = None, types: list[str] | None = None,
                notes: list[str] | None = None, source: str = "Fridge list",
                ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, object]:
    """Classified 4×4 tracts (T15 a desert), 4 assets, and their density grid."""
    tracts = grid_tracts()
    classes = ["served"] * 12 + ["desert"] * 3 + ["desert"]
    classes[5], classes[6] = "strength", "insufficient_data"
    tracts = tracts.rename(columns={"pop": "population"}).assign(
        desert_class=classes, need_score=np.linspace(0, 1, 16),
        access_score=np.linspace(8, 0, 16), assets_fridge=[1, 1, 0, 0] + [0] * 12,
        assets_pantry=[0, 0, 1, 1] + [0] * 12, assets_total=[1, 1, 1, 1] + [0] * 12,
        nearest_asset_m=np.linspace(0, 3000, 16), nearest_fridge_m=np.linspace(0, 3500, 16),
        nearest_pantry_m=np.linspace(100, 3200, 16),
        survey_respondents=pd.array([20, 12] + [pd.NA] * 14, dtype="Int64"),
        survey_unmet_rate=[0.1, 0.6] + [np.nan] * 14,
        survey_suppressed=[False, False, True] + [False] * 13)
    points = [Point(580_300 + 100 * k, 4_500_300) for k in range(4)]
    assets = gpd.GeoDataFrame({
        "asset_id": ["1-1", "1-2", "1-3", "1-4"],
        "name": names or ["A", "B", "C", NON_ASCII],
        "type": types or ["fridge", "fridge", "pantry", "pantry"],
        "source": source, "notes": notes or ["", "Open 9–5", "", ""],
        "updated": ["2024-05-01", "", "", ""], "community_reported": True,
        "TRACT_CODE": "T00"}, geometry=points, crs=CRS)
    grid = grid_for_bounds(tuple(tracts.total_bounds), 100)
    values = kernel_density(assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy(), grid,
                            kernel="quartic", bandwidth=800)
    return tracts, assets, values, grid


def render(**kwargs) -> str:
    tracts, assets, values, grid = tiny_inputs(**{k: kwargs.pop(k) for k in
                                                  ("names", "types", "notes", "source")
                                                  if k in kwargs})
    kwargs.setdefault("title", "Tiny")
    kwargs.setdefault("thresholds", CLASSIFICATION)
    kwargs.setdefault("min_respondents", 11)
    return webmap.render_deterministic(webmap.build_map(tracts, assets, values, grid,
                                                        id_col="TRACT_CODE", **kwargs))


def contains(text: str, part: str) -> bool:
    """`part` in the page, as is or as folium's ASCII-only JSON writes it."""
    import json

    return part in text or json.dumps(part)[1:-1] in text


def test_esc_escapes_markup_and_keeps_non_ascii():
    assert rendering.esc(PAYLOADS[0]) == "&lt;img src=x onerror=alert(1)&gt;"
    assert rendering.esc('"x"') == "&quot;x&quot;"
    assert rendering.esc(NON_ASCII) == NON_ASCII
    assert rendering.esc(None) == "" and rendering.esc(float("nan")) == ""


def test_asset_popup_has_name_type_notes_source_kind_and_date():
    popup = popups.asset_popup_html({"name": "LES Fridge", "type": "community_fridge",
                                     "notes": "Open 24/7", "source": "Fridge Map",
                                     "community_reported": True, "updated": "2024-05-01"})
    assert "<b>LES Fridge</b>" in popup
    assert "Type: Community fridge" in popup
    assert "Notes: Open 24/7" in popup
    assert "Source: Fridge Map (community-reported)" in popup
    assert "Last updated: 2024-05-01" in popup
    official = popups.asset_popup_html({"name": "", "type": "food_pantry", "notes": "",
                                        "source": "HRA", "community_reported": False,
                                        "updated": ""})
    assert "Unnamed" in official and "(official list)" in official
    assert "Notes" not in official and "Last updated" not in official


def test_asset_marker_data_matches_the_popup_of_each_row():
    assets = gpd.GeoDataFrame({
        "name": [PAYLOADS[0], None, NON_ASCII, "", "Site & Co"],
        "type": ["community_fridge", "food_pantry", "free_store", "food_pantry", ""],
        "notes": ["Open 24/7", np.nan, PAYLOADS[3], "", None],
        "source": ["Fridge Map", "HRA", None, "HRA", "A \"list\""],
        "community_reported": [True, False, True, False, np.True_],
        "updated": ["2024-05-01", "", None, np.nan, "2023"],
    }, geometry=[Point(-73.9876543, 40.1234565), Point(-74.0, 40.5), Point(-73.1, 40.0000004),
                 Point(-73.5, 40.2), Point(-73.25, 40.75)], crs=4326)
    data = popups.asset_marker_data(assets, "Fridges")
    rows = assets.drop(columns="geometry").to_dict("records")
    assert [d[2] for d in data] == [popups.asset_popup_html(r) for r in rows]
    assert [d[3] for d in data] == [rendering.esc(PAYLOADS[0]), "Fridges", NON_ASCII, "Fridges",
                                    "Site &amp; Co"]
    assert popups.COORD_DECIMALS == 5  # ~1 m
    assert data[0][:2] == [40.12346, -73.98765] and data[2][:2] == [40.0, -73.1]
    assert "<b>Unnamed</b>" in data[1][2] and "Notes" not in data[1][2]
    # Without the optional columns, the popup is the one of a row without them.
    bare = assets[["name", "geometry"]]
    assert [d[2] for d in popups.asset_marker_data(bare, "x")] == [
        popups.asset_popup_html({"name": n}) for n in bare["name"]]


def test_tract_popup_plain_language_and_optional_columns():
    tracts, *_ = tiny_inputs()
    row = tracts.drop(columns="geometry").iloc[15].to_dict()
    popup = popups.tract_popup_html(row, "TRACT_CODE", ["assets_fridge", "assets_pantry"],
                                    thresholds=CLASSIFICATION, vintage="ACS 2013–2017",
                                    access_pct=0.0)
    assert "Tract T15" in popup and "<b>Mutual aid desert</b>" in popup
    assert "need is in the top 25% of the region" in popup
    assert "below 1 per km²" in popup
    assert "Need: higher than 100% of tracts" in popup
    assert "Fridge: 0 in tract, nearest 3.5 km" in popup
    assert "Pantry: 0 in tract, nearest 3.2 km" in popup
    assert "Data: ACS 2013–2017" in popup
    assert "Robustness" not in popup and "resampling" not in popup
    row.update(robustness_margin=0.5, desert_stability=0.92)
    popup = popups.tract_popup_html(row, "TRACT_CODE", [], thresholds=CLASSIFICATION,
                                    vintage="")
    assert "Robustness margin: 0.5" in popup
    assert "Stays in this class under resampling: 92%" in popup
    suppressed = tracts.drop(columns="geometry").iloc[2].to_dict()
    # The same words for primary and complementary suppression: the map never says which.
    assert ("Survey: hidden to protect privacy (too few respondents here, or hidden with a tract"
            in popups.tract_popup_html(suppressed, "TRACT_CODE", [],
                                            thresholds=CLASSIFICATION, vintage=""))


def test_definitions_and_legends_name_the_configured_distances():
    """A region with a 400 m walk and 5 miles in the countryside says so (not the defaults),
    and the density legend names the kernel's radius."""
    text = render(thresholds={**CLASSIFICATION, "catchment_m": 400, "far_rural_m": 8046.72},
                  bandwidth_m=800.0)
    assert contains(text, "only one asset within reach (400 m in towns, 5 miles in the countryside)")
    assert not contains(text, "10 miles")
    assert contains(text, "each asset counted within 800 m of it")
    default = render()
    assert contains(default, "(800 m in towns, 10 miles in the countryside)")
    assert contains(default, "smoothed over nearby blocks")


def test_popups_and_about_name_the_configured_thresholds():
    """Every threshold the map names is the region's, none a default of the map's own."""
    thresholds = {**CLASSIFICATION, "need_threshold": 0.9, "low_access_density": 2.5,
                  "strength_density": 7.5, "min_population": 250, "catchment_m": 400}
    tracts, *_ = tiny_inputs()
    rows = tracts.drop(columns="geometry").to_dict("records")

    def popup(i: int) -> str:
        return popups.tract_popup_html(rows[i], "TRACT_CODE", [], thresholds=thresholds,
                                       vintage="")

    assert "need is in the top 10% of the region and asset density is below 2.5 per km²" in popup(15)
    assert "at least 7.5 assets per km² nearby" in popup(5)
    assert "fewer than 250 residents" in popup(6)
    assert "at most one asset is within 400 m" in popups.why_text("fragile", thresholds)
    text = render(thresholds=thresholds)
    assert "need is in the top 10% of Tiny and where fewer than 2.5 mutual aid assets" in text
    assert "top 25%" not in text
    with pytest.raises(KeyError, match="need_threshold"):
        popups.why_text("desert", {"low_access_density": 1.0})


def test_html_templates_escape_as_esc_and_keep_user_line_breaks():
    """The templates' escaping is esc()'s (`'` as `&#x27;`, `"` as `&quot;`), their own line
    layout is not output, and line breaks in user text are kept."""
    payload = "O'Neil \"<b>&"
    panel = legends.about_html(title=payload, region_name="Tiny", asset_counts=[(payload, 1200)],
                               thresholds=CLASSIFICATION, method_url="", about="One\ntwo",
                               sources=[{"name": payload, "url": "https://x.org/?a=1&b='2'"}],
                               credit="")
    escaped = rendering.esc(payload)
    assert escaped == "O&#x27;Neil &quot;&lt;b&gt;&amp;"
    assert f"<h1>{escaped}</h1>" in panel
    assert f"<b>What Tiny has:</b> {escaped} (1,200).</p>" in panel
    assert '<a href="https://x.org/?a=1&amp;b=&#x27;2&#x27;" target="_blank"' in panel
    assert "<p>One\ntwo</p>" in panel and panel.count("\n") == 1
    assert "Made by" not in panel
    legend = legends.asset_legend_html(payload, "<i>icon</i>", 3, community=False, first=True)
    assert legend.startswith("<b>What communities have</b>")
    assert f"<i>icon</i> <b>{escaped}</b>: 3 (official list)</div>" in legend


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_field_are_escaped(payload):
    stories = pd.DataFrame({"TRACT_CODE": ["T15", "T15"], "story": [payload, NON_ASCII]})
    text = render(names=[payload, "B", "C", NON_ASCII], types=[payload, "fridge", "x", "x"],
                  notes=[payload] * 4, source=payload, title=payload, stories=stories,
                  map_config={"about": payload, "credit": payload, "vintage": payload,
                              "region_name": payload,
                              "sources": [{"name": payload, "date": payload,
                                           "url": "javascript:alert(5)"}]})
    # Nothing the payload opens survives: no raw tag, and no `</script>` but the page's own.
    assert "<img src=x" not in text and "<svg onload" not in text
    assert text.count("</script>") == text.count("<script")
    assert "alert(2)</script>" not in text
    # The escaped text is there (inside JSON strings `<`/`>` are also \\u-escaped).
    escaped = rendering.esc(payload)
    json_escaped = escaped.replace("&", "\\u0026").replace("'", "\\u0027")
    assert escaped in text or json_escaped in text
    assert NON_ASCII in text
    # A link with a javascript: URL would run when clicked: only http(s) links are made.
    assert "javascript:alert(5)" not in text


def test_template_syntax_in_user_fields_stays_text():
    # branca compiles element text as a Jinja template; user data must never be evaluated.
    stories = pd.DataFrame({"TRACT_CODE": ["T00"], "story": ["{{ 8*8 }} we share"]})
    page = render(names=["{{ 7*7 }}", "{% raw", "B", "C"], types=["{{ 6*6 }}"] * 4,
                  notes=["{# x", "", "", ""], source="{{ 5*5 }}", title="{{ 4*4 }}",
                  stories=stories)
    for text in ["{{ 7*7 }}", "{% raw", "{{ 6*6 }}", "{# x", "{{ 5*5 }}", "{{ 4*4 }}",
                 "{{ 8*8 }} we share"]:
        assert contains(page, text), text
    assert "<title>{{ 4*4 }}</title>" in page


def test_offline_map_inlines_leaflet_and_needs_no_network():
    text = render()
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=\"https?:", text)
    assert "L.markerClusterGroup" in text and "Leaflet 1.9.3" in text or '"1.9.3"' in text
    assert "https://cdn.jsdelivr.net" not in text
    cdn = render(map_config={"offline": False})
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">' in cdn
    assert len(cdn) < len(text) - 100_000


def test_layers_and_legends_present():
    stories = pd.DataFrame({"TRACT_CODE": ["T15"], "story": ["We share bread on Sundays"]})
    text = render(stories=stories, min_respondents=11)
    for name in ["Tract classification", "Asset density (assets per km²)",
                 "Community survey (per tract)", "Stories (shared with consent)"]:
        assert contains(text, name), name
    assert "assets per km²" in text
    assert "Not shown, to protect privacy: fewer than 11 respondents, or hidden with such" in text
    assert "We share bread on Sundays" in text
    assert "About this map" in text and "Undercount" in text
    assert "Fridge (2)" in text and "Pantry (2)" in text
    without = render()
    assert "Stories (shared with consent)" not in without


def test_map_is_deterministic():
    assert render() == render()


def test_element_ids_are_runs_of_exactly_32_hex_digits():
    a, b = "a" * 32, "0f" * 16
    text = f"x{a} {'b' * 33} 1{'c' * 32} <{b}>{'d' * 31}.{a}g"
    assert webmap._ELEMENT_ID.findall(text) == [a, b, a]


def test_density_overlay_is_a_palette_png():
    tracts, assets, values, grid = tiny_inputs()
    index, bounds, vmax = raster.density_image(values, grid, tracts.crs)
    png = raster.palette_png(index)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P"
    assert "transparency" in image.info
    assert vmax > 0 and bounds[0][0] < bounds[1][0]
    assert np.array_equal(np.asarray(image), index)


def test_survey_bins_and_story_grouping():
    assert [styles.survey_bin(r) for r in (0.0, 0.24, 0.25, 0.6, 1.0)] == [0, 0, 1, 2, 3]
    grouped = webmap.stories_by_tract(pd.DataFrame({"g": ["1", "1", "2"],
                                                    "story": ["a", " ", "b"]}), "g")
    assert grouped == {"1": ["a"], "2": ["b"]}
    with pytest.raises(ValueError, match="story"):
        webmap.stories_by_tract(pd.DataFrame({"g": ["1"]}), "g")
