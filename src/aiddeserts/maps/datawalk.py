"""The data-walk kit: A3 poster pages residents walk past and discuss in small groups.

Each page holds one idea in plain words, with a map or a chart and discussion prompts: what the
community has, where assets are thin for people with high need, what residents said (consented
stories and the published survey figures, as the map shows them), and what changed since the
previous run (when there was one). Everything is read from the staged public tables; every word
is wrapped in :func:`aiddeserts.i18n._` (render inside :func:`aiddeserts.i18n.use_language`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from aiddeserts.i18n import _, date, number
from aiddeserts.io.files import atomic_path
from aiddeserts.maps.figure import (
    PDF_METADATA,
    asset_styles,
    class_handles,
    draw_assets,
    draw_classes,
    draw_places,
    draw_polygons,
    polygon_paths,
    print_style,
)
from aiddeserts.maps.legends import class_counts, shown_classes
from aiddeserts.maps.popups import records, survey_rate, type_label
from aiddeserts.maps.styles import SUPPRESSED_COLOUR, SURVEY_BINS, SURVEY_COLOURS, survey_bin
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS

#: A3 landscape, in inches.
PAGE_SIZE = (16.54, 11.69)
#: Resolution of the posters' map image: sharp on A3 from a step away.
MAP_DPI = 200
#: Map artists below this z-order (tracts, outlines 3, asset markers 4) go into the image;
#: place names (6) and legends stay searchable, selectable text.
MAP_RASTER_BELOW = 5
#: Stories quoted on the "what residents said" poster (the first ones, in the map's order).
MAX_STORIES = 4
TITLE_SIZE = 40
#: Characters of a title that fit one line of the page at TITLE_SIZE.
TITLE_CHARS = 46
TEXT_SIZE = 18
#: Draws a poster's map and chart on its two axes.
Drawer = Callable[[Axes, Axes], None]
PROMPT_SIZE = 22


@dataclass
class Poster:
    """One page: its title, plain-language sentences and discussion prompts."""

    title: str
    lines: list[str]
    prompts: list[str]
    quotes: list[str] = field(default_factory=list)


@dataclass
class WalkData:
    """What the posters show, all of it public: the staged tracts (classes and published survey
    figures), assets.csv's assets (in the tracts' CRS), consented stories, changes.csv."""

    tracts: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    stories: pd.DataFrame
    changes: pd.DataFrame
    places: gpd.GeoDataFrame | None
    title: str
    sources: Sequence[str]
    definitions: Mapping[str, str]
    assessed: bool
    catchment_words: str
    id_col: str
    min_respondents: int

    @cached_property
    def tract_paths(self) -> pd.Series | None:
        """The tracts' outlines as paths, built once for all the posters' map layers."""
        return polygon_paths(self.tracts)


# ---------------------------------------------------------------------------------- layout
def _page(poster: Poster, page: int, pages: int, footer: str) -> tuple[Figure, Axes, Axes]:
    """A blank poster with its title, sentences and prompts; returns the figure, the map axes
    (left) and the chart axes (right, under the sentences)."""
    fig = Figure(figsize=PAGE_SIZE, dpi=100)  # outside pyplot: no render per layer
    # A long title (some languages take more words) is set smaller to stay on one line.
    size = TITLE_SIZE * min(1.0, TITLE_CHARS / max(len(poster.title), 1))
    fig.text(0.04, 0.93, poster.title, fontsize=size, weight="bold", va="center")
    text = "\n".join(textwrap.fill(line, 42) for line in poster.lines)
    fig.text(0.60, 0.85, text, fontsize=TEXT_SIZE, va="top", ha="left", linespacing=1.35)
    prompts = "\n".join(textwrap.fill("• " + p, 80, subsequent_indent="   ")
                        for p in poster.prompts)
    fig.text(0.04, 0.085, _("Talk about it") + "\n" + prompts, fontsize=PROMPT_SIZE, va="bottom",
             ha="left", linespacing=1.3,
             bbox={"boxstyle": "round,pad=0.6", "facecolor": "#FFF4D6", "edgecolor": "#E69F00"})
    fig.text(0.96, 0.02, _("Page {page} of {pages}").format(page=number(page),
                                                           pages=number(pages)) + " · " + footer,
             fontsize=10, ha="right", va="bottom", color="#444444")
    map_ax = fig.add_axes((0.03, 0.26, 0.54, 0.61))
    map_ax.set_axis_off()
    # The map's shapes and markers go in as one image per poster (MAP_DPI), its words stay
    # text: thousands of tract outlines as vector paths made a 4.5 MB file, slow to write and
    # to read, where the walls of a data walk need no vector detail.
    map_ax.set_rasterization_zorder(MAP_RASTER_BELOW)
    chart_ax = fig.add_axes((0.74, 0.30, 0.22, 0.22))
    return fig, map_ax, chart_ax


def _frame(ax: Axes, tracts: gpd.GeoDataFrame) -> None:
    minx, miny, maxx, maxy = tracts.total_bounds
    pad = 0.01 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal", adjustable="box", anchor="C")


def _bars(ax: Axes, labels: Sequence[str], values: Sequence[int], colours: Sequence[str],
          hatches: Sequence[str | None] | None = None, title: str = "") -> None:
    """A horizontal bar chart with each bar's value written beside it."""
    positions = range(len(labels))
    bars = ax.barh(list(positions), list(values), color=list(colours), edgecolor="#333333",
                   hatch=None)
    for bar, hatch in zip(bars, hatches or [None] * len(labels), strict=True):
        if hatch:
            bar.set_hatch(hatch)
    ax.set_yticks(list(positions), [textwrap.fill(label, 18) for label in labels], fontsize=13)
    ax.invert_yaxis()
    top = max(values) if len(values) and max(values) > 0 else 1
    ax.set_xlim(0, top * 1.25)
    for bar, value in zip(bars, values, strict=True):
        ax.text(bar.get_width() + top * 0.02, bar.get_y() + bar.get_height() / 2, number(value),
                va="center", fontsize=14)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=11)
    if title:
        ax.set_title(title, fontsize=15, loc="left")


