"""Open Referral HSDS 3 tabular data packages (the exchange format of 211 directories): the
public inventory written as one, and one read back as an asset source (`format: hsds`).

The package holds four resources of HSDS 3's tabular profile: ``organization`` (one per asset
source), ``service`` (one per asset: name, notes as description, status, last verification as
``assured_date``; HSDS types services through taxonomy terms, so the asset's type is written in
``alternate_name``), ``location`` (the place as drawn on the map, the asset_id as
``external_identifier``) and ``service_at_location`` linking them. HSDS ids are UUIDs: derived
from the asset_id (UUID 5), so the same inventory gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.errors import InputError
from aiddeserts.io.readers import check_exists, read_csv_text
from aiddeserts.io.rejects import concat_rejects, make_rejects

__all__ = ["HSDS_COLUMNS", "HSDS_FILES", "read_hsds_points", "write_hsds"]

#: The files of the package, datapackage.json first (paths as HSDS 3's tabular profile names them).
HSDS_FILES = ("datapackage.json", "organizations.csv", "services.csv", "locations.csv",
              "service_at_location.csv")
#: The columns :func:`read_hsds_points` gives, as an asset source's column settings.
HSDS_COLUMNS = {"id": "asset_id", "name": "name", "type": "type", "notes": "notes",
                "updated": "updated", "status": "status"}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/aiddeserts/inventory")
#: Inventory status → HSDS service status.
_SERVICE_STATUS = {"active": "active", "stale": "active", "closed": "inactive"}

_UUID = {"type": "string", "format": "uuid"}
_FIELDS: dict[str, list[dict[str, Any]]] = {
    "organization": [
        {"name": "id", **_UUID, "constraints": {"required": True, "unique": True}},
        {"name": "name", "type": "string", "constraints": {"required": True}},
        {"name": "description", "type": "string", "constraints": {"required": True}},
    ],
    "service": [
        {"name": "id", **_UUID, "constraints": {"required": True, "unique": True}},
        {"name": "organization_id", **_UUID, "constraints": {"required": True}},
        {"name": "name", "type": "string", "constraints": {"required": True}},
        {"name": "alternate_name", "type": "string"},
        {"name": "description", "type": "string"},
        {"name": "status", "type": "string", "constraints": {
            "required": True, "enum": ["active", "inactive", "defunct", "temporarily closed"]}},
        {"name": "assured_date", "type": "string"},
    ],
    "location": [
        {"name": "id", **_UUID, "constraints": {"required": True, "unique": True}},
        {"name": "location_type", "type": "string", "constraints": {
            "required": True, "enum": ["physical", "postal", "virtual"]}},
        {"name": "organization_id", **_UUID},
        {"name": "name", "type": "string"},
        {"name": "latitude", "type": "number"},
        {"name": "longitude", "type": "number"},
        {"name": "external_identifier", "type": "string"},
        {"name": "external_identifier_type", "type": "string"},
    ],
    "service_at_location": [
        {"name": "id", **_UUID, "constraints": {"required": True, "unique": True}},
        {"name": "service_id", **_UUID, "constraints": {"required": True}},
        {"name": "location_id", **_UUID, "constraints": {"required": True}},
    ],
}
_PATHS = dict(zip(_FIELDS, HSDS_FILES[1:], strict=True))
_FOREIGN = {
    "service": [("organization_id", "organization")],
    "location": [("organization_id", "organization")],
    "service_at_location": [("service_id", "service"), ("location_id", "location")],
}


def _uids(kind: str, keys: Iterable[str]) -> list[str]:
    """``uuid.uuid5(_NAMESPACE, f"{kind}:{key}")`` for each key, as text: the same name-based
    UUIDs (version 5, RFC 4122: SHA-1 of the namespace and the name), with the namespace and
    kind hashed once instead of once per key (100,000 assets took 5 s in `uuid.uuid5`), and
    the text made from the digest's hex digits with the version and variant set, as
    `uuid.UUID` sets and writes them (another 1.3 s for 300,000)."""
    prefix = hashlib.sha1(_NAMESPACE.bytes + f"{kind}:".encode())
    out = []
    for key in keys:
        digest = prefix.copy()
        digest.update(key.encode())
        value = bytearray(digest.digest()[:16])
        value[6] = value[6] & 0x0F | 0x50  # version 5
        value[8] = value[8] & 0x3F | 0x80  # variant RFC 4122
        text = value.hex()
        out.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return out


def datapackage(title: str) -> dict[str, Any]:
    """The package descriptor: HSDS 3's tabular profile for the four resources written."""
    resources = []
    for name, fields in _FIELDS.items():
        schema: dict[str, Any] = {"fields": fields, "primaryKey": "id"}
        if name in _FOREIGN:
            schema["foreignKeys"] = [{"fields": column, "reference": {"resource": other,
                                                                      "fields": "id"}}
                                     for column, other in _FOREIGN[name]]
        resources.append({"name": name, "path": _PATHS[name], "profile": "tabular-data-resource",
                          "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                          "schema": schema})
    return {"name": "aiddeserts-inventory", "title": title, "profile": "tabular-data-package",
            "description": "Community assets as Open Referral HSDS 3 (tabular), written by "
                           "aiddeserts.", "version": "3.0.0", "resources": resources}


def write_hsds(inventory: pd.DataFrame, folder: str | Path, title: str) -> list[Path]:
    """Write the public inventory (columns of assets.csv) as an HSDS 3 package in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(inventory["source"].astype(str).unique())
    org_id = dict(zip(sources, _uids("organization", sources), strict=True))
    ids = inventory["asset_id"].astype(str)
    keys = ids.tolist()  # a list: Arrow-stored text is slow to walk value by value
    service_ids, location_ids = _uids("service", keys), _uids("location", keys)
    source_ids = [org_id[s] for s in inventory["source"].astype(str).tolist()]
    tables = {
        "organization": pd.DataFrame({"id": [org_id[s] for s in sources], "name": sources,
                                      "description": [f"Asset source: {s}" for s in sources]}),
        "service": pd.DataFrame({
            "id": service_ids,
            "organization_id": source_ids,
            "name": inventory["name"].astype(str).where(inventory["name"].astype(str) != "",
                                                        "Unnamed").to_numpy(),
            "alternate_name": inventory["type"].astype(str).to_numpy(),
            "description": inventory["notes"].astype(str).to_numpy(),
            "status": inventory["status"].map(_SERVICE_STATUS).to_numpy(),
            "assured_date": inventory["last_verified"].astype(str).to_numpy()}),
        "location": pd.DataFrame({
            "id": location_ids, "location_type": "physical",
            "organization_id": source_ids,
            "name": inventory["name"].astype(str).to_numpy(),
            "latitude": inventory["lat"].to_numpy(), "longitude": inventory["lon"].to_numpy(),
            "external_identifier": ids.to_numpy(),
            "external_identifier_type": "aiddeserts asset_id"}),
        "service_at_location": pd.DataFrame({
            "id": _uids("service_at_location", keys),
            "service_id": service_ids, "location_id": location_ids}),
    }
    written = [folder / "datapackage.json"]
    written[0].write_text(json.dumps(datapackage(title), indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")
    for name, table in tables.items():
        path = folder / _PATHS[name]
        table[[f["name"] for f in _FIELDS[name]]].to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def _resource_tables(descriptor_path: Path) -> dict[str, pd.DataFrame]:
    try:
        descriptor = json.loads(descriptor_path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"is not a valid datapackage.json ({exc}).", path=descriptor_path,
                         fix="point the source at the package's datapackage.json.") from exc
    resources = {r.get("name"): r for r in descriptor.get("resources", [])
                 if isinstance(r, dict)}
    missing = [n for n in ("service", "location", "service_at_location") if n not in resources]
    if missing:
        raise InputError(f"the package has no {', '.join(missing)} resource (HSDS 3 tabular).",
                         path=descriptor_path, fix="export the directory as HSDS 3 CSVs.")
    tables = {}
    for name in ("organization", "service", "location", "service_at_location"):
        if name in resources:
            tables[name] = read_csv_text(descriptor_path.parent / resources[name]["path"])
    return tables


def read_hsds_points(path: str | Path, source_name: str
                     ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """An HSDS 3 package as asset points: one per service_at_location row, with columns
    asset_id (the location's external_identifier, else the service id), name, type (the
    service's alternate_name), notes, updated (assured_date, else last_modified) and status.
    Returns (points in EPSG:4326 with `row`, the attribute table, rejects)."""
    tables = _resource_tables(check_exists(path))
    services = tables["service"].set_index("id")
    locations = tables["location"].set_index("id")
    links = tables["service_at_location"]
    service = services.reindex(links["service_id"])
    location = locations.reindex(links["location_id"])

    def column(frame: pd.DataFrame, name: str) -> np.ndarray:
        values = frame[name] if name in frame.columns else pd.Series("", index=frame.index)
        return values.fillna("").astype(str).str.strip().to_numpy()

    external = column(location, "external_identifier")
    updated = column(service, "assured_date")
    modified = column(service, "last_modified")
    table = pd.DataFrame({
        "asset_id": np.where(external != "", external, links["service_id"].to_numpy()),
        "name": column(service, "name"), "type": column(service, "alternate_name"),
        "notes": column(service, "description"),
        "updated": np.where(updated != "", updated, modified),
        "status": column(service, "status"),
        "row": np.arange(1, len(links) + 1)})
    lat = pd.to_numeric(pd.Series(column(location, "latitude")), errors="coerce")
    lon = pd.to_numeric(pd.Series(column(location, "longitude")), errors="coerce")
    unknown = (service.index.isna() | ~links["service_id"].isin(services.index).to_numpy()
               | ~links["location_id"].isin(locations.index).to_numpy())
    missing = (lat.isna() | lon.isna()).to_numpy() & ~unknown
    bad = unknown | missing
    rejects = concat_rejects([
        make_rejects(source_name, table.loc[unknown, "row"].tolist(),
                     "service_at_location names an unknown service or location"),
        make_rejects(source_name, table.loc[missing, "row"].tolist(),
                     "location has no latitude/longitude")])
    points = gpd.GeoDataFrame({"row": table.loc[~bad, "row"].to_numpy()},
                              geometry=gpd.points_from_xy(lon[~bad], lat[~bad]), crs=4326)
    return points, table, rejects
