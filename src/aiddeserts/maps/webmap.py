"""The interactive map partners open: one self-contained HTML file built with folium.

Layers (each toggleable, each with a legend that shows and hides with it): tract classification,
optionally the need × access grid (`map.bivariate`), asset density, assets by type (clustered,
one icon shape and colour per type), survey aggregates (suppressed cells shown as such) and
consented stories attached to tracts. Tract classes are told by name and pattern as well as
colour (deserts hatched, low access dotted; in the grid, high need hatched).

The page is made of: popups (:mod:`.popups`), legends and the About panel (:mod:`.legends`),
the density overlay (:mod:`.raster`), folium elements (:mod:`.elements`), and the JavaScript,
HTML and CSS files of ``maps/templates/`` and ``maps/static/`` (:mod:`.rendering`).

Languages: the page is written in `map.language` (:mod:`aiddeserts.i18n`). English alone is
rendered as it always was; another language, or several (`map.languages`, with a switcher that
keeps the choice in the URL), pack each language's popups and tooltips as gzipped JSON that the
browser unpacks (:func:`embed_languages`; legends, About panel and layer names are one text per
language), which keeps NYC's map under 2 MB in two languages.

Safety: every user-provided string (asset names, types, notes, sources, stories, titles, tract ids)
is escaped by :func:`.rendering.esc` before it reaches HTML; data handed to JavaScript is
serialised with Jinja's ``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``), so no text can
close a ``<script>`` element. Offline by default: Leaflet and Leaflet.markercluster are inlined
from the XStatic packages installed with aiddeserts (nothing is downloaded when the map is built
or opened, apart from the optional basemap tiles).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from aiddeserts.i18n import SOURCE_LANGUAGE, _, language_name, number, use_language
from aiddeserts.maps import inventory, ui
from aiddeserts.maps.elements import AssetLayer, LayerControl, Script, Text, TractLayer
from aiddeserts.maps.legends import (
    ACCESS_WORDS,
    NEED_WORDS,
    about_html,
    asset_legend_html,
    bivariate_counts,
    bivariate_legend_html,
    class_counts,
    class_legend_html,
    definitions_for,
    density_legend_html,
    need_assessed,
    story_legend_html,
    survey_legend_html,
)
from aiddeserts.maps.packing import gzip_base64, unpacked_texts  # noqa: F401 (public here)
from aiddeserts.maps.popups import (
    asset_marker_data,
    records,
    stories_popup_html,
    survey_popup_html,
    survey_rate,
    tract_heading,
    tract_popup_html,
    type_label,
)
from aiddeserts.maps.raster import density_image, palette_png
from aiddeserts.maps.rendering import LEAFLET_CDN, esc, leaflet_inline, static_text
from aiddeserts.maps.shapes import SIMPLIFY_M, map_view, simplified_tracts  # noqa: F401 (public here)
from aiddeserts.maps.styles import (
    ASSET_COLOURS,
    ASSET_SHAPES,
    BIVARIATE_COLOURS,
    BIVARIATE_PATTERNS,
    CLASS_PATTERNS,
    STORY_COLOUR,
    SUPPRESSED_COLOUR,
    SURVEY_COLOURS,
    fill_js,
    icon_html,
    pattern_id,
    survey_bin,
)
from aiddeserts.method.classify import (
    ACCESS_LEVELS,
    CLASS_COLOURS,
    CLASSES,
    NEED_LEVELS,
    class_label,
    distance_words,
)

if TYPE_CHECKING:  # only for annotations
    from aiddeserts.method.density import Grid

#: A layer with its legend: the layer, the legend's label (`data-layer`) and the legend's HTML.
LayerWithLegend = tuple[folium.map.Layer, str, str]


# ------------------------------------------------------------------------------------- tracts
def stories_by_tract(stories: pd.DataFrame | None, id_col: str) -> dict[str, list[str]]:
    """Consented stories grouped by tract id (order kept, blanks dropped)."""
    if stories is None or stories.empty:
        return {}
    missing = {id_col, "story"} - set(stories.columns)
    if missing:
        raise ValueError(f"stories frame lacks columns {sorted(missing)}")
    out: dict[str, list[str]] = {}
    for tract, story in zip(stories[id_col].astype(str), stories["story"], strict=True):
        if isinstance(story, str) and story.strip():
            out.setdefault(tract, []).append(story.strip())
    return out


def asset_type_columns(tracts: pd.DataFrame) -> list[str]:
    """The tracts' `assets_<type>` counts (not the total, nor the method's `assets_within_*`)."""
    return sorted(c for c in tracts.columns
                  if c.startswith("assets_") and c != "assets_total"
                  and not c.startswith("assets_within_"))


def bivariate_cells() -> list[tuple[str, str]]:
    """The (need_level, access_level) cells of the 3×3 grid, in the order of the index `b`
    (`insufficient_data` tracts, left out of the grid, have `b` = 9)."""
    return [(n, a) for n in NEED_LEVELS for a in ACCESS_LEVELS]


def reach_assets(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame,
                 thresholds: Mapping[str, Any]) -> dict[int, str]:
    """For each fragile tract with one asset within reach, that asset as a popup names it
    ("Fridge 3 (Fridge, 250 m away)"), by row position. Reach is the class's: `catchment_m`
    from the tract's representative point in towns, `far_threshold_m` in the countryside.
    Only drawn assets (`assets`: as displayed, in the tracts' CRS) are named; a fragile tract
    whose one asset is hidden gets none."""
    fragile = np.flatnonzero((tracts["desert_class"] == "fragile").to_numpy())
    if not len(fragile) or assets.empty:
        return {}
    from scipy.spatial import cKDTree

    rep = tracts.geometry.iloc[fragile].representative_point()
    urban = tracts["urban"].to_numpy(bool)[fragile]
    reach = np.where(urban, float(thresholds["catchment_m"]),
                     tracts["far_threshold_m"].to_numpy(float)[fragile])
    points = assets.geometry.to_crs(tracts.crs)
    tree = cKDTree(np.column_stack([points.x.to_numpy(), points.y.to_numpy()]))
    dist, index = tree.query(np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()]))
    names = assets["name"].fillna("").astype(str).to_numpy() if "name" in assets else None
    types = assets["type"].to_numpy()
    # Walking classes (distance_used: network) name the asset's straight-line distance as such.
    walked = (tracts["distance_used"].to_numpy()[fragile] == "network"
              if "distance_used" in tracts else np.zeros(len(fragile), bool))
    out = {}
    for position, d, i, limit, on_foot in zip(fragile, dist, index, reach, walked, strict=True):
        if d <= limit:
            name = names[i].strip() if names is not None else ""
            away = (_("{distance} away in a straight line") if on_foot
                    else _("{distance} away")).format(distance=distance_words(d))
            out[int(position)] = _("{name} ({type}, {away})").format(
                name=name or _("an unnamed site"), type=type_label(types[i]), away=away)
    return out


def tract_properties(tracts: gpd.GeoDataFrame, id_col: str, *, thresholds: Mapping[str, Any],
                     vintage: str, stories: Mapping[str, list[str]],
                     reach: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """Per tract, the GeoJSON properties every tract layer reads: class index `c`, bivariate
    cell `b` (:func:`bivariate_cells`; 9: insufficient data), tooltip `tt`, popup `p`; survey
    bin `s` and popup `sp` (when surveyed or hidden); stories popup `st`. `reach`:
    :func:`reach_assets`."""
    type_columns = asset_type_columns(tracts)
    cells = bivariate_cells()
    reach = reach or {}
    population_known = bool(tracts["population"].notna().any())
    props = []
    for i, row in enumerate(tracts.drop(columns="geometry").to_dict("records")):
        tract_id = row[id_col]
        heading = tract_heading(row, id_col)
        prop: dict[str, Any] = {
            "c": CLASSES.index(row["desert_class"]),
            "b": (len(cells) if row["desert_class"] == "insufficient_data"
                  else cells.index((row["need_level"], row["access_level"]))),
            "tt": esc(f"{heading}: {class_label(row['desert_class'])}" + (
                "" if row["desert_class"] == "insufficient_data" else
                f" ({_(NEED_WORDS[row['need_level']]).lower()}, "
                f"{_(ACCESS_WORDS[row['access_level']])})")),
            "p": tract_popup_html(row, id_col, type_columns, thresholds=thresholds,
                                  vintage=vintage, reach_asset=reach.get(i),
                                  population_known=population_known),
        }
        rate = survey_rate(row)
        if rate is not None:
            prop["s"] = survey_bin(float(rate))
            prop["sp"] = survey_popup_html(heading, rate, row["survey_respondents"])
        elif bool(row.get("survey_suppressed", False)):
            prop["s"] = len(SURVEY_COLOURS)
            prop["sp"] = survey_popup_html(heading, None, None)
        told = stories.get(str(tract_id))
        if told:
            prop["st"] = stories_popup_html(heading, told)
        props.append(prop)
    return props


def tract_collection(tracts: gpd.GeoDataFrame, props: list[dict[str, Any]],
                     outlines: gpd.GeoSeries | None = None) -> dict[str, Any]:
    """The tracts' simplified outlines (`outlines`, else :func:`simplified_tracts`) with their
    properties, as a GeoJSON FeatureCollection."""
    if outlines is None:
        outlines = simplified_tracts(tracts)
    features = [{"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
                for p, g in zip(props, outlines, strict=True)]
    return {"type": "FeatureCollection", "features": features}


# ------------------------------------------------------------------------------------- layers
def _patterns() -> list[tuple[str, str]]:
    """(colour, pattern) of every patterned fill the tract layers use."""
    fills = [(CLASS_COLOURS[c], CLASS_PATTERNS[c]) for c in CLASSES if c in CLASS_PATTERNS]
    fills += [(BIVARIATE_COLOURS[n, a], BIVARIATE_PATTERNS[n]) for n, a in bivariate_cells()
              if n in BIVARIATE_PATTERNS]
    return fills


def _class_layer(tracts: gpd.GeoDataFrame, thresholds: Mapping[str, Any]) -> LayerWithLegend:
    fills = fill_js([(CLASS_COLOURS[c], CLASS_PATTERNS.get(c)) for c in CLASSES])
    layer = TractLayer(
        _("Tract classification"), filter_js="true", popup_key="p", tooltip=True,
        style_js=f"{{fillColor: {fills}[f.properties.c], color: '#444', weight: 0.5, "
                 "fillOpacity: 0.6}")
    assessed = need_assessed(tracts)
    return layer, "Tract classification", class_legend_html(
        class_counts(tracts), definitions_for(thresholds, assessed), assessed)


def _bivariate_layer(tracts: gpd.GeoDataFrame) -> LayerWithLegend:
    fills = fill_js([(BIVARIATE_COLOURS[n, a], BIVARIATE_PATTERNS.get(n))
                     for n, a in bivariate_cells()]
                    + [(CLASS_COLOURS["insufficient_data"], None)])
    layer = TractLayer(
        _("Need × access (3×3)"), filter_js="true", popup_key="p", tooltip=True, show=False,
        style_js=f"{{fillColor: {fills}[f.properties.b], color: '#444', weight: 0.5, "
                 "fillOpacity: 0.75}")
    return layer, "Need × access", bivariate_legend_html(bivariate_counts(tracts),
                                                         need_assessed(tracts))


def _density_layer(values: np.ndarray, grid: Grid, crs: Any, bandwidth_m: float | None
                   ) -> LayerWithLegend:
    index, bounds, vmax = density_image(values, grid, crs)
    png = base64.b64encode(palette_png(index)).decode("ascii")
    layer = folium.FeatureGroup(name=_("Asset density (assets per km²)"), show=False)
    folium.raster_layers.ImageOverlay(f"data:image/png;base64,{png}", bounds=bounds,
                                      opacity=0.85).add_to(layer)
    return layer, "Asset density", density_legend_html(vmax, bandwidth_m)


def _asset_layers(assets: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame
                  ) -> tuple[list[LayerWithLegend], list[tuple[str, int]]]:
    """One clustered layer per asset type (its own colour and icon shape, its assets' tracts
    and status for the tools: :func:`.ui.marker_extras`), and (type name, count) per type."""
    layers, counts = [], []
    for i, (asset_type, group) in enumerate(sorted(assets.to_crs(4326).groupby("type"))):
        colour = ASSET_COLOURS[i % len(ASSET_COLOURS)]
        name = type_label(asset_type)
        label = esc(name)
        icon = icon_html(ASSET_SHAPES[i % len(ASSET_SHAPES)], colour, name[:1])
        community = bool(group["community_reported"].all()) if "community_reported" in group \
            else False
        layer = AssetLayer(f"{icon} {label} ({number(len(group))})", asset_marker_data(group, label),
                           icon, colour, extras=ui.marker_extras(group, tracts))
        layers.append((layer, f"Assets: {label}",
                       asset_legend_html(name, icon, len(group), community, first=i == 0)))
        counts.append((name, len(group)))
    return layers, counts


def _survey_layer(min_respondents: int) -> LayerWithLegend:
    colours = json.dumps([*SURVEY_COLOURS, SUPPRESSED_COLOUR])
    layer = TractLayer(
        _("Community survey (per tract)"), show=False, popup_key="sp",
        filter_js="f.properties.s !== undefined",
        style_js=f"{{fillColor: {colours}[f.properties.s], color: '#555', "
                 "weight: 0.5, fillOpacity: 0.75, dashArray: f.properties.s === "
                 f"{len(SURVEY_COLOURS)} ? '3' : null}}")
    return layer, "Community survey", survey_legend_html(min_respondents)


def _story_layer() -> LayerWithLegend:
    layer = TractLayer(
        _("Stories (shared with consent)"), show=False, popup_key="st",
        filter_js="f.properties.st !== undefined",
        style_js=f"{{color: '{STORY_COLOUR}', weight: 2.5, dashArray: '5 4', "
                 f"fillColor: '{STORY_COLOUR}', fillOpacity: 0.15}}")
    return layer, "Stories", story_legend_html()


def _add_layers_and_legends(fmap: folium.Map, layers: list[LayerWithLegend]) -> list[Script]:
    """The layers, the legend box, and each layer's legend (the assets' legends lead, then the
    tracts, density, survey and stories); returns the legends' scripts, in `layers` order."""
    for layer, _label, _legend in layers:
        layer.add_to(fmap)
    fmap.add_child(Script("legends.js", map=fmap), name="aid_legends")
    ordered = sorted(range(len(layers)), key=lambda i: (not layers[i][1].startswith("Assets"), i))
    scripts: dict[int, Script] = {}
    for order, i in enumerate(ordered):
        layer, label, legend = layers[i]
        scripts[i] = Script("legend.js", layer=layer, map=fmap, html=legend,
                            layer_label=label, order=order)
        fmap.add_child(scripts[i])
    return [scripts[i] for i in range(len(layers))]


