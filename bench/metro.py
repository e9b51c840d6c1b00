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


def rural_tracts(n_tracts: int = 200, side: float = 100_000.0, urban_share: float = 0.7,
                 seed: int = 11) -> gpd.GeoDataFrame:
    """A rural-heavy county: `n_tracts` Voronoi tracts tiling a `side` square, `urban_share` of
    them crowded into a town (σ = 3.5 % of the side) off centre, the rest spread over the
    countryside, so most of the area lies in large rural tracts (at the defaults 66 of them hold
    97 % of the area, median 130 km²; town tracts ~1 km²), as in a metro's outer counties. Town
    tracts have 2,000–6,000 people (urban by the Census density rule), rural ones 500–4,000."""
    rng = np.random.default_rng(seed)
    n_town = round(urban_share * n_tracts)
    town = np.array([0.4, 0.55]) * side
    seeds = np.vstack([town + rng.normal(0.0, 0.035 * side, (n_town, 2)),
                       rng.uniform(0.0, side, (n_tracts - n_town, 2))])
    seeds = np.clip(seeds, 1.0, side - 1.0) + (X0, Y0)
    frame = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    polys = shapely.set_precision(shapely.intersection(shapely.get_parts(cells), frame), 0.01)
    area_km2 = shapely.area(polys) / 1e6
    rural = area_km2 > 15.0
    pop = np.where(rural, rng.integers(500, 4000, n_tracts), rng.integers(2000, 6000, n_tracts))
    poverty = np.clip(rng.gamma(2.0, 8.0, n_tracts), 0, 100)
    income = np.clip(rng.normal(60_000, 20_000, n_tracts), 12_000, 250_000)
    return gpd.GeoDataFrame({"geoid": [f"27{k:09d}" for k in range(n_tracts)],
                             "pop": pop.astype(float), "poverty_pct": poverty.round(1),
                             "median_income": income.round()}, geometry=polys, crs=CRS)


def rural_points(n: int, side: float = 100_000.0, seed: int = 12, rural_share: float = 0.15
                 ) -> tuple[np.ndarray, np.ndarray]:
    """`n` points: most in the town (clusters around it), `rural_share` in a few villages; none
    within 200 m of the square's edge (drawn again, not moved onto it)."""
    rng = np.random.default_rng(seed)
    town = np.array([0.4, 0.55]) * side
    n_rural = round(rural_share * n)
    villages = rng.uniform(0.05 * side, 0.95 * side, (8, 2))
    parts = []
    for count, draw in ((n - n_rural, lambda k: town + rng.normal(0.0, 0.04 * side, (k, 2))),
                        (n_rural, lambda k: villages[rng.integers(0, len(villages), k)]
                         + rng.normal(0.0, 0.01 * side, (k, 2)))):
        kept = np.empty((0, 2))
        while len(kept) < count:
            xy = draw(2 * count)
            kept = np.vstack([kept, xy[((xy > 200.0) & (xy < side - 200.0)).all(axis=1)]])
        parts.append(kept[:count])
    xy = np.vstack(parts)[rng.permutation(n)]
    return xy[:, 0] + X0, xy[:, 1] + Y0
