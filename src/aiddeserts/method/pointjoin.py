"""Point-in-polygon join for many points: a raster lookup with exact tests only near boundaries.

`containing_polygon` gives the same answer as `geopandas.sjoin(points, polygons,
predicate="within")` (the first, lowest-position polygon when polygons overlap):

1. The polygons are rasterised once (`rasterio.features`) on a grid of ~`cells_per_polygon`
   cells each, by the cell-centre rule, lowest position on top.
2. Their boundaries are rasterised with `all_touched=True` and dilated by one cell
   (`scipy.ndimage`): a cell outside that band is crossed by no boundary, so every point in it
   lies strictly inside the polygon holding the cell centre (or outside all of them).
3. Points in band cells, a small fraction, are tested exactly with a bulk `shapely.STRtree`
   query (`predicate="within"`).

For few points the raster does not pay for itself and the STRtree query is used alone.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from affine import Affine
from rasterio import features

#: Below this many points a bulk STRtree query alone is faster than building the raster.
MIN_POINTS_FOR_RASTER = 50_000
#: Raster cells per polygon (on average); more cells → fewer exact tests, more rasterising.
CELLS_PER_POLYGON = 4096
#: Upper bound on raster cells, whatever the polygon count.
MAX_CELLS = 16_000_000


def _strtree_within(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Lowest position of a polygon strictly containing each point (−1 for none): STRtree."""
    out = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0 or len(polygons) == 0:
        return out
    tree = shapely.STRtree(polygons)
    point_idx, poly_idx = tree.query(shapely.points(x, y), predicate="within")
    # Lowest polygon position per point: write in descending order so the lowest wins.
    order = np.lexsort((-poly_idx, point_idx))
    out[point_idx[order]] = poly_idx[order]
    return out


def containing_polygon(x: np.ndarray, y: np.ndarray, polygons: np.ndarray, *,
                       cells_per_polygon: int = CELLS_PER_POLYGON,
                       min_points_for_raster: int = MIN_POINTS_FOR_RASTER) -> np.ndarray:
    """Position (0-based) of the polygon each point (x, y) lies strictly within; −1 for none.

    `polygons` is an array of shapely (multi)polygons in the points' CRS; missing geometries
    match nothing. When polygons overlap, the lowest position wins.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    polygons = np.asarray(polygons, dtype=object)
    if len(x) < min_points_for_raster or len(polygons) == 0:
        return _strtree_within(x, y, polygons)

    present = ~shapely.is_missing(polygons) & ~shapely.is_empty(polygons)
    minx, miny, maxx, maxy = shapely.total_bounds(polygons[present])
    area = max((maxx - minx) * (maxy - miny), 1e-12)
    n_cells = min(MAX_CELLS, cells_per_polygon * int(present.sum()))
    cell = math.sqrt(area / max(n_cells, 1))
    width = max(1, math.ceil((maxx - minx) / cell))
    height = max(1, math.ceil((maxy - miny) / cell))
    transform = Affine(cell, 0.0, minx, 0.0, -cell, maxy)

    positions = np.flatnonzero(present)[::-1]  # burnt last = on top: lowest position wins
    zone = features.rasterize(((polygons[i], int(i) + 1) for i in positions),
                              out_shape=(height, width), transform=transform, fill=0,
                              dtype="int32", all_touched=False)
    edges = features.rasterize(((line, 1) for line in shapely.boundary(polygons[present])),
                               out_shape=(height, width), transform=transform, fill=0,
                               dtype="uint8", all_touched=True)
    from scipy import ndimage  # here: only the raster path needs it (0.15 s to import)

    band = ndimage.binary_dilation(edges.astype(bool), structure=np.ones((3, 3), bool))

    out = np.full(len(x), -1, dtype=np.int64)
    col = np.floor((x - minx) / cell).astype(np.int64)
    row = np.floor((maxy - y) / cell).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    # A point on the raster's outer edge is on or outside every polygon: it stays −1.
    inside &= (x > minx) & (x < maxx) & (y > miny) & (y < maxy)
    idx = np.flatnonzero(inside)
    r, c = row[idx], col[idx]
    exact = band[r, c]
    sure = idx[~exact]
    out[sure] = zone[r[~exact], c[~exact]].astype(np.int64) - 1
    check = idx[exact]
    # Points outside the raster lie outside every polygon; only band points need testing.
    out[check] = _strtree_within(x[check], y[check], polygons)
    return out
