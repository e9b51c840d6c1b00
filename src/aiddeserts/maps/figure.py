"""The static map (PNG for screens and reports, PDF for print): assets first, tract classes told by
pattern as well as colour, place context (county outlines or a user's places layer with labels),
and legends outside the map frame so they never hide a tract.

The drawing helpers (:func:`draw_classes`, :func:`draw_assets`, :func:`draw_places`) are shared
with the data-walk posters (:mod:`aiddeserts.maps.datawalk`). Every word a reader sees is wrapped
in :func:`aiddeserts.i18n._`; render inside :func:`aiddeserts.i18n.use_language` for another
language.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from aiddeserts.i18n import N_, _, number  # noqa: E402
from aiddeserts.io.files import atomic_path  # noqa: E402
from aiddeserts.maps.hatching import LayeredHatchCollection  # noqa: E402
from aiddeserts.maps.legends import (  # noqa: E402
    NEED_NOT_ASSESSED,
    class_counts,
    shown_classes,
)
from aiddeserts.maps.pdfmarkers import as_pdf_markers  # noqa: E402
from aiddeserts.maps.popups import type_label  # noqa: E402
from aiddeserts.maps.shapes import (  # noqa: E402
    MapShapes,
    county_outlines,
    read_places,  # noqa: F401 (public here)
)
from aiddeserts.maps.styles import (  # noqa: E402
    ASSET_COLOURS,
    ASSET_SHAPES,
    CLASS_PATTERNS,
    PATTERN_HATCH,
)
from aiddeserts.method.classify import CLASS_COLOURS, CLASS_LABELS, CLASSES  # noqa: E402

#: matplotlib markers for the web map's icon shapes (same colour and shape per type).
SHAPE_MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^"}
#: Settings of every printed figure: TrueType fonts embedded (any script prints, and the privacy
#: audit can read the text back), and no TeX-like parsing of `$` in names and stories.
PRINT_RC = {"pdf.fonttype": 42, "text.parse_math": False, "hatch.linewidth": 0.6}
#: PDF metadata left out so the same inputs give the same bytes.
PDF_METADATA = {"CreationDate": None, "Producer": None, "Creator": None}
OUTLINE_COLOUR = "#222222"
CLOSED_LABEL = N_("Closed (hollow marker)")


@contextmanager
def print_style() -> Iterator[None]:
    """Matplotlib settings of the printed figures (:data:`PRINT_RC`)."""
    with matplotlib.rc_context(PRINT_RC):
        yield


def class_hatch(cls: str) -> str | None:
    """The matplotlib hatch of a class's pattern (deserts hatched, low access dotted)."""
    pattern = CLASS_PATTERNS.get(cls)
    return PATTERN_HATCH[pattern] if pattern else None


_hatch = class_hatch  # the name this module used before


