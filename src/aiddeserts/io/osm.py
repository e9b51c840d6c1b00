"""OpenStreetMap extracts → walking graph, its compact cache file, and retrieval by URL.

Reads ``.osm.pbf`` (Geofabrik, BBBike) and ``.osm`` XML (JOSM, Overpass; also ``.osm.gz``/
``.osm.bz2``) with pyosmium (``osmium`` on PyPI, BSD-2-Clause; docs/network.md says why). Which
ways count for walking is :func:`is_walkable` (documented in docs/network.md). Nodes are projected
to the working CRS; an edge joins two consecutive nodes of a walkable way, its length the straight
segment between them in that CRS (metres), so walking and straight-line distances share one metric.

The graph is cached as an uncompressed-header ``.npz`` (node x/y, OSM ids and the CSR arrays,
written with fixed zip timestamps: same extract, same bytes), so a rerun of the classification
loads arrays instead of parsing OSM again.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from aiddeserts.errors import InputError
from aiddeserts.io.retrieve import fetch
from aiddeserts.method.network import Network, from_edges

MODES = ("walk",)
CACHE_FORMAT = "aiddeserts-network-1"

#: Ways walkable unless tagged otherwise (foot=no, access=private/no ...).
WALK_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary",
    "primary_link", "track", "corridor", "bridleway", "road", "elevator", "platform"})
#: Ways walkable only with explicit pedestrian access or a sidewalk on the way itself.
WALK_IF_ALLOWED = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "cycleway"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official"})
FOOT_FORBIDDEN = frozenset({"no", "use_sidepath", "private"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})
SIDEWALK_ON_WAY = frozenset({"yes", "both", "left", "right"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether a way with these OSM tags can be walked (mode ``walk``).

    Counted: ``highway`` in :data:`WALK_HIGHWAYS`; motorways, trunks and cycleways only with
    ``foot`` = yes/designated/permissive or a sidewalk mapped on the way (``sidewalk`` /
    ``sidewalk:both|left|right`` = yes/both/left/right; ``separate`` means the sidewalk is its own
    way, read on its own). Never: ``foot`` = no/use_sidepath/private, ``access`` = no/private
    without a ``foot`` permission, ``highway`` under construction, proposed, abandoned, etc.
    """
    highway = tags.get("highway")
    foot = tags.get("foot", "")
    if highway is None or foot in FOOT_FORBIDDEN:
        return False
    if tags.get("access", "") in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED:
        return False
    if highway in WALK_HIGHWAYS:
        return True
    if highway in WALK_IF_ALLOWED:
        sidewalk = {tags.get(k, "") for k in ("sidewalk", "sidewalk:both", "sidewalk:left",
                                              "sidewalk:right")}
        return foot in FOOT_ALLOWED or bool(sidewalk & SIDEWALK_ON_WAY)
    return False


def _osmium():
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise InputError("reading OpenStreetMap needs pyosmium.",
                         fix="pip install 'aiddeserts[network]' (or pip install osmium).") from exc
    return osmium


