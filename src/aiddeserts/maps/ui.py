"""Find, filter and list: the map's interactive tools (maps/templates/ui.js, ui.css in map.css).

A search box over asset names, asset types and tract names/ids; filters by asset type and
status; "near me" with the browser's geolocation; a list view beside the map (every asset with
type, tract and notes, every tract with its class and why); panels that collapse to buttons on a
phone; a print layout. Everything is offline and inlined in map.html.

The tools read the data the layers already carry (the asset layers' marker arrays, the tracts'
GeoJSON properties and popups): the page only gains, per asset, the position of its tract and
(when the inventory has them) a one-letter status, so the list and search cost a few kilobytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd

from aiddeserts.i18n import N_, _, current_language
from aiddeserts.maps.elements import Script
from aiddeserts.maps.rendering import esc
from aiddeserts.maps.styles import CLASS_PATTERNS, swatch_css
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS, CLASSES
from aiddeserts.method.pointjoin import containing_polygon

#: One letter per inventory status (`status` column), as the page carries it per asset.
STATUS_CODES = {"active": "a", "stale": "s", "closed": "c"}
#: The status filter's labels, by status letter.
STATUS_LABELS = {"a": N_("Open"), "s": N_("Not verified recently"), "c": N_("Closed")}

#: Text of the tools, passed to ui.js as one JSON object (translated with the catalogue).
MESSAGES = {
    "map_label": N_("Map of mutual aid assets and census tracts"),
    "search": N_("Search"),
    "search_label": N_("Search places, types and tracts"),
    "search_placeholder": N_("Search a place, type or tract"),
    "no_results": N_("No matches"),
    "results": N_("{n} matches; use the arrow keys to choose, Enter to show"),
    "tract": N_("Tract"),
    "asset": N_("Place"),
    "filter": N_("Filter"),
    "filter_types": N_("Types of place"),
    "filter_status": N_("Status"),
    "showing": N_("Showing {n} of {total} places"),
    "near_me": N_("Near me"),
    "locating": N_("Finding your location…"),
    "located": N_("You are here (within {m} m). Nearest place: {name}, {d}."),
    "located_none": N_("You are here (within {m} m)."),
    "you_are_here": N_("You are here"),
    "no_location": N_("Your location is not available (not allowed, or not found)."),
    "layers": N_("Layers"),
    "legend": N_("Legend"),
    "about": N_("About"),
    "list": N_("List"),
    "list_title": N_("Places and tracts as a list"),
    "close": N_("Close"),
    "close_list": N_("Close the list and return to the map"),
    "assets_caption": N_("Every mapped place: click a name to show it on the map"),
    "tracts_caption": N_("Every census tract with its class and why: click one to show it"),
    "col_name": N_("Name"),
    "col_type": N_("Type"),
    "col_tract": N_("Tract"),
    "col_status": N_("Status"),
    "col_notes": N_("Notes"),
    "col_class": N_("Class"),
    "col_why": N_("Why"),
    "sort_by": N_("Sort by {column}"),
    "sorted": N_("Sorted by {column}, {order}"),
    "ascending": N_("ascending"),
    "descending": N_("descending"),
    "outside": N_("outside the tracts"),
    "cluster": N_("{n} places here: zoom in"),
    "printed": N_("Printed from the interactive map."),
    "sources": N_("Sources"),
}


def messages() -> dict[str, str]:
    """The tools' text in the current language (see :data:`MESSAGES`), with the status
    filter's labels as ``status_<letter>``."""
    out = {key: _(text) for key, text in MESSAGES.items()}
    out.update({f"status_{letter}": _(text) for letter, text in STATUS_LABELS.items()})
    return out


def notes_prefix() -> str:
    """What comes before the notes on their line of an asset popup ("Notes: "), as the popups
    write it in the current language: the list reads the notes from the popups, not a copy."""
    from aiddeserts.maps.popups import popup_from_escaped

    marker = "\x00"
    line = popup_from_escaped("", "", marker, "", False, "").split(marker)[0]
    return line.rsplit("<br>", 1)[-1]


def asset_tracts(assets: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame) -> list[int]:
    """Per asset (in order), the position of the tract it lies in (−1: none)."""
    if assets.empty:
        return []
    points = assets.geometry.to_crs(tracts.crs)
    return [int(i) for i in containing_polygon(points.x.to_numpy(), points.y.to_numpy(),
                                               tracts.geometry.to_numpy())]


def status_letters(assets: gpd.GeoDataFrame) -> str:
    """Per asset, its status letter (:data:`STATUS_CODES`; ``a`` when unknown); "" without a
    `status` column."""
    if "status" not in assets.columns:
        return ""
    return "".join(STATUS_CODES.get(str(s), "a") for s in assets["status"].fillna("").tolist())


def closed_label() -> str:
    """The closed places' layer as the type filter names it."""
    return _("Closed places")


def class_rows() -> list[dict[str, str]]:
    """Each class's label (translated) and swatch, by class index (the tracts' `c`)."""
    return [{"label": _(CLASS_LABELS[c]),
             "swatch": swatch_css(CLASS_COLOURS[c], CLASS_PATTERNS.get(c))} for c in CLASSES]


def sources_line(sources: Sequence[Mapping[str, Any]], credit: str) -> str:
    """The printed page's sources (escaped): names with dates, then who made the map."""
    parts = [esc(s.get("name")) + (f" ({esc(s['date'])})" if s.get("date") else "")
             for s in sources if s.get("name")]
    line = f"<b>{esc(_('Sources'))}:</b> " + "; ".join(parts) if parts else ""
    if credit:
        line += (" · " if line else "") + f"<b>{esc(_('Made by'))}</b> {esc(credit)}"
    return line


def add_tools(fmap: folium.Map, *, class_layer: folium.map.Layer,
              asset_layers: Sequence[tuple[folium.map.Layer, str, str]],
              sources: Sequence[Mapping[str, Any]], credit: str) -> Script:
    """Add the search box, filters, "near me", the list view, the phone toolbar and the print
    footer (in the current language); returns the script. `asset_layers`: (layer, type label as
    shown, status of its assets: "" for the counted ones, ``c`` for the closed layer) per asset
    layer."""
    script = Script(
        "ui.js", map=fmap, class_layer=class_layer,
        asset_layers=[{"layer": layer, "label": label, "closed": closed == "c"}
                      for layer, label, closed in asset_layers],
        messages=messages(), notes_prefix=notes_prefix(), classes=class_rows(),
        language=current_language(), multilingual=False,
        sources=sources_line(sources, credit))
    fmap.add_child(script, name="aid_ui")
    return script


#: The tools' texts that differ by language (the attributes of their script).
_TEXTS = ("messages", "notes_prefix", "classes", "language", "sources")


def embed_languages(script: Script, per_language: Mapping[str, Script]) -> None:
    """Make the tools' `script` (first language's page) carry every language's texts; the page
    speaks the language it is opened in (``#lang=``), as the map's own texts do."""
    for name in _TEXTS:
        setattr(script, name, {lang: getattr(other, name) for lang, other in per_language.items()})
    for position, entry in enumerate(script.asset_layers):
        entry["label"] = {lang: other.asset_layers[position]["label"]
                          for lang, other in per_language.items()}
    script.multilingual = True


def marker_extras(group: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame) -> dict[str, Any]:
    """The per-asset extras an asset layer carries for the tools: tract positions and status
    letters (see :func:`asset_tracts`, :func:`status_letters`)."""
    return {"t": asset_tracts(group, tracts), "s": status_letters(group)}