# ------------------------------------------------------------------------------------ data
def assets_from_table(table: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    """assets.csv's rows (`lat`, `lon`, `type`, `status`) as points in `crs` (the tracts')."""
    points = gpd.GeoDataFrame(
        table.reset_index(drop=True),
        geometry=gpd.points_from_xy(pd.to_numeric(table["lon"]), pd.to_numeric(table["lat"])),
        crs=4326)
    return points.to_crs(crs)


def asset_styles(types: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(colour, matplotlib marker) per asset type, as the web map gives them (sorted types)."""
    return {t: (ASSET_COLOURS[i % len(ASSET_COLOURS)],
                SHAPE_MARKERS[ASSET_SHAPES[i % len(ASSET_SHAPES)]])
            for i, t in enumerate(sorted(set(map(str, types))))}


# --------------------------------------------------------------------------------- drawing
def polygon_paths(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> pd.Series | None:
    """The matplotlib path of each (Multi)Polygon of `frame` (index: `frame`'s), exactly as
    geopandas' ``plot()`` builds it (the normalised geometry's rings, each closed, in one
    compound path), from one pass over all coordinates instead of one patch per geometry.
    Missing and empty geometries get no path (they are not drawn). None when `frame` holds
    other geometry types or its index repeats a label: draw it with ``plot()`` then."""
    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if not geometry.index.is_unique:
        return None
    geoms = shapely.normalize(geometry.to_numpy())
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds = shapely.get_type_id(geoms[keep])
    if not np.isin(kinds, (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)).all():
        return None
    parts, part_of = shapely.get_parts(geoms[keep], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    sizes = shapely.get_num_coordinates(rings)
    rings, ring_of, sizes = rings[sizes > 0], ring_of[sizes > 0], sizes[sizes > 0]
    vertices = shapely.get_coordinates(rings)
    ring_ends = np.cumsum(sizes)
    ring_starts = ring_ends - sizes
    codes = np.full(len(vertices), MplPath.LINETO, dtype=MplPath.code_type)
    codes[ring_starts] = MplPath.MOVETO
    codes[ring_ends - 1] = MplPath.CLOSEPOLY  # as Path(closed=True): the last vertex closes
    geometry_of_ring = part_of[ring_of]
    ends = np.searchsorted(geometry_of_ring, np.arange(int(keep.sum())), side="right")
    ends = ring_ends[ends - 1] if len(ring_ends) else np.zeros(0, int)
    starts = np.concatenate(([0], ends[:-1])) if len(ends) else ends
    paths = [MplPath(vertices[a:b], codes[a:b]) for a, b in zip(starts, ends, strict=True)]
    return pd.Series(paths, index=geometry.index[keep], dtype=object)


def draw_polygons(ax: Axes, frame: gpd.GeoDataFrame, paths: pd.Series | None = None,
                  **style: Any) -> None:
    """`frame`'s polygons filled and outlined with `style` (matplotlib collection keywords:
    color, edgecolor, linewidth, hatch, alpha, zorder), drawn as geopandas' ``plot()`` draws
    them, byte for byte; `paths`: :func:`polygon_paths` of `frame` or of a frame it is a
    subset of (built once, drawn in many layers)."""
    if paths is None:
        paths = polygon_paths(frame)
    if paths is None:
        frame.plot(ax=ax, **style)
        return
    mine = paths.reindex(frame.index).dropna()
    if not len(mine):
        return
    style = dict(style)
    # Hatched: drawn by Agg in layers, the same pixels in a fraction of the time (hatching.py).
    kind = LayeredHatchCollection if style.get("hatch") else PathCollection
    collection = kind(list(mine), facecolor=style.pop("color", None), **style)
    ax.add_collection(collection, autolim=True)
    ax.autoscale_view()


def draw_classes(ax: Axes, tracts: gpd.GeoDataFrame, edge: str = "#555555",
                 linewidth: float = 0.15, alpha: float = 1.0,
                 paths: pd.Series | None = None) -> None:
    """Tracts filled by class colour, deserts hatched and low access dotted (`alpha` < 1 lets
    the asset markers on top stand out); `paths`: :func:`polygon_paths` of the tracts."""
    if paths is None:
        paths = polygon_paths(tracts)
    for cls in CLASSES:
        mine = tracts[tracts["desert_class"] == cls]
        if len(mine):
            draw_polygons(ax, mine, paths, color=CLASS_COLOURS[cls], edgecolor=edge,
                          linewidth=linewidth, hatch=class_hatch(cls), alpha=alpha)


def class_handles(counts: Mapping[str, int], classes: Sequence[str]) -> list[Patch]:
    """Legend entries of the classes: swatch (colour and pattern), name and tract count."""
    return [Patch(facecolor=CLASS_COLOURS[c], edgecolor="#555555", hatch=class_hatch(c),
                  label=_("{label} ({count})").format(label=_(CLASS_LABELS[c]),
                                                      count=number(counts[c])))
            for c in classes]


def draw_assets(ax: Axes, assets: gpd.GeoDataFrame, size: float = 14.0) -> list[Line2D]:
    """One marker per asset (colour and shape by type, as on the web map; closed ones hollow),
    each type a collection with gid ``assets:<type>``; returns the legend entries, one per type
    with its count, and one for closed assets if any."""
    if assets.empty:
        return []
    styles = asset_styles(assets["type"].astype(str))
    closed = (assets["status"].astype(str) == "closed").to_numpy() \
        if "status" in assets.columns else np.zeros(len(assets), bool)
    handles = []
    types = assets["type"].astype(str).to_numpy()
    x, y = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    for asset_type, (colour, marker) in styles.items():
        mine = types == asset_type
        # RGBA rows, not a colour name per marker (which matplotlib converts one by one).
        hollow = closed[mine][:, None]
        faces = np.where(hollow, to_rgba("none"), to_rgba(colour))
        edges = np.where(hollow, to_rgba(colour), to_rgba("black"))
        # Written into a PDF in runs, the bytes matplotlib writes (pdfmarkers.py).
        as_pdf_markers(ax.scatter(x[mine], y[mine], s=size, marker=marker, facecolors=faces,
                                  edgecolors=edges, linewidths=0.4, zorder=4,
                                  gid=f"assets:{asset_type}"))
        handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=8,
                              markerfacecolor=colour, markeredgecolor="black",
                              label=_("{label} ({count})").format(
                                  label=type_label(asset_type), count=number(int(mine.sum())))))
    if closed.any():
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=8,
                              markerfacecolor="none", markeredgecolor="#444444",
                              label=_("{label} ({count})").format(
                                  label=_(CLOSED_LABEL), count=number(int(closed.sum())))))
    return handles


def draw_places(ax: Axes, places: gpd.GeoDataFrame | None, fontsize: float = 8.0
                ) -> list[Line2D]:
    """Place context: outlines (lines, points as small dots) and their labels (column ``label``,
    on a white box); returns the legend entry. None or empty: nothing."""
    if places is None or places.empty:
        return []
    kinds = places.geometry.geom_type.to_numpy()
    areas = places[np.isin(kinds, ["Polygon", "MultiPolygon"])]
    lines = places[np.isin(kinds, ["LineString", "MultiLineString"])]
    points = places[np.isin(kinds, ["Point", "MultiPoint"])]
    if len(areas):
        areas.boundary.plot(ax=ax, color=OUTLINE_COLOUR, linewidth=1.1, zorder=3)
    if len(lines):
        lines.plot(ax=ax, color=OUTLINE_COLOUR, linewidth=1.1, zorder=3)
    if len(points):
        points.plot(ax=ax, color=OUTLINE_COLOUR, markersize=6, zorder=3)
    if "label" in places.columns:
        anchors = places.geometry.representative_point()
        # A white box, not a stroked halo: path effects turn text into outlines, which neither
        # a reader's search nor the privacy audit can read back.
        backing = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75,
                   "edgecolor": "none"}
        for label, point in zip(places["label"].astype(str), anchors, strict=True):
            if label.strip():
                ax.annotate(label.strip(), (point.x, point.y), fontsize=fontsize,
                            ha="center", va="center", zorder=6, bbox=backing,
                            annotation_clip=True)
    return [Line2D([], [], color=OUTLINE_COLOUR, linewidth=1.1,
                   label=_("County outline") if "county" in places.columns else _("Places"))]


def context_places(tracts: gpd.GeoDataFrame, id_col: str | None,
                   places: gpd.GeoDataFrame | None, shapes: MapShapes | None = None
                   ) -> gpd.GeoDataFrame | None:
    """The place context to draw: the user's places layer, else county outlines (unlabelled;
    `shapes`' when made beforehand)."""
    if places is not None:
        return places
    if shapes is not None and shapes.counties_made:
        return shapes.counties
    return county_outlines(tracts, id_col)


def stack_legends(fig: Figure, groups: Sequence[tuple[str, Sequence[Any]]], *, left: float,
                  top: float, fontsize: float, gap: float = 0.015) -> list[Legend]:
    """Figure legends, one per titled group of handles, stacked downwards from (`left`, `top`)
    in figure coordinates (each placed below the previous one's drawn box)."""
    legends: list[Legend] = []
    # Text metrics need a real renderer; the figure gets an Agg canvas only now, after its
    # layers are drawn (a Figure outside pyplot renders nothing per layer).
    renderer = FigureCanvasAgg(fig).get_renderer()
    for title, handles in groups:
        if not handles:
            continue
        legend = fig.legend(handles=list(handles), loc="upper left", bbox_to_anchor=(left, top),
                            bbox_transform=fig.transFigure, frameon=True, fontsize=fontsize,
                            title=title, title_fontsize=fontsize + 1, alignment="left",
                            borderaxespad=0.0)
        box = legend.get_window_extent(renderer).transformed(fig.transFigure.inverted())
        top = box.y0 - gap
        legends.append(legend)
    return legends


# ---------------------------------------------------------------------------------- figure
def classification_figure(tracts: gpd.GeoDataFrame, *, title: str, sources: Sequence[str],
                          credit: str, definitions: Mapping[str, str], assessed: bool = True,
                          assets: gpd.GeoDataFrame | None = None, id_col: str | None = None,
                          places: gpd.GeoDataFrame | None = None,
                          shapes: MapShapes | None = None) -> Figure:
    """The static map on a US Letter page: tract classes (deserts hatched, low access dotted),
    the assets on top (one marker per asset, shape and colour by type), place context (the
    user's `places` with labels, else county outlines from the `id_col` GEOIDs), and under the
    map frame the legends (assets, tract classes with counts, places), class definitions,
    sources and credit.

    `assets`: as assets.csv lists them, in the tracts' CRS (:func:`assets_from_table`);
    `shapes`: the county outlines made beforehand (:mod:`aiddeserts.maps.shapes`);
    `definitions`: the class definitions naming the region's distances; `assessed`: whether
    need was assessed (if not, the figure says so and how to add it, and lists no desert class).
    """
    with print_style():
        # A Figure outside pyplot: geopandas' plot() calls canvas.draw_idle() after each layer,
        # a full Agg render on a pyplot figure but a no-op here (savefig renders once per format).
        fig = Figure(figsize=(8.5, 11), dpi=150)
        ax = fig.add_axes((0.03, 0.40, 0.94, 0.53))
        draw_classes(ax, tracts, alpha=0.6 if assets is not None and len(assets) else 1.0)
        place_handles = draw_places(ax, context_places(tracts, id_col, places, shapes))
        asset_handles = draw_assets(ax, assets) if assets is not None else []
        minx, miny, maxx, maxy = tracts.total_bounds
        pad = 0.01 * max(maxx - minx, maxy - miny)
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect("equal", adjustable="box", anchor="N")
        ax.set_axis_off()
        fig.text(0.03, 0.965, title, fontsize=15, ha="left", va="center")
        shown = shown_classes(assessed)
        counts = class_counts(tracts)
        stack_legends(fig, [(_("Mutual aid assets (number)"), asset_handles),
                            (_("Place context"), place_handles)],
                      left=0.03, top=0.385, fontsize=8)
        stack_legends(fig, [(_("Census tracts (number)"), class_handles(counts, shown))],
                      left=0.50, top=0.385, fontsize=8)
        defined = "\n".join(textwrap.fill(f"{_(CLASS_LABELS[c])}: {_(definitions[c])}", 150)
                            for c in shown)
        if not assessed:
            defined = textwrap.fill(_(NEED_NOT_ASSESSED), 150) + "\n" + defined
        tail = textwrap.fill(_("Sources: ") + "; ".join(sources), 140)
        if credit:
            tail += "\n" + textwrap.fill(_("Made by {credit}").format(credit=credit), 140)
        footer = (defined + "\n\n" + _("Asset counts are a floor: informal mutual aid is often "
                                       "unlisted.") + "\n" + tail)
        fig.text(0.03, 0.015, footer, fontsize=6.5, va="bottom", ha="left")
    return fig


def save_figure(fig: Figure, out_png: str | Path, out_pdf: str | Path) -> None:
    """Write PNG and PDF byte-for-byte reproducibly (no dates or versions in the metadata)."""
    with print_style():
        with atomic_path(out_png, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
        with atomic_path(out_pdf, suffix=".pdf") as tmp:
            fig.savefig(tmp, format="pdf", metadata=PDF_METADATA)