def _base(ax: Axes, data: WalkData) -> None:
    draw_polygons(ax, data.tracts, data.tract_paths, color="#F2F2F2", edgecolor="#BBBBBB",
                  linewidth=0.2)


# ---------------------------------------------------------------------------------- posters
def _assets_page(data: WalkData) -> tuple[Poster, Drawer]:
    counts = data.assets["type"].astype(str).value_counts().sort_index()
    total = int(counts.sum())
    lines = [_("{count} places of mutual aid are on this map.").format(count=number(total))]
    lines += [_("{type}: {count}").format(type=type_label(t), count=number(int(n)))
              for t, n in counts.items()]
    lines.append(_("These are the places we know of. Informal help between neighbours is "
                   "often on no list."))
    poster = Poster(_("What our community has"), lines,
                    [_("What is missing from this map?"),
                     _("Where do you go when you need food, help or company?")])

    def draw(map_ax: Axes, chart_ax: Axes) -> None:
        _base(map_ax, data)
        draw_places(map_ax, data.places, fontsize=11)
        handles = draw_assets(map_ax, data.assets, size=30)
        _frame(map_ax, data.tracts)
        if handles:
            map_ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.0),
                          fontsize=13, ncols=2, frameon=False)
        styles = asset_styles(counts.index)
        _bars(chart_ax, [type_label(t) for t in counts.index], [int(n) for n in counts],
              [styles[t][0] for t in counts.index], title=_("Places by type"))

    return poster, draw


