"""The interactive map partners open: one self-contained HTML file built with folium.

Layers (each toggleable, each with a legend that shows and hides with it): tract classification,
asset density, assets by type (clustered, one icon shape and colour per type), survey aggregates
(suppressed cells shown as such) and consented stories attached to tracts.

Safety: every user-provided string (asset names, types, notes, sources, stories, titles, tract ids)
goes through :func:`esc` before it reaches HTML; data handed to JavaScript is serialised with
Jinja's ``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``), so no text can close a
``<script>`` element. Offline by default: Leaflet and Leaflet.markercluster are inlined from the
XStatic packages installed with aiddeserts (nothing is downloaded when the map is built or opened,
apart from the optional basemap tiles).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from jinja2 import Environment
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject

# The class colours and labels live with the classes (the static figure needs no folium).
from aiddeserts.method.classify import (
    CLASS_COLOURS,
    CLASS_DEFINITIONS,
    CLASS_LABELS,
    CLASSES,
    class_definitions,
    distance_words,
)

if TYPE_CHECKING:  # only for annotations
    from aiddeserts.method.density import Grid

#: Okabe–Ito for asset types (the classes use it too); each type also gets its own icon shape.
ASSET_COLOURS = ["#0072B2", "#CC79A7", "#009E73", "#E69F00", "#56B4E9", "#D55E00", "#000000"]
ASSET_SHAPES = ["circle", "square", "diamond", "triangle"]
DENSITY_COLOURS = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
#: Survey unmet-need bins (share of respondents) and their colours (ColorBrewer Purples, CB-safe).
SURVEY_BINS = [0.25, 0.5, 0.75]
SURVEY_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"]
SUPPRESSED_COLOUR = "#BDBDBD"
#: Why a tract's survey result is hidden. Primary and complementary suppression read the same,
#: so the map never tells which tracts hold fewer than `min_respondents` (privacy.suppression_mask).
SUPPRESSED_TEXT = ("hidden to protect privacy (too few respondents here, or hidden with a tract "
                   "that has too few so its count cannot be worked out)")
STORY_COLOUR = "#7B3294"
SIMPLIFY_M = 10.0
COORD_DECIMALS = 5
#: Columns another stage may add to the tracts frame; shown in popups only when present.
OPTIONAL_COLUMNS: dict[str, tuple[str, str]] = {
    "confidence": ("Confidence in this class", "text"),
    "desert_stability": ("Stays in this class under resampling", "share"),
    "robustness_margin": ("Robustness margin", "number"),
    "assets_to_exit": ("Assets needed to stop being a desert", "number"),
}
LEAFLET_CDN = {
    "js": ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
           "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/leaflet.markercluster.js"],
    "css": ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
            "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.css",
            "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.Default.css"],
}
# A run of exactly 32 hex digits. The "no hex digit before" test follows the first digit (as a
# 2-wide lookbehind), so the regex engine can skip ahead to hex digits: 3x faster on 17 MB.
_ELEMENT_ID = re.compile(r"[0-9a-f](?<![0-9a-f]{2})[0-9a-f]{31}(?![0-9a-f])")
#: Templates of this module: ``tojson`` keeps non-ASCII text as is (still escaping ``<>&'``)
#: and writes compact JSON.
_JINJA = Environment()
_JINJA.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False,
                                        "separators": (",", ":")}
Template = _JINJA.from_string


# ------------------------------------------------------------------------------------- helpers
def esc(value: Any) -> str:
    """HTML-escape any user-provided value for a popup, tooltip or legend."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def simplified_tracts(tracts: gpd.GeoDataFrame, tolerance_m: float = SIMPLIFY_M
                      ) -> gpd.GeoSeries:
    """Tract outlines simplified as one coverage (no gaps or overlaps), in EPSG:4326, rounded."""
    geoms = shapely.coverage_simplify(tracts.geometry.to_numpy(), tolerance_m)
    geoms = gpd.GeoSeries(geoms, crs=tracts.crs, index=tracts.index).to_crs(4326)
    return gpd.GeoSeries(shapely.set_precision(geoms.to_numpy(), 10**-COORD_DECIMALS,
                                               mode="pointwise"), crs=4326, index=tracts.index)


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or pd.isna(value):
        return "no data"
    return f"{value:,.{digits}f}{suffix}"


def _distance(metres: Any) -> str:
    if metres is None or pd.isna(metres):
        return "none in the region"
    return f"{metres / 1000:,.1f} km" if metres >= 1000 else f"{metres:,.0f} m"


def type_label(asset_type: str) -> str:
    """`community_fridge` → `Community fridge` (the caller escapes)."""
    text = str(asset_type).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Unspecified"


