"""The map's explanations: one legend per layer, and the title panel with "About this map".

The markup is in ``maps/templates/legends.html`` and ``about.html``; every value is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from markupsafe import Markup

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
    CLASS_LABELS,
    CLASSES,
    NEED_LEVELS,
    class_definitions,
    distance_words,
)

#: What the map and figure say when the region configures no need variables.
NEED_NOT_ASSESSED = (
    "Need was not assessed: the classes rest on access alone, so no tract is called a desert. "
    "To add need, set `retrieve` in the config (it downloads the census tracts and ACS poverty "
    "and income for your state and counties), or give an attribute CSV with ACS columns "
    "(`tracts.attributes` and `tracts.need`); config/README.md explains both.")
#: Words for the ACS variables `retrieve` downloads (other need columns are named as written).
ACS_WORDS = {"B01003_001E": "population", "B17001_002E": "people in poverty",
             "B19013_001E": "median household income"}
NEED_WORDS = {"high": "High need", "not_high": "Need not high", "not_assessed": "Need not assessed"}
ACCESS_WORDS = {"low": "low access", "adequate": "access passes", "strong": "strong access"}


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
    rows = [(swatch_css(CLASS_COLOURS[c], CLASS_PATTERNS.get(c)), CLASS_LABELS[c],
             f"{counts[c]:,}", definitions[c]) for c in shown_classes(assessed)]
    return str(html_macros("legends.html").classes(
        rows=rows, note="" if assessed else NEED_NOT_ASSESSED))


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
    rows = [(NEED_WORDS[n], [(swatch_css(BIVARIATE_COLOURS[n, a], BIVARIATE_PATTERNS.get(n)),
                              f"{NEED_WORDS[n]}, {ACCESS_WORDS[a]}", f"{counts[n, a]:,}")
                             for a in ACCESS_LEVELS]) for n in NEED_LEVELS]
    return str(html_macros("legends.html").bivariate(
        columns=[ACCESS_WORDS[a].capitalize() for a in ACCESS_LEVELS], rows=rows,
        note="" if assessed else NEED_NOT_ASSESSED,
        insufficient=(CLASS_COLOURS["insufficient_data"], CLASS_LABELS["insufficient_data"],
                      f"{counts['insufficient_data', '']:,}")))


def density_legend_html(vmax: float, bandwidth_m: float | None) -> str:
    """The density colour ramp up to `vmax` (assets per km²), naming the kernel's radius
    `bandwidth_m` (None: unknown, e.g. a density file without the tag)."""
    spread = (f"each asset counted within {distance_words(bandwidth_m)} of it, most near it"
              if bandwidth_m else "smoothed over nearby blocks")
    return str(html_macros("legends.html").density(
        spread=spread, gradient=", ".join(DENSITY_COLOURS), middle=f"{vmax / 2:.1f}",
        top=f"{vmax:.1f}"))


def asset_legend_html(type_name: str, icon: str, count: int, community: bool,
                      first: bool = False) -> str:
    """One asset type: its icon (`icon`: markup), name and count; the `first` one leads the
    asset legends with a heading and a note on clusters."""
    return str(html_macros("legends.html").assets(
        label=type_name, icon=Markup(icon), count=f"{count:,}",
        source="community-reported" if community else "official list", first=first))


def survey_legend_html(min_respondents: int) -> str:
    """The unmet-need bins, and how suppressed tracts look (`min_respondents`: the threshold)."""
    edges = [0, *SURVEY_BINS, 1]
    bins = [(colour, f"{edges[i] * 100:.0f}", f"{edges[i + 1] * 100:.0f}")
            for i, colour in enumerate(SURVEY_COLOURS)]
    return str(html_macros("legends.html").survey(
        bins=bins, suppressed_colour=SUPPRESSED_COLOUR, too_few=f"fewer than {min_respondents}"))


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
            notes.append("lower means more need")
        name = ACS_WORDS.get(column, column)
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

    def sites(n: int) -> str:
        return f"{n:,} listed site{'' if n == 1 else 's'}"

    def be(n: int) -> str:
        return "is" if n == 1 else "are"

    lines = []
    if outside:
        lines.append(f"{sites(outside)} {be(outside)} outside the map's area and {be(outside)} "
                     "not counted.")
    if duplicate:
        lines.append(f"{sites(duplicate)} {be(duplicate)} listed twice and counted once.")
    if other:
        lines.append(f"{sites(other)} {'has' if other == 1 else 'have'} no usable location and "
                     f"{be(other)} not counted.")
    if lines:
        kept = int(counts["assets"]["kept"])
        lines.insert(0, f"Of {read:,} listed sites, {kept:,} are counted.")
        lines.append("rejects.csv, published with this map, lists each row and why.")
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
        asset_counts=[(name, f"{count:,}") for name, count in asset_counts],
        need_share=f"{100 - 100 * thresholds['need_threshold']:.0f}",
        low_density=f"{thresholds['low_access_density']:g}",
        low_share=f"{thresholds['low_access_share'] * 100:.0f}",
        far_urban=distance_words(thresholds["far_urban_m"]),
        far_rural=distance_words(thresholds["far_rural_m"]),
        need_variables=", ".join(need_words(need)), assessed=assessed,
        not_assessed=NEED_NOT_ASSESSED, dropped=list(dropped),
        method_url=method_url if safe_url(method_url) else "",
        about=[p.strip() for p in about.split("\n\n") if p.strip()], sources=links,
        credit=credit))
