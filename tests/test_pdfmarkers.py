"""Markers written into a PDF in runs (aiddeserts.maps.pdfmarkers) give the bytes matplotlib's
own PathCollection gives: for the figure's asset markers on NYC's real assets, and for
collections chosen to break it (hollow and filled markers interleaved, markers off the page or
at NaN, per-marker sizes, widths and dashes, hatches, transparency, a few markers, a rasterised
part, several pages)."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_pdf import FigureCanvasPdf, Op, PdfPages, RendererPdf
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from aiddeserts.maps import pdfmarkers
from aiddeserts.maps.figure import PDF_METADATA, draw_assets
from aiddeserts.maps.pdfmarkers import PdfMarkerCollection, as_pdf_markers, mirrors_matplotlib

NYC = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"
rng = np.random.default_rng(11)
N = 3000
X, Y = rng.uniform(0, 100, N), rng.uniform(0, 100, N)
HOLLOW = rng.random(N) < 0.3


def _case(name: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Keywords for ``Axes.scatter`` and the points of one case."""
    x, y = X.copy(), Y.copy()
    rng = np.random.default_rng(5)  # the same draws for both figures of a case
    if name == "one style":  # as draw_assets gives it: a colour per marker, all the same
        return {"facecolors": ["#1b9e77"] * N, "edgecolors": ["black"] * N,
                "linewidths": 0.4}, x, y
    if name == "one colour":  # matplotlib draws these with draw_markers, not a collection
        return {"c": "#1b9e77", "edgecolors": "black", "linewidths": 0.4}, x, y
    if name == "hollow interleaved":  # closed assets: matplotlib writes each one in-line
        return {"facecolors": np.where(HOLLOW, "none", "#d95f02").tolist(),
                "edgecolors": ["#d95f02" if h else "black" for h in HOLLOW],
                "linewidths": 0.4}, x, y
    if name == "colours in runs":  # several colours, in runs of 1 to 40 markers
        runs = np.repeat(rng.integers(0, 3, N), rng.integers(1, 40, N))[:N]
        faces = np.array(["#1b9e77", "#d95f02", "#7570b3"])[runs]
        edges = np.array(["black", "black", "#444444"])[runs]
        return {"facecolors": faces.tolist(), "edgecolors": edges.tolist(),
                "linewidths": 0.4}, x, y
    if name == "off page and NaN":
        x[::7] += 1e4  # off the page, among them runs' first markers
        y[::11] = np.nan
        x[:3] = -1e4
        runs = np.repeat(rng.integers(0, 2, N), rng.integers(1, 9, N))[:N]
        return {"facecolors": np.where(runs, "blue", "red").tolist(),
                "edgecolors": "blue"}, x, y
    if name == "sizes":  # a marker path per size: matplotlib writes each one in-line
        return {"s": rng.choice([4.0, 9.0, 16.0], N), "c": "green", "marker": "^"}, x, y
    if name == "widths and dashes":
        return {"linewidths": np.where(HOLLOW, 0.4, 1.2), "linestyles": "--",
                "facecolors": ["yellow"] * N, "edgecolors": "black"}, x, y
    if name == "hatch":
        return {"hatch": "//", "facecolors": ["white"] * N, "edgecolors": "black",
                "s": 80}, x, y
    if name == "varying alpha":  # matplotlib writes each marker in-line
        return {"facecolors": [(0.5, 0.1, 0.9, a) for a in rng.uniform(0.2, 1, N)]}, x, y
    if name == "colour map":  # a colour per marker: runs of one
        return {"c": rng.uniform(0, 1, N), "cmap": "viridis"}, x, y
    if name == "few":  # one marker: not worth sharing, in-line
        return {"facecolors": ["black"]}, x[:1], y[:1]
    if name == "huge markers far away":  # moves too long for one line of 75 characters
        return {"s": 1e56, "facecolors": ["red"] * 12}, np.r_[[3e26, -3e26], x[:10]], \
            np.r_[[50.0, 2e26], y[:10]]
    raise ValueError(name)


#: Each case, and whether matplotlib writes it as one shared marker (then in runs here).
CASES = {"one style": True, "one colour": False, "hollow interleaved": False,
         "colours in runs": True, "off page and NaN": True, "sizes": False,
         "widths and dashes": True, "hatch": True, "varying alpha": False, "colour map": True,
         "few": False, "huge markers far away": True}


def _figure(name: str, fast: bool, rasterized: bool = False) -> Figure:
    keywords, x, y = _case(name)
    fig = Figure(figsize=(5, 4))
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
    collection = ax.scatter(x, y, rasterized=rasterized, **keywords)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    if fast:
        as_pdf_markers(collection)
    return fig


def _pdf(fig: Figure) -> bytes:
    out = io.BytesIO()
    FigureCanvasPdf(fig).print_pdf(out, metadata=PDF_METADATA)
    return out.getvalue()


