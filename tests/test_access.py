"""Access measures on a synthetic grid with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, grid_tracts

from aiddeserts.method.access import counts_by_type, nearest_distances, slug, tract_density
from aiddeserts.method.density import grid_for_bounds
from aiddeserts.method.zonal import zonal_mean, zone_raster


def test_zonal_mean_by_cell_centre():
    tracts = grid_tracts(2)  # four 1 km squares
    grid = grid_for_bounds(tuple(tracts.total_bounds), 100.0)
    values = np.zeros(grid.shape)
    values[:, :10] = 2.0  # western half
    zones = zone_raster(tracts.geometry, grid)
    assert np.bincount(zones.ravel()).tolist() == [0, 100, 100, 100, 100]
    assert zonal_mean(values, zones, 4).tolist() == [2.0, 0.0, 2.0, 0.0]


def test_tiny_tract_falls_back_to_its_point():
    tracts = grid_tracts(2)
    tiny = gpd.GeoDataFrame({"TRACT_CODE": ["tiny"]}, crs=CRS,
                            geometry=[tracts.geometry[0].centroid.buffer(10)])
    grid = grid_for_bounds(tuple(tracts.total_bounds), 100.0)
    values = np.full(grid.shape, 3.0)
    assert tract_density(tiny, values, grid).tolist() == [3.0]


def test_counts_and_nearest_distances():
    tracts = grid_tracts(2)
    assets = gpd.GeoDataFrame(
        {"type": ["Food Pantry", "fridge", "fridge"], "TRACT_CODE": ["T00", "T00", "T03"]},
        geometry=gpd.points_from_xy([X0 + 500, X0 + 600, X0 + 1500], [Y0 + 500, Y0 + 500,
                                                                       Y0 + 1500]), crs=CRS)
    counts = counts_by_type(assets, "TRACT_CODE", tracts["TRACT_CODE"])
    assert counts["assets_food_pantry"].tolist() == [1, 0, 0, 0]
    assert counts["assets_fridge"].tolist() == [1, 0, 0, 1]
    assert counts["assets_total"].tolist() == [2, 0, 0, 1]
    near = nearest_distances(tracts, assets, catchment_m=200.0)
    assert near.loc[0, "nearest_asset_m"] == pytest.approx(0.0)
    assert near.loc[1, "nearest_food_pantry_m"] == pytest.approx(1000.0)
    assert near["assets_within_catchment"].tolist() == [2, 0, 0, 1]


def test_slug():
    assert slug("Food Pantry") == "food_pantry" and slug("  ") == "unspecified"
    assert isinstance(pd.Series(["a"]).map(slug)[0], str)
