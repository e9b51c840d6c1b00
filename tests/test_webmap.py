"""The HTML map without a browser: escaping, offline bundle, layers, popups, determinism."""

from __future__ import annotations

import io
import re
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, grid_tracts
from PIL import Image
from shapely.geometry import Point

from aiddeserts.config import schema_defaults
from aiddeserts.maps import figure, legends, popups, raster, rendering, styles, webmap
from aiddeserts.method.classify import CLASSES, classify
from aiddeserts.method.confidence import AccessRule
from aiddeserts.method.density import grid_for_bounds, kernel_density

#: Payloads planted in every user-provided field; none may reach the page unescaped.
PAYLOADS = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
            '"><svg onload=alert(3)>', "'; alert(4); '"]
NON_ASCII = "Nevera Comunitaria Niño — 社区冰箱 ✓"
#: The classification settings of a region that sets none (the schema's defaults).
CLASSIFICATION = schema_defaults("classification")
#: The map settings of a region that sets none (`bivariate` until the schema has it).
MAP = {"bivariate": False, **schema_defaults("map")}


def classified(tracts: gpd.GeoDataFrame, thresholds=CLASSIFICATION, assessed: bool = True
               ) -> gpd.GeoDataFrame:
    """`tracts` with the classes the method gives their population, need and access columns."""
    rule = AccessRule(thresholds["low_access_density"], thresholds["low_access_share"],
                      thresholds["strength_density"])
    low = pd.Series(rule.access_low(tracts["access_score"].to_numpy(),
                                    tracts["share_beyond_threshold"].to_numpy(),
                                    tracts["urban"].to_numpy()), index=tracts.index)
    need = tracts["need_score"] if assessed else pd.Series(np.nan, index=tracts.index)
    out = classify(tracts["population"], need, tracts["access_score"],
                   tracts["assets_within_catchment"], low,
                   need_threshold=thresholds["need_threshold"],
                   strength_density=thresholds["strength_density"],
                   min_population=thresholds["min_population"], need_assessed=assessed)
    return tracts.drop(columns=[c for c in out.columns if c in tracts]).join(out)


def tiny_inputs(names: list[str] | None = None, types: list[str] | None = None,
                notes: list[str] | None = None, source: str = "Fridge list",
                assessed: bool = True
                ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, object]:
    """4×4 tracts classified by the method (T13–T15 deserts: T13 on distance, T14 on density,
    T15 on both; T07–T10 low access; T12 fragile; T05 a strength; T06 too few residents), 4
    assets, and their density grid."""
    tracts = grid_tracts().rename(columns={"pop": "population"})
    tracts.loc[6, "population"] = 40.0
    tracts = tracts.assign(
        need_score=np.linspace(0, 1, 16),
        access_score=[3.0, 2.5, 2.0, 1.5, 1.2, 7.0, 0.5, 0.8, 0.6, 0.3, 2.0, 1.1, 2.0, 2.0, 0.2,
                      0.0],
        share_beyond_threshold=[0, .05, .1, .1, .2, 0, .5, .2, .1, .6, .5, .1, .1, .5, .2, .9],
        urban=[True] * 10 + [False, True, True, False, True, True],
        assets_within_catchment=[4, 3, 3, 2, 2, 6, 0, 1, 1, 0, 0, 2, 1, 0, 0, 0],
        assets_fridge=[1, 1, 0, 0] + [0] * 12, assets_pantry=[0, 0, 1, 1] + [0] * 12,
        assets_total=[1, 1, 1, 1] + [0] * 12,
        nearest_asset_m=np.linspace(0, 3000, 16), nearest_fridge_m=np.linspace(0, 3500, 16),
        nearest_pantry_m=np.linspace(100, 3200, 16),
        survey_respondents=pd.array([20, 12] + [pd.NA] * 14, dtype="Int64"),
        survey_unmet_rate=[0.1, 0.6] + [np.nan] * 14,
        survey_suppressed=[False, False, True] + [False] * 13)
    tracts["far_threshold_m"] = np.where(tracts["urban"], 805.0, 16093.0)
    tracts = classified(tracts, assessed=assessed)
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