def read_osm(path: str | Path, crs: str, mode: str,
             bounds: tuple[float, float, float, float] | None, margin_m: float) -> Network:
    """The walking graph of an OSM extract (``.osm.pbf`` or ``.osm`` XML), nodes in `crs`.

    With `bounds` (minx, miny, maxx, maxy in `crs`, e.g. the tracts' total bounds), only edges
    with an end within `margin_m` of them are kept: a state-wide extract serves a city without a
    state-wide graph (the margin keeps walks that leave the region briefly, e.g. round a bay).
    """
    from pyproj import CRS, Transformer

    if mode not in MODES:
        raise InputError(f"unknown network mode {mode!r}.", fix=f"use one of {', '.join(MODES)}.")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"OSM extract not found: {path}.",
                         fix="set network.path to a .osm.pbf or .osm file (or network.url to "
                         "download it).")
    target = CRS.from_user_input(crs)
    if not target.is_projected or target.axis_info[0].unit_name not in ("metre", "meter"):
        raise InputError(f"the network CRS {crs!r} is not projected in metres.",
                         fix="use the working CRS (e.g. a UTM zone).")
    osmium = _osmium()
    refs: list[list[int]] = []
    lons: list[list[float]] = []
    lats: list[list[float]] = []
    try:
        processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                     .with_locations()
                     .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                     .with_filter(osmium.filter.KeyFilter("highway")))
        for way in processor:
            if not is_walkable(way.tags):
                continue
            ids, xs, ys = [], [], []
            for node in way.nodes:
                ids.append(node.ref)
                loc = node.location
                if loc.valid():
                    xs.append(loc.lon)
                    ys.append(loc.lat)
                else:  # a node outside a clipped extract: NaN breaks the way there
                    xs.append(np.nan)
                    ys.append(np.nan)
            refs.append(ids)
            lons.append(xs)
            lats.append(ys)
    except RuntimeError as exc:
        raise InputError(f"could not read OSM extract {path}: {exc}.",
                         fix="give an .osm.pbf or .osm XML file as downloaded.") from exc
    sizes = np.fromiter((len(r) for r in refs), dtype=np.int64, count=len(refs))
    flat_ids = np.fromiter((i for r in refs for i in r), dtype=np.int64, count=int(sizes.sum()))
    flat_lon = np.fromiter((v for r in lons for v in r), dtype=float, count=len(flat_ids))
    flat_lat = np.fromiter((v for r in lats for v in r), dtype=float, count=len(flat_ids))
    # Consecutive node pairs of the same way, both with a location.
    same_way = np.ones(len(flat_ids), dtype=bool)
    same_way[np.cumsum(sizes)[:-1]] = False  # first node of each way but the first
    same_way[0:1] = False
    ok = np.isfinite(flat_lon)
    pair = same_way[1:] & ok[1:] & ok[:-1]
    start = np.flatnonzero(pair)
    used = np.zeros(len(flat_ids), dtype=bool)
    used[start] = True
    used[start + 1] = True
    if not pair.any():
        raise InputError(f"no walkable streets in {path}.",
                         fix="check the extract covers the region (docs/network.md lists the ways "
                             "that count for walking).")
    node_id, first = np.unique(flat_ids[used], return_index=True)
    where = np.flatnonzero(used)[first]
    transformer = Transformer.from_crs("EPSG:4326", target, always_xy=True)
    x, y = transformer.transform(flat_lon[where], flat_lat[where])
    x, y = np.asarray(x, float), np.asarray(y, float)
    u = np.searchsorted(node_id, flat_ids[start])
    v = np.searchsorted(node_id, flat_ids[start + 1])
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        inside = ((x >= x0 - margin_m) & (x <= x1 + margin_m)
                  & (y >= y0 - margin_m) & (y <= y1 + margin_m))
        keep_edge = inside[u] | inside[v]
        u, v = u[keep_edge], v[keep_edge]
        kept = np.zeros(len(node_id), dtype=bool)
        kept[u] = kept[v] = True
        new_index = np.cumsum(kept) - 1
        x, y, node_id = x[kept], y[kept], node_id[kept]
        u, v = new_index[u], new_index[v]
    network = from_edges(x, y, u, v, crs=target.to_string(), node_id=node_id)
    network.meta.update({"mode": mode, "source": path.name})
    return network


def save_network(network: Network, dest: str | Path) -> Path:
    """Write the graph as ``.npz`` with fixed timestamps (same graph, same bytes)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": CACHE_FORMAT, "crs": network.crs, **network.meta}
    arrays = {"x": network.x, "y": network.y, "indptr": network.indptr,
              "indices": network.indices, "length": network.length,
              "node_id": (network.node_id if network.node_id is not None
                          else np.zeros(0, np.int64)),
              "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
    tmp = dest.with_name(f".{dest.name}.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=6)
    tmp.replace(dest)
    return dest


def load_network(path: str | Path) -> Network:
    """Read a graph written by :func:`save_network`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("format") != CACHE_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
            node_id = data["node_id"]
            network = Network(data["x"], data["y"], data["indptr"], data["indices"],
                              data["length"], meta.pop("crs"),
                              node_id if len(node_id) else None)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(f"not a network cache file: {path} ({exc}).",
                         fix="delete it and rebuild the network from the OSM extract.") from exc
    meta.pop("format")
    network.meta.update(meta)
    return network


def build_network(osm_path: str | Path, crs: str, dest: str | Path, mode: str,
                  bounds: tuple[float, float, float, float] | None, margin_m: float) -> Network:
    """Read an extract and write its cache file (the Snakemake rule's body): `crs` the working
    CRS, `bounds` the tracts' total bounds in it (see :func:`read_osm`)."""
    network = read_osm(osm_path, crs, mode, bounds, margin_m)
    save_network(network, dest)
    return network


def retrieve_osm(settings: Mapping[str, Any], dest: str | Path,
                 versions_csv: str | Path = "data/versions.csv") -> Path:
    """Download the OSM extract at ``settings['url']`` into `dest` (cached, retried, recorded in
    the versions file like the census downloads); the vintage is ``settings['vintage']`` or the
    extract's own replication timestamp once downloaded."""
    url = settings.get("url")
    if not url:
        raise InputError("downloading the network extract needs a url.",
                         fix="e.g. url: https://download.geofabrik.de/<region>-latest.osm.pbf")
    vintage = str(settings.get("vintage", "OpenStreetMap extract"))
    path = fetch(url, dest, vintage, settings, versions_csv)
    osm_header_timestamp(path)  # fails early on a file that is not OSM (e.g. an HTML error page)
    return path


def osm_header_timestamp(path: str | Path) -> str:
    """The extract's ``osmosis_replication_timestamp`` header (``""`` when absent)."""
    osmium = _osmium()
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            return reader.header().get("osmosis_replication_timestamp", "")
        finally:
            reader.close()
    except RuntimeError as exc:
        raise InputError(f"{path} is not an OpenStreetMap extract ({exc}).",
                         fix="check network.url points at an OpenStreetMap extract, and that "
                             "network.path's name says its format (network.osm.pbf, or "
                             "network.osm for XML).") from exc
