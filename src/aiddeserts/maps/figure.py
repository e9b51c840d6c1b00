"""The static map of tract classes (PNG for screens and reports, PDF for print and data walks)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from aiddeserts.io.files import atomic_path  # noqa: E402
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS, CLASSES  # noqa: E402


def classification_figure(tracts: gpd.GeoDataFrame, *, title: str, sources: Sequence[str],
                          credit: str, definitions: Mapping[str, str]) -> Figure:
    """Tracts coloured by class, with a legend of plain-language classes, title and sources.

    `credit`: who made the map (blank: no line); `definitions`: the class definitions naming
    the region's distances (`classify.class_definitions` of `catchment_m` and `far_rural_m`).
    """
    fig, ax = plt.subplots(figsize=(8.5, 11), dpi=150)
    counts = tracts["desert_class"].value_counts()
    colours = tracts["desert_class"].map(CLASS_COLOURS)
    tracts.plot(ax=ax, color=colours.to_numpy(), edgecolor="#555555", linewidth=0.15)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=15, loc="left", pad=14)
    handles = [Patch(facecolor=CLASS_COLOURS[c], edgecolor="#555555",
                     label=f"{CLASS_LABELS[c]} ({int(counts.get(c, 0)):,} tracts)")
               for c in CLASSES]
    ax.legend(handles=handles, loc="upper left", frameon=True, fontsize=9,
              title="Census tracts", title_fontsize=10)
    defined = "\n".join(f"{CLASS_LABELS[c]}: {definitions[c]}" for c in CLASSES)
    tail = textwrap.fill("Sources: " + "; ".join(sources), 140)
    if credit:
        tail += "\n" + textwrap.fill(f"Made by {credit}", 140)
    footer = (defined + "\n\nAsset counts are a floor: informal mutual aid is often "
              "unlisted.\n" + tail)
    fig.text(0.04, 0.02, footer, fontsize=7, va="bottom", ha="left")
    fig.subplots_adjust(left=0.03, right=0.97, top=0.94, bottom=0.2)
    return fig


def save_figure(fig: Figure, out_png: str | Path, out_pdf: str | Path) -> None:
    """Write PNG and PDF byte-for-byte reproducibly (no dates or versions in the metadata)."""
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    with atomic_path(out_pdf, suffix=".pdf") as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None,
                                                  "Creator": None})
    plt.close(fig)