def build(tracts=None, assets=None, **kwargs):
    """The folium map of the tiny inputs (or of `tracts`/`assets` given)."""
    inputs = tiny_inputs(**{k: kwargs.pop(k) for k in ("names", "types", "notes", "source",
                                                       "assessed") if k in kwargs})
    tracts = inputs[0] if tracts is None else tracts
    assets = inputs[1] if assets is None else assets
    kwargs.setdefault("title", "Tiny")
    kwargs.setdefault("region_name", "Tiny")
    kwargs.setdefault("thresholds", CLASSIFICATION)
    kwargs.setdefault("min_respondents", 11)
    kwargs["map_config"] = {**MAP, **kwargs.get("map_config", {})}
    return webmap.build_map(tracts, assets, inputs[2], inputs[3], id_col="TRACT_CODE", **kwargs)


def render(**kwargs) -> str:
    return webmap.render_deterministic(build(**kwargs))


def contains(text: str, part: str) -> bool:
    """`part` in the page, as is or as folium's ASCII-only JSON writes it."""
    import json

    return part in text or json.dumps(part)[1:-1] in text


def decoded(text: str) -> str:
    """The page with the JSON escapes of `<`, `>`, `&` and `'` undone and HTML entities in
    text read (the markup as the browser parses it)."""
    import html

    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'")):
        text = text.replace(code, char)
    return html.unescape(text)


def rows_of(tracts: gpd.GeoDataFrame) -> list[dict]:
    return tracts.drop(columns="geometry").to_dict("records")


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


def test_tract_popup_plain_language():
    tracts, *_ = tiny_inputs()
    row = rows_of(tracts)[15]
    popup = popups.tract_popup_html(row, "TRACT_CODE", ["assets_fridge", "assets_pantry"],
                                    thresholds=CLASSIFICATION, vintage="ACS 2013–2017")
    assert "Tract T15" in popup and "<b>Mutual aid desert</b>" in popup
    assert "need is in the top 25% of the region" in popup
    assert "Need: among the highest in the region" in popup
    assert "Fridge: 0 in tract, nearest 3.5 km" in popup
    assert "Pantry: 0 in tract, nearest 3.2 km" in popup
    assert "Data: ACS 2013–2017" in popup
    assert "re-draws" not in popup and "would lift" not in popup
    suppressed = rows_of(tracts)[2]
    # Suppression is decided on the noisy counts, and the popup says so.
    assert ("Survey: hidden to protect privacy (too few respondents here, counted with privacy"
            in popups.tract_popup_html(suppressed, "TRACT_CODE", [],
                                            thresholds=CLASSIFICATION, vintage=""))


def test_popups_say_margin_and_stability_in_plain_words():
    """"Robustness margin: 2" and "Stays in this class under resampling: 93%" become words
    for a partner; the exact figures stay in tracts.gpkg."""
    tracts, *_ = tiny_inputs()
    rows = rows_of(tracts)
    desert = {**rows[15], "robustness_margin": 2, "desert_stability": 0.93}
    popup = popups.tract_popup_html(desert, "TRACT_CODE", [], thresholds=CLASSIFICATION,
                                    vintage="")
    assert "2 more assets nearby would lift this tract out of the desert class." in popup
    assert "9 in 10 re-draws of the asset list agree it is a desert." in popup
    assert "Robustness" not in popup and "resampling" not in popup and "93" not in popup
    one = popups.tract_popup_html({**desert, "robustness_margin": 1}, "TRACT_CODE", [],
                                  thresholds=CLASSIFICATION, vintage="")
    assert "1 more asset nearby would lift" in one
    # A high-need tract that is not a desert: the re-draws that agree are those without one.
    fragile = {**rows[12], "robustness_margin": pd.NA, "desert_stability": 0.2}
    popup = popups.tract_popup_html(fragile, "TRACT_CODE", [], thresholds=CLASSIFICATION,
                                    vintage="")
    assert "8 in 10 re-draws of the asset list agree it is not a desert." in popup
    assert "would lift" not in popup
    assert popups.stability_words(1.0, True) == "All re-draws of the asset list agree it is a desert"
    assert popups.stability_words(0.97, True).startswith("More than 9 in 10 re-draws")
    assert popups.stability_words(0.02, True).startswith("Fewer than 1 in 10 re-draws")
    assert popups.stability_words(np.nan, True) is None


