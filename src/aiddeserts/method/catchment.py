"""Floating catchments and distance-based access: 2SFCA / enhanced 2SFCA and FARA-style shares.

Two-step floating catchment area (Luo & Wang 2003; enhanced with distance decay by Luo & Qi 2009
and, with a Gaussian decay, Dai 2010), on straight-line distances in the working CRS (metres):

    R_j = S_j / Σ_i P_i · w(d_ij)        (step 1: each asset's supply per resident it serves)
    A_i = Σ_j R_j · w(d_ij)              (step 2: each population point's summed share)

Population points are tract representative points (a point guaranteed inside the polygon), one
per tract with the tract's population: the same origin as every other tract-level distance, and
the convention of PySAL ``access``. The FARA-style share of a tract's population beyond a distance
threshold instead spreads the population evenly over grid cells inside the tract, since a single
point would make that share 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from aiddeserts.method.density import Grid, grid_for_bounds
from aiddeserts.method.zonal import zone_raster

DECAYS = ("uniform", "gaussian", "stepped")
#: Luo & Qi (2009) E2SFCA weights for three equal distance zones of the catchment.
LUO_QI_STEPS = (1.0, 0.68, 0.22)
#: US Census urban-area density criterion: 1,000 people per square mile, in people per km².
CENSUS_URBAN_DENSITY = 1000.0 / 2.589988


def decay_weights(distance: np.ndarray, catchment: float, decay: str = "gaussian",
                  steps: Sequence[float] = LUO_QI_STEPS) -> np.ndarray:
    """Distance-decay weight w(d) in [0, 1], zero beyond the catchment `catchment` (d0).

    uniform: 1 inside (classic 2SFCA). gaussian: (e^{−½(d/d0)²} − e^{−½}) / (1 − e^{−½}) inside
    (Dai 2010). stepped: `steps[k]` in the k-th of len(steps) equal distance zones (Luo & Qi 2009).
    """
    if decay not in DECAYS:
        raise ValueError(f"unknown decay {decay!r}; choose one of {', '.join(DECAYS)}")
    if catchment <= 0:
        raise ValueError("catchment must be positive")
    d = np.asarray(distance, dtype=float)
    inside = d <= catchment
    if decay == "uniform":
        return inside.astype(float)
    if decay == "gaussian":
        edge = math.exp(-0.5)
        return np.where(inside, (np.exp(-0.5 * (d / catchment) ** 2) - edge) / (1.0 - edge), 0.0)
    steps_arr = np.asarray(steps, dtype=float)
    zone = np.minimum((d / catchment * len(steps_arr)).astype(int), len(steps_arr) - 1)
    return np.where(inside, steps_arr[zone], 0.0)


def two_step_fca(demand_xy: np.ndarray, population: np.ndarray, supply_xy: np.ndarray,
                 capacity: np.ndarray, catchment: float, decay: str = "gaussian",
                 steps: Sequence[float] = LUO_QI_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(A_i per population point, R_j per asset) of the (enhanced) 2SFCA.

    `demand_xy` (n×2) and `supply_xy` (m×2) are metres. Pairs beyond the catchment are never
    formed (a k-d tree finds the pairs within it), so memory grows with the pairs, not n·m.
    An asset nobody lives near has R_j = 0 (it serves no-one in the study area).
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    supply_xy = np.asarray(supply_xy, dtype=float).reshape(-1, 2)
    population = np.nan_to_num(np.asarray(population, dtype=float))
    capacity = np.asarray(capacity, dtype=float)
    if len(demand_xy) == 0 or len(supply_xy) == 0:
        return np.zeros(len(demand_xy)), np.zeros(len(supply_xy))
    j, i = _pairs_within(supply_xy, demand_xy, catchment)
    d = np.hypot(*(supply_xy[j] - demand_xy[i]).T)
    return fca_from_pairs(j, i, d, population, capacity, catchment, decay, steps)


def fca_from_pairs(j: np.ndarray, i: np.ndarray, d: np.ndarray, population: np.ndarray,
                   capacity: np.ndarray, catchment: float, decay: str,
                   steps: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The two steps of the 2SFCA from the (asset j, population point i, distance d) pairs
    within the catchment, whatever measured the distance (straight line or on foot)."""
    w = decay_weights(d, catchment, decay, steps)
    served = np.bincount(j, weights=population[i] * w, minlength=len(capacity))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(served > 0, capacity / np.where(served > 0, served, 1.0), 0.0)
    access = np.bincount(i, weights=ratio[j] * w, minlength=len(population))
    return access, ratio


