"""Seeded synthetic metros for the benchmarks: irregular tracts tiling a square, clustered points.

A metro is a `side` × `side` metre square in UTM 18N (EPSG:32618). Tracts are the Voronoi cells of
seed points that crowd towards a few centres, so they are small downtown and large at the edge,
as census tracts are; points come from a mixture of Gaussian clusters around other centres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

CRS = "EPSG:32618"
X0, Y0 = 580_000.0, 4_500_000.0


def metro_tracts(n_tracts: int = 1000, side: float = 40_000.0, seed: int = 1) -> gpd.GeoDataFrame:
    """`n_tracts` irregular tracts tiling the square exactly (Voronoi cells clipped to it)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.25 * side, 0.75 * side, (4, 2))
    n_clustered = n_tracts // 2
    pick = rng.integers(0, len(centres), n_clustered)
    clustered = centres[pick] + rng.normal(0.0, 0.12 * side, (n_clustered, 2))
    uniform = rng.uniform(0.0, side, (n_tracts - n_clustered, 2))
    seeds = np.clip(np.vstack([clustered, uniform]), 1.0, side - 1.0)
    seeds += (X0, Y0)
    frame = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    polys = shapely.intersection(shapely.get_parts(cells), frame)
    polys = shapely.set_precision(polys, 0.01)  # centimetre coordinates, as real tract files
    pop = rng.integers(200, 8000, n_tracts).astype(float)
    poverty = np.clip(rng.gamma(2.0, 8.0, n_tracts), 0, 100)
    income = np.clip(rng.normal(70_000, 25_000, n_tracts), 12_000, 250_000)
    return gpd.GeoDataFrame({"geoid": [f"36{k:09d}" for k in range(n_tracts)], "pop": pop,
                             "poverty_pct": poverty.round(1), "median_income": income.round()},
                            geometry=polys, crs=CRS)


def metro_points(n: int, side: float = 40_000.0, seed: int = 2,
                 n_clusters: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """`n` clustered points (x, y) inside the square: Gaussian clusters plus 10 % uniform."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1 * side, 0.9 * side, (n_clusters, 2))
    spread = rng.uniform(0.01 * side, 0.05 * side, n_clusters)
    n_uniform = n // 10
    k = rng.integers(0, n_clusters, n - n_uniform)
    xy = centres[k] + rng.normal(0.0, 1.0, (n - n_uniform, 2)) * spread[k, None]
    xy = np.vstack([xy, rng.uniform(0.0, side, (n_uniform, 2))])
    xy = np.clip(xy, 0.5, side - 0.5)
    xy = xy[rng.permutation(n)]
    return xy[:, 0] + X0, xy[:, 1] + Y0