def test_desert_popup_drops_the_relative_density_comparison():
    """"0.40 per km² (higher than 67% of tracts)" on a desert read as a contradiction: density is
    set against the access test's yardstick, and the map keeps no percentile of its own."""
    tracts, *_ = tiny_inputs()
    popup = popups.tract_popup_html(rows_of(tracts)[14], "TRACT_CODE", [],
                                    thresholds=CLASSIFICATION, vintage="")
    assert "Asset density nearby: 0.20 per km² (a town tract needs at least 1)" in popup
    assert "of tracts)" not in popup
    rural = popups.tract_popup_html(rows_of(tracts)[13], "TRACT_CODE", [],
                                    thresholds=CLASSIFICATION, vintage="")
    assert "(not tested in the countryside: distance decides)" in rural
    assert "People beyond reach: 50% live more than 10 miles from any asset" in rural
    assert not hasattr(webmap, "percentile_rank")


def test_asset_popups_show_timestamps_as_dates():
    assert popups.plain_date("2020-10-26T04:51:24.000Z") == "2020-10-26"
    assert popups.plain_date("2020-10-26 04:51") == "2020-10-26"
    assert popups.plain_date("2020-10-26T04:51:24+02:00") == "2020-10-26"
    for kept in ("2020", "May 2024", "2020-10-26", "2020-10-26T04:51:24 and more", None):
        assert popups.plain_date(kept) == kept
    row = {"name": "Fridge", "type": "fridge", "source": "List", "community_reported": True,
           "updated": "2020-10-26T04:51:24.000Z"}
    assert "Last updated: 2020-10-26<" in popups.asset_popup_html(row) + "<"
    assets = gpd.GeoDataFrame([row], geometry=[Point(-93.2, 44.9)], crs=4326)
    assert popups.asset_marker_data(assets, "x")[0][2] == popups.asset_popup_html(row)


def test_popups_name_tracts_by_name_then_id():
    tracts, assets, *_ = tiny_inputs()
    tracts["tract_name"] = [f"Census Tract {k}" for k in range(15)] + [None]
    tracts.loc[3, "tract_name"] = "T03"
    rows = rows_of(tracts)
    assert popups.tract_heading(rows[12], "TRACT_CODE") == "Census Tract 12 (T12)"
    assert popups.tract_heading(rows[15], "TRACT_CODE") == "Tract T15"  # no name: the id alone
    assert popups.tract_heading(rows[3], "TRACT_CODE") == "Tract T03"  # the name is the id
    props = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={"T12": ["We share"]})
    assert props[12]["p"].startswith('<b style="font-size:110%">Census Tract 12 (T12)</b>')
    assert props[12]["tt"].startswith("Census Tract 12 (T12): Fragile")
    assert "Stories from Census Tract 12 (T12)" in props[12]["st"]
    assert props[0]["sp"].startswith("<b>Census Tract 0 (T00)</b>")
    del tracts["tract_name"]
    plain = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})
    assert plain[12]["p"].startswith('<b style="font-size:110%">Tract T12</b>')


def test_definitions_and_legends_name_the_configured_distances():
    """A region with a 400 m walk and 5 miles in the countryside says so (not the defaults),
    and the density legend names the kernel's radius."""
    tracts, *_ = tiny_inputs()
    tracts["far_threshold_m"] = np.where(tracts["urban"], 805.0, 8046.72)
    text = render(tracts=tracts, bandwidth_m=800.0,
                  thresholds={**CLASSIFICATION, "catchment_m": 400, "far_rural_m": 8046.72})
    assert contains(text, "only one asset within reach (400 m in towns, 5 miles in the countryside)")
    assert not contains(text, "10 miles")
    assert contains(text, "each asset counted within 800 m of it")
    default = render()
    assert contains(default, "(800 m in towns, 10 miles in the countryside)")
    assert contains(default, "smoothed over nearby blocks")


def test_popups_and_about_name_the_configured_thresholds():
    """Every threshold the map names is the region's, none a default of the map's own."""
    thresholds = {**CLASSIFICATION, "need_threshold": 0.9, "low_access_density": 2.5,
                  "strength_density": 7.5, "min_population": 250, "catchment_m": 400,
                  "low_access_share": 0.4}
    tracts, *_ = tiny_inputs()
    rows = rows_of(tracts)

    def popup(i: int) -> str:
        return popups.tract_popup_html(rows[i], "TRACT_CODE", [], thresholds=thresholds,
                                       vintage="")

    assert ("need is in the top 10% of the region, and asset density nearby is 0.20 per km², "
            "below the 2.5 per km²") in popup(14)
    assert "(the test allows under 40%)" in popup(15)
    assert "at least 7.5" in popup(5)
    assert "fewer than the 250 needed to judge" in popup(6)
    assert "only one asset is within 400 m" in popups.why_text(rows[12], thresholds, "A")
    text = render(thresholds=thresholds)
    assert "with low access whose need is in the top 10% of Tiny" in text
    assert "40% or more of its people live farther than 805 m" in text
    assert "fewer than 2.5 mutual aid assets per km²" in text
    assert "top 25%" not in text
    with pytest.raises(KeyError, match="need_threshold"):
        popups.why_text(rows[15], {"low_access_density": 1.0})