def _pairs_within(a: np.ndarray, b: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (into a, into b) of points at most `radius` apart."""
    lists = cKDTree(a).query_ball_tree(cKDTree(b), r=radius)
    ia = np.repeat(np.arange(len(a), dtype=np.int64), [len(p) for p in lists])
    ib = np.fromiter((k for p in lists for k in sorted(p)), dtype=np.int64, count=len(ia))
    return ia, ib


#: Cells rasterised at a time by `population_points` (≈ 16 MB of zone ids per band).
POPULATION_BAND_CELLS = 4_000_000


def population_points(tracts: gpd.GeoDataFrame, population: pd.Series, cell_size: float,
                      max_points: int | None = None) -> pd.DataFrame:
    """The tracts' population spread evenly over the centres of `cell_size` grid cells inside each
    tract (a tract holding no cell centre gets one point, its representative point).

    With `max_points`, a tract over about that many cells (its area / cell²) keeps only every
    k-th row and column of them (k = ⌈√(cells / max_points)⌉, counted from the first row and
    column of its bounding box; every cell if that leaves none), so a large rural tract costs
    about as much as an urban one while its points stay evenly spread. The grid is rasterised
    in bands of rows, so memory follows the points kept, not the region's extent. Returns
    columns `tract` (0-based position), `x`, `y`, `population`.
    """
    grid = grid_for_bounds(tuple(tracts.total_bounds), cell_size)
    n = len(tracts)
    bounds = tracts.geometry.bounds.to_numpy(dtype=float)  # minx, miny, maxx, maxy
    stride = np.ones(n, dtype=np.int64)
    if max_points is not None:
        area_cells = np.nan_to_num(tracts.geometry.area.to_numpy(dtype=float)) / cell_size**2
        stride = np.maximum(1, np.ceil(np.sqrt(area_cells / max_points))).astype(np.int64)
    first_row = np.ceil((grid.y_max - bounds[:, 3]) / cell_size - 0.5).astype(np.int64)
    first_col = np.ceil((bounds[:, 0] - grid.x_min) / cell_size - 0.5).astype(np.int64)
    band = max(1, POPULATION_BAND_CELLS // grid.width)
    tract_parts, row_parts, col_parts = [], [], []
    for top in range(0, grid.height, band):
        rows_here = min(band, grid.height - top)
        y_top = grid.y_max - top * cell_size
        y_bottom = y_top - rows_here * cell_size
        near = np.flatnonzero((bounds[:, 1] <= y_top) & (bounds[:, 3] >= y_bottom))
        if not len(near):
            continue
        zones = zone_raster(tracts.geometry.iloc[near],
                            Grid(grid.x_min, y_top, cell_size, grid.width, rows_here))
        rows, cols = np.nonzero(zones)
        tract = near[zones[rows, cols] - 1]
        rows += top
        step = stride[tract]
        keep = ((rows - first_row[tract]) % step == 0) & ((cols - first_col[tract]) % step == 0)
        tract_parts.append(tract[keep])
        row_parts.append(rows[keep])
        col_parts.append(cols[keep])
    tract = np.concatenate([np.zeros(0, np.int64), *tract_parts])
    rows = np.concatenate([np.zeros(0, np.int64), *row_parts])
    cols = np.concatenate([np.zeros(0, np.int64), *col_parts])
    # A thinned tract whose kept rows and columns hold none of its cells keeps all of them.
    for t in np.setdiff1d(np.flatnonzero(stride > 1), tract):
        window = grid_for_bounds(tuple(bounds[t]), cell_size)
        w_rows, w_cols = np.nonzero(zone_raster(tracts.geometry.iloc[[t]], window))
        tract = np.concatenate([tract, np.full(len(w_rows), t)])
        rows = np.concatenate([rows, w_rows + round((grid.y_max - window.y_max) / cell_size)])
        cols = np.concatenate([cols, w_cols + round((window.x_min - grid.x_min) / cell_size)])
    x = grid.x_min + (cols + 0.5) * cell_size
    y = grid.y_max - (rows + 0.5) * cell_size
    missing = np.setdiff1d(np.arange(n), tract)
    if len(missing):
        reps = tracts.geometry.iloc[missing].representative_point()
        tract = np.concatenate([tract, missing])
        x = np.concatenate([x, reps.x.to_numpy()])
        y = np.concatenate([y, reps.y.to_numpy()])
    cells = np.bincount(tract, minlength=n)
    pop = np.nan_to_num(population.to_numpy(dtype=float))
    order = np.lexsort((x, -y, tract))
    tract, x, y = tract[order], x[order], y[order]
    return pd.DataFrame({"tract": tract, "x": x, "y": y, "population": pop[tract] / cells[tract]})


def is_urban(population: pd.Series, area_km2: pd.Series,
             urban_density: float = CENSUS_URBAN_DENSITY) -> pd.Series:
    """A tract is urban when its population density (people per km²) is at least `urban_density`.

    The default is the Census Bureau's long-standing urban-area density criterion, 1,000 people per
    square mile (≈ 386 per km²); FARA likewise takes urban/rural from census urban areas.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        density = population.astype(float) / area_km2.astype(float)
    return (density >= urban_density).fillna(False)


def share_beyond(points: pd.DataFrame, n_tracts: int, assets_xy: np.ndarray,
                 threshold: np.ndarray, extra_xy: np.ndarray | None = None) -> np.ndarray:
    """Per tract, the share of its population farther than `threshold[tract]` metres (straight
    line) from every asset. NaN for a tract without population.

    `extra_xy` (n_tracts × 2, NaN for none) adds one more asset for each tract's own points, to
    ask "what if an asset stood here?" (the robustness margin).
    """
    xy = points[["x", "y"]].to_numpy()
    tract = points["tract"].to_numpy()
    if len(assets_xy):
        nearest, _ = cKDTree(np.asarray(assets_xy, float).reshape(-1, 2)).query(xy)
    else:
        nearest = np.full(len(xy), np.inf)
    if extra_xy is not None:
        extra = np.asarray(extra_xy, float)[tract]
        nearest = np.fmin(nearest, np.hypot(xy[:, 0] - extra[:, 0], xy[:, 1] - extra[:, 1]))
    far = nearest > np.asarray(threshold, dtype=float)[tract]
    pop = points["population"].to_numpy()
    total = np.bincount(tract, weights=pop, minlength=n_tracts)
    beyond = np.bincount(tract, weights=pop * far, minlength=n_tracts)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, beyond / np.where(total > 0, total, 1.0), np.nan)


def assets_within(origins_xy: np.ndarray, assets_xy: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Number of assets within `radius[i]` metres (straight line) of each origin i."""
    origins_xy = np.asarray(origins_xy, float).reshape(-1, 2)
    if len(assets_xy) == 0:
        return np.zeros(len(origins_xy), dtype=np.int64)
    tree = cKDTree(np.asarray(assets_xy, float).reshape(-1, 2))
    return np.asarray(tree.query_ball_point(origins_xy, r=np.asarray(radius, float),
                                            return_length=True), dtype=np.int64)
