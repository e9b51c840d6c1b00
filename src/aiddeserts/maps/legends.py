"""The map's explanations: one legend per layer, and the title panel with "About this map".

The markup is in ``maps/templates/legends.html`` and ``about.html``; every value is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

from aiddeserts.i18n import N_, _, ngettext, number, percent
from aiddeserts.maps.rendering import html_macros, safe_url
from aiddeserts.maps.styles import (
    BIVARIATE_COLOURS,
    BIVARIATE_PATTERNS,
    CLASS_PATTERNS,
    DENSITY_COLOURS,
    STORY_COLOUR,
    SUPPRESSED_COLOUR,
    SURVEY_BINS,
    SURVEY_COLOURS,
    swatch_css,
)
from aiddeserts.method.classify import (
    ACCESS_LEVELS,
    CLASS_COLOURS,
    CLASSES,
    NEED_LEVELS,
    class_definitions,
    class_label,
    distance_words,
)

#: What the map and figure say when the region configures no need variables.
NEED_NOT_ASSESSED = N_(
    "Need was not assessed: the classes rest on access alone, so no tract is called a desert. "
    "To add need, set `retrieve` in the config (it downloads the census tracts and ACS poverty "
    "and income for your state and counties), or give an attribute CSV with ACS columns "
    "(`tracts.attributes` and `tracts.need`); config/README.md explains both.")
#: Words for the ACS variables `retrieve` downloads (other need columns are named as written).
ACS_WORDS = {"B01003_001E": N_("population"), "B17001_002E": N_("people in poverty"),
             "B19013_001E": N_("median household income")}
NEED_WORDS = {"high": N_("High need"), "not_high": N_("Need not high"),
              "not_assessed": N_("Need not assessed")}
ACCESS_WORDS = {"low": N_("low access"), "adequate": N_("access passes"),
                "strong": N_("strong access")}
#: Capitalised access words (the 3×3 grid's column heads).
ACCESS_HEADS = {"low": N_("Low access"), "adequate": N_("Access passes"),
                "strong": N_("Strong access")}


def _g(value: float) -> str:
    """A setting as Python's ``g`` writes it (``1``, ``0.5``), in the current language."""
    from babel.numbers import get_decimal_symbol

    from aiddeserts.i18n import current_language

    return f"{float(value):g}".replace(".", get_decimal_symbol(current_language()))


def need_assessed(tracts: pd.DataFrame) -> bool:
    """Whether the tracts' classes rest on need (`need_level` is not `not_assessed` everywhere)."""
    return bool((tracts["need_level"] != "not_assessed").any())


def definitions_for(thresholds: Mapping[str, Any], assessed: bool = True) -> dict[str, str]:
    """Class definitions naming the configured distances (`thresholds`: classification settings;
    `assessed`: whether need was assessed)."""
    return class_definitions(thresholds["catchment_m"], thresholds["far_rural_m"], assessed)


def shown_classes(assessed: bool) -> list[str]:
    """The classes a legend lists: every class, but no `desert` when need was not assessed."""
    return [c for c in CLASSES if assessed or c != "desert"]


def class_counts(tracts: pd.DataFrame) -> dict[str, int]:
    """Tracts per class (every class, zeros included)."""
    counts = tracts["desert_class"].value_counts()
    return {c: int(counts.get(c, 0)) for c in CLASSES}


def class_legend_html(counts: Mapping[str, int], definitions: Mapping[str, str],
                      assessed: bool = True) -> str:
    """The classes with their swatches (colour and pattern), names, tract counts and
    definitions; without need, the note saying need was not assessed and how to add it."""
    rows = [(swatch_css(CLASS_COLOURS[c], CLASS_PATTERNS.get(c)), class_label(c),
             number(counts[c]), definitions[c]) for c in shown_classes(assessed)]
    return str(html_macros("legends.html").classes(
        rows=rows, note="" if assessed else _(NEED_NOT_ASSESSED)))