def test_why_lines_say_which_access_test_failed():
    """A desert or low-access tract names the test it fails (people beyond the distance, or
    mean density below the yardstick); served says the access test passed; fragile names the
    one asset within reach; insufficient data says which data."""
    tracts, *_ = tiny_inputs()
    assert list(tracts["desert_class"]) == (
        ["served"] * 5 + ["strength", "insufficient_data"] + ["low_access"] * 4
        + ["served", "fragile"] + ["desert"] * 3)
    rows = rows_of(tracts)

    def why(i: int, reach: str | None = None) -> str:
        return popups.why_text(rows[i], CLASSIFICATION, reach)

    beyond = "of the people here live more than"
    assert why(13) == ("Why: need is in the top 25% of the region, and 50% of the people here "
                       "live more than 10 miles from any asset (the test allows under 33%).")
    assert why(14) == ("Why: need is in the top 25% of the region, and asset density nearby is "
                       "0.20 per km², below the 1 per km² the test asks of a town tract.")
    assert beyond in why(15) and "below the 1 per km²" in why(15)
    assert why(7) == ("Why: asset density nearby is 0.80 per km², below the 1 per km² the test "
                      "asks of a town tract; need is not in the top 25%.")
    assert why(10).startswith("Why: 50% of the people here live more than 10 miles")
    assert beyond in why(9) and "below the 1 per km²" in why(9)
    assert why(0) == ("Why: the access test passes: 0% of the people here live more than 805 m "
                      "from any asset (under 33%) and asset density nearby is 3.00 per km² "
                      "(at least 1).")
    for i in range(16):
        assert "need is lower" not in why(i)
    assert why(12, "Fridge 3 (Fridge, 250 m away)") == (
        "Why: need is in the top 25% of the region, and access passes, but only one asset is "
        "within 800 m: Fridge 3 (Fridge, 250 m away). One closure would leave it without.")
    assert "at most one asset is within 800 m" in why(12)
    assert why(6) == "Why: only 40 residents, fewer than the 100 needed to judge."
    small = {**rows[6], "need_score": np.nan}  # need is not ranked where too few people live
    assert popups.why_text(small, CLASSIFICATION) == why(6)
    no_need = {**rows[3], "desert_class": "insufficient_data", "need_score": np.nan}
    assert popups.why_text(no_need, CLASSIFICATION) == "Why: no need data for this tract."
    no_people = {**no_need, "need_score": 0.3, "population": np.nan}
    assert popups.why_text(no_people, CLASSIFICATION) == "Why: no population figure for this tract."
    # Every tract's popup carries its own why line.
    props = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})
    for row, prop in zip(rows, props, strict=True):
        assert rendering.esc(popups.why_text(row, CLASSIFICATION)) in prop["p"]


def test_fragile_popup_names_the_one_drawn_asset_within_reach():
    tracts, assets, *_ = tiny_inputs()
    rep = tracts.geometry.iloc[12].representative_point()
    near = gpd.GeoDataFrame({"name": ["Corner Fridge", "Far Pantry"], "type": ["fridge", "pantry"],
                             "source": "x"},
                            geometry=[Point(rep.x + 300, rep.y), Point(rep.x + 2000, rep.y)],
                            crs=CRS).to_crs(4326)
    reach = webmap.reach_assets(tracts, near, CLASSIFICATION)
    assert reach == {12: "Corner Fridge (Fridge, 300 m away)"}
    # Out of reach (or hidden, hence not drawn): the popup names none.
    assert webmap.reach_assets(tracts, near.iloc[[1]], CLASSIFICATION) == {}
    text = render(assets=pd.concat([assets, near.to_crs(CRS)], ignore_index=True))
    assert contains(text, "only one asset is within 800 m: Corner Fridge (Fridge, 300 m away)")


