"""Network stage (workflow/rules/network.smk): the walking graph of a region, built once from
its OpenStreetMap extract and cached, so a classification rerun never parses OSM again."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("aiddeserts.stages.network")


def build_walking_network(osm_path: str, tracts_path: str, network: Mapping[str, Any],
                          out_network: str) -> None:
    """Parse the extract at `osm_path` (the region's `network` section gives mode and margin),
    keep the walkable ways near the tracts, in their working CRS, and write the cache file."""
    import pyogrio

    from aiddeserts.io.osm import build_network

    info = pyogrio.read_info(tracts_path, force_total_bounds=True)
    graph = build_network(osm_path, info["crs"], out_network, mode=network["mode"],
                          bounds=tuple(info["total_bounds"]), margin_m=network["margin_m"])
    log.info("walking network: %d nodes, %d edges", graph.n_nodes, graph.n_edges)


def retrieve_network(network: Mapping[str, Any], out_path: str) -> None:
    """Download the region's extract from `network.url` (cached, retried, versioned)."""
    from aiddeserts.io.osm import retrieve_osm

    retrieve_osm({"url": network["url"], "retries": network["retries"],
                  "backoff_s": network["backoff_s"]}, out_path)