def percentile_rank(values: pd.Series) -> pd.Series:
    """Share of tracts with a strictly lower value (0–1); NaN stays NaN."""
    valid = values.dropna()
    if valid.empty:
        return pd.Series(np.nan, index=values.index)
    ordered = np.sort(valid.to_numpy())
    ranks = np.searchsorted(ordered, valid.to_numpy(), side="left") / len(ordered)
    return pd.Series(ranks, index=valid.index).reindex(values.index)


# --------------------------------------------------------------------------------------- popups
def why_text(row: Mapping[str, Any], thresholds: Mapping[str, Any] | None) -> str:
    """One plain sentence on why the tract got its class (empty when thresholds are unknown)."""
    if not thresholds:
        return ""
    cls = row["desert_class"]
    need_pct = thresholds.get("need_threshold", 0.75) * 100
    low = thresholds.get("low_access_density", 1.0)
    if cls == "desert":
        return (f"Why: need is in the top {100 - need_pct:.0f}% of the region and asset density "
                f"is below {low:g} per km².")
    if cls == "fragile":
        return (f"Why: need is in the top {100 - need_pct:.0f}% and at most one asset is within "
                f"{thresholds.get('catchment_m', 800):,.0f} m.")
    if cls == "strength":
        return f"Why: at least {thresholds.get('strength_density', 6.0):g} assets per km² nearby."
    if cls == "served":
        return "Why: need is lower, or assets are within reach."
    return (f"Why: fewer than {thresholds.get('min_population', 100):,.0f} residents, "
            "or no need data.")


def _optional_line(column: str, value: Any) -> str:
    label, kind = OPTIONAL_COLUMNS[column]
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "share":
        shown = f"{float(value) * 100:.0f}%"
    elif kind == "number":
        shown = f"{float(value):,.2g}" if abs(float(value)) < 10 else f"{float(value):,.0f}"
    else:
        shown = esc(value)
    return f"{esc(label)}: {shown}"


def tract_popup_html(row: Mapping[str, Any], id_col: str, type_columns: list[str],
                     *, thresholds: Mapping[str, Any] | None = None, vintage: str = "",
                     access_pct: float | None = None) -> str:
    """Plain-language popup for one tract (all values escaped)."""
    cls = row["desert_class"]
    definitions = definitions_for(thresholds)
    need_pct = row.get("need_score")
    lines = [
        f'<b style="font-size:110%">Tract {esc(row[id_col])}</b>',
        f'<span class="aid-swatch" style="background:{CLASS_COLOURS[cls]}"></span>'
        f"<b>{esc(CLASS_LABELS[cls])}</b>: {esc(definitions[cls])}",
    ]
    why = why_text(row, thresholds)
    if why:
        lines.append(f"<i>{esc(why)}</i>")
    lines += [
        f"Residents: {_fmt(row.get('population'))}",
        "Need: higher than "
        f"{_fmt(None if pd.isna(need_pct) else need_pct * 100)}% of tracts in the region",
        f"Asset density nearby: {_fmt(row.get('access_score'), 2)} per km²"
        + (f" (higher than {access_pct * 100:.0f}% of tracts)"
           if access_pct is not None and not pd.isna(access_pct) else ""),
    ]
    for column in type_columns:
        asset_type = column.removeprefix("assets_")
        nearest = row.get(f"nearest_{asset_type}_m")
        count = _fmt(row.get(column))
        lines.append(f"{esc(type_label(asset_type))}: {count} in tract, nearest "
                     f"{_distance(nearest)}")
    if not type_columns:
        lines.append(f"Nearest asset: {_distance(row.get('nearest_asset_m'))}")
    for column in OPTIONAL_COLUMNS:
        if column in row:
            line = _optional_line(column, row[column])
            if line:
                lines.append(line)
    rate = row.get("survey_unmet_rate", np.nan)
    if rate is not None and not pd.isna(rate):
        lines.append(f"Survey: {_fmt(rate * 100)}% report unmet need "
                     f"({_fmt(row['survey_respondents'])} respondents)")
    elif bool(row.get("survey_suppressed", False)):
        lines.append(f"Survey: {SUPPRESSED_TEXT}")
    if vintage:
        lines.append(f'<small>Data: {esc(vintage)}</small>')
    return "<br>".join(lines)


def asset_popup_html(row: Mapping[str, Any]) -> str:
    """Popup for one asset: name, type, notes, source (official or community), last update."""
    return popup_from_escaped(
        esc(row.get("name")), esc(type_label(row.get("type", ""))), esc(row.get("notes")),
        esc(row.get("source")), bool(row.get("community_reported", False)),
        esc(row.get("updated")))


def popup_from_escaped(name: str, type_text: str, notes: str, source: str, community: bool,
                       updated: str) -> str:
    """An asset's popup from its already escaped parts (empty notes/date lines are left out)."""
    popup = f"<b>{name or 'Unnamed'}</b><br>Type: {type_text}"
    if notes:
        popup += f"<br>Notes: {notes}"
    popup += f"<br>Source: {source} ({'community-reported' if community else 'official list'})"
    if updated:
        popup += f"<br>Last updated: {updated}"
    return popup