def test_html_templates_escape_as_esc_and_keep_user_line_breaks():
    """The templates' escaping is esc()'s (`'` as `&#x27;`, `"` as `&quot;`), their own line
    layout is not output, and line breaks in user text are kept."""
    payload = "O'Neil \"<b>&"
    panel = legends.about_html(title=payload, region_name="Tiny", asset_counts=[(payload, 1200)],
                               thresholds=CLASSIFICATION, method_url="", about="One\ntwo",
                               sources=[{"name": payload, "url": "https://x.org/?a=1&b='2'"}],
                               credit="", need=[{"column": payload, "higher_is_worse": True}],
                               assessed=True, dropped=[payload])
    escaped = rendering.esc(payload)
    assert escaped == "O&#x27;Neil &quot;&lt;b&gt;&amp;"
    assert f"<h1>{escaped}</h1>" in panel
    assert f"<b>Mapped mutual aid in Tiny:</b> {escaped} (1,200).</p>" in panel
    assert f"Tiny on {escaped}, as a percentile" in panel
    assert f"<b>Listed but not counted:</b> {escaped}</p>" in panel
    assert '<a href="https://x.org/?a=1&amp;b=&#x27;2&#x27;" target="_blank"' in panel
    assert "<p>One\ntwo</p>" in panel and panel.count("\n") == 1
    assert "Made by" not in panel
    legend = legends.asset_legend_html(payload, "<i>icon</i>", 3, community=False, first=True)
    assert legend.startswith("<b>What communities have</b>")
    assert f"<i>icon</i> <b>{escaped}</b>: 3 (official list)</div>" in legend


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_field_are_escaped(payload):
    stories = pd.DataFrame({"TRACT_CODE": ["T15", "T15"], "story": [payload, NON_ASCII]})
    tracts, assets, *_ = tiny_inputs(names=[payload, "B", "C", NON_ASCII],
                                     types=[payload, "fridge", "x", "x"], notes=[payload] * 4,
                                     source=payload)
    tracts["tract_name"] = payload
    rep = tracts.geometry.iloc[12].representative_point()
    assets.loc[len(assets)] = {**assets.iloc[0].to_dict(), "geometry": Point(rep.x, rep.y + 50)}
    text = render(tracts=tracts, assets=assets, title=payload, stories=stories,
                  region_name=payload, need=[{"column": payload, "higher_is_worse": False}],
                  dropped=[payload], map_config={
                      "about": payload, "credit": payload, "vintage": payload, "bivariate": True,
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
    assert "Not shown, to protect privacy: fewer than 11 respondents (counted with privacy" in text
    assert "We share bread on Sundays" in text
    assert "About this map" in text and "Undercount" in text
    assert "Fridge (2)" in text and "Pantry (2)" in text
    without = render()
    assert "Stories (shared with consent)" not in without


def test_map_is_deterministic():
    assert render() == render()


#: The element ids' definition: a run of exactly 32 hex digits.
ELEMENT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def _sequential_ids_by_regex(text: str) -> str:
    mapping: dict[str, str] = {}
    return ELEMENT_ID.sub(lambda m: mapping.setdefault(m.group(0), f"{len(mapping) + 1:032x}"),
                          text)


def test_element_ids_are_runs_of_exactly_32_hex_digits():
    a, b = "a" * 32, "0f" * 16
    text = f"x{a} {'b' * 33} 1{'c' * 32} <{b}>{'d' * 31}.{a}g"
    data = text.encode()
    assert [data[s:e].decode() for s, e in webmap.element_id_spans(data)] == [a, b, a]
    one, two = f"{1:032x}", f"{2:032x}"
    assert webmap.sequential_ids(text) == (
        f"x{one} {'b' * 33} 1{'c' * 32} <{two}>{'d' * 31}.{one}g")


def test_sequential_ids_equal_the_regex_on_fuzzed_and_real_text():
    rng = np.random.default_rng(4)
    ids = [uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63))).hex
           for _ in range(20)]
    alphabet = list("0123456789abcdefgxyzABCDEF_ <>\"\n") + ["é", "ß", "→", "漢", "\U0001f600"]
    for _ in range(300):
        parts = []
        for _ in range(int(rng.integers(1, 30))):
            kind = rng.integers(0, 4)
            if kind == 0:
                parts.append(ids[rng.integers(0, len(ids))])
            elif kind == 1:  # a run of hex digits of another length, or an id next to one
                parts.append("".join(rng.choice(list("0123456789abcdef"),
                                                int(rng.choice([1, 16, 31, 33, 40, 64])))))
            else:
                parts.append("".join(rng.choice(alphabet, int(rng.integers(0, 6)))))
        text = "".join(parts)
        assert webmap.sequential_ids(text) == _sequential_ids_by_regex(text)
    text = build().get_root().render()  # a real map's text, its ids folium's random ones
    assert len(ELEMENT_ID.findall(text)) > 20
    assert webmap.sequential_ids(text) == _sequential_ids_by_regex(text)


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


