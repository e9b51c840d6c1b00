"""What a tap on the map shows: tract popups (class, why, need, access, survey, stories) and
asset markers (name, type, notes, source, last update). All user-provided text is escaped.

Popups speak plainly: the exact figures behind them (`desert_stability`, `robustness_margin`,
`share_beyond_threshold`...) stay in tracts.gpkg."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.i18n import _
from aiddeserts.maps.inventory import with_inventory_lines
from aiddeserts.maps.legends import definitions_for
from aiddeserts.maps.rendering import esc, html_macros
from aiddeserts.maps.styles import CLASS_PATTERNS, swatch_css
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS, distance_words

#: Decimals of the coordinates written to the page (~1 m).
COORD_DECIMALS = 5
#: Why a tract's survey result is hidden. Primary and complementary suppression read the same,
#: so the map never tells which tracts hold fewer than `min_respondents` (privacy.suppression_mask).
SUPPRESSED_TEXT = ("hidden to protect privacy (too few respondents here, or hidden with a tract "
                   "that has too few so its count cannot be worked out)")
#: An ISO 8601 timestamp ("2020-10-26T04:51:24.000Z"); popups show its date.
_TIMESTAMP = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                        r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$")


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or pd.isna(value):
        return "no data"
    return f"{value:,.{digits}f}{suffix}"


def _distance(metres: Any) -> str:
    if metres is None or pd.isna(metres):
        return "none in the region"
    return f"{metres / 1000:,.1f} km" if metres >= 1000 else f"{metres:,.0f} m"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value))


def on_foot(row: Mapping[str, Any]) -> bool:
    """Whether the tract's access test used distances on foot (`distance_used`: network)."""
    return row.get("distance_used") == "network"


def distance_kind(row: Mapping[str, Any]) -> str:
    """How the popup's distances were measured, said after a distance ("805 m on foot"); empty
    for a region without a street network (every distance is then a straight line)."""
    if on_foot(row):
        return " " + _("on foot")
    return " " + _("in a straight line") if "share_beyond_threshold_walk" in row else ""


def tested_share(row: Mapping[str, Any]) -> Any:
    """The share of people beyond the distance threshold that the access test used."""
    return row["share_beyond_threshold_walk"] if on_foot(row) else row["share_beyond_threshold"]


def nearest_words(row: Mapping[str, Any], name: str) -> str:
    """The distance to the nearest asset (`name`: `asset` or a type slug) as the access test
    measured it, and how; on foot, "none reachable on foot" where the streets reach none (never
    a NaN or an infinite distance), with the minutes' walk when a speed is set."""
    if not on_foot(row):
        metres = row.get(f"nearest_{name}_m")
        return _distance(metres) + ("" if _missing(metres) else distance_kind(row))
    metres = row.get(f"nearest_{name}_walk_m")
    if _missing(metres) or not np.isfinite(float(metres)):
        return _("none reachable on foot")
    text = _distance(metres) + distance_kind(row)
    walk_min = row.get(f"nearest_{name}_walk_min")
    if not _missing(walk_min) and np.isfinite(float(walk_min)):
        text += " (" + _("{minutes} min walk").format(minutes=f"{float(walk_min):,.0f}") + ")"
    return text


def unreachable_words(row: Mapping[str, Any]) -> str | None:
    """Said when no asset can be reached on foot from the tract (None otherwise)."""
    if on_foot(row) and bool(row.get("walk_unreachable", False)):
        return _("no asset reachable on foot: the streets here do not connect to any asset")
    return None


def type_label(asset_type: str) -> str:
    """`community_fridge` → `Community fridge` (the caller escapes)."""
    text = str(asset_type).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Unspecified"


def plain_date(value: Any) -> Any:
    """An ISO timestamp as its date ("2020-10-26T04:51:24.000Z" → "2020-10-26"); any other
    value as it is."""
    if isinstance(value, str) and (match := _TIMESTAMP.match(value)):
        return match.group(1)
    return value


def survey_rate(row: Mapping[str, Any]) -> float | None:
    """The tract's share of respondents reporting unmet need; None when hidden or not surveyed."""
    rate = row.get("survey_unmet_rate", np.nan)
    return None if rate is None or pd.isna(rate) else rate


def tract_heading(row: Mapping[str, Any], id_col: str) -> str:
    """How a popup names a tract: its `tract_name` then its id ("Census Tract 12 (27053001200)"),
    or "Tract <id>" without a name (the caller escapes)."""
    tract_id = str(row[id_col])
    name = row.get("tract_name")
    if _missing(name) or not str(name).strip() or str(name).strip() == tract_id:
        return f"Tract {tract_id}"
    return f"{str(name).strip()} ({tract_id})"


# ------------------------------------------------------------------------------------ tracts
def _need_words(thresholds: Mapping[str, Any]) -> str:
    return f"need is in the top {100 - thresholds['need_threshold'] * 100:.0f}% of the region"


