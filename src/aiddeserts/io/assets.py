"""Asset sources (one source or a list): points with name, type, capacity, notes, visibility,
joined to tracts, duplicates across sources dropped and reported."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.config import asset_sources
from aiddeserts.errors import InputError
from aiddeserts.io.columns import require_columns, to_number
from aiddeserts.io.points import assign_tracts, read_points
from aiddeserts.io.rejects import concat_rejects, make_rejects
from aiddeserts.privacy import rules as privacy

__all__ = ["OPEN_STATUS", "asset_capacity", "derive_asset_id", "parse_open_status",
           "read_assets", "unique_ids"]

#: Spellings of an asset source's `status` column (lower-cased, stripped): open or closed;
#: anything else (blank, "unknown", "maybe") is unknown. TCMAP's currentlyOpenForDistributing
#: holds yes/no.
OPEN_STATUS = {
    "open": {"open", "yes", "y", "true", "t", "1", "active", "operating", "currently open"},
    "closed": {"closed", "no", "n", "false", "f", "0", "permanently closed",
               "permanently_closed", "closed permanently", "temporarily closed",
               "temporarily_closed", "inactive", "defunct"},
}


def parse_open_status(values: pd.Series) -> pd.Series:
    """A status column's values as `open`, `closed` or `unknown`."""
    text = values.astype("string").fillna("").str.strip().str.lower()
    out = pd.Series("unknown", index=values.index, dtype=object)
    for status, spellings in OPEN_STATUS.items():
        out[text.isin(spellings).to_numpy()] = status
    return out