# ------------------------------------------------------------------ classes, legends, About
def legend_counts(html: str) -> dict[str, int]:
    """Tract count per class label in a class legend."""
    return {label: int(count.replace(",", "")) for label, count in
            re.findall(r"<b>([^<]+)</b> \(([\d,]+) tracts\)", html)}


def test_class_legend_counts_add_up_and_classes_are_not_told_by_colour_alone():
    tracts, *_ = tiny_inputs()
    html = legends.class_legend_html(legends.class_counts(tracts),
                                     legends.definitions_for(CLASSIFICATION))
    counts = legend_counts(html)
    assert len(counts) == len(CLASSES) and sum(counts.values()) == len(tracts) == 16
    assert counts["Low access (need not high)"] == 4 and counts["Mutual aid desert"] == 3
    # Deserts hatched and low access dotted, in the legend and on the map.
    assert f"background:{styles.PATTERN_CSS['hatch']},#D55E00" in html
    assert f"background:{styles.PATTERN_CSS['dots']},#CC79A7" in html
    text = render()
    assert "'url(#aid-hatch-d55e00)'" in text and "'url(#aid-dots-cc79a7)'" in text
    assert '"id":"aid-hatch-d55e00"' in text  # the pattern the fill refers to is on the page
    # The tooltip names the class and both axes.
    props = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})
    assert props[15]["tt"] == "Tract T15: Mutual aid desert (high need, low access)"
    assert props[0]["tt"] == "Tract T00: Served (access passes) (need not high, access passes)"
    assert props[6]["tt"] == "Tract T06: Insufficient data"


def test_static_figure_legend_counts_add_up_with_patterns(tmp_path):
    tracts, *_ = tiny_inputs()
    fig = figure.classification_figure(tracts, title="Tiny", sources=["List"], credit="",
                                       definitions=legends.definitions_for(CLASSIFICATION))
    # The class legend sits outside the map frame, as a figure legend titled "Census tracts".
    (legend,) = [lg for lg in fig.legends if lg.get_title().get_text().startswith("Census tracts")]
    handles = legend.legend_handles
    labels = [h.get_label() for h in handles]
    assert sum(int(re.search(r"\((\d+)\)$", label).group(1)) for label in labels) == 16
    hatches = {label.split(" (")[0]: h.get_hatch() for label, h in zip(labels, handles,
                                                                        strict=True)}
    assert hatches["Mutual aid desert"] == "////" and hatches["Low access"] == ".."
    assert hatches["Served"] is None
    footer = " ".join(t.get_text() for t in fig.texts)
    assert "Need was not assessed" not in footer
    figure.save_figure(fig, tmp_path / "a.png", tmp_path / "a.pdf")


def test_bivariate_layer_is_optional_with_a_labelled_3x3_grid():
    tracts, *_ = tiny_inputs()
    assert not contains(render(), "Need × access (3×3)")
    text = render(map_config={"bivariate": True})
    assert contains(text, "Need × access (3×3)")
    html = legends.bivariate_legend_html(legends.bivariate_counts(tracts))
    cells = re.findall(r'<td title="([^"]+)" style="background:([^"]+)"><span>([\d,]+)</span>',
                       html)
    assert len(cells) == 9
    # The grid and the tracts too small to judge (left out of it) add up to the tracts.
    too_few = int(re.search(r"<b>Insufficient data</b> \((\d+) tracts\)", html).group(1))
    assert too_few == 1 and sum(int(c[2]) for c in cells) + too_few == len(tracts)
    by_words = {words: (background, int(n)) for words, background, n in cells}
    # Every cell is named, not told by colour alone; high need is hatched as well.
    assert by_words["High need, low access"] == (
        f"{styles.PATTERN_CSS['hatch']},#be64ac", 3)
    assert by_words["Need not high, low access"] == ("#dfb0d6", 4)
    assert by_words["Need not high, access passes"][1] == 6
    assert by_words["Need not assessed, low access"][1] == 0
    for column in ("Low access", "Access passes", "Strong access"):
        assert f"<th>{column}</th>" in html
    # Each tract's cell index is its need_level × access_level.
    props = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})
    cells_order = webmap.bivariate_cells()
    for prop, row in zip(props, rows_of(tracts), strict=True):
        if row["desert_class"] == "insufficient_data":
            assert prop["b"] == 9
        else:
            assert cells_order[prop["b"]] == (row["need_level"], row["access_level"])
    assert "aid-grid" in text and contains(text, "High need, low access")