def _share_words(share: float) -> str:
    return f"{share * 100:.0f}%"


def failed_access_tests(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """The access tests the tract fails, in words (docs/method.md section 2): too many people
    beyond the distance threshold, or (towns only) mean asset density below the yardstick."""
    failed = [text] if (text := unreachable_words(row)) else []
    share, far = tested_share(row), row["far_threshold_m"]
    if not _missing(share) and share >= thresholds["low_access_share"]:
        failed.append(f"{_share_words(share)} of the people here live more than "
                      f"{distance_words(far)}{distance_kind(row)} from any asset (the test "
                      f"allows under {_share_words(thresholds['low_access_share'])})")
    density = row["access_score"]
    if bool(row["urban"]) and not _missing(density) and density < thresholds["low_access_density"]:
        failed.append(f"asset density nearby is {density:.2f} per km², below the "
                      f"{thresholds['low_access_density']:g} per km² the test asks of a town tract")
    return failed


def passed_access_tests(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    """Why the tract passes the access test, in words."""
    share, far = tested_share(row), row["far_threshold_m"]
    text = (f"{_share_words(0.0 if _missing(share) else share)} of the people here live more than "
            f"{distance_words(far)}{distance_kind(row)} from any asset (under "
            f"{_share_words(thresholds['low_access_share'])})")
    if bool(row["urban"]):
        text += (f" and asset density nearby is {row['access_score']:.2f} per km² (at least "
                 f"{thresholds['low_access_density']:g})")
    return text


def _insufficient_reasons(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    population = row.get("population")
    reasons = []
    if not _missing(population) and population < thresholds["min_population"]:
        reasons.append(f"only {population:,.0f} residents, fewer than the "
                       f"{thresholds['min_population']:,.0f} needed to judge")
    elif row["need_level"] != "not_assessed" and _missing(row.get("need_score")):
        # Need is not ranked for a tract with too few residents: only the residents are said.
        reasons.append("no need data for this tract")
    if not reasons and _missing(population):
        reasons.append("no population figure for this tract")
    return " and ".join(reasons) or "too few residents or no data to judge"


def why_text(row: Mapping[str, Any], thresholds: Mapping[str, Any],
             reach_asset: str | None = None) -> str:
    """One plain sentence on why the tract got its class, naming the tests it rests on.

    `row`: the tract (`desert_class`, `need_level`, `access_score`, `share_beyond_threshold`,
    `far_threshold_m`, `urban`, `population`, `need_score`); `thresholds`: the classification
    settings; `reach_asset`: for a fragile tract, the one asset within reach ("Fridge 3
    (Fridge, 250 m away)"; None: not on the map, or none).
    """
    cls = row["desert_class"]
    assessed = row["need_level"] != "not_assessed"
    if cls == "desert":
        return (f"Why: {_need_words(thresholds)}, and "
                + "; and ".join(failed_access_tests(row, thresholds)) + ".")
    if cls == "low_access":
        need = (f"need is not in the top {100 - thresholds['need_threshold'] * 100:.0f}%"
                if assessed else "need was not assessed")
        return "Why: " + "; and ".join(failed_access_tests(row, thresholds)) + f"; {need}."
    if cls == "fragile":
        reach = (distance_words(thresholds["catchment_m"]) if bool(row["urban"])
                 else distance_words(row["far_threshold_m"]))
        lead = f"{_need_words(thresholds)}, and " if assessed else ""
        reach += distance_kind(row)
        one = (f"only one asset is within {reach}: {reach_asset}" if reach_asset
               else f"at most one asset is within {reach}")
        return f"Why: {lead}access passes, but {one}. One closure would leave it without."
    if cls == "strength":
        return (f"Why: access passes and asset density nearby is {row['access_score']:.2f} per "
                f"km², at least {thresholds['strength_density']:g}.")
    if cls == "served":
        return f"Why: the access test passes: {passed_access_tests(row, thresholds)}."
    return f"Why: {_insufficient_reasons(row, thresholds)}."


def stability_words(share: Any, is_desert: bool) -> str | None:
    """`desert_stability` (share of re-draws of the asset list in which the tract is a desert)
    as "9 in 10 re-draws of the asset list agree ..." (None: not computed for this tract)."""
    if _missing(share):
        return None
    agree = float(share) if is_desert else 1.0 - float(share)
    verdict = "it is a desert" if is_desert else "it is not a desert"
    tenths = round(agree * 10)
    if agree >= 1.0:
        amount = "All"
    elif tenths >= 10:
        amount = "More than 9 in 10"
    elif tenths <= 0:
        amount = "None" if agree <= 0 else "Fewer than 1 in 10"
    else:
        amount = f"{tenths} in 10"
    noun = "re-draw" if amount == "None" else "re-draws"
    return f"{amount} {noun} of the asset list agree {verdict}"


def margin_words(margin: Any) -> str | None:
    """`robustness_margin` as "2 more assets nearby would lift this tract out of the desert
    class" (None: not a desert, or no number of assets would)."""
    if _missing(margin):
        return None
    n = int(margin)
    return (f"{n} more asset{'' if n == 1 else 's'} nearby would lift this tract out of the "
            "desert class")


def tract_popup_html(row: Mapping[str, Any], id_col: str, type_columns: Sequence[str], *,
                     thresholds: Mapping[str, Any], vintage: str,
                     reach_asset: str | None = None, population_known: bool = True) -> str:
    """Plain-language popup for one tract (all values escaped).

    `thresholds`: the classification settings; `vintage`: the data's date, shown when set;
    `reach_asset`: see :func:`why_text`; `population_known`: False when the region has no
    population column (people are then spread evenly over each tract, and the popup says so).
    """
    cls = row["desert_class"]
    assessed = row["need_level"] != "not_assessed"
    need = row.get("need_score")
    if not assessed:
        need_text = "not assessed"
    elif _missing(need):
        need_text = "no data"
    elif need >= 0.995:
        need_text = "among the highest in the region"
    else:
        need_text = f"higher than {need * 100:.0f}% of tracts in the region"
    asset_types = [column.removeprefix("assets_") for column in type_columns]
    types = [(type_label(asset_type), _fmt(row.get(column)), nearest_words(row, asset_type))
             for asset_type, column in zip(asset_types, type_columns, strict=True)]
    density = _fmt(row["access_score"], 2)
    density_note = (f"a town tract needs at least {thresholds['low_access_density']:g}"
                    if bool(row["urban"]) else "not tested in the countryside: distance decides")
    share = tested_share(row)
    farther = ("" if _missing(share) else
               f"{_share_words(share)} live more than {distance_words(row['far_threshold_m'])}"
               f"{distance_kind(row)} "
               f"from any asset (the test allows under "
               f"{_share_words(thresholds['low_access_share'])})")
    sure = [text for text in (margin_words(row.get("robustness_margin")),
                              stability_words(row.get("desert_stability"), cls == "desert"))
            if text]
    rate = survey_rate(row)
    if rate is not None:
        survey = (f"{_fmt(rate * 100)}% report unmet need "
                  f"({_fmt(row['survey_respondents'])} respondents)")
    else:
        survey = SUPPRESSED_TEXT if bool(row.get("survey_suppressed", False)) else ""
    residents = (_fmt(row.get("population")) if population_known
                 else "not counted (people taken as spread evenly over the tract)")
    return str(html_macros("popups.html").tract(
        heading=tract_heading(row, id_col),
        swatch=swatch_css(CLASS_COLOURS[cls], CLASS_PATTERNS.get(cls)), label=CLASS_LABELS[cls],
        definition=definitions_for(thresholds, assessed)[cls],
        why=why_text(row, thresholds, reach_asset), residents=residents, need=need_text,
        density=density, density_note=density_note, farther=farther, types=types,
        nearest_asset="" if type_columns else nearest_words(row, "asset"),
        sure=sure, survey=survey, vintage=vintage))


def survey_popup_html(heading: str, rate: float | None, respondents: Any) -> str:
    """The survey layer's popup (`heading`: :func:`tract_heading`): the tract's result, or
    (`rate` None) why it is hidden."""
    text = (f"{rate * 100:.0f}% of {int(respondents)} respondents report unmet need"
            if rate is not None else SUPPRESSED_TEXT[0].upper() + SUPPRESSED_TEXT[1:])
    return str(html_macros("popups.html").survey(heading=heading, text=text))


def stories_popup_html(heading: str, stories: Sequence[str]) -> str:
    """The stories layer's popup: the consented stories told about one tract."""
    return str(html_macros("popups.html").stories(heading=heading, stories=stories))


# ------------------------------------------------------------------------------------ assets
# Kept in Python (no template): a metro's 1e5 popups are built in a fraction of a second.
def asset_popup_html(row: Mapping[str, Any]) -> str:
    """Popup for one asset: name, type, notes, source (official or community), last update."""
    return popup_from_escaped(
        esc(row.get("name")), esc(type_label(row.get("type") or "")), esc(row.get("notes")),
        esc(row.get("source")), bool(row.get("community_reported")),
        esc(plain_date(row.get("updated"))))


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
                 [esc(plain_date(v)) for v in column("updated")])
    popups = with_inventory_lines(list(popups), assets)
    lats = [round(v, COORD_DECIMALS) for v in assets.geometry.y.tolist()]
    lons = [round(v, COORD_DECIMALS) for v in assets.geometry.x.tolist()]
    return [[lat, lon, popup, name or label]
            for lat, lon, popup, name in zip(lats, lons, popups, names, strict=True)]