# ---------------------------------------------------------------------------------- the page
def _base_map(tracts: gpd.GeoDataFrame, title: str, offline: bool
              ) -> tuple[folium.Map, folium.TileLayer]:
    """The map fitted to the tracts, its page head (title, Leaflet inlined or from the CDN, the
    map's CSS) and the basemap tiles."""
    (minx, miny, maxx, maxy), centre = map_view(tracts)
    fmap = folium.Map(location=list(centre), zoom_start=11,
                      tiles=None, control_scale=True, zoom_control=False, zoom_snap=0.25)
    fmap.default_js, fmap.default_css = [], []
    header = fmap.get_root().header
    header.add_child(Text(f'<title>{esc(title)}</title>'), name="aid_title")
    if offline:
        js, css = leaflet_inline()
        header.add_child(Text(f"<style>{css}</style>"), name="aid_css")
        header.add_child(Text(f"<script>{js}</script>"), name="aid_js")
    else:
        for i, url in enumerate(LEAFLET_CDN["css"]):
            header.add_child(branca.element.CssLink(url), name=f"aid_css{i}")
        for i, url in enumerate(LEAFLET_CDN["js"]):
            header.add_child(branca.element.JavascriptLink(url), name=f"aid_js{i}")
    header.add_child(Text(f"<style>\n{static_text('map.css')}</style>"), name="aid_style")
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    tiles = folium.TileLayer("OpenStreetMap", name="Basemap (OpenStreetMap)", control=False)
    tiles.add_to(fmap)
    return fmap, tiles