def _spy_on_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the markers written in bulk (0 if the runs code was not used)."""
    bulk: list[int] = []
    write_moves = pdfmarkers._write_moves

    def counted(self, xs, *args):  # type: ignore[no-untyped-def]
        bulk.append(len(xs))
        return write_moves(self, xs, *args)

    monkeypatch.setattr(pdfmarkers, "_write_moves", counted)
    return bulk


pytestmark = pytest.mark.skipif(not mirrors_matplotlib(),
                                reason="this matplotlib is drawn by matplotlib itself")


def _content(pdf: bytes) -> bytes:
    """The PDF's compressed streams, decompressed and joined."""
    return b"".join(zlib.decompress(part.split(b"stream\n", 1)[1].rsplit(b"endstream", 1)[0])
                    for part in pdf.split(b"endobj")
                    if b"/FlateDecode" in part and b"stream\n" in part)


@pytest.mark.parametrize("name", CASES)
def test_same_bytes_as_matplotlib(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _pdf(_figure(name, fast=False))
    bulk = _spy_on_runs(monkeypatch)
    assert _pdf(_figure(name, fast=True)) == expected
    markers = len(_case(name)[1])
    if not CASES[name]:  # matplotlib's own code, untouched
        assert not bulk
    elif name == "colour map":  # runs of one marker are written one by one
        assert sum(bulk) < markers / 10
    else:
        assert sum(bulk) > markers / 2
    if name == "huge markers far away":
        assert b" /P0\nDo\n" in _content(expected)  # a move broken over two lines


def test_a_state_that_never_settles_is_written_marker_by_marker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``check_gc`` writes for every marker (here patched to, as a state that never
    compares equal to itself would), every marker's state is written, as matplotlib does."""
    check_gc = RendererPdf.check_gc

    def restless(self, gc, fillcolor=None):  # type: ignore[no-untyped-def]
        check_gc(self, gc, fillcolor)
        self.file.output(0.5, Op.setlinewidth)

    monkeypatch.setattr(RendererPdf, "check_gc", restless)
    expected = _pdf(_figure("one style", fast=False))
    assert _content(expected).count(b"0.5 w\n") >= N
    assert _pdf(_figure("one style", fast=True)) == expected


def test_rasterised_and_other_renderers_draw_as_matplotlib(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rasterised part of a PDF and a PNG are Agg's: drawn by matplotlib, the same bytes."""
    out = {}
    for fast in (False, True):
        bulk = _spy_on_runs(monkeypatch) if fast else []
        fig = _figure("one style", fast=fast, rasterized=True)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=50)
        out[fast] = (png.getvalue(), _pdf(fig), bulk)
    assert out[True][:2] == out[False][:2]
    assert not out[True][2]


def test_several_pages_and_collections() -> None:
    """Markers in runs and matplotlib's own on the pages of one file, as the posters are."""
    pages = {}
    for fast in (False, True):
        out = io.BytesIO()
        with PdfPages(out, metadata=PDF_METADATA) as pdf:
            for name in ("hollow interleaved", "sizes", "one style"):
                pdf.savefig(_figure(name, fast=fast))
        pages[fast] = out.getvalue()
    assert pages[True] == pages[False]


@pytest.mark.parametrize("closed_every", [0, 5])
def test_nyc_asset_markers(closed_every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The figure's own markers on NYC's real assets, all open or one in five closed (hollow:
    matplotlib then writes each marker in-line)."""
    fridges = pd.read_csv(NYC / "community_fridges.csv")
    pantries = gpd.read_file(NYC / "food_pantries.geojson").to_crs(4326)
    points = np.concatenate([gpd.points_from_xy(fridges["lon"], fridges["lat"]),
                             pantries.geometry.to_numpy()])
    kinds = ["community_fridge"] * len(fridges) + ["food_pantry"] * len(pantries)
    order = np.random.default_rng(3).permutation(len(points))  # the two types interleaved
    assets = gpd.GeoDataFrame(
        {"type": np.asarray(kinds)[order],
         "status": np.where((np.arange(len(points)) % max(closed_every, 1) == 0)
                            & (closed_every > 0), "closed", "open")},
        geometry=points[order], crs=4326).to_crs(32618)

    def figure(fast: bool) -> Figure:
        fig = Figure(figsize=(6, 6))
        ax = fig.add_axes((0, 0, 1, 1))
        draw_assets(ax, assets)
        if not fast:  # draw_assets gives PdfMarkerCollections: back to matplotlib's own
            for collection in ax.collections:
                collection.__class__ = PathCollection
        assert all(isinstance(c, PdfMarkerCollection) == fast for c in ax.collections)
        return fig

    expected = _pdf(figure(fast=False))
    bulk = _spy_on_runs(monkeypatch)
    assert _pdf(figure(fast=True)) == expected
    if closed_every:
        assert not bulk
    else:  # the page really holds the markers: one move per asset
        assert sum(bulk) > len(assets) * 0.9
        assert _content(expected).count(b" cm /P") == len(assets)
