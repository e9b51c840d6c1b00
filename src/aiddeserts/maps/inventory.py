"""The living inventory on the map: asset ids, stale and closed flags and the correction links
in asset popups, a greyed layer of closed assets, and the "Add a place we missed" link.

Pure functions; webmap and popups call them in a few lines. All text is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd

from aiddeserts.i18n import _, ngettext, number
from aiddeserts.maps.rendering import esc

__all__ = ["CLOSED_COLOUR", "PLACEHOLDERS", "about_line", "add_correction_urls", "add_place_html",
           "changes_layer", "closed_layer", "closed_legend_html", "correction_url",
           "drawn_assets", "popup_lines", "split_closed", "with_inventory_lines"]

PLACEHOLDERS = ("asset_id", "name", "type", "lat", "lon")
CLOSED_COLOUR = "#9e9e9e"


def correction_url(template: str, values: Mapping[str, Any]) -> str:
    """`template` with {asset_id}, {name}, {type}, {lat}, {lon} filled, each URL-encoded (a
    missing value: blank). Blank template: blank URL. Other braces are left as written."""
    if not template:
        return ""
    url = template
    for key in PLACEHOLDERS:
        value = values.get(key)
        text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else (
            f"{value:.5f}" if isinstance(value, float) else str(value))
        url = url.replace("{" + key + "}", quote(text, safe=""))
    return url


def popup_lines(asset_id: str, status: str, last_verified: str, closed_since: str,
                url: str) -> str:
    """The inventory lines of an asset popup (escaped): id, stale/closed flag, correction link."""
    html = "<br>" + _("ID: {id}").format(id=esc(asset_id)) if asset_id else ""
    if status == "closed":
        closed = (_("Closed since {date}").format(date=esc(closed_since)) if closed_since
                  else _("Closed"))
        html += f"<br><b>{closed}</b>"
    elif status == "stale":
        html += ("<br><b>" + _("Not verified since {date}").format(
            date=esc(last_verified) or _("an unknown date")) + "</b> "
            + _("(may be out of date)"))
    elif last_verified:
        html += "<br>" + _("Last verified: {date}").format(date=esc(last_verified))
    if url:
        html += (f'<br><a href="{esc(url)}" target="_blank" rel="noopener">'
                 + _("Suggest a correction") + "</a>")
    return html


def with_inventory_lines(popups: Sequence[str], assets: pd.DataFrame) -> list[str]:
    """`popups` (one per row of `assets`) with :func:`popup_lines` appended, from the columns
    asset_id, status, last_verified, closed_since and correction_url when present."""
    n = len(assets)

    def column(name: str) -> list[Any]:
        return (assets[name].fillna("").astype(str).tolist() if name in assets.columns
                else [""] * n)

    return [p + popup_lines(*parts) for p, *parts in zip(
        popups, column("asset_id"), column("status"), column("last_verified"),
        column("closed_since"), column("correction_url"), strict=True)]


def add_correction_urls(assets: pd.DataFrame, template: str) -> pd.DataFrame:
    """`assets` (EPSG:4326 geometry, as drawn) with a `correction_url` column per asset."""
    if not template:
        return assets
    out = assets.copy()
    out["correction_url"] = [correction_url(template, {
        "asset_id": a, "name": n, "type": t, "lat": round(g.y, 5), "lon": round(g.x, 5)})
        for a, n, t, g in zip(out["asset_id"], out["name"], out["type"],
                              out.geometry.to_crs(4326), strict=True)]
    return out


def drawn_assets(assets: pd.DataFrame, closed: str) -> pd.DataFrame:
    """The assets the map draws: closed ones left out when `closed` (inventory.closed) is
    ``hide``, else kept (drawn greyed)."""
    if closed == "hide" and "status" in assets.columns:
        return assets.loc[assets["status"] != "closed"].reset_index(drop=True)
    return assets


def split_closed(assets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(assets that count, closed assets) by the `status` column (none closed without it)."""
    if "status" not in assets.columns:
        return assets, assets.iloc[:0]
    closed = (assets["status"] == "closed").to_numpy()
    return assets.loc[~closed], assets.loc[closed]


def closed_legend_html(count: int, stale: int, icon: str) -> str:
    """Legend of the closed layer, with how many counted assets are stale."""
    html = f"{icon} " + _("Closed places ({n}): shown greyed, not counted").format(n=number(count))
    if stale:
        html += "<br>" + ngettext(
            "{n} place not verified recently (stale): still counted, flagged in its popup",
            "{n} places not verified recently (stale): still counted, flagged in their popup",
            stale).format(n=number(stale))
    return html