def build_map(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame, density_values: np.ndarray,
              grid: Grid, *, id_col: str, title: str, thresholds: Mapping[str, Any],
              min_respondents: int, map_config: Mapping[str, Any], region_name: str,
              need: Sequence[Mapping[str, Any]] | None = None, dropped: Sequence[str] = (),
              stories: pd.DataFrame | None = None, bandwidth_m: float | None = None,
              changes: pd.DataFrame | None = None,
              survey_questions: Sequence[Mapping[str, Any]] = (),
              outlines: gpd.GeoSeries | None = None) -> folium.Map:
    """Assemble the folium map.

    `thresholds` are the classification settings (named in the popups' "why" lines, the class
    definitions and the About panel); `min_respondents` is the survey's suppression threshold.
    `map_config` is the region's validated `map` section (about, credit, method_url, vintage,
    sources, offline, bivariate, corrections_url); `region_name` the place named in the map's
    sentences. `need` (the region's `tracts.need`) is named in the About panel; without need
    data (`need_level` all `not_assessed`) the legend and About panel say so and how to add it.
    `dropped`: sentences on listed sites not counted (:func:`.legends.dropped_sites`).
    `stories` (columns `id_col`, ``"story"``: consented, redacted text) adds a stories layer.
    `bandwidth_m` (the density's kernel radius) is named in the density legend. `assets`: as
    displayed, in any CRS. `changes` (changes.csv's table) adds the "What changed since
    <date>" layer. `survey_questions` (the region's `survey.questions`) make the community
    connections layer (connection theme) and are listed in the About panel. `outlines`: the
    tracts' simplified outlines made beforehand (:mod:`aiddeserts.maps.shapes`), else made here.
    """
    if outlines is None:
        outlines = simplified_tracts(tracts)
    primary = map_config.get("language") or SOURCE_LANGUAGE
    languages = list(dict.fromkeys([primary, *(map_config.get("languages") or [])]))
    # English alone is rendered as it always was; any other language, or several, have their
    # long texts packed (Spanish alone, pre-rendered, would take NYC's map over 5 MB).
    packed = len(languages) > 1 or primary != SOURCE_LANGUAGE
    built: dict[str, dict[str, Any]] = {}
    fmap = None
    for language in languages:
        collect: dict[str, Any] | None = {} if packed else None
        with use_language(language):
            page = _build_map(tracts, assets, density_values, grid, id_col=id_col, title=title,
                              thresholds=thresholds, min_respondents=min_respondents,
                              map_config=map_config, region_name=region_name, need=need,
                              dropped=dropped, stories=stories, bandwidth_m=bandwidth_m,
                              changes=changes, survey_questions=survey_questions,
                              outlines=outlines, collect=collect)
        fmap = page if fmap is None else fmap
        if collect is not None:
            built[language] = collect
    if built:
        embed_languages(built, languages)
    return fmap


