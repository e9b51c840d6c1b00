"""Read tracts, assets and survey points; validate them; join points to tracts.

Every reader returns the rows it kept and a rejects table (`source`, `row`, `reason`, `action`):
a row is either kept or listed there, never silently dropped. `action` is `dropped` (the row is
not used), `repaired` (kept after a change, e.g. swapped lat/lon, restored GEOID zeros, geometry
fixed with make_valid), `flagged` (kept unchanged but worth a look, e.g. zero population) or
`note` (about the whole file, row blank: e.g. read as Latin-1). Row numbers are 1-based data rows
(header rows are not counted). Rejects never carry a row's content, which may be personal.
File formats are read by :mod:`aiddeserts.io.readers`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from aiddeserts.config import asset_sources, need_variables
from aiddeserts.errors import InputError
from aiddeserts.io.readers import (
    GEOPOINT_NAMES,
    LAT_NAMES,
    LON_NAMES,
    acs_numbers,
    check_exists,
    clean_ids,
    find_column,
    looks_like_geopoint,
    pad_ids,
    pad_width,
    parse_geopoint,
    read_csv_text,
    read_table,
    read_vector,
    strip_geoid_prefix,
)
from aiddeserts.method.pointjoin import containing_polygon
from aiddeserts.privacy import rules as privacy

__all__ = [
    "ACS_SENTINELS", "InputError", "REJECT_COLUMNS", "assign_tracts", "check_exists",
    "count_rows", "empty_rejects", "load_tracts", "make_rejects", "parse_yes_no", "read_assets",
    "read_csv_text", "read_points", "read_survey", "read_tracts", "read_vector",
    "require_columns", "to_number", "working_crs",
]

REJECT_COLUMNS = ["source", "row", "reason", "action"]
ACTIONS = ("dropped", "repaired", "flagged", "note")
#: ACS "annotation" values that stand for a missing estimate.
ACS_SENTINELS = (-666666666, -999999999, -888888888, -555555555, -333333333, -222222222)
YES = {"yes", "y", "true", "t", "1", "si", "sí", "oui", "x", "ja"}
NO = {"no", "n", "false", "f", "0", "non", "nein"}
VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".zip", ".kml", ".kmz", ".fgb"}
#: Digits of a tract GEOID (state 2 + county 3 + tract 6).
TRACT_GEOID_WIDTH = 11
#: Margin (degrees) around the study area's bounding box used to detect swapped lat/lon.
SWAP_MARGIN_DEG = 0.5
#: Reason listed in rejects for a point whose latitude and longitude were swapped back.
SWAP_REASON = ("latitude and longitude were swapped (the point lies in the study area only "
               "when swapped): corrected")
#: No longitude or latitude in degrees is beyond this (absolute value): such values are projected.
DEGREE_LIMIT = 180.0


def empty_rejects() -> pd.DataFrame:
    """A rejects table with no rows."""
    return pd.DataFrame({"source": pd.Series(dtype=str), "row": pd.Series(dtype="Int64"),
                         "reason": pd.Series(dtype=str), "action": pd.Series(dtype=str)})


def make_rejects(source: str, rows: Sequence[int], reason: str | Sequence[str],
                 action: str = "dropped") -> pd.DataFrame:
    """Rejects rows for `rows` (1-based) of `source`, all with one reason or one reason each."""
    if action not in ACTIONS:
        raise ValueError(action)
    rows = list(rows)
    reasons = [reason] * len(rows) if isinstance(reason, str) else list(reason)
    return pd.DataFrame({"source": pd.Series([source] * len(rows), dtype=str),
                         "row": pd.array(rows, dtype="Int64"),
                         "reason": pd.Series(reasons, dtype=str),
                         "action": pd.Series([action] * len(rows), dtype=str)})


def _concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([empty_rejects(), *[p for p in parts if len(p)]], ignore_index=True)


def count_rows(read: Mapping[str, int], rejects: pd.DataFrame) -> dict[str, Any]:
    """Counts of one input: rows read, kept, rejected (dropped), repaired and flagged, total and
    per source, such that read = kept + rejected for every source."""
    actions = rejects["action"] if "action" in rejects else pd.Series("dropped", rejects.index)
    per_source: dict[str, dict[str, int]] = {}
    for source, n in read.items():
        mine = actions[rejects["source"] == source]
        dropped = int((mine == "dropped").sum())
        per_source[source] = {"read": int(n), "kept": int(n) - dropped, "rejected": dropped,
                              "repaired": int((mine == "repaired").sum()),
                              "flagged": int((mine == "flagged").sum())}
    total = {k: sum(s[k] for s in per_source.values())
             for k in ("read", "kept", "rejected", "repaired", "flagged")}
    return {**total, "by_source": {s: c["read"] for s, c in per_source.items()},
            "sources": per_source}


def require_columns(columns: Sequence[str], wanted: Mapping[str, str | None]
                    | Sequence[tuple[str, str | None]], path: str | Path) -> None:
    """Raise if a configured column (given as role → column) is missing; suggest the closest."""
    pairs = wanted.items() if isinstance(wanted, Mapping) else wanted
    for role, column in pairs:
        if column is None or column in columns:
            continue
        names = [str(c) for c in columns]
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.5)
        if not close:
            close = [c for c in names if c.lower() == column.lower()]
        listing = ", ".join(names)
        hint = f"did you mean '{close[0]}'?" if close else f"columns are: {listing}."
        raise InputError(f"the configured {role} column is missing; {hint}", path=path,
                         column=column, fix=f"name an existing column in the config's '{role}' key.")


def to_number(values: pd.Series) -> pd.Series:
    """Text to float: blanks, ACS annotations and sentinel values become NaN; other text raises
    ``ValueError(first_bad_index)``."""
    numbers, _ = acs_numbers(values)
    return numbers


def parse_yes_no(values: pd.Series) -> pd.Series:
    """Yes/no answers in their usual forms (yes/Y/true/1/sí) to a nullable boolean."""
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(YES)] = True
    out[text.isin(NO)] = False
    return out


def _numeric_columns(frame: pd.DataFrame, columns: Sequence[str], path: str | Path,
                     source: str, row_offset: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse ACS-style numeric columns in place; text is fatal, missing/coded cells reported."""
    notes: dict[int, list[str]] = {}
    for column in dict.fromkeys(columns):
        try:
            numbers, note = acs_numbers(frame[column])
        except ValueError as exc:
            index = int(exc.args[0])
            raise InputError(f"value {frame[column].iloc[index]!r} is not a number.", path=path,
                             row=index + 1 + row_offset, column=column,
                             fix="use numbers only (blank for missing); check the configured "
                                 "need/population columns name numeric columns.") from exc
        frame[column] = numbers.to_numpy()
        for i in np.flatnonzero(note.notna().to_numpy()):
            kind = note.iloc[i]
            text = ("used as its bound" if kind == "top/bottom-coded"
                    else "treated as missing")
            notes.setdefault(int(i), []).append(f"{kind} value in '{column}' {text}")
    rows = sorted(notes)
    blank_only = [all(n.startswith("blank") for n in notes[r]) for r in rows]
    rejects = _concat([
        make_rejects(source, [r + 1 + row_offset for r, b in zip(rows, blank_only, strict=True)
                              if b], [", ".join(notes[r]) for r, b in
                                      zip(rows, blank_only, strict=True) if b], "flagged"),
        make_rejects(source, [r + 1 + row_offset for r, b in zip(rows, blank_only, strict=True)
                              if not b], ["; ".join(notes[r]) for r, b in
                                          zip(rows, blank_only, strict=True) if not b],
                     "repaired")])
    return frame, rejects