def asset_marker_data(assets: pd.DataFrame, label: str) -> list[list[Any]]:
    """`[lat, lon, popup, tooltip]` per asset (`assets` in EPSG:4326; coordinates rounded to
    COORD_DECIMALS; tooltip: the escaped name, else `label`). The popup is
    :func:`asset_popup_html` of the row, built column by column (1e5 assets in a fraction of a
    second, where one row dictionary per asset took seconds)."""
    n = len(assets)

    def column(name: str, default: Any = None) -> list[Any]:
        return assets[name].tolist() if name in assets.columns else [default] * n

    names = [esc(v) for v in column("name")]
    popups = map(popup_from_escaped, names, [esc(type_label(v)) for v in column("type", "")],
                 [esc(v) for v in column("notes")], [esc(v) for v in column("source")],
                 [bool(v) for v in column("community_reported", False)],
                 [esc(v) for v in column("updated")])
    lats = [round(v, COORD_DECIMALS) for v in assets.geometry.y.tolist()]
    lons = [round(v, COORD_DECIMALS) for v in assets.geometry.x.tolist()]
    return [[lat, lon, popup, name or label]
            for lat, lon, popup, name in zip(lats, lons, popups, names, strict=True)]


def survey_bin(rate: float) -> int:
    """Index of the survey colour bin for an unmet-need rate (0–1)."""
    return int(np.searchsorted(SURVEY_BINS, rate, side="right"))


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


# ------------------------------------------------------------------------------------- density
def density_image(values: np.ndarray, grid: Grid, crs: Any) -> tuple[np.ndarray, list, float]:
    """Density reprojected to Web Mercator as palette indices (0 = transparent, 1–255 = colour
    ramp), its lat/lon bounds and the ramp's top (the 99th percentile, assets per km²)."""
    dst_crs = "EPSG:3857"
    left, top = grid.x_min, grid.y_max
    right = left + grid.width * grid.cell_size
    bottom = top - grid.height * grid.cell_size
    transform, width, height = calculate_default_transform(
        crs, dst_crs, grid.width, grid.height, left=left, bottom=bottom, right=right, top=top)
    out = np.full((height, width), np.nan)
    reproject(values, out, src_transform=grid.transform, src_crs=crs, dst_transform=transform,
              dst_crs=dst_crs, resampling=Resampling.bilinear, src_nodata=np.nan,
              dst_nodata=np.nan)
    positive = out[np.isfinite(out) & (out > 0)]
    vmax = float(np.quantile(positive, 0.99)) if positive.size else 1.0
    index = 1 + np.clip(np.nan_to_num(out) / vmax * 254, 0, 254).astype(np.uint8)
    index[~(np.isfinite(out) & (out > 0))] = 0
    west, north = transform * (0, 0)
    east, south = transform * (width, height)
    from pyproj import Transformer

    to_ll = Transformer.from_crs(dst_crs, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([west, east], [south, north])
    return index, [[lat0, lon0], [lat1, lon1]], vmax


def palette_png(index: np.ndarray, colours: Sequence[str] = DENSITY_COLOURS, alpha: int = 170
                ) -> bytes:
    """A palette (8-bit indexed) PNG: index 0 transparent, 1–255 along the colour ramp."""
    cmap = branca.colormap.LinearColormap(list(colours), vmin=0, vmax=1)
    palette = [0, 0, 0] + [c for v in np.linspace(0, 1, 255) for c in cmap.rgb_bytes_tuple(v)]
    image = Image.fromarray(index.astype(np.uint8), mode="P")
    image.putpalette(palette)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True,
               transparency=bytes([0] + [alpha] * 255))
    return buffer.getvalue()


