"""Coordinate reference systems of the inputs: the working CRS, the CRS a point source is in,
and the checks that coordinates are what their CRS says (lon/lat in range, swapped lat/lon,
projected values in columns read as degrees).

Messages about a personal source (a survey) never quote a coordinate: one locates a home.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from aiddeserts.errors import InputError

__all__ = ["DEGREE_LIMIT", "SWAP_MARGIN_DEG", "SWAP_REASON", "check_lonlat_extent",
           "extent_lonlat", "raise_if_projected", "repair_swapped_geometries", "source_crs",
           "swapped_points", "utm_crs", "working_crs"]

#: Margin (degrees) around the study area's bounding box used to detect swapped lat/lon.
SWAP_MARGIN_DEG = 0.5
#: Reason listed in rejects for a point whose latitude and longitude were swapped back.
SWAP_REASON = ("latitude and longitude were swapped (the point lies in the study area only "
               "when swapped): corrected")
#: No longitude or latitude in degrees is beyond this (absolute value): such values are projected.
DEGREE_LIMIT = 180.0


def working_crs(tracts: gpd.GeoDataFrame, configured: str | None) -> CRS:
    """The projected CRS for distances: the configured one (the region's `working_crs`), else
    pyproj's UTM estimate."""
    if configured:
        crs = CRS.from_user_input(configured)
        if not crs.is_projected:
            raise InputError(f"working_crs {configured} is not a projected CRS.",
                             fix="use a metric projected CRS such as a UTM zone.")
        return crs
    return utm_crs(tracts)


#: Degrees from a UTM zone's edge (or the equator, or the zones' northern and southern limits)
#: within which :func:`utm_crs` leaves the choice to pyproj.
UTM_EDGE_DEG = 1e-6


def utm_crs(tracts: gpd.GeoDataFrame) -> CRS:
    """``tracts.estimate_utm_crs()``: the WGS 84 UTM zone holding the centre of their
    bounding box in lon/lat (found as geopandas finds it). Where that centre is clear of a
    zone's edges the zone is worked out (0.1 s less of the first job, which every other job
    waits for: pyproj queries its database for it); the same CRS, tested against pyproj across
    the globe."""
    if tracts.crs is None or not len(tracts):
        return tracts.estimate_utm_crs()
    minx, miny, maxx, maxy = tracts.total_bounds
    if tracts.crs.is_geographic:
        lon, lat = float(np.mean([minx, maxx])), float(np.mean([miny, maxy]))
    else:
        from pyproj import Transformer

        minx, miny, maxx, maxy = Transformer.from_crs(
            tracts.crs, "EPSG:4326", always_xy=True).transform_bounds(minx, miny, maxx, maxy)
        lat = float(np.mean([miny, maxy]))
        if minx > maxx:  # across the antimeridian
            lon = (float(np.mean([minx, maxx + 360])) + 180) % 360 - 180
        else:
            lon = float(np.mean([minx, maxx]))
    position = (lon + 180.0) / 6.0  # zone z spans positions z - 1 to z
    clear = (UTM_EDGE_DEG / 6.0 < position - np.floor(position) < 1 - UTM_EDGE_DEG / 6.0
             and 0 < position < 60
             and (UTM_EDGE_DEG < lat < 84 - UTM_EDGE_DEG
                  or -80 + UTM_EDGE_DEG < lat < -UTM_EDGE_DEG))
    if not clear:
        return tracts.estimate_utm_crs()
    return CRS.from_epsg((32600 if lat > 0 else 32700) + int(np.floor(position)) + 1)


def check_lonlat_extent(frame: gpd.GeoDataFrame, path: str | Path, *, personal: bool) -> None:
    """A file labelled lon/lat whose coordinates are beyond ±180/±90 is really projected (the
    message gives the extent unless the file is `personal`)."""
    if frame.crs is None or not frame.crs.is_geographic or frame.geometry.isna().all():
        return
    minx, miny, maxx, maxy = frame.total_bounds
    if min(minx, miny) < -180 or maxx > 180 or max(abs(miny), abs(maxy)) > 90:
        extent = ("are beyond ±180/±90" if personal else
                  f"reach x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}")
        raise InputError(
            f"the file says its CRS is {frame.crs.to_string()} (longitude/latitude) but its "
            f"coordinates {extent}: they are projected (metres or feet).", path=path,
            fix="re-save the file with its true projected CRS (in QGIS: Layer > Set CRS), "
                "e.g. the state plane or UTM zone it was made in.")


def extent_lonlat(tracts: gpd.GeoDataFrame | None, crs: Any = 4326
                  ) -> tuple[float, float, float, float] | None:
    """The study area's bounding box in the geographic `crs` (longitude first), widened by
    :data:`SWAP_MARGIN_DEG`; None without tracts."""
    if tracts is None or tracts.empty:
        return None
    minx, miny, maxx, maxy = tracts.to_crs(crs).total_bounds
    m = SWAP_MARGIN_DEG
    return minx - m, miny - m, maxx + m, maxy + m


def swapped_points(lon: Any, lat: Any, extent: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of the points outside `extent` (minx, miny, maxx, maxy, in degrees) that lie inside it
    once longitude and latitude are exchanged: written as (lat, lon) instead of (lon, lat).
    Missing (NaN) coordinates are never swapped."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    minx, miny, maxx, maxy = extent

    def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)

    return ~inside(lon, lat) & inside(lat, lon)


def source_crs(source: Mapping[str, Any]) -> CRS | None:
    """The CRS configured for a point source (its `crs` key), or None (WGS 84 longitude/latitude
    for a CSV; the file's own CRS for a vector file)."""
    if not source.get("crs"):
        return None
    try:
        return CRS.from_user_input(source["crs"])
    except CRSError as exc:
        raise InputError(f"crs {source['crs']!r} is not a known coordinate reference system.",
                         path=source["path"], fix="give an EPSG code such as EPSG:2263 or "
                         "EPSG:32618 (look it up at https://epsg.io).") from exc


def raise_if_projected(lat: pd.Series, lon: pd.Series, where: str, path: str | Path,
                       tracts: gpd.GeoDataFrame | None, *, personal: bool) -> None:
    """Stop when most rows hold values no longitude or latitude can take (both beyond ±180):
    the columns are projected x/y (metres or feet), which need the source's `crs`. The message
    quotes the first such pair unless the source is `personal`."""
    projected = ((lat.abs() > DEGREE_LIMIT) & (lon.abs() > DEGREE_LIMIT)).to_numpy()
    numbers = int((lat.notna() & lon.notna()).sum())
    if not projected.any() or 2 * int(projected.sum()) < numbers:
        return
    first = int(np.flatnonzero(projected)[0])
    suggestion = "the file's CRS, e.g. EPSG:2263 (New York state plane, feet) or EPSG:32618 (UTM " \
                 "zone 18N, metres)"
    if tracts is not None and not tracts.empty and tracts.crs is not None \
            and tracts.crs.is_projected:
        minx, miny, maxx, maxy = tracts.total_bounds
        if lon[projected].between(minx, maxx).all() and lat[projected].between(miny, maxy).all():
            suggestion = (f"{tracts.crs.to_string()} (the values fall in the study area in that "
                          "CRS) or the file's own CRS")
    values = "values" if personal else (f"values such as {lat.iloc[first]:.0f}, "
                                        f"{lon.iloc[first]:.0f}")
    raise InputError(
        f"latitude/longitude ({where}) {values} are far outside ±90/±180: they look like "
        f"projected coordinates (metres or feet), not degrees ({int(projected.sum())} of "
        f"{numbers} rows).", path=path, row=first + 1, column=where,
        fix=f"set `crs:` for this source to {suggestion}; x is then read from the longitude "
            "column and y from the latitude column.")


def repair_swapped_geometries(frame: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame | None
                              ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Swap back the point geometries of a geographic (longitude/latitude) vector file that lie
    in the study area only with their coordinates exchanged; returns the frame and the mask of
    swapped rows. A projected file is never swapped."""
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    swapped = np.zeros(len(frame), dtype=bool)
    extent = extent_lonlat(tracts, frame.crs) if frame.crs.is_geographic else None
    if extent is not None:
        point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
        x, y = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        x[point], y[point] = shapely.get_x(geoms[point]), shapely.get_y(geoms[point])
        swapped = swapped_points(x, y, extent)
        geoms = geoms.copy()
        geoms[swapped] = shapely.points(y[swapped], x[swapped])
    return frame.set_geometry(geoms, crs=frame.crs), swapped