def add_place_html(template: str) -> str:
    """The "Add a place we missed" link (placeholders blank), or nothing without a template."""
    url = correction_url(template, {})
    if not url:
        return ""
    return (f'<p class="aid-add-place"><a href="{esc(url)}" target="_blank" rel="noopener">'
            + _("Add a place we missed") + "</a></p>")


def closed_layer(closed: pd.DataFrame, stale: int) -> tuple[Any, str, str]:
    """The greyed layer of closed assets (hidden by default) with its legend."""
    from aiddeserts.maps.elements import AssetLayer
    from aiddeserts.maps.popups import asset_marker_data
    from aiddeserts.maps.styles import icon_html

    icon = icon_html("circle", CLOSED_COLOUR, "×")
    layer = AssetLayer(f"{icon} " + _("Closed places ({n})").format(n=number(len(closed))),
                       asset_marker_data(closed.to_crs(4326), _("Closed place")), icon,
                       CLOSED_COLOUR, show=False)
    return layer, _("Assets: closed"), closed_legend_html(len(closed), stale, icon)


def about_line(assets: pd.DataFrame) -> str:
    """The About panel's line on the inventory's freshness: the newest verification date and
    how many counted places are stale (nothing without inventory columns)."""
    if "status" not in assets.columns or "last_verified" not in assets.columns:
        return ""
    dates = [d for d in assets["last_verified"].fillna("").astype(str) if d]
    stale = int((assets["status"] == "stale").sum())
    parts = [_("Asset list last updated {date}.").format(date=esc(max(dates))) if dates else ""]
    if stale:
        parts.append(ngettext("{n} place not verified recently (may be out of date).",
                              "{n} places not verified recently (may be out of date).",
                              stale).format(n=number(stale)))
    text = " ".join(p for p in parts if p)
    return f'<p class="aid-inventory-note">{text}</p>' if text else ""


CHANGED_COLOUR = "#d81b60"


def changes_layer(changes: pd.DataFrame | None, tracts: Any, assets: pd.DataFrame, id_col: str
                  ) -> tuple[Any, str, str] | None:
    """The "What changed since <date>" layer: tracts whose class changed outlined, added and
    closed assets (as drawn: `assets` in EPSG:4326 after the privacy rules) ringed; None when
    nothing changed. `changes`: changes.csv's table."""
    import folium
    import shapely

    if changes is None or changes.empty:
        return None
    when = str(changes["previous_run_utc"].iloc[0])[:10]
    name = _("What changed since {date}").format(date=when) if when else _("What changed")
    layer = folium.FeatureGroup(name=esc(name), show=False)
    moved = changes[changes["kind"] == "tract"].set_index("id")
    changed = tracts.loc[tracts[id_col].astype(str).isin(moved.index)].to_crs(4326)
    new = _("new")
    features = [{"type": "Feature", "properties": {"t": esc(
        f"{tract}: {moved.at[str(tract), 'before'] or new} → {moved.at[str(tract), 'after']}")},
        "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-5))}
        for tract, geom in zip(changed[id_col], changed.geometry, strict=True)]
    if features:
        folium.GeoJson({"type": "FeatureCollection", "features": features},
                       style_function=lambda _: {"color": CHANGED_COLOUR, "weight": 3,
                                                 "fill": False},
                       tooltip=folium.GeoJsonTooltip(["t"], labels=False)).add_to(layer)
    status = changes[changes["kind"] == "asset"].set_index("id")
    marked = assets.loc[assets["asset_id"].astype(str).isin(status.index)] \
        if "asset_id" in assets.columns else assets.iloc[:0]
    for asset_id, asset_name, point in zip(marked["asset_id"].astype(str), marked["name"],
                                           marked.geometry, strict=True):
        text = f"{asset_name or asset_id}: {status.at[asset_id, 'before']} → " \
               f"{status.at[asset_id, 'after']}"
        folium.CircleMarker([round(point.y, 5), round(point.x, 5)], radius=9,
                            color=CHANGED_COLOUR, weight=2, fill=False,
                            tooltip=esc(text)).add_to(layer)
    tracts_changed = ngettext("{n} tract changed class (outlined)",
                              "{n} tracts changed class (outlined)",
                              len(features)).format(n=number(len(features)))
    places_marked = ngettext("{n} place added, closed or gone stale (ringed)",
                             "{n} places added, closed or gone stale (ringed)",
                             len(marked)).format(n=number(len(marked)))
    legend = f"{esc(name)}: {tracts_changed}, {places_marked}"
    return layer, name, legend
