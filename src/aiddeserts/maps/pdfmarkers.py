"""Markers written into a PDF as matplotlib writes them, byte for byte, in a fraction of the
time.

matplotlib's PDF backend writes a scatter's markers one at a time: for each it sets up a
graphics context, compares it with the page's current one and writes the marker's move
(``1 0 0 1 dx dy cm /P0 Do``), about 100 µs per marker in Python: 10 s for a metro's 100,000
assets. :class:`PdfMarkerCollection` writes the same bytes in runs:

* consecutive markers with the same colours, width, dashes, antialiasing, URL and hatch colour
  form a run. matplotlib's own graphics-context code (``_iter_collection``, ``check_gc``) runs
  for each run's first marker, so the state commands are the ones it writes;
* a run's first marker on the page is written as matplotlib writes it. When ``check_gc`` then
  writes nothing for its second, the state is settled: the rest of the run is only moves,
  formatted as ``pdfRepr`` formats numbers and written at once (else it is written marker by
  marker, as matplotlib does);
* any collection matplotlib does not write as one shared marker per path (the XObject path of
  ``draw_path_collection``), any other renderer and any other matplotlib version than the one
  this mirrors is drawn by matplotlib itself.

Equal bytes are tested against matplotlib's own output (tests/test_pdfmarkers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MethodType
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_pdf import Op, RendererPdf, _fill, pdfRepr
from matplotlib.collections import PathCollection
from matplotlib.transforms import IdentityTransform

#: The matplotlib versions whose ``RendererPdf.draw_path_collection`` this mirrors.
MIRRORED_VERSIONS = ("3.11",)
#: A content line of ``_fill`` holds fewer characters than this.
_LINE_LENGTH = 75


def mirrors_matplotlib() -> bool:
    """Whether the installed matplotlib is one whose PDF marker code this module mirrors."""
    return ".".join(matplotlib.__version__.split(".")[:2]) in MIRRORED_VERSIONS


class PdfMarkerCollection(PathCollection):
    """A :class:`~matplotlib.collections.PathCollection` whose markers the PDF backend writes
    in runs (see the module's docstring); its bytes are matplotlib's. Other renderers draw it
    as a PathCollection."""

    def draw(self, renderer: RendererBase) -> None:
        target = renderer._renderer if isinstance(renderer, MixedModeRenderer) else renderer
        if not isinstance(target, RendererPdf) or not mirrors_matplotlib():
            super().draw(renderer)
            return
        target.draw_path_collection = MethodType(draw_marker_runs, target)
        try:
            super().draw(renderer)
        finally:
            del target.draw_path_collection


def as_pdf_markers(collection: PathCollection) -> PdfMarkerCollection:
    """`collection` (one from ``Axes.scatter``) as a :class:`PdfMarkerCollection`: the same
    object, drawn the same, written into a PDF in runs."""
    collection.__class__ = PdfMarkerCollection
    return collection  # type: ignore[return-value]


def _pdf_number(values: np.ndarray) -> list[bytes]:
    """Each float as ``pdfRepr`` writes it (``%.10f``, trailing zeros and point removed)."""
    return [(b"%.10f" % value).rstrip(b"0").rstrip(b".") for value in values.tolist()]


def _same_as_previous(values: Any, items: np.ndarray) -> np.ndarray:
    """For each of `items` (indices into the cycled sequence `values`) after the first, whether
    its value is certainly the previous item's (False when unsure: a run is then cut, which is
    always exact)."""
    count = len(values)
    if count <= 1:
        return np.ones(max(len(items) - 1, 0), bool)
    positions = items % count
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        picked = values[positions].reshape(len(positions), -1)
        return (picked[1:] == picked[:-1]).all(axis=1)
    same = np.zeros(max(len(items) - 1, 0), bool)
    for k in range(1, len(positions)):
        this, previous = values[positions[k]], values[positions[k - 1]]
        try:
            same[k - 1] = this is previous or bool(this == previous)
        except (ValueError, TypeError):
            same[k - 1] = False
    return same


def _cycled(values: Any, items: np.ndarray) -> Any:
    """`values` (a sequence cycled over the collection's items) at `items`; empty stays empty."""
    if not len(values):
        return values
    positions = items % len(values)
    if isinstance(values, np.ndarray):
        return values[positions]
    return [values[i] for i in positions.tolist()]


def draw_marker_runs(self: RendererPdf, gc: Any, master_transform: Any, paths: Sequence[Any],
                     all_transforms: Any, offsets: Any, offset_trans: Any, facecolors: Any,
                     edgecolors: Any, linewidths: Any, linestyles: Any, antialiaseds: Any,
                     urls: Any, offset_position: Any, *, hatchcolors: Any = None) -> None:
    """``RendererPdf.draw_path_collection`` (matplotlib 3.11), its per-marker loop written in
    runs; every collection it would not write as shared markers goes to matplotlib's own."""
    original = (gc, master_transform, paths, all_transforms, offsets, offset_trans, facecolors,
                edgecolors, linewidths, linestyles, antialiaseds, urls, offset_position)
    # From here to the loop: matplotlib's code, unchanged.
    can_do_optimization = True
    facecolors = np.asarray(facecolors)
    edgecolors = np.asarray(edgecolors)
    if hatchcolors is None:
        hatchcolors = []
    if not len(facecolors):
        filled = False
        can_do_optimization = not gc.get_hatch()
    else:
        if np.all(facecolors[:, 3] == facecolors[0, 3]):
            filled = facecolors[0, 3] != 0.0
        else:
            can_do_optimization = False
    if not len(edgecolors):
        stroked = False
    else:
        if np.all(np.asarray(linewidths) == 0.0):
            stroked = False
        elif np.all(edgecolors[:, 3] == edgecolors[0, 3]):
            stroked = edgecolors[0, 3] != 0.0
        else:
            can_do_optimization = False
    len_path = len(paths[0].vertices) if len(paths) > 0 else 0
    uses_per_path = self._iter_collection_uses_per_path(
        paths, all_transforms, offsets, facecolors, edgecolors)
    should_do_optimization = len_path + uses_per_path + 5 < len_path * uses_per_path
    offsets_array = np.asarray(offsets)
    if (not can_do_optimization or not should_do_optimization or not len(offsets_array)
            or not (len(facecolors) or len(edgecolors) or len(hatchcolors))):
        RendererPdf.draw_path_collection(self, *original, hatchcolors=hatchcolors)
        return
    padding = np.max(linewidths)
    path_codes = []
    path_extents = []
    for path, transform in self._iter_collection_raw_paths(master_transform, paths,
                                                           all_transforms):
        path_codes.append(self.file.pathCollectionObject(gc, path, transform, padding, filled,
                                                         stroked))
        path_extents.append(path.get_extents(transform).frozen())
    output = self.file.output
    output(*self.gc.push())
    _write_marker_runs(self, gc, path_codes, path_extents, offsets_array, offset_trans,
                       facecolors, edgecolors, linewidths, linestyles, antialiaseds, urls,
                       offset_position, hatchcolors)
    output(*self.gc.pop())


def _write_marker_runs(self: RendererPdf, gc: Any, path_codes: list[Any],
                       path_extents: list[Any], offsets: np.ndarray, offset_trans: Any,
                       facecolors: np.ndarray, edgecolors: np.ndarray, linewidths: Any,
                       linestyles: Any, antialiaseds: Any, urls: Any, offset_position: Any,
                       hatchcolors: Any) -> None:
    """The markers' moves and state changes, as matplotlib's loop writes them, in runs."""
    shifted = offset_trans.transform(offsets)
    items = np.arange(max(len(path_codes), len(shifted)))
    at = shifted[items % len(shifted)]
    finite = np.isfinite(at).all(axis=1)  # matplotlib skips the others before any state
    items, at = items[finite], at[finite]
    same = np.ones(max(len(items) - 1, 0), bool)
    for values in (facecolors, edgecolors, hatchcolors, linewidths, linestyles, antialiaseds,
                   urls):
        same &= _same_as_previous(values, items)
    starts = np.flatnonzero(np.concatenate(([True], ~same))) if len(items) else items
    ends = np.append(starts[1:], len(items))
    # matplotlib's own graphics-context code, over each run's first marker only.
    firsts = items[starts]
    contexts = self._iter_collection(
        gc, _cycled(path_codes, firsts), at[starts], IdentityTransform(),
        _cycled(facecolors, firsts), _cycled(edgecolors, firsts), _cycled(linewidths, firsts),
        _cycled(linestyles, firsts), _cycled(antialiaseds, firsts), _cycled(urls, firsts),
        offset_position, hatchcolors=_cycled(hatchcolors, firsts))
    extents = np.array([[e.x0, e.y0, e.x1, e.y1] for e in path_extents])
    width, height = self.file.width * 72, self.file.height * 72
    last = (0, 0)
    for start, end, (_x, _y, _path_id, context, face) in zip(starts, ends, contexts,
                                                             strict=True):
        run = items[start:end]
        xs, ys = at[start:end, 0], at[start:end, 1]
        codes = run % len(path_codes)
        box = extents[codes]
        # Markers entirely off the page are left out, as matplotlib leaves them out.
        shown = ~((box[:, 2] + xs < 0) | (box[:, 0] + xs > width)
                  | (box[:, 3] + ys < 0) | (box[:, 1] + ys > height))
        xs, ys, codes = xs[shown], ys[shown], codes[shown]
        for k in range(len(xs)):
            written = _check_gc(self, context, face)
            if k == 1 and not written:  # settled: this marker and the rest of the run only move
                last = _write_moves(self, xs[k:], ys[k:], codes[k:], path_codes, last)
                break
            last = _write_move(self, xs[k], ys[k], path_codes[codes[k]], last)


def _write_move(self: RendererPdf, x: Any, y: Any, path_code: Any, last: tuple[Any, Any]
                ) -> tuple[Any, Any]:
    """One marker's move from `last` to `x`, `y`, as matplotlib's loop writes it; returns the
    marker's position."""
    self.file.output(1, 0, 0, 1, x - last[0], y - last[1], Op.concat_matrix, path_code,
                     Op.use_xobject)
    return x, y


def _check_gc(self: RendererPdf, context: Any, face: Any) -> bool:
    """matplotlib's ``check_gc``; whether it wrote a state change."""
    file = self.file
    writes: list[None] = []
    output = file.output

    def counted(*data: Any) -> None:
        writes.append(None)
        output(*data)

    file.output = counted
    try:
        self.check_gc(context, face)
    finally:
        del file.output
    return bool(writes)


def _write_moves(self: RendererPdf, xs: np.ndarray, ys: np.ndarray, codes: np.ndarray,
                 path_codes: list[Any], last: tuple[Any, Any]) -> tuple[Any, Any]:
    """The moves to markers `xs`, `ys` (paths `codes`) from `last`, as ``output`` writes each
    one, in one write; returns the last marker's position."""
    dx = np.diff(xs, prepend=last[0])
    dy = np.diff(ys, prepend=last[1])
    if not (np.isfinite(dx).all() and np.isfinite(dy).all()):
        for x, y, code in zip(xs, ys, codes, strict=True):  # pdfRepr's error, as matplotlib's
            last = _write_move(self, x, y, path_codes[code], last)
        return last
    head = b" ".join([pdfRepr(1), pdfRepr(0), pdfRepr(0), pdfRepr(1)]) + b" "
    tails = [b" " + pdfRepr(Op.concat_matrix) + b" " + name + b" "
             + pdfRepr(Op.use_xobject) for name in map(pdfRepr, path_codes)]
    lines = []
    for x, y, code in zip(_pdf_number(dx), _pdf_number(dy), codes.tolist(), strict=True):
        line = head + x + b" " + y + tails[code]
        if len(line) >= _LINE_LENGTH:
            line = _fill([*head.split(), x, y, *tails[code].split()])
        lines.append(line)
    self.file.write(b"\n".join(lines) + b"\n")
    return xs[-1], ys[-1]
