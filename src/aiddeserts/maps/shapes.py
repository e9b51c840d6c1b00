"""The maps' shapes, drawn from the tracts' geometry alone: the web map's simplified tract outlines
and the static map's county outlines.

Neither depends on the classification, so the ``map_shapes`` job makes them from the prepared
tracts while the classification runs (on the core it leaves idle) and writes them to one
GeoPackage (:func:`write_map_shapes`). The map jobs read them back (:func:`read_map_shapes`),
exactly the same coordinates, and compute them themselves when the file does not match their
tracts (a fingerprint of the tracts' ids, CRS and geometry says so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

#: Tolerance (metres) of the tract outlines' simplification.
SIMPLIFY_M = 10.0
#: Decimal places of the web map's coordinates (1 m at the equator).
COORD_DECIMALS = 5
#: Digits of a US census tract GEOID (state 2, county 3, tract 6).
GEOID_DIGITS = 11
COUNTY_DIGITS = 5
#: The GeoPackage's layers and the tracts layer's metadata key holding the fingerprint.
OUTLINES_LAYER = "outlines"
COUNTIES_LAYER = "counties"
FINGERPRINT_KEY = "tracts_sha256"
#: Metadata key saying whether the county outlines were made ("yes") or left out ("no").
COUNTIES_KEY = "counties_made"


def map_view(tracts: gpd.GeoDataFrame) -> tuple[tuple[float, float, float, float],
                                                 tuple[float, float]]:
    """What the web map opens on: the tracts' bounds in longitude and latitude (minx, miny,
    maxx, maxy), which it fits, and their middle (lat, lon), where it starts. map.html holds
    both, at full precision; they come from the tracts alone, so the privacy audit counts them
    as public coordinates (`privacy.audit.collect_secrets`), like the tracts' vertices."""
    minx, miny, maxx, maxy = (float(v) for v in tracts.to_crs(4326).total_bounds)
    return (minx, miny, maxx, maxy), ((miny + maxy) / 2, (minx + maxx) / 2)


