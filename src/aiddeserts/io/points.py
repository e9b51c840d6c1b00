"""Point sources (assets, survey responses): CSV coordinates or point files to EPSG:4326 points,
bad rows reported, then joined to the tract containing them.

A `personal` source (a survey) is read the same way, but no message about it quotes a cell, a
coordinate or a column name other than the configured and the autodetected ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from aiddeserts.errors import InputError
from aiddeserts.io.columns import header_hint, require_columns
from aiddeserts.io.crs import (
    SWAP_REASON,
    check_lonlat_extent,
    extent_lonlat,
    raise_if_projected,
    repair_swapped_geometries,
    source_crs,
    swapped_points,
)
from aiddeserts.io.readers import (
    GEOPOINT_NAMES,
    LAT_NAMES,
    LON_NAMES,
    find_column,
    looks_like_geopoint,
    parse_coordinates,
    parse_geopoint,
    read_csv_text,
    read_vector,
)
from aiddeserts.io.rejects import concat_rejects, make_rejects
from aiddeserts.method.pointjoin import containing_polygon

__all__ = ["VECTOR_SUFFIXES", "assign_tracts", "read_points"]

VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".zip", ".kml", ".kmz", ".fgb"}


#: How rejects describe a coordinate notation that was read (see readers.parse_coordinates).
NOTATIONS = {"decimal comma": "with a decimal comma",
             "typographic minus": "with a typographic minus sign or space",
             "degrees-minutes-seconds": "in degrees, minutes and seconds",
             "hemisphere letter": "with a hemisphere letter (N/S/E/W)"}
#: Encodings a CSV was guessed to be in (not UTF-8), as the rejects' note names them.
GUESSED_ENCODINGS = {"latin-1": "Latin-1", "cp1252": "Windows-1252"}


def _coordinates(frame: pd.DataFrame, source: Mapping[str, Any], path: str | Path, *,
                 personal: bool) -> tuple[pd.Series, pd.Series, str]:
    """Latitude and longitude of every row: configured or autodetected lat/lon columns, or a
    geopoint column (ODK/Kobo "lat lon alt acc", Google Forms "lat, lon", Kobo `_geolocation`);
    and how messages name the column(s). A `personal` source's geopoint column found by its
    values, not its name, is named by position (its header may be a respondent's location)."""
    columns = list(frame.columns)
    if source.get("geopoint"):
        require_columns(columns, {"geopoint": source["geopoint"]}, path, personal=personal)
        lat, lon = parse_geopoint(frame[source["geopoint"]])
        return lat, lon, source["geopoint"]
    lat_col = source.get("lat") or find_column(columns, LAT_NAMES)
    lon_col = source.get("lon") or find_column(columns, LON_NAMES)
    if source.get("lat") or source.get("lon") or (lat_col and lon_col):
        require_columns(columns, {"lat": lat_col or "lat", "lon": lon_col or "lon"}, path,
                        personal=personal)
        lat, lat_notes = parse_coordinates(frame[lat_col])
        lon, lon_notes = parse_coordinates(frame[lon_col])
        lat.attrs["notation"] = lat_notes.fillna(lon_notes)
        return lat, lon, f"{lat_col}/{lon_col}"
    point_col = find_column(columns, GEOPOINT_NAMES)
    by_name = point_col is not None and looks_like_geopoint(frame[point_col])
    if not by_name:
        point_col = next((c for c in columns if looks_like_geopoint(frame[c])), None)
    if point_col is None:
        listing = header_hint(columns) if personal else f"columns are: {', '.join(columns)}"
        raise InputError("no latitude/longitude columns found (looked for "
                         f"{', '.join(LAT_NAMES)} / {', '.join(LON_NAMES)} and a geopoint "
                         f"column); {listing}.", path=path,
                         fix="name the columns in the config: lat and lon, or geopoint.")
    lat, lon = parse_geopoint(frame[point_col])
    where = point_col
    if personal and not by_name:
        where = f"column {columns.index(point_col) + 1}, read as a geopoint"
    return lat, lon, where


def _single_points(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """A MultiPoint or GeometryCollection that holds exactly one point becomes that point (GPS
    apps and KML exports write them); others stay as they are (rejected: not a point). Z and M
    values are dropped later with the other dimensions (points are 2D)."""
    geoms = frame.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    multi = np.isin(kinds, [4, 7]) & ~shapely.is_empty(geoms)
    parts = shapely.get_parts(geoms[multi], return_index=True) if multi.any() else ([], [])
    single = np.zeros(len(frame), dtype=bool)
    if multi.any():
        pieces, owner = parts
        counts = np.bincount(owner, minlength=int(multi.sum()))
        lone = (counts == 1) & np.array([shapely.get_type_id(pieces[owner == k][0]) == 0
                                         if counts[k] == 1 else False
                                         for k in range(len(counts))])
        where = np.flatnonzero(multi)[lone]
        geoms = geoms.copy()
        geoms[where] = [pieces[owner == k][0] for k in np.flatnonzero(lone)]
        single[where] = True
    return frame.set_geometry(geoms, crs=frame.crs), single


def read_points(source: Mapping[str, Any], source_name: str,
                tracts: gpd.GeoDataFrame | None = None, *, personal: bool
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Points of one source in EPSG:4326, their attribute rows, and rejects.

    A CSV needs lat/lon columns (named in the config or autodetected) or a geopoint column, in
    WGS 84 degrees unless the source's `crs` says otherwise (then the longitude column is x and
    the latitude column y in that CRS); columns that hold projected values without a `crs` are an
    InputError. A vector file (GeoJSON, GeoPackage, Shapefile, zip, KML) gives its own point
    geometry (`crs` only for a file without one). With `tracts`, points in degrees that fall in
    the study area only when latitude and longitude are swapped are swapped back (repaired).
    Messages about a `personal` source (a survey) quote no value and no unconfigured column.
    Returns (points with column `row`, the full attribute table, rejects).
    """
    path = source["path"]
    crs = source_crs(source)
    if Path(path).suffix.lower() in VECTOR_SUFFIXES:
        frame = read_vector(path, source.get("layer"))
        if frame.empty:
            raise InputError("the file has no features.", path=path,
                             fix="export the points again (check the layer).")
        if frame.crs is None:
            if crs is None:
                raise InputError("the point file has no CRS.", path=path,
                                 fix="save it with a CRS (e.g. EPSG:4326), or give the source's "
                                     "crs in the config.")
            frame = frame.set_crs(crs)
        elif crs is not None and not frame.crs.equals(crs, ignore_axis_order=True):
            raise InputError(f"the file's CRS ({frame.crs.to_string()}) differs from the "
                             f"source's crs ({source['crs']}).", path=path,
                             fix="remove the source's crs: for a point file it is only for "
                                 "files without a CRS.")
        frame, single = _single_points(frame)
        frame, swapped = repair_swapped_geometries(frame, tracts)
        check_lonlat_extent(frame, path, personal=personal)
        frame = frame.to_crs(4326)
        frame["row"] = np.arange(1, len(frame) + 1)
        geometry = frame.geometry
        missing = (geometry.isna() | geometry.is_empty).to_numpy()
        types = geometry.geom_type.fillna("").to_numpy()
        other = ~missing & (types != "Point")
        rejects = concat_rejects([
            make_rejects(source_name, frame.loc[missing, "row"].tolist(), "missing geometry"),
            make_rejects(source_name, frame.loc[other, "row"].tolist(),
                         [f"geometry is a {t}, not a point" for t in types[other]]),
            make_rejects(source_name, frame.loc[swapped, "row"].tolist(), SWAP_REASON,
                         "repaired"),
            make_rejects(source_name, frame.loc[single & ~missing, "row"].tolist(),
                         "a MultiPoint or GeometryCollection holding one point: read as that "
                         "point", "repaired")])
        bad = missing | other
        points = frame.loc[~bad, ["row", frame.geometry.name]]
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return gpd.GeoDataFrame(points, crs=4326), table, rejects

    frame = read_csv_text(path)
    if frame.empty:
        raise InputError("the file has a header but no data rows.", path=path,
                         fix="export the data again with its rows.")
    notes = []
    guessed = GUESSED_ENCODINGS.get(frame.attrs.get("encoding", ""))
    if guessed:
        notes.append(make_rejects(source_name, [pd.NA], f"file is not UTF-8: read as {guessed} "
                                  "(check accented names)", "note"))
    lat_v, lon_v, where = _coordinates(frame, source, path, personal=personal)
    frame["row"] = np.arange(1, len(frame) + 1)
    notation = lat_v.attrs.get("notation", pd.Series(pd.NA, index=frame.index, dtype="string"))
    read_as = notation.notna() & lat_v.notna() & lon_v.notna()
    missing = lat_v.isna() | lon_v.isna()
    if crs is None:
        raise_if_projected(lat_v, lon_v, where, path, tracts, personal=personal)
    geographic = crs is None or crs.is_geographic
    extent = extent_lonlat(tracts, crs or 4326) if geographic else None
    swapped = pd.Series(False, index=frame.index)
    if extent is not None:
        swapped = pd.Series(swapped_points(lon_v, lat_v, extent), index=frame.index)
        lat_v, lon_v = lat_v.where(~swapped, lon_v), lon_v.where(~swapped, lat_v)
    out_of_range = ~missing & ((lat_v.abs() > 90) | (lon_v.abs() > 180)) if geographic \
        else pd.Series(False, index=frame.index)
    range_reason = "latitude/longitude out of range"
    if crs is not None:  # x = longitude column, y = latitude column, in `crs`
        x, y = Transformer.from_crs(crs, 4326, always_xy=True).transform(lon_v.to_numpy(),
                                                                           lat_v.to_numpy())
        lon_v, lat_v = pd.Series(x, index=frame.index), pd.Series(y, index=frame.index)
        out_of_range |= ~missing & ~(np.isfinite(x) & np.isfinite(y))
        if not geographic:
            range_reason = f"x/y ({where}) cannot be converted from {source['crs']}"
    bad = missing | out_of_range
    rejects = concat_rejects([
        *notes,
        make_rejects(source_name, frame.loc[missing, "row"].tolist(),
                     f"latitude/longitude ({where}) blank or not a number"),
        make_rejects(source_name, frame.loc[out_of_range, "row"].tolist(), range_reason),
        make_rejects(source_name, frame.loc[swapped, "row"].tolist(), SWAP_REASON, "repaired"),
        make_rejects(source_name, frame.loc[read_as & ~bad, "row"].tolist(),
                     [f"latitude/longitude ({where}) written {NOTATIONS[k]}: read as decimal "
                      "degrees" for k in notation[read_as & ~bad]], "repaired"),
    ])
    good = ~bad
    points = gpd.GeoDataFrame({"row": frame.loc[good, "row"].to_numpy()},
                              geometry=gpd.points_from_xy(lon_v[good], lat_v[good]), crs=4326)
    return points, frame, rejects



def assign_tracts(points: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, id_col: str,
                  source_name: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Join points to the tract containing them; points in no tract become rejects."""
    points = points.to_crs(tracts.crs)
    # Same answer as gpd.sjoin(predicate="within"), first tract on overlaps; see pointjoin.
    xy = shapely.get_coordinates(points.geometry.values)
    position = containing_polygon(xy[:, 0], xy[:, 1], tracts.geometry.values)
    outside = position < 0
    ids = np.full(len(position), np.nan, dtype=object)
    ids[~outside] = tracts[id_col].to_numpy()[position[~outside]]
    joined = points.copy()
    joined[id_col] = ids
    rejects = make_rejects(source_name, joined.loc[outside, "row"].tolist(),
                           "outside the study area (in no tract)")
    return joined.loc[~outside], rejects
