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

from aiddeserts.i18n import (
    N_,
    SOURCE_LANGUAGE,
    _,
    current_language,
    date,
    ngettext,
    number,
    percent,
)
from aiddeserts.maps.inventory import with_inventory_lines
from aiddeserts.maps.legends import definitions_for
from aiddeserts.maps.rendering import esc, html_macros
from aiddeserts.maps.shapes import COORD_DECIMALS
from aiddeserts.maps.styles import CLASS_PATTERNS, swatch_css
from aiddeserts.method.classify import CLASS_COLOURS, class_label, distance_words

#: Why a tract's survey result is hidden. Primary and complementary suppression read the same,
#: so the map never tells which tracts hold fewer than `min_respondents` (privacy.suppression_mask).
SUPPRESSED_TEXT = N_("hidden to protect privacy (too few respondents here, counted with "
                     "privacy noise)")
#: An ISO 8601 timestamp ("2020-10-26T04:51:24.000Z"); popups show its date.
_TIMESTAMP = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                        r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$")


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or pd.isna(value):
        return _("no data")
    return number(value, digits) + suffix


def _distance(metres: Any) -> str:
    if metres is None or pd.isna(metres):
        return _("none in the region")
    return (_("{distance} km").format(distance=number(metres / 1000, 1)) if metres >= 1000
            else _("{distance} m").format(distance=number(metres)))


def _g(value: float) -> str:
    """A setting as Python's ``g`` writes it (``1``, ``0.5``), in the current language."""
    from babel.numbers import get_decimal_symbol

    return f"{float(value):g}".replace(".", get_decimal_symbol(current_language()))


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
        text += " (" + _("{minutes} min walk").format(minutes=number(float(walk_min))) + ")"
    return text


def unreachable_words(row: Mapping[str, Any]) -> str | None:
    """Said when no asset can be reached on foot from the tract (None otherwise)."""
    if on_foot(row) and bool(row.get("walk_unreachable", False)):
        return _("no asset reachable on foot: the streets here do not connect to any asset")
    return None
#: Asset types the catalogue translates (others are shown as written).
KNOWN_TYPES = (N_("Community fridge"), N_("Food pantry"), N_("Free store"), N_("Soup kitchen"),
               N_("Little free pantry"), N_("Shelter"), N_("Mutual aid group"), N_("Clinic"))


def type_label(asset_type: str) -> str:
    """`community_fridge` → `Community fridge` (the caller escapes)."""
    text = str(asset_type).replace("_", " ").strip()
    return _(text[:1].upper() + text[1:]) if text else _("Unspecified")


def plain_date(value: Any) -> Any:
    """An ISO timestamp as its date ("2020-10-26T04:51:24.000Z" → "2020-10-26"); any other
    value as it is."""
    if isinstance(value, str) and (match := _TIMESTAMP.match(value)):
        return match.group(1)
    return value


def shown_date(value: Any) -> Any:
    """:func:`plain_date`, written the current language's way ("26 oct 2020"); English keeps
    the ISO date the map has always shown."""
    day = plain_date(value)
    if current_language() == SOURCE_LANGUAGE or not isinstance(day, str):
        return day
    try:
        return date(day)
    except ValueError:
        return day


def records(frame: pd.DataFrame, *columns: str) -> list[dict[str, Any]]:
    """`frame`'s rows as records of those of `columns` it has (a record of every column of
    2,000 tracts takes 0.1 s, for the one or two a caller reads)."""
    return frame[[c for c in dict.fromkeys(columns) if c in frame.columns]].to_dict("records")


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
        return _("Tract {id}").format(id=tract_id)
    return f"{str(name).strip()} ({tract_id})"


# ------------------------------------------------------------------------------------ tracts
def _need_words(thresholds: Mapping[str, Any]) -> str:
    return _("need is in the top {share} of the region").format(
        share=percent(1 - thresholds["need_threshold"]))


def _share_words(share: float) -> str:
    return percent(share)


