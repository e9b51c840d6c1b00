"""Hatched polygons for Agg, drawn pixel for pixel as matplotlib draws them, in a fraction of
the time.

For every path of a collection, Agg renders the hatch pattern into a tile as large as the dpi
(150 × 150 pixels at 150 dpi) before it fills the path with that tile: on NYC, 973 dotted
low-access tracts cost 973 tile renders, about 1 s per map. :class:`LayeredHatchCollection`
draws the same paths in a few compound paths ("layers") instead, one tile each. The pixels do
not change:

* Agg fills, hatches and outlines each path in turn, so where two paths touch the same pixel
  their order decides it. A path is put one layer above the highest layer of any earlier path
  whose pixels it may share (:func:`hatch_layers`), and the layers are drawn in order: paths
  that may share a pixel keep their order, and the paths of one layer share none.
* Two paths may share a pixel when their display-space boxes, each grown by its outline's reach
  and one pixel of anti-aliasing, are not at least a pixel apart: a test that can only err
  towards keeping paths apart.
* The hatch is anchored to the canvas, not to a path, and the fill and outline of paths that
  share no pixel do not interact, so one compound path gives each of its pixels the value the
  paths drawn one by one would.
* Agg snaps a path to the pixel grid when it has at most 1,024 vertices and only horizontal or
  vertical segments; such a path is never merged, so snapping is decided as before.

Anything else (several colours or widths, dashes, offsets, explicit snapping, sketch, path
effects, units, another renderer such as the PDF backend's vector output) is drawn exactly as
:class:`~matplotlib.collections.PathCollection` draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.collections import PathCollection
from matplotlib.path import Path as MplPath

#: Agg's snapping limit (PathSnapper's ``should_snap``): a path with more vertices never snaps.
SNAP_VERTEX_LIMIT = 1024


def snappable(vertices: np.ndarray, codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Whether Agg's automatic snapping could snap each path of `vertices` and `codes` (display
    coordinates, the paths one after another, each non-empty, starting at `starts`): at most
    1,024 vertices and no line segment that is neither horizontal nor vertical."""
    sizes = np.diff(np.append(starts, len(vertices)))
    first = np.zeros(len(vertices), bool)
    first[starts] = True
    step = np.abs(np.diff(vertices, axis=0, prepend=vertices[:1]))
    # Agg's should_snap reads a path's first vertex unchecked, then every LINETO's segment.
    diagonal = (codes == MplPath.LINETO) & ~first & (step[:, 0] >= 1e-4) & (step[:, 1] >= 1e-4)
    curved = ~np.isin(codes, (MplPath.MOVETO, MplPath.LINETO, MplPath.CLOSEPOLY))
    return ((sizes <= SNAP_VERTEX_LIMIT) & (np.add.reduceat(diagonal, starts) == 0)
            & (np.add.reduceat(curved, starts) == 0))


def hatch_layers(boxes: np.ndarray, reach: float) -> np.ndarray:
    """The layer of each path: 0, or one above the highest layer of any earlier path whose box
    (`boxes`: rows of xmin, ymin, xmax, ymax in pixels) comes within `reach` + 1 pixels of its
    own, so that paths that may share a pixel are drawn in their order."""
    grown = shapely.box(boxes[:, 0] - reach, boxes[:, 1] - reach,
                        boxes[:, 2] + reach, boxes[:, 3] + reach)
    later, earlier = shapely.STRtree(grown).query(grown, predicate="dwithin", distance=1.0)
    keep = earlier < later
    later, earlier = later[keep], earlier[keep]
    order = np.lexsort((earlier, later))
    later, earlier = later[order], earlier[order]
    bounds = np.searchsorted(later, np.arange(len(boxes) + 1))
    layers = np.zeros(len(boxes), dtype=np.int64)
    for path in np.flatnonzero(np.diff(bounds)):
        layers[path] = layers[earlier[bounds[path]:bounds[path + 1]]].max() + 1
    return layers


class LayeredHatchCollection(PathCollection):
    """A hatched :class:`~matplotlib.collections.PathCollection` that Agg draws in layers of
    paths sharing no pixel (see the module's docstring); its image is the same, byte for byte."""

    def draw(self, renderer: RendererBase) -> None:
        layered = self.layered_paths(renderer)
        if layered is None:
            super().draw(renderer)
            return
        paths = self._paths
        self._paths = layered
        try:
            super().draw(renderer)
        finally:
            self._paths = paths

    def layered_paths(self, renderer: RendererBase) -> list[MplPath] | None:
        """The paths merged by layer, or None when this collection must be drawn as it is."""
        # A MixedModeRenderer (the PDF backend's rasterised parts) draws with its current one.
        target = renderer._renderer if isinstance(renderer, MixedModeRenderer) else renderer
        paths = self.get_paths()
        # Per-path hatch colours (matplotlib >= 3.10); one colour, or none before.
        hatch_colours = [self.get_hatchcolor()] if hasattr(self, "get_hatchcolor") else []
        if (not isinstance(target, RendererAgg) or not self.get_hatch() or len(paths) < 2
                or not self.get_visible() or self.have_units()
                or len(self.get_transforms()) or self.get_snap() is not None
                or self.get_sketch_params() is not None or self.get_path_effects()
                or any(len(np.unique(np.asarray(values), axis=0)) > 1 for values in (
                    self.get_facecolor(), self.get_edgecolor(), self._linewidths,
                    self._antialiaseds, *hatch_colours))
                or any(dashes is not None for _, dashes in self._linestyles)
                or np.any(np.asarray(self.get_offsets()) != 0)
                or not self.get_transform().is_affine
                or any(path.codes is None or not len(path.vertices) for path in paths)):
            return None
        sizes = np.fromiter((len(path.vertices) for path in paths), np.int64, len(paths))
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        shown = self.get_transform().frozen().transform(
            np.concatenate([path.vertices for path in paths]))
        if not np.isfinite(shown).all():
            return None
        linewidth = float(np.max(self._linewidths)) if len(self._linewidths) else 0.0
        width = renderer.points_to_pixels(linewidth)
        # The outline's reach: half its width, or Agg's miter limit times that for a sharp join.
        reach = 1.0 + width / 2 * max(1.0, width)
        boxes = np.column_stack([np.minimum.reduceat(shown, starts),
                                 np.maximum.reduceat(shown, starts)])
        alone = snappable(shown, np.concatenate([path.codes for path in paths]), starts)
        return merged_layers(paths, hatch_layers(boxes, reach), alone)


def merged_layers(paths: Sequence[MplPath], layers: np.ndarray,
                  alone: np.ndarray) -> list[MplPath]:
    """The paths as drawn: layer by layer, the layer's paths in one compound path, but for each
    `alone` path (one Agg may snap), drawn whole. The paths of a layer share no pixel, so their
    order within it does not matter."""
    out: list[MplPath] = []
    for layer in range(int(layers.max()) + 1 if len(layers) else 0):
        members = np.flatnonzero(layers == layer)
        merged = [paths[i] for i in members if not alone[i]]
        if merged:
            out.append(merged[0] if len(merged) == 1 else MplPath(
                np.concatenate([p.vertices for p in merged]),
                np.concatenate([p.codes for p in merged])))
        out.extend(paths[i] for i in members if alone[i])
    return out