def test_without_need_the_map_and_figure_say_need_was_not_assessed():
    tracts, *_ = tiny_inputs(assessed=False)
    assert set(tracts["need_level"]) == {"not_assessed"} and not tracts["is_desert"].any()
    text = render(tracts=tracts, map_config={"bivariate": True})
    assert text.count("Need was not assessed") >= 3  # class legend, grid legend, title panel
    for part in ("`retrieve`", "attribute CSV with ACS columns", "config/README.md"):
        assert contains(text, part), part
    html = legends.class_legend_html(legends.class_counts(tracts),
                                     legends.definitions_for(CLASSIFICATION, False), False)
    counts = legend_counts(html)
    assert "Mutual aid desert" not in counts and sum(counts.values()) == 16
    assert "Need ranks" not in text and "A <b>mutual aid desert</b>" not in text
    popup = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})[9]["p"]
    assert "Need: not assessed" in popup and "need was not assessed." in popup
    assert "Residents: 1,000" in popup  # population known, need not
    tracts["population"] = np.nan
    popup = webmap.tract_properties(tracts, "TRACT_CODE", thresholds=CLASSIFICATION,
                                    vintage="", stories={})[9]["p"]
    assert "Residents: not counted (people taken as spread evenly over the tract)" in popup
    fig = figure.classification_figure(tracts, title="Tiny", sources=["List"], credit="",
                                       definitions=legends.definitions_for(CLASSIFICATION, False),
                                       assessed=False)
    footer = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "Need was not assessed" in footer and "config/README.md" in footer
    labels = [h.get_label() for lg in fig.legends for h in lg.legend_handles]
    assert any(label.startswith("Served") for label in labels)
    assert not any(label.startswith("Mutual aid desert") for label in labels)
    # With need, none of it.
    assert "Need was not assessed" not in render()


def test_about_names_the_need_variables_and_reads_right_for_plural_places():
    need = [{"column": "B17001_002E", "higher_is_worse": True},
            {"column": "B19013_001E", "higher_is_worse": False},
            {"column": "rent_burden", "higher_is_worse": True}]
    text = decoded(render(need=need, region_name="Hennepin and Ramsey counties"))
    assert ("Need</b> ranks the tracts of Hennepin and Ramsey counties on people in poverty "
            "(B17001_002E), median household income (B19013_001E; lower means more need), "
            "rent_burden, as a percentile") in text
    assert "Need combines census measures" not in text
    assert "<b>Mapped mutual aid in Hennepin and Ramsey counties:</b> Fridge (2), Pantry (2)." \
        in text
    assert "counties has" not in text and "What Hennepin" not in text
    singular = decoded(render(region_name="New York City"))
    assert "<b>Mapped mutual aid in New York City:</b>" in singular
    assert "among the highest of New York City" in singular


def test_dropped_sites_are_said_in_the_about_panel():
    rejects = pd.DataFrame({
        "source": "assets[1]:sites.csv", "row": range(1, 67),
        "reason": (["outside the study area (in no tract)"] * 60
                   + ["duplicate of assets[1]:sites.csv row 3: dropped"] * 2
                   + ["latitude/longitude (Lat, Lon) blank or not a number"]
                   + [popups.SUPPRESSED_TEXT] * 3),
        "action": ["dropped"] * 63 + ["repaired"] * 3})
    counts = {"assets": {"read": 355, "kept": 292, "rejected": 63}}
    lines = legends.dropped_sites(counts, rejects)
    assert lines == ["Of 355 listed sites, 292 are counted.",
                     "60 listed sites are outside the map's area and are not counted.",
                     "2 listed sites are listed twice and counted once.",
                     "1 listed site has no usable location and is not counted.",
                     "rejects.csv, published with this map, lists each row and why."]
    one = legends.dropped_sites({"assets": {"read": 7, "kept": 6}}, rejects.iloc[[0]])
    assert "1 listed site is outside the map's area and is not counted." in one
    assert legends.dropped_sites({"assets": {"read": 7, "kept": 7}}, rejects.iloc[[63]]) == []
    text = decoded(render(dropped=lines))
    assert ("<b>Listed but not counted:</b> Of 355 listed sites, 292 are counted. 60 listed sites "
            "are outside the map's area and are not counted.") in text
    assert "Listed but not counted" not in render()