def derive_asset_id(label: str, name: str, lon: float, lat: float) -> str:
    """The derived id of an asset without an id column: ``a-`` and the first 10 hex digits of
    the SHA-1 of ``label|name|lon|lat`` (name stripped, lon/lat rounded to 4 decimals, ~11 m)."""
    key = f"{label}|{str(name).strip()}|{lon:.4f}|{lat:.4f}"
    return "a-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def unique_ids(ids: Sequence[str], taken: Iterable[str] = ()) -> list[str]:
    """`ids` made unique in order: a repeat (or an id in `taken`) becomes ``<id>-2``, ``-3``..."""
    seen = set(taken)
    out = []
    for asset_id in ids:
        candidate, n = asset_id, 1
        while candidate in seen:
            n += 1
            candidate = f"{asset_id}-{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


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
    require_columns(list(attrs.columns), {"capacity": column}, source["path"], personal=False)
    try:  # numbers as typed in spreadsheets ($1,234, 1.234,5, −5, 1 234), as in need columns
        values = to_number(attrs[column])
    except ValueError:  # text: the row is named below
        values = pd.to_numeric(attrs[column].astype("string").str.strip(), errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(attrs.index[np.flatnonzero(bad.to_numpy())[0]])
        raise InputError(f"capacity {attrs[column].iloc[int(np.flatnonzero(bad.to_numpy())[0])]!r}"
                         " is blank, negative or not a number.", path=source["path"], row=row,
                         column=column, fix="give every asset a capacity of 0 or more (or "
                         "remove the source's capacity key to weigh every asset 1).")
    return values.to_numpy(dtype=float)


def _with_names(rejects: pd.DataFrame, table: pd.DataFrame, source: Mapping[str, Any]
                ) -> pd.DataFrame:
    """`rejects` of an asset source with the row's `name`, so an organizer finds it without
    opening the file by record number; blank for rows that are not public (a hidden or
    approximate asset's name is never published)."""
    if rejects.empty or not source.get("name") or source["name"] not in table.columns:
        return rejects
    by_row = table.set_index("row")
    rows = rejects["row"].dropna().astype(int)
    rows = rows[rows.isin(by_row.index)]
    names = by_row.loc[rows, source["name"]].astype("string").fillna("").str.strip()
    if source.get("visibility") and source["visibility"] in by_row.columns:
        shown = by_row.loc[rows, source["visibility"]].astype("string").fillna("").str.strip()
        names = names.where(shown.str.lower().isin(["", "public"]), "")
    elif source["visibility_value"] != "public":
        names[:] = ""
    out = rejects.copy()
    out["name"] = pd.Series("", index=out.index, dtype="string")
    out.loc[rows.index, "name"] = names.to_numpy()
    return out


def read_assets(region_config: Mapping[str, Any], tracts: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, int]]:
    """All asset sources of a region in the tracts' CRS with `asset_id` (the source's `id`
    column, else :func:`derive_asset_id`; repeats suffixed -2, -3 in file order), `name`, `type`,
    `source`, `capacity`, `notes`, `updated` (text, blank when not configured),
    `community_reported`, `visibility` and `open_status` (open/closed/unknown).

    `region_config` is validated (every source with its schema defaults). Duplicate assets
    (same place, name and type) are dropped and reported. A region where no asset of any source
    lies inside the study area is an InputError.
    """
    id_col = region_config["tracts"]["id"]
    kept, rejects, read = [], [], {}
    for index, source in enumerate(asset_sources(region_config), start=1):
        name = f"assets[{index}]:{source['path']}"
        if source.get("format") == "hsds":
            from aiddeserts.io.hsds import HSDS_COLUMNS, read_hsds_points

            points, table, bad = read_hsds_points(source["path"], name)
            source = {**source, **HSDS_COLUMNS}
        else:
            points, table, bad = read_points(source, name, tracts, personal=False)
        read[name] = len(table)
        require_columns(table.columns.drop("row").tolist(),
                        {key: source.get(key) for key in ("id", "status", "name", "type",
                                                          "notes", "updated", "visibility")},
                        source["path"], personal=False)
        lonlat = points.geometry
        points, outside = assign_tracts(points, tracts, id_col, name)
        attrs = table.set_index("row").loc[points["row"]]
        label = source.get("label", Path(source["path"]).name)
        points["name"] = (attrs[source["name"]].astype("string").fillna("").to_numpy()
                          if source.get("name") else "")
        given = (attrs[source["id"]].astype("string").fillna("").str.strip().to_numpy()
                 if source.get("id") else np.full(len(points), "", dtype=object))
        kept_lonlat = lonlat.loc[points.index]
        points["asset_id"] = [
            g if g else derive_asset_id(label, n, x, y) for g, n, x, y in zip(
                given, points["name"].tolist(), kept_lonlat.x, kept_lonlat.y, strict=True)]
        points["open_status"] = (parse_open_status(attrs[source["status"]]).to_numpy()
                                 if source.get("status") else "unknown")
        if source.get("type"):
            types = attrs[source["type"]].astype("string").str.strip().fillna("")
            points["type"] = types.where(types != "", "unspecified").to_numpy()
        else:
            points["type"] = source.get("type_value", "asset")
        points["visibility"] = (privacy.parse_visibility(
            attrs[source["visibility"]], source["path"], source["visibility"],
            rows=attrs.index.to_numpy()).to_numpy() if source.get("visibility")
            else source["visibility_value"])
        points["source"] = label
        points["capacity"] = asset_capacity(attrs, source)
        for key in ("notes", "updated"):
            points[key] = (attrs[source[key]].astype("string").fillna("").str.strip().to_numpy()
                           if source.get(key) else "")
        points["community_reported"] = bool(source["community_reported"])
        points["_source_name"] = name
        kept.append(points)
        rejects += [_with_names(r, table, source) for r in (bad, outside)]
    assets = gpd.GeoDataFrame(pd.concat(kept, ignore_index=True), geometry="geometry",
                              crs=tracts.crs)
    if len(assets):
        duplicated, reasons = _duplicates(assets)
        for name in read:
            mine = duplicated & (assets["_source_name"] == name).to_numpy()
            mine_reasons = [r for r, m in zip(reasons, mine[duplicated], strict=True) if m]
            dropped = make_rejects(name, assets.loc[mine, "row"].tolist(), mine_reasons)
            public = (assets.loc[mine, "visibility"] == "public").to_numpy()
            dropped["name"] = pd.Series(np.where(public, assets.loc[mine, "name"], ""),
                                        dtype="string")
            rejects.append(dropped)
        assets = assets.loc[~duplicated].reset_index(drop=True)
        assets["asset_id"] = unique_ids(assets["asset_id"].tolist())
    if assets.empty:
        raise InputError("no asset of any source lies inside the study area.",
                         path=", ".join(s["path"] for s in asset_sources(region_config)),
                         fix="check the asset files and their coordinates (`aiddeserts check` "
                             "lists every rejected row and why).")
    columns = ["asset_id", "name", "type", "source", "capacity", "notes", "updated",
               "community_reported", "visibility", "open_status", id_col, "geometry"]
    return assets[columns], concat_rejects(rejects), read
