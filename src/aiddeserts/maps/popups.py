"""What a tap on the map shows: tract popups (class, why, need, access, survey, stories) and
asset markers (name, type, notes, source, last update). All user-provided text is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.maps.inventory import with_inventory_lines
from aiddeserts.maps.legends import definitions_for
from aiddeserts.maps.rendering import esc, html_macros
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS

#: Decimals of the coordinates written to the page (~1 m).
COORD_DECIMALS = 5
#: Why a tract's survey result is hidden. Primary and complementary suppression read the same,
#: so the map never tells which tracts hold fewer than `min_respondents` (privacy.suppression_mask).
SUPPRESSED_TEXT = ("hidden to protect privacy (too few respondents here, or hidden with a tract "
                   "that has too few so its count cannot be worked out)")
#: Columns another stage may add to the tracts frame; shown in popups only when present.
OPTIONAL_COLUMNS: dict[str, tuple[str, str]] = {
    "confidence": ("Confidence in this class", "text"),
    "desert_stability": ("Stays in this class under resampling", "share"),
    "robustness_margin": ("Robustness margin", "number"),
    "assets_to_exit": ("Assets needed to stop being a desert", "number"),
}


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


def survey_rate(row: Mapping[str, Any]) -> float | None:
    """The tract's share of respondents reporting unmet need; None when hidden or not surveyed."""
    rate = row.get("survey_unmet_rate", np.nan)
    return None if rate is None or pd.isna(rate) else rate


# ------------------------------------------------------------------------------------ tracts
def why_text(desert_class: str, thresholds: Mapping[str, Any]) -> str:
    """One plain sentence on why a tract got its class (`thresholds`: classification settings)."""
    need_pct = thresholds["need_threshold"] * 100
    if desert_class == "desert":
        return (f"Why: need is in the top {100 - need_pct:.0f}% of the region and asset density "
                f"is below {thresholds['low_access_density']:g} per km².")
    if desert_class == "fragile":
        return (f"Why: need is in the top {100 - need_pct:.0f}% and at most one asset is within "
                f"{thresholds['catchment_m']:,.0f} m.")
    if desert_class == "strength":
        return f"Why: at least {thresholds['strength_density']:g} assets per km² nearby."
    if desert_class == "served":
        return "Why: need is lower, or assets are within reach."
    return (f"Why: fewer than {thresholds['min_population']:,.0f} residents, "
            "or no need data.")


def _optional_value(kind: str, value: Any) -> str | None:
    """An optional column's value as shown (None: no value)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "share":
        return f"{float(value) * 100:.0f}%"
    if kind == "number":
        return f"{float(value):,.2g}" if abs(float(value)) < 10 else f"{float(value):,.0f}"
    return value


def tract_popup_html(row: Mapping[str, Any], id_col: str, type_columns: Sequence[str], *,
                     thresholds: Mapping[str, Any], vintage: str,
                     access_pct: float | None = None) -> str:
    """Plain-language popup for one tract (all values escaped).

    `thresholds`: the classification settings; `vintage`: the data's date, shown when set;
    `access_pct`: the tract's access percentile in the region (None: not shown).
    """
    cls = row["desert_class"]
    need = row.get("need_score")
    rank = ("" if access_pct is None or pd.isna(access_pct) else f"{access_pct * 100:.0f}")
    asset_types = [column.removeprefix("assets_") for column in type_columns]
    types = [(type_label(asset_type), _fmt(row.get(column)),
              _distance(row.get(f"nearest_{asset_type}_m")))
             for asset_type, column in zip(asset_types, type_columns, strict=True)]
    optional = [(label, shown) for column, (label, kind) in OPTIONAL_COLUMNS.items()
                if column in row and (shown := _optional_value(kind, row[column])) is not None]
    rate = survey_rate(row)
    if rate is not None:
        survey = (f"{_fmt(rate * 100)}% report unmet need "
                  f"({_fmt(row['survey_respondents'])} respondents)")
    else:
        survey = SUPPRESSED_TEXT if bool(row.get("survey_suppressed", False)) else ""
    return str(html_macros("popups.html").tract(
        tract_id=row[id_col], colour=CLASS_COLOURS[cls], label=CLASS_LABELS[cls],
        definition=definitions_for(thresholds)[cls], why=why_text(cls, thresholds),
        residents=_fmt(row.get("population")),
        need=_fmt(None if pd.isna(need) else need * 100), density=_fmt(row.get("access_score"), 2),
        density_rank=rank, types=types,
        nearest_asset="" if type_columns else _distance(row.get("nearest_asset_m")),
        optional=optional, survey=survey, vintage=vintage))


def survey_popup_html(tract_id: Any, rate: float | None, respondents: Any) -> str:
    """The survey layer's popup: the tract's result, or (`rate` None) why it is hidden."""
    text = (f"{rate * 100:.0f}% of {int(respondents)} respondents report unmet need"
            if rate is not None else SUPPRESSED_TEXT[0].upper() + SUPPRESSED_TEXT[1:])
    return str(html_macros("popups.html").survey(tract_id=tract_id, text=text))


def stories_popup_html(tract_id: Any, stories: Sequence[str]) -> str:
    """The stories layer's popup: the consented stories told about one tract."""
    return str(html_macros("popups.html").stories(tract_id=tract_id, stories=stories))


# ------------------------------------------------------------------------------------ assets
# Kept in Python (no template): a metro's 1e5 popups are built in a fraction of a second.
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
    popups = with_inventory_lines(list(popups), assets)
    lats = [round(v, COORD_DECIMALS) for v in assets.geometry.y.tolist()]
    lons = [round(v, COORD_DECIMALS) for v in assets.geometry.x.tolist()]
    return [[lat, lon, popup, name or label]
            for lat, lon, popup, name in zip(lats, lons, popups, names, strict=True)]