def language_texts(collect: Mapping[str, Any]) -> dict[str, Any]:
    """One language's texts that the page builds in the browser: tract popups `p`, tooltips
    `tt`, survey popups `sp`, community connections popups `cp`, stories popups `st` (by
    tract), and per asset layer its popups `a` and tooltips `at`."""
    props = collect["props"]
    return {"p": [p["p"] for p in props], "tt": [p["tt"] for p in props],
            "sp": [p.get("sp") for p in props], "cp": [p.get("cp") for p in props],
            "st": [p.get("st") for p in props],
            "a": [[row[2] for row in layer.data] for layer in collect["asset_layers"]],
            "at": [[row[3] for row in layer.data] for layer in collect["asset_layers"]]}


def embed_languages(built: Mapping[str, Mapping[str, Any]], languages: Sequence[str]) -> None:
    """Make the first language's page speak every language of `built` (same layers in each):
    the per-tract and per-asset texts go in as one gzipped table per language (the browser
    unpacks the one it shows), the legends, About panel and layer names as one text per
    language, and a switcher keeps the reader's choice in the URL (``#lang=es``)."""
    main = built[languages[0]]
    texts = {lang: gzip_base64(language_texts(built[lang])) for lang in languages}
    for i, prop in enumerate(main["props"]):
        for key in ("p", "tt", "sp", "cp"):
            prop.pop(key, None)
        if "st" in prop:
            prop["st"] = 1
        prop["i"] = i
    main["tracts_script"].data = tract_collection(main["tracts"], main["props"],
                                                  main["outlines"])
    for index, layer in enumerate(main["asset_layers"]):
        layer.data = [row[:2] for row in layer.data]
        layer.texts_index = index
    for layer in main["tract_layers"]:
        layer.multilingual = True
    for position, script in enumerate(main["legend_scripts"]):
        script.html = {lang: built[lang]["legend_scripts"][position].html for lang in languages}
    main["panel_script"].html = {lang: built[lang]["panel_script"].html for lang in languages}
    main["panel_script"].notice = {lang: built[lang]["panel_script"].notice
                                   for lang in languages}
    # A list in layer order (a mapping would be sorted by folium's random ids: not stable).
    names = [[layer.get_name(), {lang: built[lang]["layers"][position].layer_name
                                 for lang in languages}]
             for position, layer in enumerate(main["layers"])]
    main["languages_script"].config = {
        "default": languages[0], "languages": list(languages),
        "names": {lang: language_name(lang) for lang in languages},
        "label": {lang: built[lang]["switch_label"] for lang in languages},
        "layers": names,
        "texts": texts}
    ui.embed_languages(main["ui_script"], {lang: built[lang]["ui_script"] for lang in languages})
    main["switch_script"].control = main["control"]
    main["switch_script"].shown = len(languages) > 1