def read_places(places: Mapping[str, Any], crs: Any) -> gpd.GeoDataFrame:
    """The user's places layer (`map.places`: `path`, `label_column`) in `crs`, with column
    ``label`` (blank where the label is missing)."""
    from aiddeserts.errors import InputError
    from aiddeserts.io.readers import read_vector

    frame = read_vector(places["path"])
    column = places.get("label_column")
    if column and column not in frame.columns:
        raise InputError(f"the places layer has no column {column!r}", path=str(places["path"]),
                         column=column,
                         fix="set map.places.label_column to one of its columns: "
                         + ", ".join(c for c in frame.columns if c != frame.geometry.name))
    if frame.crs is None:
        raise InputError("the places layer has no coordinate reference system",
                         path=str(places["path"]),
                         fix="save it with its CRS (a GeoPackage or GeoJSON keeps it)")
    labels = frame[column].fillna("").astype(str).str.strip() if column else ""
    out = gpd.GeoDataFrame({"label": labels}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    return out[~out.geometry.is_empty & out.geometry.notna()].to_crs(crs).reset_index(drop=True)


def simplified_tracts(tracts: gpd.GeoDataFrame, tolerance_m: float = SIMPLIFY_M
                      ) -> gpd.GeoSeries:
    """Tract outlines simplified as one coverage (no gaps or overlaps), in EPSG:4326, rounded."""
    geoms = shapely.coverage_simplify(tracts.geometry.to_numpy(), tolerance_m)
    geoms = gpd.GeoSeries(geoms, crs=tracts.crs, index=tracts.index).to_crs(4326)
    return gpd.GeoSeries(shapely.set_precision(geoms.to_numpy(), 10**-COORD_DECIMALS,
                                               mode="pointwise"), crs=4326, index=tracts.index)


def county_outlines(tracts: gpd.GeoDataFrame, id_col: str | None) -> gpd.GeoDataFrame | None:
    """County (NYC: borough) outlines dissolved from the tracts by the county part of their
    GEOID (its first five digits); None when the ids are not 11-digit census GEOIDs."""
    if not id_col or id_col not in tracts.columns:
        return None
    ids = tracts[id_col].astype(str).str.strip()
    if not (ids.str.fullmatch(rf"\d{{{GEOID_DIGITS}}}").all() and len(ids)):
        return None
    frame = gpd.GeoDataFrame({"county": ids.str[:COUNTY_DIGITS].to_numpy()},
                             geometry=tracts.geometry.to_numpy(), crs=tracts.crs)
    return frame.dissolve(by="county", sort=True).reset_index()


def tracts_fingerprint(tracts: gpd.GeoDataFrame, id_col: str | None) -> str:
    """SHA-256 of what the shapes are made from: the tracts' CRS, ids (`id_col`, when the tracts
    have it), order and exact geometry (WKB), and the simplification settings."""
    digest = hashlib.sha256()
    digest.update(f"{SIMPLIFY_M!r} {COORD_DECIMALS} {id_col!r}\n".encode())
    digest.update((tracts.crs.to_wkt() if tracts.crs else "").encode() + b"\n")
    if id_col and id_col in tracts.columns:
        digest.update("\x1f".join(tracts[id_col].astype(str)).encode() + b"\n")
    for wkb in shapely.to_wkb(tracts.geometry.to_numpy()):
        wkb = wkb or b""
        digest.update(len(wkb).to_bytes(8, "little") + wkb)
    return digest.hexdigest()


@dataclass
class MapShapes:
    """The shapes of one set of tracts: simplified outlines (EPSG:4326, in the tracts' order)
    and county outlines (the tracts' CRS; None when the tracts have no GEOIDs). Without
    `counties_made` the county outlines were not asked for (the region draws its own places)."""

    outlines: gpd.GeoSeries
    counties: gpd.GeoDataFrame | None
    counties_made: bool = True


def map_shapes(tracts: gpd.GeoDataFrame, id_col: str | None, counties: bool = True
               ) -> MapShapes:
    """The shapes of `tracts` (county outlines only when `counties`)."""
    return MapShapes(outlines=simplified_tracts(tracts),
                     counties=county_outlines(tracts, id_col) if counties else None,
                     counties_made=counties)


def write_map_shapes(shapes: MapShapes, fingerprint: str, path: str | Path) -> None:
    """One GeoPackage: the outlines layer (with `fingerprint` in its metadata) and, when there
    are county outlines, the counties layer. Geometry types are kept as they are (a Polygon
    stays a Polygon), so the maps draw what they would have computed."""
    import pyogrio

    from aiddeserts.io.files import FIXED_GPKG_DATE, atomic_path

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    outlines = gpd.GeoDataFrame({"row": np.arange(len(shapes.outlines), dtype=np.int64)},
                                geometry=shapes.outlines.to_numpy(), crs=shapes.outlines.crs)
    keep = {"driver": "GPKG", "engine": "pyogrio", "promote_to_multi": False,
            "geometry_type": "Unknown"}
    metadata = {FINGERPRINT_KEY: fingerprint,
                COUNTIES_KEY: "yes" if shapes.counties_made else "no"}
    with atomic_path(path, suffix=".gpkg") as tmp:
        outlines.to_file(tmp, layer=OUTLINES_LAYER, layer_metadata=metadata, **keep)
        if shapes.counties is not None:
            shapes.counties.to_file(tmp, layer=COUNTIES_LAYER, mode="a", **keep)


def read_map_shapes(path: str | Path, tracts: gpd.GeoDataFrame, id_col: str | None
                    ) -> MapShapes | None:
    """:func:`write_map_shapes`' shapes, or None when they were not made from these `tracts`
    (then compute them: :func:`map_shapes`)."""
    import pyogrio

    layers = {str(name) for name, _ in pyogrio.list_layers(path)}
    metadata = pyogrio.read_info(path, layer=OUTLINES_LAYER).get("layer_metadata") or {}
    if metadata.get(FINGERPRINT_KEY) != tracts_fingerprint(tracts, id_col):
        return None
    outlines = gpd.read_file(path, layer=OUTLINES_LAYER, engine="pyogrio")
    if not np.array_equal(outlines["row"].to_numpy(), np.arange(len(tracts))):
        return None
    counties = (gpd.read_file(path, layer=COUNTIES_LAYER, engine="pyogrio")
                if COUNTIES_LAYER in layers else None)
    return MapShapes(outlines=gpd.GeoSeries(outlines.geometry.to_numpy(), crs=outlines.crs,
                                            index=tracts.index),
                     counties=counties, counties_made=metadata.get(COUNTIES_KEY) == "yes")
