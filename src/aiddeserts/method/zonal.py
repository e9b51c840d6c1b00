"""Zonal statistics by rasterising zone ids once and counting with numpy.bincount."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
from rasterio import features

if TYPE_CHECKING:
    from aiddeserts.method.density import Grid


def zone_raster(zones: gpd.GeoSeries, grid: Grid) -> np.ndarray:
    """Raster of 1-based zone positions (0 outside); a cell belongs to the zone holding its centre."""
    shapes = ((geom, i) for i, geom in enumerate(zones, start=1) if geom is not None)
    return features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=0,
                              dtype="int32", all_touched=False)


def zonal_mean(values: np.ndarray, zone_ids: np.ndarray, n_zones: int) -> np.ndarray:
    """Mean of `values` per zone 1..n_zones (NaN for zones with no cell centre)."""
    ids = zone_ids.ravel()
    sums = np.bincount(ids, weights=values.ravel(), minlength=n_zones + 1)[1:]
    counts = np.bincount(ids, minlength=n_zones + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def sample_at(values: np.ndarray, grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Value of the cell holding each point (NaN outside the grid)."""
    col = np.floor((np.asarray(x) - grid.x_min) / grid.cell_size).astype(int)
    row = np.floor((grid.y_max - np.asarray(y)) / grid.cell_size).astype(int)
    inside = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    out = np.full(len(col), np.nan)
    out[inside] = values[row[inside], col[inside]]
    return out