def _build_map(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame, density_values: np.ndarray,
               grid: Grid, *, id_col: str, title: str, thresholds: Mapping[str, Any],
               min_respondents: int, map_config: Mapping[str, Any], region_name: str,
               need: Sequence[Mapping[str, Any]] | None, dropped: Sequence[str],
               stories: pd.DataFrame | None, bandwidth_m: float | None,
               changes: pd.DataFrame | None,
               survey_questions: Sequence[Mapping[str, Any]] = (),
               outlines: gpd.GeoSeries | None = None,
               collect: dict[str, Any] | None = None) -> folium.Map:
    """:func:`build_map` in the current language. `collect` (several languages): gets the
    page's parts :func:`embed_languages` makes multilingual."""
    from aiddeserts.maps import connections

    cfg = map_config
    fmap, tiles = _base_map(tracts, title, offline=cfg["offline"])
    if collect is not None:
        collect["languages_script"] = Script("languages.js", config={})
        fmap.add_child(collect["languages_script"], name="aid_languages")
    tract_stories = stories_by_tract(stories, id_col)
    props = tract_properties(tracts, id_col, thresholds=thresholds, vintage=cfg["vintage"],
                             stories=tract_stories,
                             reach=reach_assets(tracts, assets, thresholds))
    headings = [tract_heading(r, id_col) for r in records(tracts, id_col, "tract_name")]
    connected = connections.add_properties(props, tracts, headings, survey_questions)
    fmap.add_child(Script("patterns.js", patterns=[
        {"id": pattern_id(colour, pattern), "colour": colour, "kind": pattern}
        for colour, pattern in _patterns()]), name="aid_patterns")
    tracts_script = Script("tracts_data.js", data=tract_collection(tracts, props, outlines))
    fmap.add_child(tracts_script, name="aid_tracts")

    assets, closed = inventory.split_closed(assets)
    asset_layers, asset_counts = _asset_layers(assets, tracts)
    tool_layers = [(entry[0], count[0], "") for entry, count in zip(asset_layers, asset_counts,
                                                                     strict=True)]
    stale = int((assets["status"] == "stale").sum()) if "status" in assets.columns else 0
    if len(closed) or stale:
        asset_layers.append(inventory.closed_layer(closed, stale))
        asset_layers[-1][0].extras = ui.marker_extras(closed, tracts)
        tool_layers.append((asset_layers[-1][0], ui.closed_label(), "c"))
    layers = [_class_layer(tracts, thresholds)]
    if cfg["bivariate"]:
        layers.append(_bivariate_layer(tracts))
    layers += [_density_layer(density_values, grid, tracts.crs, bandwidth_m), *asset_layers]
    if any("s" in p for p in props):
        layers.append(_survey_layer(min_respondents))
    if connected:
        layers.append(connections.connections_layer(
            connections.connection_questions(survey_questions, tracts)))
    if tract_stories:
        layers.append(_story_layer())
    changed = inventory.changes_layer(changes, tracts, pd.concat([assets, closed]).to_crs(4326),
                                      id_col)
    if changed:
        layers.append(changed)
    legend_scripts = _add_layers_and_legends(fmap, layers)

    sources = list(cfg["sources"])
    if not sources:
        sources = [{"name": s} for s in sorted(assets["source"].dropna().unique())]
    panel = about_html(title=title, region_name=region_name, asset_counts=asset_counts,
                       thresholds=thresholds, method_url=cfg["method_url"], about=cfg["about"],
                       sources=sources, credit=cfg["credit"], need=need,
                       assessed=need_assessed(tracts), dropped=dropped)
    panel += connections.about_html(survey_questions)
    panel += inventory.about_line(assets) + inventory.add_place_html(
        cfg.get("corrections_url") or "")
    panel_script = Script("title_panel.js", html=panel, map=fmap, notice=_(
        "Basemap tiles could not load (offline?). Tracts, assets and legends still work."))
    fmap.add_child(panel_script, name="aid_panel")
    fmap.add_child(Script("tile_fallback.js", tiles=tiles), name="aid_tiles")
    ui_script = ui.add_tools(fmap, class_layer=layers[0][0], asset_layers=tool_layers,
                             sources=sources, credit=cfg["credit"])
    control = LayerControl(collapsed=False, position="topright")
    control.add_to(fmap)
    if collect is not None:
        collect.update(
            props=props, tracts=tracts, outlines=outlines, tracts_script=tracts_script,
            panel_script=panel_script,
            legend_scripts=legend_scripts, layers=[layer for layer, _l, _h in layers],
            asset_layers=[layer for layer, _l, _h in layers if isinstance(layer, AssetLayer)],
            tract_layers=[layer for layer, _l, _h in layers if isinstance(layer, TractLayer)],
            control=control, switch_label=_("Language"), ui_script=ui_script,
            switch_script=Script("language_switch.js", map=fmap, control=None, shown=False))
        fmap.add_child(collect["switch_script"], name="aid_switch")
    return fmap


