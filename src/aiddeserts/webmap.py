"""The interactive folium map: tract classes, asset density, assets by type, legends."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import branca
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium import plugins
from rasterio.warp import Resampling, calculate_default_transform, reproject

from aiddeserts.classify import CLASS_DEFINITIONS, CLASSES
from aiddeserts.density import Grid

#: Okabe–Ito colours (colour-blind safe).
CLASS_COLOURS = {
    "desert": "#D55E00",
    "fragile": "#E69F00",
    "served": "#56B4E9",
    "strength": "#009E73",
    "insufficient_data": "#BBBBBB",
}
CLASS_LABELS = {
    "desert": "Mutual aid desert",
    "fragile": "Fragile (one asset away)",
    "served": "Served",
    "strength": "Community strength",
    "insufficient_data": "Insufficient data",
}
ASSET_COLOURS = ["#0072B2", "#CC79A7", "#009E73", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
DENSITY_COLOURS = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
SIMPLIFY_M = 10.0
COORD_DECIMALS = 5
_ELEMENT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def esc(value: Any) -> str:
    """HTML-escape any user-provided value for a popup, tooltip or legend."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
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


def tract_popup_html(row: Mapping[str, Any], id_col: str, type_columns: list[str]) -> str:
    """Plain-language popup for one tract (all values escaped)."""
    cls = row["desert_class"]
    need_pct = row.get("need_score")
    lines = [
        f"<b>Tract {esc(row[id_col])}</b>",
        f"<b>{esc(CLASS_LABELS[cls])}</b>: {esc(CLASS_DEFINITIONS[cls])}",
        f"Residents: {_fmt(row.get('population'))}",
        "Need: higher than "
        f"{_fmt(None if pd.isna(need_pct) else need_pct * 100)}% of tracts in the region",
        f"Asset density nearby: {_fmt(row.get('access_score'), 2)} per km²",
        f"Nearest asset: {_fmt(row.get('nearest_asset_m'))} m",
    ]
    for column in type_columns:
        label = column.removeprefix("assets_").replace("_", " ")
        lines.append(f"{esc(label.capitalize())} in tract: {_fmt(row.get(column))}")
    if not pd.isna(row.get("survey_unmet_rate", np.nan)):
        lines.append(f"Survey: {_fmt(row['survey_unmet_rate'] * 100)}% report unmet need "
                     f"({_fmt(row['survey_respondents'])} respondents)")
    elif row.get("survey_suppressed"):
        lines.append("Survey: too few respondents to show")
    return "<br>".join(lines)


