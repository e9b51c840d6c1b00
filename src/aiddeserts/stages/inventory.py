"""Inventory stage (workflow/rules/inventory.smk): the public inventory (assets.csv and its
Open Referral HSDS 3 package), each tract's class (tract_classes.csv) and what changed since
the previously published run (changes.csv)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiddeserts.io.files import atomic_path, read_gpkg

#: Columns of outputs/<region>/assets.csv (a public contract: extend, never rename).
ASSET_COLUMNS = ["asset_id", "name", "type", "status", "last_verified", "source",
                 "community_reported", "lat", "lon"]
#: Decimals of assets.csv's coordinates (as the map draws them, ~1 m).
COORD_DECIMALS = 5
CHANGE_COLUMNS = ["kind", "id", "before", "after", "previous_run_utc"]


def _write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def public_inventory(inventory: pd.DataFrame, tracts: pd.DataFrame, tract_id: str,
                     privacy: Mapping[str, Any]) -> pd.DataFrame:
    """Every asset as the map draws it: hidden ones left out, approximate ones at their shown
    place (privacy.rules.assets_for_display), with the columns of :data:`ASSET_COLUMNS`."""
    from aiddeserts.privacy.rules import assets_for_display

    shown = assets_for_display(inventory, tracts, tract_id, privacy).to_crs(4326)
    table = pd.DataFrame({c: shown[c] for c in ASSET_COLUMNS[:-2]})
    for column in ("name", "type", "last_verified", "source"):
        table[column] = table[column].fillna("").astype(str)
    table["community_reported"] = table["community_reported"].astype(bool)
    table["lat"] = shown.geometry.y.round(COORD_DECIMALS).to_numpy()
    table["lon"] = shown.geometry.x.round(COORD_DECIMALS).to_numpy()
    table["notes"] = shown["notes"].fillna("").astype(str).to_numpy()
    return table.sort_values("asset_id", kind="stable").reset_index(drop=True)


def previous_run_utc(previous_dir: str | Path) -> str:
    """When the published run in `previous_dir` (outputs/<region>, a link to its version
    directory ``<YYYYmmddTHHMMSS>-...``) was published, as ISO UTC; blank when unknown."""
    path = Path(previous_dir)
    if not path.is_symlink():
        return ""
    match = re.match(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})", Path(os.readlink(path)).name)
    if not match:
        return ""
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def changes(previous_classes: pd.DataFrame | None, classes: pd.DataFrame,
            previous_assets: pd.DataFrame | None, assets: pd.DataFrame, when: str
            ) -> pd.DataFrame:
    """Tracts whose class changed and assets added, gone, or whose status changed, since the
    previous run (None: no previous run, no changes). `classes`: columns id, desert_class;
    `assets`: assets.csv's table."""
    rows: list[dict[str, str]] = []
    if previous_classes is not None:
        before = dict(zip(previous_classes["id"].astype(str),
                          previous_classes["desert_class"], strict=True))
        for tract, cls in zip(classes["id"].astype(str), classes["desert_class"], strict=True):
            if before.get(tract, "") != cls:
                rows.append({"kind": "tract", "id": tract, "before": before.get(tract, ""),
                             "after": cls})
    if previous_assets is not None:
        before = dict(zip(previous_assets["asset_id"].astype(str),
                          previous_assets["status"].astype(str), strict=True))
        after = dict(zip(assets["asset_id"].astype(str), assets["status"].astype(str),
                         strict=True))
        for asset_id in sorted(set(before) | set(after)):
            old, new = before.get(asset_id, "added"), after.get(asset_id, "gone")
            if previous_assets is not None and old != new:
                rows.append({"kind": "asset", "id": asset_id, "before": old, "after": new})
    table = pd.DataFrame(rows, columns=CHANGE_COLUMNS[:-1])
    table["previous_run_utc"] = when
    return table[CHANGE_COLUMNS]


def make_inventory(title: str | None, region_name: str, tract_id: str,
                   privacy: Mapping[str, Any], inventory_path: str, tracts_path: str,
                   out_assets: str, out_hsds: str) -> None:
    """assets.csv and the HSDS package (folder of `out_hsds`, its datapackage.json): from the
    ingested inventory and tracts alone, so this runs beside the classification."""
    from aiddeserts.io.hsds import write_hsds

    tracts = read_gpkg(tracts_path)
    table = public_inventory(read_gpkg(inventory_path), tracts, tract_id, privacy)
    _write_csv(table[ASSET_COLUMNS], out_assets)
    write_hsds(table, Path(out_hsds).parent, title or region_name)


def _classes(tracts_path: str | Path, tract_id: str) -> pd.DataFrame:
    """A classified tracts file's classes: columns id, desert_class (text)."""
    tracts = read_gpkg(tracts_path, columns=[tract_id, "desert_class"])
    return pd.DataFrame({"id": tracts[tract_id].astype(str),
                         "desert_class": tracts["desert_class"].astype(str)})


def make_changes(tract_id: str, classified_path: str, assets_path: str, previous_dir: str,
                 out_classes: str, out_changes: str) -> None:
    """tract_classes.csv and changes.csv: the classes, and what changed against the run
    published in `previous_dir` (read only if it exists: it is no input of the workflow) in
    the classes and in assets.csv's assets (`assets_path`)."""
    read = {"dtype": str, "keep_default_na": False}
    classes = _classes(classified_path, tract_id)
    _write_csv(classes, out_classes)
    previous = Path(previous_dir)
    old_classes = old_assets = None
    if (previous / "tracts.gpkg").exists():
        old_classes = _classes(previous / "tracts.gpkg", tract_id)
    if (previous / "assets.csv").exists():
        old_assets = pd.read_csv(previous / "assets.csv", **read)
    assets = pd.read_csv(assets_path, usecols=["asset_id", "status"], **read)
    _write_csv(changes(old_classes, classes, old_assets, assets,
                       previous_run_utc(previous) if old_classes is not None else ""),
               out_changes)