# --------------------------------------------------------------------------------------- tracts
def working_crs(tracts: gpd.GeoDataFrame, configured: str | None = None) -> CRS:
    """The projected CRS for distances: the configured one, else pyproj's UTM estimate."""
    if configured:
        crs = CRS.from_user_input(configured)
        if not crs.is_projected:
            raise InputError(f"working_crs {configured} is not a projected CRS.",
                             fix="use a metric projected CRS such as a UTM zone.")
        return crs
    return tracts.estimate_utm_crs()


def check_lonlat_extent(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    """A file labelled lon/lat whose coordinates are beyond ±180/±90 is really projected."""
    if frame.crs is None or not frame.crs.is_geographic or frame.geometry.isna().all():
        return
    minx, miny, maxx, maxy = frame.total_bounds
    if min(minx, miny) < -180 or maxx > 180 or max(abs(miny), abs(maxy)) > 90:
        raise InputError(
            f"the file says its CRS is {frame.crs.to_string()} (longitude/latitude) but its "
            f"coordinates reach x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}: they are "
            "projected (metres or feet).", path=path,
            fix="re-save the file with its true projected CRS (in QGIS: Layer > Set CRS), "
                "e.g. the state plane or UTM zone it was made in.")


def _polygon_part(geometry: Any) -> Any:
    """The polygonal part of a make_valid result (a GeometryCollection may hold lines)."""
    if geometry.geom_type in {"Polygon", "MultiPolygon"}:
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _tract_geometries(tracts: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame,
                                                                       list[pd.DataFrame]]:
    """Drop empty and non-polygon rows, repair invalid polygons with make_valid; all reported."""
    geometry = tracts.geometry
    rows = np.arange(1, len(tracts) + 1)
    empty = (geometry.isna() | geometry.is_empty).to_numpy()
    types = geometry.geom_type.fillna("").to_numpy()
    other = ~empty & ~np.isin(types, ["Polygon", "MultiPolygon"])
    rejects = [make_rejects(source, rows[empty], "empty geometry: tract dropped"),
               make_rejects(source, rows[other], [f"geometry is a {t}, not a polygon: tract dropped"
                                                  for t in types[other]])]
    invalid = ~empty & ~other & ~geometry.is_valid.to_numpy()
    if invalid.any():
        fixed = [_polygon_part(g) for g in shapely.make_valid(geometry[invalid].to_numpy())]
        tracts.loc[invalid, tracts.geometry.name] = gpd.GeoSeries(fixed, index=tracts.index[invalid],
                                                                  crs=tracts.crs)
        rejects.append(make_rejects(source, rows[invalid],
                                    "invalid geometry repaired with make_valid (tract kept)",
                                    "repaired"))
    keep = ~empty & ~other
    return tracts.loc[keep], rejects


def _raise_duplicates(values: pd.Series, path: str | Path, column: str, what: str,
                      row_offset: int = 0) -> None:
    duplicated = values.duplicated(keep="first") & values.notna()
    if duplicated.any():
        index = int(np.flatnonzero(duplicated.to_numpy())[0])
        first = int(np.flatnonzero((values == values.iloc[index]).fillna(False).to_numpy())[0])
        raise InputError(f"{what} {values.iloc[index]!r} appears more than once (also row "
                         f"{first + 1 + row_offset}).", path=path, row=index + 1 + row_offset,
                         column=column, fix="keep one row per tract (remove the duplicate).")


def load_tracts(tracts_config: Mapping[str, Any]
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, int]]:
    """Like :func:`read_tracts`, also returning rows read per source (tracts, attributes)."""
    path = tracts_config["path"]
    source = f"tracts:{path}"
    tracts = read_vector(path, tracts_config.get("layer"))
    if tracts.empty:
        raise InputError("the tract file has no features.", path=path,
                         fix="check the file and its layer (tracts.layer).")
    read = {source: len(tracts)}
    if tracts.crs is None:
        if not tracts_config.get("crs"):
            raise InputError("the tract file has no CRS and the config gives none.", path=path,
                             fix="add tracts.crs (e.g. EPSG:2263) to the region's config.")
        tracts = tracts.set_crs(tracts_config["crs"])
    elif tracts_config.get("crs") and CRS(tracts_config["crs"]) != tracts.crs:
        raise InputError(f"the file's CRS ({tracts.crs.to_string()}) differs from tracts.crs "
                         f"({tracts_config['crs']}).", path=path,
                         fix="remove tracts.crs: it is only for files without a CRS.")
    check_lonlat_extent(tracts, path)
    id_col = tracts_config["id"]
    require_columns(list(tracts.columns), {"id": id_col}, path)
    tracts[id_col] = clean_ids(tracts[id_col])
    blank = tracts[id_col].isna() | (tracts[id_col] == "")
    if blank.any():
        raise InputError("tract id is blank.", path=path, row=int(np.flatnonzero(blank)[0]) + 1,
                         column=id_col, fix="give every tract an id.")
    rejects: list[pd.DataFrame] = []

    attributes = tracts_config.get("attributes")
    value_columns = [tracts_config["population"]] + [
        c for spec in need_variables(tracts_config) for c in (spec["column"], spec.get("moe")) if c
    ]
    table = None
    if attributes:
        apath, aid = attributes["path"], attributes["id"]
        asource = f"attributes:{apath}"
        table = read_table(apath)
        if table.empty:
            raise InputError("the attribute table has a header but no data rows.", path=apath,
                             fix="export the table again with its rows.")
        read[asource] = len(table)
        require_columns(list(table.columns), {"attributes.id": aid}, apath)
        require_columns(list(table.columns), [("need/population", c) for c in value_columns], apath)
        table = table[list(dict.fromkeys([aid, *value_columns]))].copy()
        table[aid] = clean_ids(table[aid])

    # GEOIDs that lost their leading zero (a spreadsheet read them as numbers) are padded to the
    # width of the longest digit-only id in the tract file and the attribute table.
    width = pad_width(tracts[id_col], *([table[attributes["id"]]] if table is not None else []))
    id_names = [id_col, *([attributes["id"]] if attributes else [])]
    if width == TRACT_GEOID_WIDTH - 1 and any("geoid" in n.lower() for n in id_names):
        width = TRACT_GEOID_WIDTH  # every tract GEOID of a state 01-09 lost its zero
    tracts[id_col], padded = pad_ids(tracts[id_col], width)
    rows = np.arange(1, len(tracts) + 1)
    rejects.append(make_rejects(source, rows[padded], "GEOID had lost its leading zero(s): "
                                "restored", "repaired"))
    _raise_duplicates(tracts[id_col], path, id_col, "tract id")

    if table is not None:
        apath, aid = attributes["path"], attributes["id"]
        asource = f"attributes:{apath}"
        table[aid], apadded = pad_ids(strip_geoid_prefix(table[aid]), width)
        rejects.append(make_rejects(asource, np.arange(1, len(table) + 1)[apadded],
                                    "GEOID had lost its leading zero(s): restored", "repaired"))
        _raise_duplicates(table[aid], apath, aid, "attribute id")
        table, notes = _numeric_columns(table, value_columns, apath, asource)
        rejects.append(notes)
        key = strip_geoid_prefix(tracts[id_col])
        unmatched = ~table[aid].isin(set(key.dropna()))
        rejects.append(make_rejects(asource, np.flatnonzero(unmatched.to_numpy()) + 1,
                                    "attribute row matches no tract id: not used"))
        no_row = ~key.isin(set(table[aid].dropna()))
        rejects.append(make_rejects(source, rows[no_row.to_numpy()],
                                    "no attribute row for this tract: need data missing",
                                    "flagged"))
        tracts = tracts.drop(columns=[c for c in value_columns if c in tracts.columns])
        tracts = tracts.assign(_key=key.to_numpy()).merge(
            table.rename(columns={aid: "_key"}), how="left", on="_key").drop(columns="_key")
    else:
        require_columns(list(tracts.columns), [("need/population", c) for c in value_columns], path)
        tracts, notes = _numeric_columns(tracts, value_columns, path, source)
        rejects.append(notes)

    population = tracts[tracts_config["population"]]
    zero = (population == 0).to_numpy()
    rejects.append(make_rejects(source, rows[zero], "population is 0: tract kept, classed "
                                "insufficient_data", "flagged"))
    tracts, geometry_rejects = _tract_geometries(tracts, source)
    tracts = tracts.reset_index(drop=True)
    keep = [id_col, *dict.fromkeys(value_columns), tracts.geometry.name]
    return tracts[keep], _concat(rejects + geometry_rejects), read


