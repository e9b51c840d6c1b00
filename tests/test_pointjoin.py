"""The raster-accelerated point-in-polygon join equals geopandas.sjoin(predicate="within")."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from aiddeserts.method.pointjoin import containing_polygon


def voronoi_tracts(n: int, seed: int) -> np.ndarray:
    """`n` irregular polygons tiling a 10 km square (Voronoi cells), in input order."""
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0, 10_000, (n, 2))
    frame = shapely.box(0, 0, 10_000, 10_000)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    return shapely.set_precision(shapely.intersection(shapely.get_parts(cells), frame), 0.01)


def sjoin_positions(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y))
    tracts = gpd.GeoDataFrame(geometry=polygons)
    joined = gpd.sjoin(points, tracts, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["index_right"].fillna(-1).astype(int).to_numpy()


@pytest.mark.parametrize("min_points", [0, 10**9])  # raster path and STRtree-only path
def test_join_equals_geopandas_sjoin_including_edges_vertices_and_outside(min_points):
    polygons = voronoi_tracts(150, seed=3)
    # A hole in polygon 5 and an overlapping square (lowest position must win on overlaps).
    polygons[5] = polygons[5].difference(polygons[5].centroid.buffer(60))
    polygons = np.append(polygons, shapely.box(2000, 2000, 4000, 4000))
    rng = np.random.default_rng(4)
    x = rng.uniform(-500, 10_500, 60_000)
    y = rng.uniform(-500, 10_500, 60_000)
    # Points exactly on shared edges and vertices, on the outer frame, and in the hole.
    vertices = shapely.get_coordinates(polygons[:20])
    edges = shapely.line_interpolate_point(shapely.boundary(polygons[:50]), 0.37, normalized=True)
    mids = shapely.get_coordinates(edges)
    hole = np.array(polygons[5].interiors[0].coords[0])
    extra = np.vstack([vertices, mids, [[0.0, 5000.0], [10_000.0, 10_000.0]], hole,
                       shapely.get_coordinates(polygons[5].centroid)])
    x = np.concatenate([x, extra[:, 0]])
    y = np.concatenate([y, extra[:, 1]])
    got = containing_polygon(x, y, polygons, min_points_for_raster=min_points)
    expected = sjoin_positions(x, y, polygons)
    np.testing.assert_array_equal(got, expected)
    assert (got == -1).sum() > len(extra) // 2  # the boundary points really are in no polygon
    in_square = (x > 2000) & (x < 4000) & (y > 2000) & (y < 4000)
    # Inside the square the tiles come first; only points on a tile edge fall to the square.
    assert in_square.sum() > 1000 and (got[in_square] < len(polygons) - 1).mean() > 0.99


def test_overlap_goes_to_the_lowest_position_and_missing_polygons_match_nothing():
    polygons = np.array([None, shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15)], dtype=object)
    x = np.array([7.0, 2.0, 12.0, 20.0])
    y = np.array([7.0, 2.0, 12.0, 20.0])
    for min_points in (0, 10**9):
        got = containing_polygon(x, y, polygons, min_points_for_raster=min_points)
        np.testing.assert_array_equal(got, [1, 1, 2, -1])