def render_deterministic(fmap: folium.Map) -> str:
    """The map's HTML with folium's random element ids replaced by sequential ones."""
    # Readers may zoom the page (WCAG 1.4.4): folium's viewport forbids it.
    text = re.sub(r",\s*maximum-scale=1\.0,\s*user-scalable=no", "", fmap.get_root().render(),
                  count=1)
    return sequential_ids(text)


#: Hex digits as byte 1, every other byte as 0; then a run of 32 hex digits or more is a run of
#: 32 ones or more, which the regex engine finds by a fast literal search (its start is the run's).
_HEX_TABLE = bytes(1 if chr(byte) in "0123456789abcdef" else 0 for byte in range(256))
_HEX_RUN = re.compile(b"\x01" * 32 + b"\x01*")


def element_id_spans(data: bytes) -> list[tuple[int, int]]:
    """Start and end of every run of exactly 32 hex digits (folium's element ids) in the
    UTF-8 `data`: 0.1 s on a 20 MB map, where a regex of the runs reads it in 1 s."""
    return [span for match in _HEX_RUN.finditer(data.translate(_HEX_TABLE))
            if (span := match.span())[1] - span[0] == 32]


def sequential_ids(text: str) -> str:
    """`text` with each element id (a run of exactly 32 hex digits) replaced by its number in
    order of first appearance, as 32 hex digits. No byte of a non-ASCII character in UTF-8 is
    a hex digit, so the runs are found in the encoded text."""
    data = text.encode("utf-8")
    mapping: dict[bytes, bytes] = {}
    pieces = []
    last = 0
    for start, end in element_id_spans(data):
        found = data[start:end]
        pieces += [data[last:start], mapping.setdefault(found, b"%032x" % (len(mapping) + 1))]
        last = end
    pieces.append(data[last:])
    return b"".join(pieces).decode("utf-8")
