"""Hatched polygons drawn in layers (aiddeserts.maps.hatching) give the bytes matplotlib's own
PathCollection gives, on Agg (PNG) and in the rasterised part of a PDF, for NYC's real tracts and
for shapes chosen to break it: overlapping discs, pixel-aligned squares Agg snaps, thick mitred
outlines, transparency and several dpis."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

from aiddeserts.maps.figure import PDF_METADATA, polygon_paths, print_style
from aiddeserts.maps.hatching import LayeredHatchCollection, hatch_layers, snappable

NYC = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"


@pytest.fixture(scope="module")
def nyc_tracts() -> gpd.GeoDataFrame:
    tracts = gpd.read_file(NYC / "nyc_tracts_2010.gpkg")
    tracts = tracts[tracts["borough_name"].isin(["Staten Island", "Manhattan", "Bronx"])]
    return tracts.to_crs("EPSG:32618").reset_index(drop=True)


def _shapes(name: str, nyc: gpd.GeoDataFrame) -> gpd.GeoSeries:
    rng = np.random.default_rng(7)
    if name == "nyc":  # every other tract, a partition with shared edges
        return nyc.geometry.iloc[::2]
    if name == "discs":  # overlapping discs with holes, in random order
        centres = rng.uniform(0, 1000, (300, 2))
        discs = shapely.buffer(shapely.points(centres), rng.uniform(10, 60, 300))
        holes = shapely.buffer(shapely.points(centres), 5)
        return gpd.GeoSeries(shapely.difference(discs, holes))
    if name == "squares":  # a grid of axis-aligned squares (Agg snaps them), some rotated
        squares = [shapely.box(x * 10, y * 10, x * 10 + 10, y * 10 + 10)
                   for x in range(20) for y in range(20)]
        return gpd.GeoSeries([shapely.affinity.rotate(s, 30) if k % 7 == 0 else s
                              for k, s in enumerate(squares)])
    raise ValueError(name)


def _figure(shapes: gpd.GeoSeries, kind: type, style: dict, dpi: int,
            rasterized: bool) -> Figure:
    fig = Figure(figsize=(4, 4), dpi=dpi)
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    paths = polygon_paths(shapes)
    ax.add_collection(kind(list(paths), **style), autolim=True)
    ax.autoscale_view()
    ax.set_aspect("equal", adjustable="box", anchor="C")
    ax.set_axis_off()
    if rasterized:
        ax.set_rasterization_zorder(5)
    return fig


STYLES = {
    "dots": {"facecolor": "#D55E00", "edgecolor": "#555555", "linewidth": 0.15, "hatch": "..",
             "alpha": 0.6},
    "lines": {"facecolor": "#F0E442", "edgecolor": "#222222", "linewidth": 0.6, "hatch": "////"},
    "thick-mitre": {"facecolor": "#CCCCCC", "edgecolor": "#000000", "linewidth": 3.0,
                    "hatch": "xx", "joinstyle": "miter", "zorder": 1},
}


@pytest.mark.parametrize("shape", ["nyc", "discs", "squares"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_layered_hatch_gives_pathcollections_pixels(nyc_tracts, shape, style):
    shapes = _shapes(shape, nyc_tracts)
    for dpi in (72, 150, 200):
        with print_style():
            images = []
            for kind in (PathCollection, LayeredHatchCollection):
                canvas = FigureCanvasAgg(_figure(shapes, kind, STYLES[style], dpi, False))
                canvas.draw()
                images.append(bytes(canvas.buffer_rgba()))
        assert images[0] == images[1], (shape, style, dpi)


@pytest.mark.parametrize("shape", ["nyc", "discs"])
def test_layered_hatch_in_a_pdfs_rasterised_map_gives_the_same_file(nyc_tracts, shape):
    shapes = _shapes(shape, nyc_tracts)
    files = []
    with print_style():
        for kind in (PathCollection, LayeredHatchCollection):
            out = io.BytesIO()
            _figure(shapes, kind, STYLES["dots"], 100, True).savefig(
                out, format="pdf", dpi=200, metadata=PDF_METADATA)
            files.append(out.getvalue())
    assert files[0] == files[1]


def test_layers_merge_many_paths_and_keep_snapped_ones_whole(nyc_tracts):
    for shape, fewer_than in (("nyc", 0.5), ("discs", 0.5)):
        shapes = _shapes(shape, nyc_tracts)
        fig = _figure(shapes, LayeredHatchCollection, STYLES["dots"], 150, False)
        canvas = FigureCanvasAgg(fig)
        collection = fig.axes[0].collections[0]
        drawn = collection.layered_paths(canvas.get_renderer())
        assert drawn is not None and len(drawn) < fewer_than * len(shapes), shape
        # Every vertex is drawn once.
        assert sum(len(p.vertices) for p in drawn) == sum(
            len(p.vertices) for p in collection.get_paths())
    fig = _figure(_shapes("squares", nyc_tracts), LayeredHatchCollection, STYLES["dots"], 150,
                  False)
    collection = fig.axes[0].collections[0]
    drawn = collection.layered_paths(FigureCanvasAgg(fig).get_renderer())
    drawn_whole = {id(p) for p in drawn}
    squares = [p for k, p in enumerate(collection.get_paths()) if k % 7]
    # The 342 unrotated squares (of 400) are drawn one by one, the rotated ones merged.
    assert all(id(p) in drawn_whole for p in squares) and len(drawn) < 400
    # Not hatched, or not Agg: drawn as PathCollection draws it.
    plain = dict(STYLES["dots"], hatch=None)
    fig = _figure(_shapes("nyc", nyc_tracts), LayeredHatchCollection, plain, 150, False)
    assert fig.axes[0].collections[0].layered_paths(FigureCanvasAgg(fig).get_renderer()) is None


def test_snappable_follows_aggs_rule():
    square = MplPath([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)], [1, 2, 2, 2, 79])
    tilted = MplPath([(0, 0), (10, 1), (10, 10), (0, 10), (0, 0)], [1, 2, 2, 2, 79])
    # A jump between rings (MOVETO) is not a segment.
    two = MplPath([(0, 0), (1, 0), (1, 1), (0, 0), (5, 7), (6, 7), (6, 8), (5, 7)],
                  [1, 2, 2, 79, 1, 2, 2, 79])
    stairs = np.repeat(np.arange(600.0), 2)
    long = MplPath(np.column_stack([stairs[1:], stairs[:-1]]),
                   np.r_[1, np.full(len(stairs) - 2, 2)])  # over 1,024 vertices
    # Several paths at once, each judged on its own.
    paths = [square, tilted, two, long, square]
    starts = np.cumsum([0] + [len(p.vertices) for p in paths[:-1]])
    got = snappable(np.concatenate([p.vertices for p in paths]),
                    np.concatenate([p.codes for p in paths]), starts)
    assert got.tolist() == [True, False, True, False, True]


def test_hatch_layers_known_answer():
    # A and B overlap, C touches B's grown box, D is far away, E overlaps A and C.
    boxes = np.array([[0, 0, 10, 10], [8, 0, 20, 10], [22.5, 0, 30, 10], [100, 100, 110, 110],
                      [5, 5, 25, 8]], dtype=float)
    assert hatch_layers(boxes, reach=1.0).tolist() == [0, 1, 2, 0, 3]
    # Far enough apart for no shared pixel: one layer.
    assert hatch_layers(boxes[[0, 3]], reach=1.0).tolist() == [0, 0]