def bivariate_counts(tracts: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Tracts per (need_level, access_level) cell of the 3×3 grid (zeros included), and the
    `insufficient_data` tracts, which the grid leaves out, under ("insufficient_data", "")."""
    judged = tracts["desert_class"] != "insufficient_data"
    counts = tracts[judged].groupby(["need_level", "access_level"]).size()
    out = {(n, a): int(counts.get((n, a), 0)) for n in NEED_LEVELS for a in ACCESS_LEVELS}
    out["insufficient_data", ""] = int((~judged).sum())
    return out


def bivariate_legend_html(counts: Mapping[tuple[str, str], int], assessed: bool = True) -> str:
    """The 3×3 need × access grid: each cell's swatch (colour, and hatching for high need),
    its words and its tract count, rows labelled by need and columns by access; then the
    tracts with too little data to judge."""
    rows = [(_(NEED_WORDS[n]), [(swatch_css(BIVARIATE_COLOURS[n, a], BIVARIATE_PATTERNS.get(n)),
                                 f"{_(NEED_WORDS[n])}, {_(ACCESS_WORDS[a])}",
                                 number(counts[n, a])) for a in ACCESS_LEVELS])
            for n in NEED_LEVELS]
    return str(html_macros("legends.html").bivariate(
        columns=[_(ACCESS_HEADS[a]) for a in ACCESS_LEVELS], rows=rows,
        note="" if assessed else _(NEED_NOT_ASSESSED),
        insufficient=(CLASS_COLOURS["insufficient_data"], class_label("insufficient_data"),
                      number(counts["insufficient_data", ""]))))


def density_legend_html(vmax: float, bandwidth_m: float | None) -> str:
    """The density colour ramp up to `vmax` (assets per km²), naming the kernel's radius
    `bandwidth_m` (None: unknown, e.g. a density file without the tag)."""
    spread = (_("each asset counted within {distance} of it, most near it").format(
        distance=distance_words(bandwidth_m)) if bandwidth_m else _("smoothed over nearby blocks"))
    return str(html_macros("legends.html").density(
        spread=spread, gradient=", ".join(DENSITY_COLOURS), middle=number(vmax / 2, 1),
        top=number(vmax, 1)))


def asset_legend_html(type_name: str, icon: str, count: int, community: bool,
                      first: bool = False) -> str:
    """One asset type: its icon (`icon`: markup), name and count; the `first` one leads the
    asset legends with a heading and a note on clusters."""
    return str(html_macros("legends.html").assets(
        label=type_name, icon=Markup(icon), count=number(count),
        source=_("community-reported") if community else _("official list"), first=first))


def survey_legend_html(min_respondents: int) -> str:
    """The unmet-need bins, and how suppressed tracts look (`min_respondents`: the threshold)."""
    edges = [0, *SURVEY_BINS, 1]
    bins = [(colour, number(edges[i] * 100), percent(edges[i + 1]))
            for i, colour in enumerate(SURVEY_COLOURS)]
    return str(html_macros("legends.html").survey(
        bins=bins, suppressed_colour=SUPPRESSED_COLOUR,
        too_few=_("fewer than {n}").format(n=number(min_respondents))))


def story_legend_html() -> str:
    """How tracts with consented stories look."""
    return str(html_macros("legends.html").stories(colour=STORY_COLOUR))


def need_words(need: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """The configured need variables in words ("people in poverty (B17001_002E)", "median
    household income (B19013_001E; lower means more need)"); [] without need."""
    out = []
    for spec in need or []:
        column = spec["column"]
        notes = [column] if column in ACS_WORDS else []
        if not spec["higher_is_worse"]:
            notes.append(_("lower means more need"))
        name = _(ACS_WORDS[column]) if column in ACS_WORDS else column
        out.append(f"{name} ({'; '.join(notes)})" if notes else name)
    return out


def dropped_sites(counts: Mapping[str, Any] | None, rejects: pd.DataFrame | None) -> list[str]:
    """Sentences on the listed asset rows that are not on the map, from the asset stage's
    counts (`counts_assets.json`: `assets` with `read`, `kept`) and rejects (`source`, `row`,
    `reason`, `action`): outside the area, duplicates, and rows without a usable location."""
    if not counts or rejects is None:
        return []
    read = int(counts["assets"]["read"])
    dropped = rejects.loc[rejects["action"] == "dropped", "reason"].astype(str)
    outside = int(dropped.str.startswith("outside").sum())
    duplicate = int(dropped.str.startswith("duplicate").sum())
    other = len(dropped) - outside - duplicate

    lines = []
    if outside:
        lines.append(ngettext("{n} listed site is outside the map's area and is not counted.",
                              "{n} listed sites are outside the map's area and are not counted.",
                              outside).format(n=number(outside)))
    if duplicate:
        lines.append(ngettext("{n} listed site is listed twice and counted once.",
                              "{n} listed sites are listed twice and counted once.",
                              duplicate).format(n=number(duplicate)))
    if other:
        lines.append(ngettext("{n} listed site has no usable location and is not counted.",
                              "{n} listed sites have no usable location and are not counted.",
                              other).format(n=number(other)))
    if lines:
        kept = int(counts["assets"]["kept"])
        lines.insert(0, _("Of {read} listed sites, {kept} are counted.").format(
            read=number(read), kept=number(kept)))
        lines.append(_("rejects.csv, published with this map, lists each row and why."))
    return lines


def about_html(*, title: str, region_name: str, asset_counts: Sequence[tuple[str, int]],
               thresholds: Mapping[str, Any], method_url: str, about: str,
               sources: Sequence[Mapping[str, Any]], credit: str,
               need: Sequence[Mapping[str, Any]] | None, assessed: bool,
               dropped: Sequence[str]) -> str:
    """The title panel with its collapsible "About this map" section (all text escaped).

    `asset_counts`: (type name, count) per asset type; `thresholds`: the classification
    settings; `about`: plain text, paragraphs separated by blank lines; `sources`: `name` and
    optional `url` (linked when http(s)) and `date`; `need`: the region's `tracts.need` (named
    in the method paragraph); `assessed`: whether the classes rest on need; `dropped`:
    sentences on listed sites not on the map (:func:`dropped_sites`).
    """
    links = [(s["name"], s["url"] if safe_url(s.get("url")) else "", s.get("date"))
             for s in sources]
    return str(html_macros("about.html").panel(
        title=title, region_name=region_name,
        asset_counts=[(name, number(count)) for name, count in asset_counts],
        need_share=percent(1 - thresholds["need_threshold"]),
        low_density=_g(thresholds["low_access_density"]),
        low_share=percent(thresholds["low_access_share"]),
        far_urban=distance_words(thresholds["far_urban_m"]),
        far_rural=distance_words(thresholds["far_rural_m"]),
        need_variables=", ".join(need_words(need)), assessed=assessed,
        not_assessed=_(NEED_NOT_ASSESSED), dropped=list(dropped),
        method_url=method_url if safe_url(method_url) else "",
        about=[p.strip() for p in about.split("\n\n") if p.strip()], sources=links,
        credit=credit))