def read_tracts(tracts_config: Mapping[str, Any]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Tract polygons with id (text), population and need columns, attributes joined if given.

    Attributes may be a plain CSV, a data.census.gov download (two header rows, `GEO_ID` like
    `1400000US36061000100`) or a Census API JSON response; ids are matched after removing the
    `1400000US` prefix and restoring lost leading zeros.
    """
    tracts, rejects, _ = load_tracts(tracts_config)
    return tracts, rejects


# --------------------------------------------------------------------------------------- points
def _extent_lonlat(tracts: gpd.GeoDataFrame | None, crs: Any = 4326
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


def _raise_if_projected(lat: pd.Series, lon: pd.Series, where: str, path: str | Path,
                        tracts: gpd.GeoDataFrame | None) -> None:
    """Stop when most rows hold values no longitude or latitude can take (both beyond ±180):
    the columns are projected x/y (metres or feet), which need the source's `crs`."""
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
    raise InputError(
        f"latitude/longitude ({where}) values such as {lat.iloc[first]:.0f}, "
        f"{lon.iloc[first]:.0f} are far outside ±90/±180: they look like projected coordinates "
        f"(metres or feet), not degrees ({int(projected.sum())} of {numbers} rows).",
        path=path, row=first + 1, column=where,
        fix=f"set `crs:` for this source to {suggestion}; x is then read from the longitude "
            "column and y from the latitude column.")


def _coordinates(frame: pd.DataFrame, source: Mapping[str, Any], path: str | Path
                 ) -> tuple[pd.Series, pd.Series, str]:
    """Latitude and longitude of every row: configured or autodetected lat/lon columns, or a
    geopoint column (ODK/Kobo "lat lon alt acc", Google Forms "lat, lon", Kobo `_geolocation`)."""
    columns = list(frame.columns)
    if source.get("geopoint"):
        require_columns(columns, {"geopoint": source["geopoint"]}, path)
        lat, lon = parse_geopoint(frame[source["geopoint"]])
        return lat, lon, source["geopoint"]
    lat_col = source.get("lat") or find_column(columns, LAT_NAMES)
    lon_col = source.get("lon") or find_column(columns, LON_NAMES)
    if source.get("lat") or source.get("lon") or (lat_col and lon_col):
        require_columns(columns, {"lat": lat_col or "lat", "lon": lon_col or "lon"}, path)
        lat = pd.to_numeric(frame[lat_col].str.strip(), errors="coerce").astype(float)
        lon = pd.to_numeric(frame[lon_col].str.strip(), errors="coerce").astype(float)
        return lat, lon, f"{lat_col}/{lon_col}"
    point_col = find_column(columns, GEOPOINT_NAMES)
    if point_col is None or not looks_like_geopoint(frame[point_col]):
        point_col = next((c for c in columns if looks_like_geopoint(frame[c])), None)
    if point_col is None:
        raise InputError("no latitude/longitude columns found (looked for "
                         f"{', '.join(LAT_NAMES)} / {', '.join(LON_NAMES)} and a geopoint "
                         f"column); columns are: {', '.join(columns)}.", path=path,
                         fix="name the columns in the config: lat and lon, or geopoint.")
    lat, lon = parse_geopoint(frame[point_col])
    return lat, lon, point_col


def _repair_swapped_geometries(frame: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame | None
                               ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Swap back the point geometries of a geographic (longitude/latitude) vector file that lie
    in the study area only with their coordinates exchanged; returns the frame and the mask of
    swapped rows. A projected file is never swapped."""
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    swapped = np.zeros(len(frame), dtype=bool)
    extent = _extent_lonlat(tracts, frame.crs) if frame.crs.is_geographic else None
    if extent is not None:
        point = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
        x, y = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        x[point], y[point] = shapely.get_x(geoms[point]), shapely.get_y(geoms[point])
        swapped = swapped_points(x, y, extent)
        geoms = geoms.copy()
        geoms[swapped] = shapely.points(y[swapped], x[swapped])
    return frame.set_geometry(geoms, crs=frame.crs), swapped


def read_points(source: Mapping[str, Any], source_name: str,
                tracts: gpd.GeoDataFrame | None = None
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Points of one source in EPSG:4326, their attribute rows, and rejects.

    A CSV needs lat/lon columns (named in the config or autodetected) or a geopoint column, in
    WGS 84 degrees unless the source's `crs` says otherwise (then the longitude column is x and
    the latitude column y in that CRS); columns that hold projected values without a `crs` are an
    InputError. A vector file (GeoJSON, GeoPackage, Shapefile, zip, KML) gives its own point
    geometry (`crs` only for a file without one). With `tracts`, points in degrees that fall in
    the study area only when latitude and longitude are swapped are swapped back (repaired).
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
        frame, swapped = _repair_swapped_geometries(frame, tracts)
        check_lonlat_extent(frame, path)
        frame = frame.to_crs(4326)
        frame["row"] = np.arange(1, len(frame) + 1)
        geometry = frame.geometry
        missing = (geometry.isna() | geometry.is_empty).to_numpy()
        types = geometry.geom_type.fillna("").to_numpy()
        other = ~missing & (types != "Point")
        rejects = _concat([
            make_rejects(source_name, frame.loc[missing, "row"].tolist(), "missing geometry"),
            make_rejects(source_name, frame.loc[other, "row"].tolist(),
                         [f"geometry is a {t}, not a point" for t in types[other]]),
            make_rejects(source_name, frame.loc[swapped, "row"].tolist(), SWAP_REASON,
                         "repaired")])
        bad = missing | other
        points = frame.loc[~bad, ["row", frame.geometry.name]]
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return gpd.GeoDataFrame(points, crs=4326), table, rejects

    frame = read_csv_text(path)
    if frame.empty:
        raise InputError("the file has a header but no data rows.", path=path,
                         fix="export the data again with its rows.")
    notes = []
    if frame.attrs.get("encoding") == "latin-1":
        notes.append(make_rejects(source_name, [pd.NA], "file is not UTF-8: read as Latin-1 "
                                  "(check accented names)", "note"))
    lat_v, lon_v, where = _coordinates(frame, source, path)
    frame["row"] = np.arange(1, len(frame) + 1)
    missing = lat_v.isna() | lon_v.isna()
    if crs is None:
        _raise_if_projected(lat_v, lon_v, where, path, tracts)
    geographic = crs is None or crs.is_geographic
    extent = _extent_lonlat(tracts, crs or 4326) if geographic else None
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
    rejects = _concat([
        *notes,
        make_rejects(source_name, frame.loc[missing, "row"].tolist(),
                     f"latitude/longitude ({where}) blank or not a number"),
        make_rejects(source_name, frame.loc[out_of_range, "row"].tolist(), range_reason),
        make_rejects(source_name, frame.loc[swapped, "row"].tolist(), SWAP_REASON, "repaired"),
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


def _duplicates(assets: gpd.GeoDataFrame) -> tuple[np.ndarray, list[str]]:
    """Later copies of an asset already listed (same place within 1 m, same name and type)."""
    key = pd.DataFrame({"x": assets.geometry.x.round(0), "y": assets.geometry.y.round(0),
                        "name": assets["name"].astype(str).str.strip().str.lower(),
                        "type": assets["type"].astype(str)})
    duplicated = key.duplicated(keep="first").to_numpy()
    first = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()
    first_index = {g: i for i, g in reversed(list(enumerate(first)))}
    reasons = [f"duplicate of {assets['_source_name'].iloc[first_index[first[i]]]} row "
               f"{assets['row'].iloc[first_index[first[i]]]}: dropped"
               for i in np.flatnonzero(duplicated)]
    return duplicated, reasons


def asset_capacity(attrs: pd.DataFrame, source: Mapping[str, Any]) -> np.ndarray:
    """Supply weight of each asset (for the floating catchment): the source's `capacity` column,
    or 1 per asset when none is configured. Blank, negative or non-numeric values stop the run,
    naming the row (`attrs` is indexed by the 1-based data row)."""
    column = source.get("capacity")
    if not column:
        return np.ones(len(attrs))
    require_columns(list(attrs.columns), {"capacity": column}, source["path"])
    values = pd.to_numeric(attrs[column].astype("string").str.strip(), errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(attrs.index[np.flatnonzero(bad.to_numpy())[0]])
        raise InputError(f"capacity {attrs[column].iloc[int(np.flatnonzero(bad.to_numpy())[0])]!r}"
                         " is blank, negative or not a number.", path=source["path"], row=row,
                         column=column, fix="give every asset a capacity of 0 or more (or "
                         "remove the source's capacity key to weigh every asset 1).")
    return values.to_numpy(dtype=float)


def read_assets(region_config: Mapping[str, Any], tracts: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, int]]:
    """All asset sources of a region in the tracts' CRS with `asset_id`, `name`, `type`, `source`,
    `capacity`, `notes`, `updated` (text, blank when not configured) and `community_reported`.

    Duplicate assets (same place, name and type) are dropped and reported. A region where no
    asset of any source lies inside the study area is an InputError.
    """
    id_col = region_config["tracts"]["id"]
    kept, rejects, read = [], [], {}
    for index, source in enumerate(asset_sources(region_config), start=1):
        name = f"assets[{index}]:{source['path']}"
        points, table, bad = read_points(source, name, tracts)
        read[name] = len(table)
        require_columns(list(table.columns), {"name": source.get("name"),
                                              "type": source.get("type"),
                                              "notes": source.get("notes"),
                                              "updated": source.get("updated"),
                                              "visibility": source.get("visibility")},
                        source["path"])
        points, outside = assign_tracts(points, tracts, id_col, name)
        attrs = table.set_index("row").loc[points["row"]]
        points["asset_id"] = [f"{index}-{r}" for r in points["row"]]
        points["name"] = (attrs[source["name"]].astype("string").fillna("").to_numpy()
                          if source.get("name") else "")
        if source.get("type"):
            types = attrs[source["type"]].astype("string").str.strip().fillna("")
            points["type"] = types.where(types != "", "unspecified").to_numpy()
        else:
            points["type"] = source.get("type_value", "asset")
        points["visibility"] = (privacy.parse_visibility(
            attrs[source["visibility"]], source["path"], source["visibility"],
            rows=attrs.index.to_numpy()).to_numpy() if source.get("visibility")
            else source.get("visibility_value", "public"))
        points["source"] = source.get("label", Path(source["path"]).name)
        points["capacity"] = asset_capacity(attrs, source)
        for key in ("notes", "updated"):
            points[key] = (attrs[source[key]].astype("string").fillna("").str.strip().to_numpy()
                           if source.get(key) else "")
        points["community_reported"] = bool(source.get("community_reported", False))
        points["_source_name"] = name
        kept.append(points)
        rejects += [bad, outside]
    assets = gpd.GeoDataFrame(pd.concat(kept, ignore_index=True), geometry="geometry",
                              crs=tracts.crs)
    if len(assets):
        duplicated, reasons = _duplicates(assets)
        for name in read:
            mine = duplicated & (assets["_source_name"] == name).to_numpy()
            mine_reasons = [r for r, m in zip(reasons, mine[duplicated], strict=True) if m]
            rejects.append(make_rejects(name, assets.loc[mine, "row"].tolist(), mine_reasons))
        assets = assets.loc[~duplicated].reset_index(drop=True)
    if assets.empty:
        raise InputError("no asset of any source lies inside the study area.",
                         path=", ".join(s["path"] for s in asset_sources(region_config)),
                         fix="check the asset files and their coordinates (`aiddeserts check` "
                             "lists every rejected row and why).")
    columns = ["asset_id", "name", "type", "source", "capacity", "notes", "updated",
               "community_reported", "visibility", id_col, "geometry"]
    return assets[columns], _concat(rejects), read


def survey_allow_list(survey_config: Mapping[str, Any]) -> list[str]:
    """The only survey columns the pipeline reads: location, unmet need, story, consent."""
    keys = {"lat": "lat", "lon": "lon", "geopoint": None, "need": None, "story": None,
            "consent": None}
    return [c for k, d in keys.items() if (c := survey_config.get(k, d))]


def read_survey(survey_config: Mapping[str, Any], tracts: gpd.GeoDataFrame, id_col: str,
                min_respondents: int = 11) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Survey responses reduced to an allow-list: location, unmet need, consented story.

    Names, phones, emails and every other column are dropped here and never written.
    A story is kept only when the consent column says yes (yes/Y/true/1/sí...), with personal
    details redacted (see :func:`aiddeserts.privacy.rules.redact`; `min_respondents` as in
    privacy.personal_values); a consent answer that is not recognised withholds the story
    and is flagged.
    """
    name = f"survey:{survey_config['path']}"
    points, table, rejects = read_points(survey_config, name, tracts)
    need, story, consent = (survey_config.get(k) for k in ("need", "story", "consent"))
    require_columns(list(table.columns), {"need": need, "story": story, "consent": consent},
                    survey_config["path"])
    points, outside = assign_tracts(points, tracts, id_col, name)
    attrs = table.set_index("row").loc[points["row"]]
    unmet = parse_yes_no(attrs[need]).to_numpy()
    stories = (attrs[story].astype("string").fillna("").str.strip().to_numpy()
               if story else np.full(len(points), ""))
    if consent:
        answers = parse_yes_no(attrs[consent])
        consented = answers.fillna(False).to_numpy(dtype=bool)
        unclear = (answers.isna().to_numpy() & (stories != "")
                   & (attrs[consent].astype("string").fillna("").str.strip() != "").to_numpy())
    else:
        consented = np.zeros(len(points), bool)
        unclear = np.zeros(len(points), bool)
    personal = privacy.personal_values(table, survey_allow_list(survey_config), min_respondents)
    stories = np.array(privacy.redact_stories(np.where(consented, stories, ""), personal),
                       dtype=object)
    survey = gpd.GeoDataFrame({
        id_col: points[id_col].to_numpy(),
        "unmet_need": pd.array(unmet, dtype="boolean"),
        "story_consented": consented,
        "story": np.where(consented, stories, ""),
    }, geometry=points.geometry.to_numpy(), crs=tracts.crs)
    unparsed = survey["unmet_need"].isna().to_numpy()
    bad_need = make_rejects(name, points.loc[unparsed, "row"].tolist(),
                            f"unmet-need answer in '{need}' is not yes/no")
    unclear_consent = make_rejects(name, points.loc[unclear & ~unparsed, "row"].tolist(),
                                   f"consent answer in '{consent}' is not yes/no: story withheld",
                                   "repaired")
    survey = survey.loc[~unparsed].reset_index(drop=True)
    survey["unmet_need"] = survey["unmet_need"].astype(bool)
    return survey, _concat([rejects, outside, bad_need, unclear_consent]), len(table)