def failed_access_tests(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """The access tests the tract fails, in words (docs/method.md section 2): too many people
    beyond the distance threshold, or (towns only) mean asset density below the yardstick."""
    failed = [text] if (text := unreachable_words(row)) else []
    share, far = tested_share(row), row["far_threshold_m"]
    if not _missing(share) and share >= thresholds["low_access_share"]:
        failed.append(_("{share} of the people here live more than {distance} from any asset "
                        "(the test allows under {allowed})").format(
            share=_share_words(share), distance=distance_words(far) + distance_kind(row),
            allowed=_share_words(thresholds["low_access_share"])))
    density = row["access_score"]
    if bool(row["urban"]) and not _missing(density) and density < thresholds["low_access_density"]:
        failed.append(_("asset density nearby is {density} per km², below the {yardstick} per "
                        "km² the test asks of a town tract").format(
            density=number(density, 2), yardstick=_g(thresholds["low_access_density"])))
    return failed


def passed_access_tests(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    """Why the tract passes the access test, in words."""
    share, far = tested_share(row), row["far_threshold_m"]
    text = _("{share} of the people here live more than {distance} from any asset "
             "(under {allowed})").format(
        share=_share_words(0.0 if _missing(share) else share),
        distance=distance_words(far) + distance_kind(row),
        allowed=_share_words(thresholds["low_access_share"]))
    if bool(row["urban"]):
        text += _(" and asset density nearby is {density} per km² (at least {yardstick})").format(
            density=number(row["access_score"], 2),
            yardstick=_g(thresholds["low_access_density"]))
    return text


def _insufficient_reasons(row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    population = row.get("population")
    reasons = []
    if not _missing(population) and population < thresholds["min_population"]:
        reasons.append(_("only {residents} residents, fewer than the {needed} needed to "
                         "judge").format(residents=number(population),
                                         needed=number(thresholds["min_population"])))
    elif row["need_level"] != "not_assessed" and _missing(row.get("need_score")):
        # Need is not ranked for a tract with too few residents: only the residents are said.
        reasons.append(_("no need data for this tract"))
    if not reasons and _missing(population):
        reasons.append(_("no population figure for this tract"))
    return _(" and ").join(reasons) or _("too few residents or no data to judge")


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
        return _("Why: {need}, and {access}.").format(
            need=_need_words(thresholds),
            access=_("; and ").join(failed_access_tests(row, thresholds)))
    if cls == "low_access":
        need = (_("need is not in the top {share}").format(
            share=percent(1 - thresholds["need_threshold"])) if assessed
            else _("need was not assessed"))
        return _("Why: {access}; {need}.").format(
            access=_("; and ").join(failed_access_tests(row, thresholds)), need=need)
    if cls == "fragile":
        reach = (distance_words(thresholds["catchment_m"]) if bool(row["urban"])
                 else distance_words(row["far_threshold_m"]))
        reach += distance_kind(row)
        one = (_("only one asset is within {reach}: {asset}").format(reach=reach, asset=reach_asset)
               if reach_asset else _("at most one asset is within {reach}").format(reach=reach))
        if assessed:
            return _("Why: {need}, and access passes, but {one}. One closure would leave it "
                     "without.").format(need=_need_words(thresholds), one=one)
        return _("Why: access passes, but {one}. One closure would leave it without.").format(
            one=one)
    if cls == "strength":
        return _("Why: access passes and asset density nearby is {density} per km², at least "
                 "{yardstick}.").format(density=number(row["access_score"], 2),
                                        yardstick=_g(thresholds["strength_density"]))
    if cls == "served":
        return _("Why: the access test passes: {tests}.").format(
            tests=passed_access_tests(row, thresholds))
    return _("Why: {reasons}.").format(reasons=_insufficient_reasons(row, thresholds))


def stability_words(share: Any, is_desert: bool) -> str | None:
    """`desert_stability` (share of re-draws of the asset list in which the tract is a desert)
    as "9 in 10 re-draws of the asset list agree ..." (None: not computed for this tract)."""
    if _missing(share):
        return None
    agree = float(share) if is_desert else 1.0 - float(share)
    tenths = round(agree * 10)
    if agree >= 1.0:
        amount = _("All re-draws of the asset list agree {verdict}")
    elif tenths >= 10:
        amount = _("More than 9 in 10 re-draws of the asset list agree {verdict}")
    elif tenths <= 0:
        amount = (_("None re-draw of the asset list agree {verdict}") if agree <= 0
                  else _("Fewer than 1 in 10 re-draws of the asset list agree {verdict}"))
    else:
        amount = _("{tenths} in 10 re-draws of the asset list agree {verdict}")
    verdict = _("it is a desert") if is_desert else _("it is not a desert")
    return amount.format(verdict=verdict, tenths=number(tenths))


def margin_words(margin: Any) -> str | None:
    """`robustness_margin` as "2 more assets nearby would lift this tract out of the desert
    class" (None: not a desert, or no number of assets would)."""
    if _missing(margin):
        return None
    n = int(margin)
    return ngettext("{n} more asset nearby would lift this tract out of the desert class",
                    "{n} more assets nearby would lift this tract out of the desert class",
                    n).format(n=number(n))


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
        need_text = _("not assessed")
    elif _missing(need):
        need_text = _("no data")
    elif need >= 0.995:
        need_text = _("among the highest in the region")
    else:
        need_text = _("higher than {share} of tracts in the region").format(share=percent(need))
    asset_types = [column.removeprefix("assets_") for column in type_columns]
    types = [(type_label(asset_type), _fmt(row.get(column)), nearest_words(row, asset_type))
             for asset_type, column in zip(asset_types, type_columns, strict=True)]
    density = _fmt(row["access_score"], 2)
    density_note = (_("a town tract needs at least {yardstick}").format(
        yardstick=_g(thresholds["low_access_density"])) if bool(row["urban"])
        else _("not tested in the countryside: distance decides"))
    share = tested_share(row)
    farther = ("" if _missing(share) else
               _("{share} live more than {distance} from any asset (the test allows under "
                 "{allowed})").format(share=_share_words(share),
                                      distance=distance_words(row["far_threshold_m"])
                                      + distance_kind(row),
                                      allowed=_share_words(thresholds["low_access_share"])))
    sure = [text for text in (margin_words(row.get("robustness_margin")),
                              stability_words(row.get("desert_stability"), cls == "desert"))
            if text]
    rate = survey_rate(row)
    if rate is not None:
        survey = _("{share} report unmet need ({respondents} respondents)").format(
            share=percent(rate), respondents=_fmt(row["survey_respondents"]))
    else:
        survey = _(SUPPRESSED_TEXT) if bool(row.get("survey_suppressed", False)) else ""
    residents = (_fmt(row.get("population")) if population_known
                 else _("not counted (people taken as spread evenly over the tract)"))
    return str(html_macros("popups.html").tract(
        heading=tract_heading(row, id_col),
        swatch=swatch_css(CLASS_COLOURS[cls], CLASS_PATTERNS.get(cls)), label=class_label(cls),
        definition=definitions_for(thresholds, assessed)[cls],
        why=why_text(row, thresholds, reach_asset), residents=residents, need=need_text,
        density=density, density_note=density_note, farther=farther, types=types,
        nearest_asset="" if type_columns else nearest_words(row, "asset"),
        sure=sure, survey=survey, vintage=vintage))


def survey_popup_html(heading: str, rate: float | None, respondents: Any) -> str:
    """The survey layer's popup (`heading`: :func:`tract_heading`): the tract's result, or
    (`rate` None) why it is hidden."""
    suppressed = _(SUPPRESSED_TEXT)
    text = (_("{share} of {respondents} respondents report unmet need").format(
        share=percent(rate), respondents=number(int(respondents)))
        if rate is not None else suppressed[0].upper() + suppressed[1:])
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
        esc(shown_date(row.get("updated"))))


def popup_from_escaped(name: str, type_text: str, notes: str, source: str, community: bool,
                       updated: str) -> str:
    """An asset's popup from its already escaped parts (empty notes/date lines are left out)."""
    popup = "<b>" + (name or _("Unnamed")) + "</b><br>" + _("Type: {type}").format(type=type_text)
    if notes:
        popup += "<br>" + _("Notes: {notes}").format(notes=notes)
    popup += "<br>" + _("Source: {source} ({kind})").format(
        source=source, kind=_("community-reported") if community else _("official list"))
    if updated:
        popup += "<br>" + _("Last updated: {date}").format(date=updated)
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
                 [esc(shown_date(v)) for v in column("updated")])
    popups = with_inventory_lines(list(popups), assets)
    lats = [round(v, COORD_DECIMALS) for v in assets.geometry.y.tolist()]
    lons = [round(v, COORD_DECIMALS) for v in assets.geometry.x.tolist()]
    return [[lat, lon, popup, name or label]
            for lat, lon, popup, name in zip(lats, lons, popups, names, strict=True)]