def test_make_map_reads_the_asset_counts_and_rejects(tmp_path):
    """The stage reads counts_assets.json and rejects_assets.csv as ingest writes them."""
    from aiddeserts.io.files import write_csv, write_geotiff, write_gpkg, write_json
    from aiddeserts.io.rejects import count_rows, make_rejects
    from aiddeserts.stages.maps import make_map

    tracts, assets, values, grid = tiny_inputs()
    rejects = pd.concat([make_rejects("assets[1]:a.csv", [5, 6], "outside the study area "
                                      "(in no tract)"),
                         make_rejects("assets[1]:a.csv", [7], "latitude/longitude out of range")])
    paths = {name: tmp_path / name for name in ("tracts.gpkg", "assets.gpkg", "density.tif",
                                                "counts.json", "rejects.csv", "map.html")}
    write_gpkg(tracts, paths["tracts.gpkg"], layer="tracts")
    write_gpkg(assets, paths["assets.gpkg"], layer="assets")
    write_geotiff(values, grid, tracts.crs, paths["density.tif"],
                  tags={"kernel": "quartic", "bandwidth_m": 800})
    write_json({"assets": count_rows({"assets[1]:a.csv": 7}, rejects)}, paths["counts.json"])
    write_csv(rejects, paths["rejects.csv"])
    make_map("tiny", "Tiny", {**MAP, "region_name": "Hennepin and Ramsey counties"},
             "TRACT_CODE", CLASSIFICATION, 11, schema_defaults("privacy"),
             tracts_path=str(paths["tracts.gpkg"]), assets_path=str(paths["assets.gpkg"]),
             density_path=str(paths["density.tif"]), out_html=str(paths["map.html"]),
             need=[{"column": "poverty", "higher_is_worse": True}],
             asset_counts_path=str(paths["counts.json"]),
             asset_rejects_path=str(paths["rejects.csv"]))
    text = decoded(paths["map.html"].read_text(encoding="utf-8"))
    assert "Of 7 listed sites, 4 are counted. 2 listed sites are outside the map's area" in text
    assert "1 listed site has no usable location and is not counted." in text
    assert "Hennepin and Ramsey counties on poverty, as a percentile" in text


def test_a_bilingual_map_packs_the_connections_popups_per_language():
    """With map.languages, the community connections popups are packed per language like the
    other tract popups (none left in the page's tract data), and the Spanish table says them
    in Spanish."""
    import json

    questions = [{"column": "keys_with_neighbour", "label": "Would leave keys with a neighbour",
                  "kind": "yes_no", "theme": "connection"}]
    tracts, *_ = tiny_inputs()
    tracts["survey_keys_with_neighbour"] = [0.9, 0.2] + [np.nan] * 14
    text = render(tracts=tracts, survey_questions=questions,
                  map_config={"language": "es", "languages": ["es", "en"]})
    data = json.loads(re.search(r"var aid_tracts = (\{.*?\});\n", text, re.S).group(1))
    assert not any("cp" in f["properties"] or "p" in f["properties"] for f in data["features"])
    assert sum("cn" in f["properties"] for f in data["features"]) == 2
    english, spanish = webmap.unpacked_texts(text).split("\n")  # sorted by language
    assert "ruido" in json.loads(spanish)["cp"][0] and json.loads(spanish)["cp"][2] is None
    assert "noise" in json.loads(english)["cp"][0]


def test_pixel_corners_are_placed_as_affine_places_them():
    import random
    import warnings

    from affine import Affine

    rng = random.Random(4)
    for _ in range(2000):
        transform = Affine(*(rng.uniform(-1e6, 1e6) for _ in range(6)))
        col, row = rng.uniform(0, 5000), rng.choice([0, rng.uniform(0, 5000)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # affine 3 deprecates its * for points
            assert raster._apply(transform, col, row) == transform * (col, row)
