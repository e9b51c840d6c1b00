"""Access: asset density per tract, asset counts by type, distance to the nearest asset."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from aiddeserts.method.density import Grid
from aiddeserts.method.zonal import sample_at, zonal_mean, zone_raster


def slug(text: str) -> str:
    """A column-safe version of an asset type (`Food Pantry` → `food_pantry`)."""
    out = "".join(ch.lower() if ch.isalnum() else "_" for ch in str(text)).strip("_")
    while "__" in out:
        out = out.replace("__", "_")
    return out or "unspecified"


def slug_types(types: pd.Series) -> pd.Series:
    """:func:`slug` of every asset type, computed once per distinct type."""
    return types.map({value: slug(value) for value in types.unique()})


def tract_density(tracts: gpd.GeoDataFrame, density: np.ndarray, grid: Grid,
                  zones: np.ndarray | None = None) -> np.ndarray:
    """Mean density (assets/km²) over each tract's cells; tracts smaller than a cell are
    sampled at their representative point."""
    zones = zone_raster(tracts.geometry, grid) if zones is None else zones
    mean = zonal_mean(density, zones, len(tracts))
    small = np.isnan(mean)
    if small.any():
        points = tracts.geometry[small].representative_point()
        mean[small] = sample_at(density, grid, points.x.to_numpy(), points.y.to_numpy())
    return mean


def counts_by_type(assets: pd.DataFrame, id_col: str, tract_ids: pd.Series) -> pd.DataFrame:
    """Number of assets of each type inside each tract (`assets_<type>`) and in all (`assets_total`)."""
    table = pd.crosstab(assets[id_col], slug_types(assets["type"]))
    table.columns = [f"assets_{c}" for c in table.columns]
    out = table.reindex(tract_ids.to_numpy()).fillna(0).astype(int)
    out = out[sorted(out.columns)]
    out["assets_total"] = out.sum(axis=1)
    out.index = tract_ids.index
    return out


def nearest_distances(tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame,
                      catchment_m: float) -> pd.DataFrame:
    """From each tract's representative point: metres to the nearest asset (overall and by
    type), and how many assets lie within `catchment_m`. CRS must be metric."""
    origins = tracts.geometry.representative_point().to_numpy()
    out = pd.DataFrame(index=tracts.index)
    if assets.empty:
        out["nearest_asset_m"] = np.nan
        out["assets_within_catchment"] = 0
        return out
    tree = shapely.STRtree(assets.geometry.to_numpy())
    (origin_idx, _), dist = tree.query_nearest(origins, return_distance=True, all_matches=False)
    out["nearest_asset_m"] = pd.Series(dist, index=tracts.index[origin_idx]).round(1)
    for asset_type, group in sorted(assets.groupby(slug_types(assets["type"]))):
        sub = shapely.STRtree(group.geometry.to_numpy())
        (oi, _), d = sub.query_nearest(origins, return_distance=True, all_matches=False)
        out[f"nearest_{asset_type}_m"] = pd.Series(d, index=tracts.index[oi]).round(1)
    pairs = tree.query(origins, predicate="dwithin", distance=catchment_m)
    out["assets_within_catchment"] = np.bincount(pairs[0], minlength=len(tracts))
    return out