def density_image(values: np.ndarray, grid: Grid, crs: Any) -> tuple[np.ndarray, list, float]:
    """Density reprojected to Web Mercator and coloured: RGBA image, lat/lon bounds, vmax."""
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
    cmap = branca.colormap.LinearColormap(DENSITY_COLOURS, vmin=0, vmax=vmax)
    lut = np.array([cmap.rgba_bytes_tuple(v) for v in np.linspace(0, vmax, 256)], np.uint8)
    index = np.clip(np.nan_to_num(out) / vmax * 255, 0, 255).astype(np.uint8)
    rgba = lut[index]
    rgba[..., 3] = np.where(np.isfinite(out) & (out > 0), 170, 0)
    west, north = transform * (0, 0)
    east, south = transform * (width, height)
    from pyproj import Transformer

    to_ll = Transformer.from_crs(dst_crs, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([west, east], [south, north])
    return rgba, [[lat0, lon0], [lat1, lon1]], vmax


def _legend_html(title: str, subtitle: str) -> str:
    items = "".join(
        f'<div title="{esc(CLASS_DEFINITIONS[c])}"><span style="background:{CLASS_COLOURS[c]};'
        f'width:14px;height:14px;display:inline-block;margin-right:6px;border:1px solid #555">'
        f'</span>{esc(CLASS_LABELS[c])}</div>' for c in CLASSES)
    return (
        '<div id="aiddeserts-legend" style="position:fixed;bottom:24px;left:12px;z-index:9999;'
        'background:white;padding:8px 10px;border:1px solid #999;border-radius:4px;'
        'font:13px/1.4 sans-serif;max-width:260px">'
        f'<b>{esc(title)}</b><br><small>{esc(subtitle)}</small><hr style="margin:4px 0">'
        f'{items}<small>Hover a class for its meaning. Counts are a floor: assets not yet '
        'listed are missing.</small></div>')


def build_map(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame, density_values: np.ndarray,
              grid: Grid, *, id_col: str, title: str) -> folium.Map:
    """Assemble the folium map (layers toggle in the layer control)."""
    wgs = tracts.to_crs(4326)
    minx, miny, maxx, maxy = wgs.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=11,
                      tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])

    type_columns = sorted(c for c in tracts.columns
                          if c.startswith("assets_") and c != "assets_total")
    popups = [tract_popup_html(row, id_col, type_columns)
              for row in tracts.drop(columns="geometry").to_dict("records")]
    shapes = gpd.GeoDataFrame({
        "tract": tracts[id_col].map(esc).to_numpy(),
        "cls": tracts["desert_class"].to_numpy(),
        "label": tracts["desert_class"].map(CLASS_LABELS).to_numpy(),
        "popup": popups,
    }, geometry=simplified_tracts(tracts).to_numpy(), crs=4326)
    classes = folium.FeatureGroup(name="Tract classification", show=True)
    folium.GeoJson(
        shapes.to_json(drop_id=True),
        style_function=lambda f: {"fillColor": CLASS_COLOURS[f["properties"]["cls"]],
                                  "color": "#555555", "weight": 0.4, "fillOpacity": 0.55},
        highlight_function=lambda f: {"weight": 2, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["tract", "label"], aliases=["Tract", "Class"]),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
    ).add_to(classes)
    classes.add_to(fmap)

    rgba, bounds, vmax = density_image(density_values, grid, tracts.crs)
    density_layer = folium.FeatureGroup(name="Asset density (assets per km²)", show=False)
    folium.raster_layers.ImageOverlay(rgba, bounds=bounds, opacity=0.8,
                                      mercator_project=False).add_to(density_layer)
    density_layer.add_to(fmap)
    colormap = branca.colormap.LinearColormap(DENSITY_COLOURS, vmin=0, vmax=round(vmax, 1),
                                              caption="Asset density (assets per km²)")
    colormap.add_to(fmap)

    assets_wgs = assets.to_crs(4326)
    for i, (asset_type, group) in enumerate(sorted(assets_wgs.groupby("type"))):
        colour = ASSET_COLOURS[i % len(ASSET_COLOURS)]
        layer = folium.FeatureGroup(name=f"Assets: {esc(asset_type)} ({len(group)})", show=True)
        cluster = plugins.MarkerCluster(options={"disableClusteringAtZoom": 15})
        for row in group.itertuples():
            popup = (f"<b>{esc(row.name) or 'Unnamed'}</b><br>Type: {esc(row.type)}"
                     f"<br>Source: {esc(row.source)}")
            folium.CircleMarker([round(row.geometry.y, 5), round(row.geometry.x, 5)], radius=6,
                                color="#ffffff", weight=1, fill=True, fill_color=colour,
                                fill_opacity=0.95, popup=folium.Popup(popup, max_width=260),
                                tooltip=esc(row.name) or None).add_to(cluster)
        cluster.add_to(layer)
        layer.add_to(fmap)

    fmap.get_root().html.add_child(branca.element.Element(
        _legend_html(title, "Mutual aid deserts: where assets are thin relative to need")))
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def render_deterministic(fmap: folium.Map) -> str:
    """The map's HTML with folium's random element ids replaced by sequential ones."""
    text = fmap.get_root().render()
    mapping: dict[str, str] = {}

    def stable(match: re.Match[str]) -> str:
        return mapping.setdefault(match.group(0), f"{len(mapping) + 1:032x}")

    return _ELEMENT_ID.sub(stable, text)
