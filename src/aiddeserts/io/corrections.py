"""Community corrections (a form's export: add, close, update, confirm an asset) applied to the
assets on ingest, and each asset's inventory status (active, stale, closed).

Corrections never edit the source files: they are applied to the assets read from them, in
date order (later dates win; same date: the order of the sources, then of the rows), each
change recorded with its provenance (`correction_source`, `reported`). A row that cannot be
applied (missing or unknown action, unknown asset_id, an add without a usable location, no
date) is a row-level reject, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.errors import InputError
from aiddeserts.io.assets import derive_asset_id, unique_ids
from aiddeserts.io.columns import require_columns
from aiddeserts.io.points import _coordinates, assign_tracts
from aiddeserts.io.readers import read_csv_text
from aiddeserts.io.rejects import concat_rejects, make_rejects

__all__ = ["ACTIONS", "INVENTORY_COLUMNS", "apply_corrections", "inventory_status",
           "parse_dates"]

ACTIONS = ("add", "close", "update", "confirm")
#: Columns the inventory adds to the assets read from the sources.
INVENTORY_COLUMNS = ["status", "last_verified", "closed_since", "correction_source", "reported"]


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates (ISO text ``YYYY-MM-DD``, blank when unreadable) from ISO dates or timestamps
    (Kobo's ``_submission_time``, ODK's ``SubmissionDate``, Google Forms' ``Timestamp``)."""
    text = values.astype("string").fillna("").str.strip()
    parsed = pd.to_datetime(text.where(text != "", None), errors="coerce", utc=True,
                            format="mixed")
    return parsed.dt.strftime("%Y-%m-%d").fillna("").astype(object)


def _read_source(source: Mapping[str, Any], index: int) -> tuple[str, pd.DataFrame]:
    """One corrections export as a table with columns action, asset_id, name, type, notes,
    date, lat, lon (NaN without a location) and row."""
    path = source["path"]
    name = f"corrections[{index}]:{path}"
    frame = read_csv_text(path)
    keys = ("action", "asset_id", "name", "type", "notes", "date")
    require_columns(list(frame.columns), {"action": source["action"], "date": source["date"]},
                    path, personal=False)
    out = pd.DataFrame({key: (frame[source[key]].astype("string").fillna("").str.strip()
                              if source[key] in frame.columns else "")
                        for key in keys}, index=frame.index)
    out["action"] = out["action"].str.lower()
    out["date"] = parse_dates(out["date"])
    try:
        lat, lon, _ = _coordinates(frame, source, path, personal=False)
    except InputError:  # a form of closes and confirms need not ask for a location
        lat = lon = pd.Series(np.nan, index=frame.index)
    out["lat"], out["lon"] = lat.to_numpy(), lon.to_numpy()
    out["row"] = np.arange(1, len(frame) + 1)
    out["label"] = source.get("label", Path(path).name)
    out["_source"] = name
    out["_order"] = index
    return name, out