def _classes_page(data: WalkData) -> tuple[Poster, Drawer]:
    counts = class_counts(data.tracts)
    shown = shown_classes(data.assessed)
    if data.assessed:
        lines = [_("We counted the mutual aid places within {distance} of where people live, "
                   "and compared that with need measured by the census.").format(
                       distance=data.catchment_words),
                 _("{count} census tracts have high need and few places nearby: we call them "
                   "mutual aid deserts.").format(count=number(counts["desert"])),
                 _("This map does not measure how good a place is, when it is open, or help "
                   "that is not listed.")]
    else:
        lines = [_("We counted the mutual aid places within {distance} of where people live.")
                 .format(distance=data.catchment_words),
                 _("Need was not measured for this map, so no tract is called a desert."),
                 _("This map does not measure how good a place is, when it is open, or help "
                   "that is not listed.")]
    poster = Poster(_("Where help is thin for people with high need"), lines,
                    [_("Does this match what you see where you live?"),
                     _("Who is left out of these numbers?")])

    def draw(map_ax: Axes, chart_ax: Axes) -> None:
        draw_classes(map_ax, data.tracts, linewidth=0.2, paths=data.tract_paths)
        draw_places(map_ax, data.places, fontsize=11)
        _frame(map_ax, data.tracts)
        map_ax.legend(handles=class_handles(counts, shown), loc="upper left",
                      bbox_to_anchor=(0.0, 0.0), fontsize=13, ncols=3, frameon=False)
        from aiddeserts.maps.figure import class_hatch

        _bars(chart_ax, [_(CLASS_LABELS[c]) for c in shown], [counts[c] for c in shown],
              [CLASS_COLOURS[c] for c in shown], [class_hatch(c) for c in shown],
              title=_("Census tracts by class"))

    return poster, draw


def survey_shown(tracts: pd.DataFrame) -> tuple[pd.Series, int]:
    """The published unmet-need shares by tract (NaN where not shown) and how many tracts are
    hidden to protect respondents, as the map's survey layer shows them."""
    rates = pd.Series([survey_rate(row) for row in records(tracts, "survey_unmet_rate")],
                      index=tracts.index, dtype=float)
    hidden = int(tracts["survey_suppressed"].fillna(False).astype(bool).sum()) \
        if "survey_suppressed" in tracts.columns else 0
    return rates, hidden


def _survey_page(data: WalkData, stories: Sequence[str]) -> tuple[Poster, Drawer]:
    rates, hidden = survey_shown(data.tracts)
    shown = rates.notna()
    lines = []
    if shown.any():
        respondents = pd.to_numeric(data.tracts.loc[shown, "survey_respondents"])
        reporting = float((rates[shown] * respondents).sum() / respondents.sum())
        lines.append(_("In the {tracts} tracts with enough answers to show, {share} of "
                       "respondents report unmet need.").format(
                           tracts=number(int(shown.sum())), share=_percent(reporting)))
    if hidden:
        lines.append(_("{count} tracts are hidden: fewer than {least} people answered there, "
                       "too few to show their answers safely.").format(
                           count=number(hidden), least=number(data.min_respondents)))
    if stories:
        lines.append(_("Stories shared with consent:"))
    poster = Poster(_("What residents told us"), lines,
                    [_("What surprises you here?"), _("Whose voices are missing?")],
                    quotes=list(stories))

    def draw(map_ax: Axes, chart_ax: Axes) -> None:
        _base(map_ax, data)
        bins = rates[shown].map(survey_bin)
        for k, colour in enumerate(SURVEY_COLOURS):
            mine = data.tracts.loc[bins.index[bins == k]]
            if len(mine):
                draw_polygons(map_ax, mine, data.tract_paths, color=colour, edgecolor="#555555",
                              linewidth=0.2)
        if hidden:
            draw_polygons(map_ax,
                          data.tracts[data.tracts["survey_suppressed"].fillna(False).astype(bool)],
                          data.tract_paths, color=SUPPRESSED_COLOUR, edgecolor="#555555",
                          linewidth=0.2, hatch="xx")
        draw_places(map_ax, data.places, fontsize=11)
        _frame(map_ax, data.tracts)
        edges = [0, *SURVEY_BINS, 1]
        labels = [_("{low}–{high}% report unmet need").format(
            low=number(edges[k] * 100), high=number(edges[k + 1] * 100))
            for k in range(len(SURVEY_COLOURS))]
        handles = [Patch(facecolor=c, edgecolor="#555555", label=label)
                   for c, label in zip(SURVEY_COLOURS, labels, strict=True)]
        handles.append(Patch(facecolor=SUPPRESSED_COLOUR, edgecolor="#555555", hatch="xx",
                             label=_("Hidden: too few answers")))
        map_ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.0),
                      fontsize=13, ncols=3, frameon=False)
        chart_ax.set_position((0.60, 0.28, 0.36, 0.26))
        chart_ax.set_axis_off()
        quotes = "\n\n".join("“" + textwrap.shorten(q, 220, placeholder=" …") + "”"
                             for q in poster.quotes)
        wrapped = "\n".join(textwrap.fill(part, 48) if part else "" for part in quotes.split("\n"))
        chart_ax.text(0, 1, wrapped, fontsize=15, va="top", ha="left", style="italic",
                      transform=chart_ax.transAxes)

    return poster, draw