# --------------------------------------------------------------------------------- JS elements
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Text(branca.element.Element):
    """Text put on the page as it is. branca compiles the text of every element, and the output
    of every macro, as a Jinja template: a `{{ ... }}` in an asset name, note or story would
    then run as template code (and the 1e5-marker array of a metro would be tokenised again).
    This element is never compiled; it renders what Jinja renders for text without template
    syntax (line breaks as ``\\n``, one trailing line break dropped)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        lines = _LINE_BREAK.split(text)
        if lines[-1] == "":
            del lines[-1]
        self.text = "\n".join(lines)

    def render(self, **kwargs: Any) -> str:
        return self.text


class _TextMacro(branca.element.MacroElement):
    """A MacroElement whose rendered `header`, `html` and `script` macros go on the page as
    :class:`_Text` (branca's own `render` compiles them again as templates)."""

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):
            if macros.get(part) is not None:
                target.add_child(_Text(macros[part](self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _LayerControl(folium.LayerControl, _TextMacro):
    """folium's layer control; its layer names (asset types) are not compiled as templates."""


class _Script(_TextMacro):
    """A script block rendered from a template with data serialised by ``tojson``."""

    def __init__(self, template: str, **data: Any) -> None:
        super().__init__()
        self._name = "AidScript"
        self._template = Template("{% macro script(this, kwargs) %}" + template
                                  + "{% endmacro %}")
        for key, value in data.items():
            setattr(self, key, value)


class TractLayer(folium.map.Layer, _TextMacro):
    """Tracts drawn from the shared GeoJSON (`aid_tracts`) in one of three styles."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(aid_tracts, {
  filter: function (f) { return {{ this.filter_js }}; },
  style: function (f) { return {{ this.style_js }}; },
  onEachFeature: function (f, layer) {
    layer.bindPopup(f.properties.{{ this.popup_key }}, aid_popup(320));
    {% if this.tooltip %}layer.bindTooltip(f.properties.tt, {sticky: true});{% endif %}
  }
});
{% endmacro %}
""")

    def __init__(self, name: str, *, filter_js: str, style_js: str, popup_key: str,
                 tooltip: bool = False, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "TractLayer"
        self.filter_js, self.style_js = filter_js, style_js
        self.popup_key, self.tooltip = popup_key, tooltip


class AssetLayer(folium.map.Layer, _TextMacro):
    """Assets of one type: markers built in the browser from a compact array, clustered."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var data = {{ this.data|tojson }};
  var icon = L.divIcon({html: {{ this.icon_html|tojson }}, className: 'aid-marker',
                        iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -8]});
  var group = L.markerClusterGroup({maxClusterRadius: 40, disableClusteringAtZoom: 15,
    showCoverageOnHover: false,
    iconCreateFunction: function (c) {
      return L.divIcon({html: '<div style="background:{{ this.colour }}">' + c.getChildCount()
        + '</div>', className: 'aid-cluster', iconSize: [30, 30]});
    }});
  for (var i = 0; i < data.length; i++) {
    var m = L.marker([data[i][0], data[i][1]], {icon: icon});
    m.bindPopup(data[i][2], aid_popup(280));
    m.bindTooltip(data[i][3]);
    group.addLayer(m);
  }
  return group;
})();
{% endmacro %}
""")

    def __init__(self, name: str, data: list[list[Any]], icon_html: str, colour: str,
                 show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AssetLayer"
        self.data, self.icon_html, self.colour = data, icon_html, colour


def icon_html(shape: str, colour: str, letter: str) -> str:
    """The HTML of a type's marker icon (letter escaped)."""
    return (f'<div class="aid-icon aid-{shape}" style="background:{colour}">'
            f'<span>{esc(letter)}</span></div>')


# ------------------------------------------------------------------------------------- legends
def definitions_for(thresholds: Mapping[str, Any] | None) -> dict[str, str]:
    """Class definitions naming the configured distances (the defaults when unknown)."""
    if not thresholds:
        return CLASS_DEFINITIONS
    return class_definitions(thresholds.get("catchment_m", 800.0),
                             thresholds.get("far_rural_m", 16_093.0))


def class_legend_html(counts: Mapping[str, int],
                      definitions: Mapping[str, str] = CLASS_DEFINITIONS) -> str:
    items = "".join(
        f'<div class="aid-row"><span class="aid-swatch" style="background:{CLASS_COLOURS[c]}">'
        f'</span><b>{esc(CLASS_LABELS[c])}</b> ({counts.get(c, 0):,} tracts)'
        f'<div class="aid-def">{esc(definitions[c])}</div></div>' for c in CLASSES)
    return ('<b>Census tracts</b><br><small>Tap a tract to see why.</small>'
            f'{items}')


def density_legend_html(vmax: float, bandwidth_m: float | None = None) -> str:
    gradient = ", ".join(DENSITY_COLOURS)
    spread = (f"each asset counted within {distance_words(bandwidth_m)} of it, most near it"
              if bandwidth_m else "smoothed over nearby blocks")
    return (f'<b>Asset density</b> <small>(assets per km², {spread})</small>'
            f'<div class="aid-ramp" style="background:linear-gradient(to right, {gradient})"></div>'
            f'<div class="aid-ticks"><span>0</span><span>{vmax / 2:.1f}</span>'
            f'<span>{vmax:.1f}+</span></div>')


def asset_legend_html(label: str, icon: str, count: int, community: bool,
                      first: bool = False) -> str:
    source = " (community-reported)" if community else " (official list)"
    note = ('<small>A number in a circle: that many assets close together; zoom in or tap '
            'it to separate them.</small>' if first else "")
    return (f'{"<b>What communities have</b>" if first else ""}'
            f'<div class="aid-row">{icon} <b>{label}</b>: {count:,}{esc(source)}</div>{note}')


def survey_legend_html(min_respondents: int | None) -> str:
    edges = [0, *SURVEY_BINS, 1]
    rows = "".join(
        f'<div class="aid-row"><span class="aid-swatch" style="background:{c}"></span>'
        f'{edges[i] * 100:.0f}–{edges[i + 1] * 100:.0f}% report unmet need</div>'
        for i, c in enumerate(SURVEY_COLOURS))
    k = f"fewer than {min_respondents}" if min_respondents else "too few"
    return ('<b>Community survey</b> <small>(per tract)</small>' + rows
            + f'<div class="aid-row"><span class="aid-swatch" style="background:{SUPPRESSED_COLOUR};'
            f'border-style:dashed"></span>Not shown, to protect privacy: {k} respondents, or '
            'hidden with such a tract so its count cannot be worked out</div>'
            '<div class="aid-row"><span class="aid-swatch" style="background:transparent">'
            '</span>No respondents</div>')


def story_legend_html() -> str:
    return (f'<div class="aid-row"><span class="aid-swatch" style="border:2px dashed {STORY_COLOUR};'
            'background:transparent"></span><b>Stories</b> shared with consent</div>'
            '<small>Attached to the tract, never to a home. Tap a tract to read them.</small>')


_LEGENDS_JS = """
var aid_legends = (function () {
  var control = L.control({position: 'bottomleft'});
  control.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-legends');
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  control.addTo({{ this.map.get_name() }});
  return control.getContainer();
})();
/* Keep the legend box clear of the title panel above it, whatever the screen size. */
function aid_fit() {
  var map = {{ this.map.get_name() }}.getContainer().getBoundingClientRect();
  var title = document.querySelector('.aid-title');
  var top = title ? title.getBoundingClientRect().bottom : map.top;
  aid_legends.style.maxHeight = Math.max(90, map.bottom - top - 70) + 'px';
}
window.addEventListener('resize', aid_fit);
"""

#: One legend per layer, shown in the shared legend box while its layer is on the map.
_LEGEND_JS = """
(function () {
  var order = {{ this.order }};
  var div = document.createElement('div');
  div.className = 'aid-panel aid-legend';
  div.setAttribute('data-order', order);
  div.setAttribute('data-layer', {{ this.layer_label|tojson }});
  div.innerHTML = {{ this.html|tojson }};
  function show() {
    var before = null;
    for (var i = 0; i < aid_legends.children.length; i++) {
      if (+aid_legends.children[i].getAttribute('data-order') > order) {
        before = aid_legends.children[i]; break;
      }
    }
    aid_legends.insertBefore(div, before);
    aid_fit();
  }
  var layer = {{ this.layer.get_name() }}, map = {{ this.map.get_name() }};
  layer.on('add', show);
  layer.on('remove', function () { if (div.parentNode) { div.parentNode.removeChild(div); } });
  if (map.hasLayer(layer)) { show(); }
})();
"""

_CSS = """
.aid-panel{background:rgba(255,255,255,.95);padding:6px 9px;border-radius:5px;
  box-shadow:0 1px 4px rgba(0,0,0,.35);font:13px/1.35 system-ui,sans-serif;max-width:300px;
  overflow-wrap:anywhere}
.aid-legends{overflow-y:auto;display:flex;flex-direction:column;
  gap:5px;padding:2px}
.aid-legend{max-width:280px}
.aid-title h1{font-size:17px;margin:0 0 2px}.aid-title p{margin:2px 0}
.aid-title details{margin-top:4px}.aid-title summary{cursor:pointer;font-weight:bold;color:#0b5cad}
.aid-title .aid-about{max-height:55vh;overflow:auto;font-size:12.5px}
.aid-row{margin:3px 0}.aid-def{font-size:11.5px;color:#333;margin-left:22px}
.aid-swatch{width:14px;height:14px;display:inline-block;margin-right:6px;vertical-align:-2px;
  border:1px solid #555}
.aid-ramp{height:12px;border:1px solid #777;margin-top:4px}
.aid-ticks{display:flex;justify-content:space-between;font-size:11px}
.aid-icon{width:14px;height:14px;border:2px solid #fff;box-shadow:0 0 2px #000;display:inline-flex;
  align-items:center;justify-content:center;color:#fff;font:bold 9px sans-serif;vertical-align:middle}
.aid-circle{border-radius:50%}.aid-square{border-radius:2px}
.aid-diamond{transform:rotate(45deg)}.aid-diamond span{transform:rotate(-45deg)}
.aid-triangle{clip-path:polygon(50% 0,100% 100%,0 100%);border:none;width:18px;height:16px;
  align-items:flex-end}
.aid-cluster div{width:30px;height:30px;border-radius:50%;color:#fff;border:2px solid #fff;
  box-shadow:0 0 3px #000;font:bold 12px/26px sans-serif;text-align:center;box-sizing:border-box}
#aid-tile-notice{display:none;position:absolute;bottom:4px;right:90px;z-index:1000;
  background:#fff8e1;border:1px solid #e0b000;padding:3px 8px;border-radius:4px;
  font:12px system-ui,sans-serif}
.leaflet-popup-content{font:13px/1.4 system-ui,sans-serif}
"""

_TILE_FALLBACK_JS = """
(function () {
  var shown = false;
  {{ this.tiles.get_name() }}.on('tileerror', function () {
    if (shown) { return; }
    shown = true;
    var note = document.getElementById('aid-tile-notice');
    if (note) { note.style.display = 'block'; }
  });
})();
"""


def safe_url(url: Any) -> str:
    """The URL if it is http(s) (so a link cannot run script), else ""."""
    text = str(url or "").strip()
    return text if re.match(r"https?://", text, re.IGNORECASE) else ""


def about_html(*, title: str, region_name: str, about: str, credit: str, method_url: str,
               sources: Sequence[Mapping[str, Any]], asset_summary: str,
               thresholds: Mapping[str, Any] | None) -> str:
    """The title panel with its collapsible "About this map" section (all text escaped)."""
    paragraphs = "".join(f"<p>{esc(p.strip())}</p>" for p in about.split("\n\n") if p.strip())
    source_items = "".join(
        "<li>" + (f'<a href="{esc(s["url"])}" target="_blank" rel="noopener noreferrer">'
                  f'{esc(s["name"])}</a>' if safe_url(s.get("url")) else esc(s["name"]))
        + (f" ({esc(s['date'])})" if s.get("date") else "") + "</li>" for s in sources)
    need_share = 100 - 100 * (thresholds or {}).get("need_threshold", 0.75)
    low = (thresholds or {}).get("low_access_density", 1.0)
    method = (f'<a href="{esc(method_url)}" target="_blank" rel="noopener noreferrer">'
              "How the classes are computed</a>" if safe_url(method_url) else
              "Need combines census measures (poverty, income) as a percentile within the region; "
              "access is the density of mapped assets nearby, in assets per km².")
    return (
        f'<h1>{esc(title)}</h1>'
        f'<p><b>What {esc(region_name)} has:</b> {asset_summary}.</p>'
        '<p>Coloured tracts show where these assets are thin relative to need.</p>'
        '<details><summary>About this map</summary><div class="aid-about">'
        f'<p>A <b>mutual aid desert</b> here is a census tract whose need is in the top '
        f'{need_share:.0f}% of {esc(region_name)} and where fewer than {low:g} mutual aid assets '
        'per km² (community fridges, pantries and similar) are nearby. It says nothing about '
        'the people who live there, only about what is mapped near them.</p>'
        f'<p>{method}</p>'
        '<p><b>Undercount:</b> many mutual aid efforts are informal and not on any list, so '
        'asset counts are a floor. A "desert" may have help that is simply not mapped yet; '
        'tell the map makers about it.</p>'
        f'{paragraphs}'
        + (f'<p><b>Sources</b></p><ul>{source_items}</ul>' if source_items else "")
        + (f'<p><b>Made by</b> {esc(credit)}</p>' if credit else "")
        + '<p><small>Survey results are shown only for tracts with enough respondents; no '
        'respondent\'s location is on this map.</small></p></div></details>')


# ------------------------------------------------------------------------------------- assets
def _js_css_inline() -> tuple[str, str]:
    """Leaflet + Leaflet.markercluster JS and CSS from the installed XStatic packages."""
    import xstatic.pkg.leaflet as xleaflet
    import xstatic.pkg.leaflet_markercluster as xcluster

    base, cluster = Path(xleaflet.BASE_DIR), Path(xcluster.BASE_DIR)
    js = "\n".join(re.sub(r"//# sourceMappingURL=\S+", "", p.read_text(encoding="utf-8"))
                   for p in (base / "leaflet.js", cluster / "leaflet.markercluster.js"))
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    css += "\n" + (cluster / "MarkerCluster.css").read_text(encoding="utf-8")
    css += "\n" + (cluster / "MarkerCluster.Default.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise RuntimeError("bundled Leaflet text would close its HTML element")
    return js, css


# ------------------------------------------------------------------------------------- the map
def build_map(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame, density_values: np.ndarray,
              grid: Grid, *, id_col: str, title: str, region_name: str | None = None,
              map_config: Mapping[str, Any] | None = None,
              thresholds: Mapping[str, Any] | None = None, min_respondents: int | None = None,
              stories: pd.DataFrame | None = None, bandwidth_m: float | None = None
              ) -> folium.Map:
    """Assemble the folium map.

    `map_config` is the region's `map` section (about, credit, method_url, vintage, sources,
    offline). `thresholds` (the classification settings) adds a "why" line to tract popups.
    `stories` (columns `id_col`, ``"story"``: consented, redacted text) adds a stories layer.
    `bandwidth_m` (the density's kernel radius) is named in the density legend.
    """
    cfg = dict(map_config or {})
    region_name = cfg.get("region_name") or region_name or title
    offline = cfg.get("offline", True)
    wgs = tracts.to_crs(4326)
    minx, miny, maxx, maxy = wgs.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=11,
                      tiles=None, control_scale=True, zoom_control=False, zoom_snap=0.25)
    fmap.default_js, fmap.default_css = [], []
    header = fmap.get_root().header
    header.add_child(_Text(f'<title>{esc(title)}</title>'), name="aid_title")
    if offline:
        js, css = _js_css_inline()
        header.add_child(_Text(f"<style>{css}</style>"), name="aid_css")
        header.add_child(_Text(f"<script>{js}</script>"), name="aid_js")
    else:
        for i, url in enumerate(LEAFLET_CDN["css"]):
            header.add_child(branca.element.CssLink(url), name=f"aid_css{i}")
        for i, url in enumerate(LEAFLET_CDN["js"]):
            header.add_child(branca.element.JavascriptLink(url), name=f"aid_js{i}")
    header.add_child(_Text(f"<style>{_CSS}</style>"), name="aid_style")
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    tiles = folium.TileLayer("OpenStreetMap", name="Basemap (OpenStreetMap)", control=False)
    tiles.add_to(fmap)

    # --- shared tract GeoJSON: class, popups, survey bins, stories -------------------------
    # assets_<type> counts; not the totals and the method's assets_within_* counts.
    type_columns = sorted(c for c in tracts.columns
                          if c.startswith("assets_") and c != "assets_total"
                          and not c.startswith("assets_within_"))
    access_pct = percentile_rank(tracts["access_score"]) if "access_score" in tracts else None
    records = tracts.drop(columns="geometry").to_dict("records")
    tract_stories = stories_by_tract(stories, id_col)
    props = []
    for i, row in enumerate(records):
        prop: dict[str, Any] = {
            "c": CLASSES.index(row["desert_class"]),
            "tt": f"{esc(row[id_col])}: {esc(CLASS_LABELS[row['desert_class']])}",
            "p": tract_popup_html(row, id_col, type_columns, thresholds=thresholds,
                                  vintage=cfg.get("vintage", ""),
                                  access_pct=None if access_pct is None else access_pct.iloc[i]),
        }
        rate = row.get("survey_unmet_rate", np.nan)
        if rate is not None and not pd.isna(rate):
            prop["s"] = survey_bin(float(rate))
            prop["sp"] = (f"<b>Tract {esc(row[id_col])}</b><br>{rate * 100:.0f}% of "
                          f"{int(row['survey_respondents'])} respondents report unmet need")
        elif bool(row.get("survey_suppressed", False)):
            prop["s"] = len(SURVEY_COLOURS)
            prop["sp"] = (f"<b>Tract {esc(row[id_col])}</b><br>"
                          f"{SUPPRESSED_TEXT[0].upper()}{SUPPRESSED_TEXT[1:]}")
        told = tract_stories.get(str(row[id_col]))
        if told:
            prop["st"] = (f"<b>Stories from tract {esc(row[id_col])}</b>"
                          + "".join(f"<blockquote>{esc(t)}</blockquote>" for t in told))
        props.append(prop)
    geoms = simplified_tracts(tracts)
    features = [{"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
                for p, g in zip(props, geoms, strict=True)]
    collection = {"type": "FeatureCollection", "features": features}
    fmap.add_child(_Script("var aid_tracts = {{ this.data|tojson }};\n"
                           "/* Popups open clear of the title panel and legends on the left. */\n"
                           "function aid_popup(w) { return {maxWidth: w, autoPanPaddingTopLeft: "
                           "L.point(Math.min(340, window.innerWidth / 3), 20)}; }",
                           data=collection),
                   name="aid_tracts")

    layers: list[tuple[folium.map.Layer, str, str]] = []
    counts = tracts["desert_class"].value_counts().to_dict()
    colours = json.dumps([CLASS_COLOURS[c] for c in CLASSES])
    classes = TractLayer(
        "Tract classification", filter_js="true", popup_key="p", tooltip=True,
        style_js=f"{{fillColor: {colours}[f.properties.c], color: '#444', weight: 0.5, "
                 "fillOpacity: 0.6}")
    layers.append((classes, "Tract classification",
                   class_legend_html(counts, definitions_for(thresholds))))

    index, bounds, vmax = density_image(density_values, grid, tracts.crs)
    png = base64.b64encode(palette_png(index)).decode("ascii")
    density_layer = folium.FeatureGroup(name="Asset density (assets per km²)", show=False)
    folium.raster_layers.ImageOverlay(f"data:image/png;base64,{png}", bounds=bounds,
                                      opacity=0.85).add_to(density_layer)
    layers.append((density_layer, "Asset density", density_legend_html(vmax, bandwidth_m)))

    assets_wgs = assets.to_crs(4326)
    summary = []
    for i, (asset_type, group) in enumerate(sorted(assets_wgs.groupby("type"))):
        colour = ASSET_COLOURS[i % len(ASSET_COLOURS)]
        shape = ASSET_SHAPES[i % len(ASSET_SHAPES)]
        label = esc(type_label(asset_type))
        icon = icon_html(shape, colour, type_label(asset_type)[:1])
        data = asset_marker_data(group, label)
        community = bool(group.get("community_reported", pd.Series(False)).all())
        layer = AssetLayer(f"{icon} {label} ({len(group):,})", data, icon, colour)
        layers.append((layer, f"Assets: {label}",
                       asset_legend_html(label, icon, len(group), community, first=i == 0)))
        summary.append(f"{label} ({len(group):,})")

    has_survey = any("s" in p for p in props)
    if has_survey:
        survey_colours = json.dumps([*SURVEY_COLOURS, SUPPRESSED_COLOUR])
        survey = TractLayer(
            "Community survey (per tract)", show=False, popup_key="sp",
            filter_js="f.properties.s !== undefined",
            style_js=f"{{fillColor: {survey_colours}[f.properties.s], color: '#555', "
                     "weight: 0.5, fillOpacity: 0.75, dashArray: f.properties.s === "
                     f"{len(SURVEY_COLOURS)} ? '3' : null}}")
        layers.append((survey, "Community survey", survey_legend_html(min_respondents)))
    if tract_stories:
        story_layer = TractLayer(
            "Stories (shared with consent)", show=False, popup_key="st",
            filter_js="f.properties.st !== undefined",
            style_js=f"{{color: '{STORY_COLOUR}', weight: 2.5, dashArray: '5 4', "
                     f"fillColor: '{STORY_COLOUR}', fillOpacity: 0.15}}")
        layers.append((story_layer, "Stories", story_legend_html()))

    for layer, _, _ in layers:
        layer.add_to(fmap)
    fmap.add_child(_Script(_LEGENDS_JS, map=fmap), name="aid_legends")
    # Asset-first: the assets' legends lead, then the tracts, density, survey and stories.
    ordered = sorted(range(len(layers)), key=lambda i: (not layers[i][1].startswith("Assets"), i))
    for order, i in enumerate(ordered):
        layer, label, legend = layers[i]
        fmap.add_child(_Script(_LEGEND_JS, layer=layer, map=fmap, html=legend,
                               layer_label=label, order=order))

    sources = list(cfg.get("sources") or [])
    if not sources:
        sources = [{"name": s} for s in sorted(assets["source"].dropna().unique())]
    panel = about_html(title=title, region_name=region_name, about=cfg.get("about", ""),
                       credit=cfg.get("credit", ""), method_url=cfg.get("method_url", ""),
                       sources=sources, asset_summary=", ".join(summary) or "no mapped assets",
                       thresholds=thresholds)
    fmap.add_child(_Script("""
(function () {
  var panel = L.control({position: 'topleft'});
  panel.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-panel aid-title');
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo({{ this.map.get_name() }});
  panel.getContainer().querySelector('details').addEventListener('toggle', aid_fit);
  aid_fit();
  L.control.zoom({position: 'bottomright'}).addTo({{ this.map.get_name() }});
  /* A popup opens below the layer control (top right), so its close button is never hidden
     behind the control. */
  {{ this.map.get_name() }}.on('popupopen', function (e) {
    var control = document.querySelector('.leaflet-control-layers');
    var top = (control ? control.offsetHeight : 0) + 20;
    var opts = e.popup.options;
    if (opts.aidFitted || !e.popup._source) { return; }
    opts.aidFitted = true;
    opts.autoPanPaddingTopLeft = L.point(Math.min(340, window.innerWidth / 3), top);
    e.popup.update();
  });
  var note = L.DomUtil.create('div', '', {{ this.map.get_name() }}.getContainer());
  note.id = 'aid-tile-notice';
  note.textContent = 'Basemap tiles could not load (offline?). Tracts, assets and legends '
    + 'still work.';
})();
""", html=panel, map=fmap), name="aid_panel")
    fmap.add_child(_Script(_TILE_FALLBACK_JS, tiles=tiles), name="aid_tiles")
    _LayerControl(collapsed=False, position="topright").add_to(fmap)
    return fmap


def render_deterministic(fmap: folium.Map) -> str:
    """The map's HTML with folium's random element ids replaced by sequential ones."""
    text = fmap.get_root().render()
    mapping: dict[str, str] = {}

    def stable(match: re.Match[str]) -> str:
        return mapping.setdefault(match.group(0), f"{len(mapping) + 1:032x}")

    return _ELEMENT_ID.sub(stable, text)
