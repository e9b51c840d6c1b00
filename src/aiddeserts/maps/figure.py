"""The static map of tract classes (PNG for screens and reports, PDF for print and data walks)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from aiddeserts.io.files import atomic_path  # noqa: E402
from aiddeserts.maps.legends import (  # noqa: E402
    NEED_NOT_ASSESSED,
    class_counts,
    shown_classes,
)
from aiddeserts.maps.styles import CLASS_PATTERNS, PATTERN_HATCH  # noqa: E402
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS, CLASSES  # noqa: E402


def classification_figure(tracts: gpd.GeoDataFrame, *, title: str, sources: Sequence[str],
                          credit: str, definitions: Mapping[str, str], assessed: bool = True
                          ) -> Figure:
    """Tracts coloured by class (deserts hatched, low access dotted), with a legend of
    plain-language classes and their tract counts, title and sources.

    `credit`: who made the map (blank: no line); `definitions`: the class definitions naming
    the region's distances (:func:`aiddeserts.maps.legends.definitions_for`); `assessed`:
    whether need was assessed (if not, the figure says so and how to add it, and lists no
    desert class).
    """
    # A Figure outside pyplot: geopandas' plot() calls canvas.draw_idle() after each layer,
    # a full Agg render on a pyplot figure but a no-op here (savefig renders once per format).
    fig = Figure(figsize=(8.5, 11), dpi=150)
    ax = fig.subplots()
    counts = class_counts(tracts)
    for cls in CLASSES:
        mine = tracts[tracts["desert_class"] == cls]
        if len(mine):
            mine.plot(ax=ax, color=CLASS_COLOURS[cls], edgecolor="#555555", linewidth=0.15,
                      hatch=_hatch(cls))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=15, loc="left", pad=14)
    shown = shown_classes(assessed)
    handles = [Patch(facecolor=CLASS_COLOURS[c], edgecolor="#555555", hatch=_hatch(c),
                     label=f"{CLASS_LABELS[c]} ({counts[c]:,} tracts)") for c in shown]
    ax.legend(handles=handles, loc="upper left", frameon=True, fontsize=9,
              title="Census tracts", title_fontsize=10)
    defined = "\n".join(textwrap.fill(f"{CLASS_LABELS[c]}: {definitions[c]}", 150)
                         for c in shown)
    if not assessed:
        defined = textwrap.fill(NEED_NOT_ASSESSED, 150) + "\n" + defined
    tail = textwrap.fill("Sources: " + "; ".join(sources), 140)
    if credit:
        tail += "\n" + textwrap.fill(f"Made by {credit}", 140)
    footer = (defined + "\n\nAsset counts are a floor: informal mutual aid is often "
              "unlisted.\n" + tail)
    fig.text(0.04, 0.02, footer, fontsize=7, va="bottom", ha="left")
    fig.subplots_adjust(left=0.03, right=0.97, top=0.94, bottom=0.2)
    return fig


def _hatch(cls: str) -> str | None:
    pattern = CLASS_PATTERNS.get(cls)
    return PATTERN_HATCH[pattern] if pattern else None


def save_figure(fig: Figure, out_png: str | Path, out_pdf: str | Path) -> None:
    """Write PNG and PDF byte-for-byte reproducibly (no dates or versions in the metadata)."""
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    with atomic_path(out_pdf, suffix=".pdf") as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None,
                                                  "Creator": None})