def _percent(share: float) -> str:
    from aiddeserts.i18n import percent

    return percent(share)


def _changes_page(data: WalkData) -> tuple[Poster, Drawer]:
    changes = data.changes
    tracts_changed = changes[changes["kind"] == "tract"]
    asset_changes = changes[changes["kind"] == "asset"]
    added = int((asset_changes["before"] == "added").sum())
    gone = int((asset_changes["after"] == "gone").sum())
    status = len(asset_changes) - added - gone
    when = str(changes["previous_run_utc"].iloc[0])[:10]
    lines = [_("Since the map of {date}:").format(date=date(when)) if when else
             _("Since the previous map:"),
             _("{count} places were added.").format(count=number(added)),
             _("{count} places are no longer listed.").format(count=number(gone)),
             _("{count} places changed status.").format(count=number(status)),
             _("{count} census tracts changed class.").format(count=number(len(tracts_changed)))]
    poster = Poster(_("What changed since last time"), lines,
                    [_("What caused these changes?"),
                     _("What should we do before the next map?")])

    def draw(map_ax: Axes, chart_ax: Axes) -> None:
        ids = set(tracts_changed["id"].astype(str))
        changed = data.tracts[data.tracts[data.id_col].astype(str).isin(ids)]
        _base(map_ax, data)
        draw_classes(map_ax, changed, edge="#000000", linewidth=1.2, paths=data.tract_paths)
        draw_places(map_ax, data.places, fontsize=11)
        _frame(map_ax, data.tracts)
        map_ax.legend(handles=[Patch(facecolor="white", edgecolor="#000000", linewidth=1.2,
                                     label=_("Tract whose class changed (coloured by its new "
                                             "class)"))],
                      loc="upper left", bbox_to_anchor=(0.0, 0.0), fontsize=13, frameon=False)
        _bars(chart_ax, [_("Added"), _("No longer listed"), _("Changed status"),
                         _("Tracts that changed class")],
              [added, gone, status, len(tracts_changed)],
              ["#009E73", "#D55E00", "#E69F00", "#56B4E9"], title=_("Changes"))

    return poster, draw


def posters(data: WalkData) -> list[tuple[Poster, Drawer]]:
    """The pages: assets, classes, then what residents said (when the survey published a
    figure or a story) and what changed (when changes.csv has rows)."""
    pages = [_assets_page(data), _classes_page(data)]
    told = [s.strip() for s in data.stories.get("story", pd.Series(dtype=str)).astype(str)
            if s.strip()]
    stories = list(dict.fromkeys(told))[:MAX_STORIES]
    rates, hidden = survey_shown(data.tracts)
    if rates.notna().any() or hidden or stories:
        pages.append(_survey_page(data, stories))
    if len(data.changes):
        pages.append(_changes_page(data))
    return pages


def page_titles(data: WalkData) -> list[str]:
    """The titles of the pages :func:`write_datawalk` writes, in order."""
    return [poster.title for poster, _draw in posters(data)]


def write_datawalk(data: WalkData, out_pdf: str | Path) -> None:
    """Write the posters as one PDF (same inputs, same bytes)."""
    footer = data.title + " · " + _("Sources: ") + "; ".join(data.sources)
    footer = textwrap.shorten(footer, 170, placeholder=" …")
    with print_style(), atomic_path(out_pdf, suffix=".pdf") as tmp, \
            PdfPages(tmp, metadata=PDF_METADATA) as pdf:
        pages = posters(data)
        for page, (poster, draw) in enumerate(pages, start=1):
            fig, map_ax, chart_ax = _page(poster, page, len(pages), footer)
            draw(map_ax, chart_ax)
            pdf.savefig(fig, dpi=MAP_DPI)