def apply_corrections(assets: gpd.GeoDataFrame, sources: Sequence[Mapping[str, Any]],
                      tracts: gpd.GeoDataFrame, id_col: str
                      ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, int]]:
    """The assets (tracts' CRS, columns of :func:`aiddeserts.io.assets.read_assets`) with the
    corrections applied, the corrections' rejects and rows read per source.

    Adds `closed_since`, `correction_source`, `reported` and `last_verified` (the source's
    `updated` date, or the latest correction). `add` makes a community-reported asset (source:
    the form's label); `close` sets open_status closed from its date; `update` replaces the
    non-blank name/type/notes and the location when one is given; `confirm` refreshes
    last_verified and reopens an asset closed before that date.
    """
    out = assets.copy()
    out["last_verified"] = parse_dates(out["updated"]).to_numpy()
    out["closed_since"] = np.where(out["open_status"] == "closed", out["last_verified"], "")
    out["correction_source"] = ""
    out["reported"] = ""
    rows, read, columns = [], {}, {}
    for index, source in enumerate(sources, start=1):
        name, table = _read_source(source, index)
        read[name] = len(table)
        columns[name] = source
        rows.append(table)
    if not rows:
        return out, concat_rejects([]), read
    table = pd.concat(rows, ignore_index=True).sort_values(["date", "_order", "row"],
                                                           kind="stable")
    located = table["lat"].notna() & table["lon"].notna()
    points = gpd.GeoDataFrame(table.loc[located, ["row"]], geometry=gpd.points_from_xy(
        table.loc[located, "lon"], table.loc[located, "lat"]), crs=4326)
    inside, _ = assign_tracts(points, tracts, id_col, "")
    rejected: list[tuple[str, int, str]] = []
    flagged: list[tuple[str, int, str]] = []
    records = out.to_dict("records")
    position = {r["asset_id"]: i for i, r in enumerate(records)}
    for i, row in table.iterrows():
        action, when = row["action"], row["date"]
        column = columns[row["_source"]]
        reason = None
        if action not in ACTIONS:
            reason = (f"action (column '{column['action']}') is blank" if not action else
                      f"action (column '{column['action']}') is not one of add, close, update, "
                      "confirm")
        elif not when:
            reason = f"date (column '{column['date']}') is blank or not a date"
        elif action != "add" and row["asset_id"] not in position:
            reason = (f"asset_id (column '{column['asset_id']}') is "
                      + ("blank" if not row["asset_id"] else "not in the inventory"))
        elif action == "add" and i not in inside.index:
            reason = ("add without a location (latitude/longitude blank or not a number)"
                      if i not in points.index else "outside the study area (in no tract)")
        elif action == "update" and i in points.index and i not in inside.index:
            flagged.append((row["_source"], int(row["row"]),
                            "update's new location is outside the study area: place kept"))
        if reason:
            rejected.append((row["_source"], int(row["row"]), reason))
            continue
        provenance = {"correction_source": row["label"], "reported": when}
        if action == "add":
            asset_id = row["asset_id"] or derive_asset_id(row["label"], row["name"], row["lon"],
                                                          row["lat"])
            asset_id = unique_ids([asset_id], position)[0]
            position[asset_id] = len(records)
            records.append({
                "asset_id": asset_id, "name": row["name"], "type": row["type"] or "unspecified",
                "source": row["label"], "capacity": 1.0, "notes": row["notes"],
                "updated": when, "community_reported": True, "visibility": "public",
                "open_status": "open", id_col: inside.at[i, id_col],
                "geometry": inside.at[i, "geometry"], "last_verified": when,
                "closed_since": "", **provenance})
            continue
        record = records[position[row["asset_id"]]]
        record.update(provenance)
        record["last_verified"] = max(record["last_verified"], when)
        if action == "close":
            record["open_status"] = "closed"
            record["closed_since"] = when
        elif action == "confirm" and record["open_status"] == "closed":
            record["open_status"], record["closed_since"] = "open", ""
        elif action == "update":
            for key in ("name", "type", "notes"):
                if row[key]:
                    record[key] = row[key]
            if i in inside.index:
                record["geometry"], record[id_col] = inside.at[i, "geometry"], inside.at[i, id_col]
    rejects = concat_rejects(
        [make_rejects(s, [r], why) for s, r, why in rejected]
        + [make_rejects(s, [r], why, "flagged") for s, r, why in flagged])
    rejects = rejects.sort_values(["source", "row"], kind="stable").reset_index(drop=True)
    corrected = gpd.GeoDataFrame(pd.DataFrame.from_records(records), geometry="geometry",
                                 crs=assets.crs)
    return corrected, rejects, read


def resolve_as_of(as_of: str | None, dates: pd.Series) -> str:
    """The date staleness is measured at: `as_of` (ISO), the run's UTC date for ``today``, or
    (None) the newest date among `dates` (blank when there is none)."""
    if as_of == "today":
        return datetime.now(timezone.utc).date().isoformat()
    if as_of:
        return date.fromisoformat(str(as_of)).isoformat()
    known = [d for d in dates.astype(str).tolist() if d]
    return max(known) if known else ""


def inventory_status(assets: pd.DataFrame, stale_after_days: int, as_of: str | None
                     ) -> pd.Series:
    """`closed` (open_status closed), `stale` (last verified more than `stale_after_days`
    before :func:`resolve_as_of`) or `active` (also when last_verified is unknown: the list is
    a floor)."""
    reference = resolve_as_of(as_of, pd.concat([assets["last_verified"],
                                                assets["closed_since"]]))
    verified = pd.to_datetime(assets["last_verified"].replace("", None), errors="coerce")
    age = ((pd.Timestamp(reference) - verified).dt.days if reference
           else pd.Series(np.nan, index=assets.index))
    status = np.where(age > stale_after_days, "stale", "active")
    return pd.Series(np.where(assets["open_status"] == "closed", "closed", status),
                     index=assets.index)
