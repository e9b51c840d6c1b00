"""The map's explanations: one legend per layer, and the title panel with "About this map".

The markup is in ``maps/templates/legends.html`` and ``about.html``; every value is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from aiddeserts.maps.rendering import html_macros, safe_url
from aiddeserts.maps.styles import (
    DENSITY_COLOURS,
    STORY_COLOUR,
    SUPPRESSED_COLOUR,
    SURVEY_BINS,
    SURVEY_COLOURS,
)
from aiddeserts.method.classify import (
    CLASS_COLOURS,
    CLASS_LABELS,
    CLASSES,
    class_definitions,
    distance_words,
)


def definitions_for(thresholds: Mapping[str, Any]) -> dict[str, str]:
    """Class definitions naming the configured distances (`thresholds`: classification settings)."""
    return class_definitions(thresholds["catchment_m"], thresholds["far_rural_m"])


def class_legend_html(counts: Mapping[str, int], definitions: Mapping[str, str]) -> str:
    """The classes with their colours, tract counts and definitions."""
    rows = [(CLASS_COLOURS[c], CLASS_LABELS[c], f"{counts.get(c, 0):,}", definitions[c])
            for c in CLASSES]
    return str(html_macros("legends.html").classes(rows=rows))


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


def about_html(*, title: str, region_name: str, asset_counts: Sequence[tuple[str, int]],
               thresholds: Mapping[str, Any], method_url: str, about: str,
               sources: Sequence[Mapping[str, Any]], credit: str) -> str:
    """The title panel with its collapsible "About this map" section (all text escaped).

    `asset_counts`: (type name, count) per asset type; `thresholds`: the classification
    settings; `about`: plain text, paragraphs separated by blank lines; `sources`: `name` and
    optional `url` (linked when http(s)) and `date`.
    """
    links = [(s["name"], s["url"] if safe_url(s.get("url")) else "", s.get("date"))
             for s in sources]
    return str(html_macros("about.html").panel(
        title=title, region_name=region_name,
        asset_counts=[(name, f"{count:,}") for name, count in asset_counts],
        need_share=f"{100 - 100 * thresholds['need_threshold']:.0f}",
        low_density=f"{thresholds['low_access_density']:g}",
        method_url=method_url if safe_url(method_url) else "",
        about=[p.strip() for p in about.split("\n\n") if p.strip()], sources=links,
        credit=credit))
