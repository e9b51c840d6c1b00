"""Tract polygons and their attributes: read, validated, joined; every change reported.

Attributes may sit in the tract file or in a separate table (plain CSV, data.census.gov download,
Census API JSON), joined on the tract id after restoring the GEOID zeros spreadsheets drop.
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
from pyproj import CRS

from aiddeserts.config import need_variables
from aiddeserts.errors import InputError
from aiddeserts.io.columns import numeric_columns, require_columns
from aiddeserts.io.crs import check_lonlat_extent
from aiddeserts.io.readers import (
    clean_ids,
    pad_ids,
    pad_width,
    read_table,
    read_vector,
    strip_geoid_prefix,
)
from aiddeserts.io.rejects import concat_rejects, make_rejects

__all__ = ["TRACT_GEOID_WIDTH", "load_tracts", "read_tracts"]

#: Digits of a tract GEOID (state 2 + county 3 + tract 6).
TRACT_GEOID_WIDTH = 11


def _polygon_part(geometry: Any) -> Any:
    """The polygonal part of a make_valid result (a GeometryCollection may hold lines)."""
    if geometry.geom_type in {"Polygon", "MultiPolygon"}:
        return geometry
    parts = [g for g in getattr(geometry, "geoms", []) if g.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _tract_geometries(tracts: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame,
                                                                       list[pd.DataFrame]]:
    """Drop empty and non-polygon rows, repair invalid polygons with make_valid; all reported."""
    # Heights and measures (3D/Z, M: KML, survey-grade exports) mean nothing to an area: 2D.
    tracts = tracts.set_geometry(shapely.force_2d(tracts.geometry.to_numpy()), crs=tracts.crs)
    geometry = tracts.geometry
    rows = np.arange(1, len(tracts) + 1)
    empty = (geometry.isna() | geometry.is_empty).to_numpy()
    types = geometry.geom_type.fillna("").to_numpy()
    collection = ~empty & (types == "GeometryCollection")
    polygonal = [_polygon_part(g) for g in geometry[collection].to_numpy()]
    kept = np.array([not g.is_empty for g in polygonal], dtype=bool)
    repaired = np.flatnonzero(collection)[kept]
    if len(repaired):
        tracts.loc[tracts.index[repaired], tracts.geometry.name] = gpd.GeoSeries(
            [g for g, k in zip(polygonal, kept, strict=True) if k], index=tracts.index[repaired],
            crs=tracts.crs)
        types = tracts.geometry.geom_type.fillna("").to_numpy()
    other = ~empty & ~np.isin(types, ["Polygon", "MultiPolygon"])
    rejects = [make_rejects(source, rows[repaired], "a GeometryCollection: its polygons kept, "
                            "other parts dropped", "repaired"),
               make_rejects(source, rows[empty], "empty geometry: tract dropped"),
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


def require_value_columns(columns: Sequence[str], wanted: Sequence[str], path: str | Path
                          ) -> None:
    """Every missing population/need column at once, with what to do without them."""
    missing = [c for c in dict.fromkeys(wanted) if c not in columns]
    if not missing:
        return
    names = [str(c) for c in columns]
    hints = []
    for column in missing:
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.5)
        hints.append(f"'{column}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise InputError(
        f"{len(missing)} configured need/population column(s) missing: {', '.join(hints)}; "
        f"columns are: {', '.join(names)}.", path=path, column=missing[0],
        fix="correct tracts.population / tracts.need; or get the columns with a region's "
        "`retrieve` config or an attribute CSV (tracts.attributes); or leave the keys out: "
        "without population people are spread evenly over each tract, without need the "
        "classes rest on access alone (config/README.md).")


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
    check_lonlat_extent(tracts, path, personal=False)
    id_col = tracts_config["id"]
    require_columns(list(tracts.columns), {"id": id_col}, path, personal=False)
    tracts[id_col] = clean_ids(tracts[id_col])
    blank = tracts[id_col].isna() | (tracts[id_col] == "")
    if blank.any():
        raise InputError("tract id is blank.", path=path, row=int(np.flatnonzero(blank)[0]) + 1,
                         column=id_col, fix="give every tract an id.")
    rejects: list[pd.DataFrame] = []

    attributes = tracts_config.get("attributes")
    population_col = tracts_config.get("population")
    value_columns = [population_col] * bool(population_col) + [
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
        require_columns(list(table.columns), {"attributes.id": aid}, apath, personal=False)
        require_value_columns(list(table.columns), value_columns, apath)
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
        table, notes = numeric_columns(table, value_columns, apath, asource)
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
        require_value_columns(list(tracts.columns), value_columns, path)
        tracts, notes = numeric_columns(tracts, value_columns, path, source)
        rejects.append(notes)

    if population_col:
        zero = (tracts[population_col] == 0).to_numpy()
        rejects.append(make_rejects(source, rows[zero], "population is 0: tract kept, classed "
                                    "insufficient_data", "flagged"))
    name_col = tracts_config.get("name") or ("NAMELSAD" if "NAMELSAD" in tracts.columns else None)
    if name_col:
        require_columns(list(tracts.columns), {"tracts.name": name_col}, path, personal=False)
        tracts["tract_name"] = tracts[name_col].astype("string").str.strip()
    tracts, geometry_rejects = _tract_geometries(tracts, source)
    tracts = tracts.reset_index(drop=True)
    keep = [id_col, *dict.fromkeys(value_columns), *["tract_name"] * bool(name_col),
            tracts.geometry.name]
    return tracts[keep], concat_rejects(rejects + geometry_rejects), read


def read_tracts(tracts_config: Mapping[str, Any]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Tract polygons with id (text), population and need columns, attributes joined if given.

    Attributes may be a plain CSV, a data.census.gov download (two header rows, `GEO_ID` like
    `1400000US36061000100`) or a Census API JSON response; ids are matched after removing the
    `1400000US` prefix and restoring lost leading zeros.
    """
    tracts, rejects, _ = load_tracts(tracts_config)
    return tracts, rejects
