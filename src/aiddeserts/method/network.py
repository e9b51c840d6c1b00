"""Distances on foot along a street network, beside the straight-line ones.

A :class:`Network` is an undirected graph stored as a symmetric CSR adjacency (node x/y in the
working CRS, edge lengths in metres). Points (population points, tract representative points,
assets) join it at their nearest node; the straight line to that node, the *snap distance*, is
added at both ends, so a walk is

    d(point, asset) = snap(point) + path(node(point), node(asset)) + snap(asset).

The nearest asset of every point comes from ONE Dijkstra pass per asset set: a virtual
super-source joined to every asset's node by an edge as long as that asset's snap distance (the
shortest when several assets share a node), so the pass finds, for every node at once,
min over assets of (snap(asset) + path) — exactly the multi-source distance with per-source
offsets that ``scipy.sparse.csgraph.dijkstra(indices=sources, min_only=True)`` cannot add by
itself. Counts within a distance and the floating catchment run bounded searches (``limit=``)
from the smaller side's distinct nodes, a block of sources at a time.

Disconnected pieces: a point whose piece of the network holds no asset is *unreachable*. It gets
``+inf`` inside the search and NaN in the distance columns, a flag, and a count in the report;
for the share of population beyond the threshold it counts as beyond (no asset can be reached on
foot). Nothing here raises on a disconnected graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components, depth_first_order, dijkstra
from scipy.spatial import cKDTree

from aiddeserts.method.catchment import LUO_QI_STEPS, fca_from_pairs

if TYPE_CHECKING:
    import geopandas as gpd

#: Bytes of one block of bounded searches (rows × nodes float64) held at a time.
SEARCH_BLOCK_BYTES = 64 * 2**20


@dataclass(eq=False)
class Network:
    """Undirected street graph: node coordinates (working CRS, metres) and a symmetric CSR of
    edge lengths (``indptr``, ``indices``, ``length``: row i's neighbours and the metres to them).
    """

    x: np.ndarray
    y: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    length: np.ndarray
    crs: str = ""
    node_id: np.ndarray | None = None  #: OSM node ids, when read from OSM.
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.x)

    @property
    def n_edges(self) -> int:
        """Undirected edges (each is stored once per direction)."""
        return len(self.indices) // 2

    @cached_property
    def matrix(self) -> sparse.csr_matrix:
        return sparse.csr_matrix((self.length, self.indices, self.indptr),
                                 shape=(self.n_nodes, self.n_nodes))

    @cached_property
    def tree(self) -> cKDTree:
        # Sliding-midpoint tree: half the build time of a balanced one, the same nearest distances
        # (which of several equidistant nodes a point joins may differ; deterministic).
        return cKDTree(np.column_stack([self.x, self.y]), balanced_tree=False)

    @cached_property
    def components(self) -> np.ndarray:
        """Connected-component label of every node."""
        return connected_components(self.matrix, directed=False)[1].astype(np.int64)

    @cached_property
    def core(self) -> Core:
        """The graph with its degree-2 chains contracted (built once; see :func:`contract`)."""
        return contract(self)


@dataclass(frozen=True)
class Level:
    """A contraction: the nodes of degree 2 (a street's shape points between two junctions)
    are taken out in chains, the rest kept.

    ``keep``: the kept nodes (network ids), numbered 0.. in the contracted graph; ``position``:
    network id -> contracted id, -1 for a chain node. For every chain node (``chain_node``,
    stored chain by chain, ``chain_start`` where each chain begins) the kept nodes at its
    chain's two ends (``chain_a``, ``chain_b``, contracted ids), its metres along the chain from
    ``chain_a`` (``chain_pos``) and on to ``chain_b`` (``chain_rest``), its chain
    (``chain_id``) and ``slot``: network id -> index into ``chain_node``, -1 for kept nodes.
    """

    n: int
    keep: np.ndarray
    position: np.ndarray
    chain_node: np.ndarray
    chain_id: np.ndarray
    chain_a: np.ndarray
    chain_b: np.ndarray
    chain_pos: np.ndarray
    chain_rest: np.ndarray
    chain_start: np.ndarray
    slot: np.ndarray


@dataclass(frozen=True)
class Core:
    """The graph Dijkstra walks (:func:`contract`): ``level`` the contraction (None when it
    would not pay), ``matrix`` the contracted graph plus a final row, a super-source joined to
    every node (+inf weights, set per search)."""

    level: Level | None
    matrix: sparse.csr_matrix

    @property
    def n_nodes(self) -> int:
        return self.matrix.shape[0] - 1


#: Below this share of degree-2 nodes the graph is searched as it is (a grid, say).
CONTRACT_MIN_SHARE = 0.05


def contract(network: Network) -> Core:
    """The :class:`Core` of `network`: its chains of degree-2 nodes contracted, each into one
    edge as long as the chain (parallel chains keep the shortest), so distances between kept
    nodes are unchanged and a chain node's follow from its chain's two ends. On the Helsinki
    extract this leaves 2,461 of 6,261 nodes. (Taking out dead ends too, level after level,
    left 1,844 but cost more per search than the smaller Dijkstra saved.)"""
    indptr, indices, length = network.indptr, network.indices, network.length
    level = None
    if np.count_nonzero(np.diff(indptr) == 2) >= CONTRACT_MIN_SHARE * network.n_nodes > 0:
        level, (indptr, indices, length) = _contract_level(
            indptr.astype(np.int64), indices.astype(np.int64), length)
    m = len(indptr) - 1
    index_type = np.int32 if len(indices) + m < 2**31 - 1 else np.int64
    matrix = sparse.csr_matrix(
        (np.concatenate([length, np.full(m, np.inf)]),
         np.concatenate([indices.astype(index_type, copy=False), np.arange(m, dtype=index_type)]),
         np.append(indptr, indptr[-1] + m).astype(index_type)),
        shape=(m + 1, m + 1))
    return Core(level, matrix)


def _contract_level(indptr: np.ndarray, indices: np.ndarray, length: np.ndarray
                    ) -> tuple[Level, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The contraction of :func:`contract`: the nodes of degree 2 form chains between kept nodes,
    all walked by ONE depth-first pass (scipy's ``depth_first_order`` runs each chain to its
    end before the next). A ring with no junction is left as it is (its nodes kept). Returns
    the level and the contracted graph's CSR (indptr, indices, lengths)."""
    n = len(indptr) - 1
    degree = np.diff(indptr)
    rows = np.repeat(np.arange(n), degree)
    is_kept = degree != 2
    order, pred = _walk_chains(indptr, indices, rows, is_kept)
    ring = np.ones(n, bool)
    ring[order] = False
    is_kept |= ring  # a degree-2 node the walk never reached lies on a ring
    keep = np.flatnonzero(is_kept)
    m = len(keep)
    position = np.full(n, -1, np.int64)
    position[keep] = np.arange(m)
    # A chain starts where the walk entered it, at its first node's edge to a kept node (a);
    # every later node's step is its edge back to its predecessor.
    starts = pred[order] >= n
    first_edge = indptr[order]
    second_edge = first_edge + 1
    a_edge = np.where(is_kept[indices[first_edge]], first_edge, second_edge)
    back = np.where(indices[first_edge] == pred[order], first_edge, second_edge)
    step = np.where(starts, length[a_edge], length[back])
    total = np.cumsum(step)
    chain = np.cumsum(starts) - 1
    begin = np.flatnonzero(starts)
    pos = total - (total[begin] - step[begin])[chain]
    end = np.concatenate([begin[1:], [len(order)]]) - 1
    # The far end (b): the last node's other edge (a one-node chain's edge that is not a).
    last = order[end]
    a_exit = a_edge[begin]
    b_exit = np.where((indices[indptr[last]] == order[np.maximum(end - 1, 0)]) & (begin != end)
                      | (indptr[last] == a_exit), indptr[last] + 1, indptr[last])
    a_node, b_node = indices[a_exit], indices[b_exit]
    span = pos[end] + length[b_exit]
    # The next graph: kept–kept edges and one edge per chain (unless a ring back to its start),
    # both directions; parallel edges keep the shortest.
    direct = np.flatnonzero(is_kept[rows] & is_kept[indices])
    link = a_node != b_node
    u = np.concatenate([position[rows[direct]], position[a_node[link]], position[b_node[link]]])
    v = np.concatenate([position[indices[direct]], position[b_node[link]],
                        position[a_node[link]]])
    w = np.concatenate([length[direct], span[link], span[link]])
    key, w = _shortest_per_key(u * m + v, w)
    width = max(m, 1)
    next_indptr = np.concatenate([[0], np.cumsum(np.bincount(key // width, minlength=m))])
    slot = np.full(n, -1, np.int64)
    slot[order] = np.arange(len(order))
    level = Level(n, keep, position, order, chain, position[a_node][chain],
                  position[b_node][chain], pos, span[chain] - pos,
                  np.concatenate([begin, [len(order)]]), slot)
    return level, (next_indptr.astype(np.int64), (key % width).astype(np.int64), w)


def _shortest_per_key(key: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct keys, the shortest length of each): one edge kept of parallel ones."""
    order = np.argsort(key)
    key, length = key[order], length[order]
    if len(key):
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        if len(starts) < len(key):
            key, length = key[starts], np.minimum.reduceat(length, starts)
    return key, length


def _walk_chains(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray,
                 is_kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chain nodes in walk order, predecessors) of one depth-first pass over the chain nodes'
    edges, entered at every chain end in turn: a spine of virtual nodes n, n+1, … where node
    n+i leads to the i-th chain end, then to n+i+1 (so the pass comes back to a short row
    after each chain; a predecessor ≥ n marks a chain's first node)."""
    n = len(indptr) - 1
    on_chain = ~is_kept
    inner = on_chain[rows] & on_chain[indices]
    exits = np.flatnonzero(on_chain[rows] & is_kept[indices])
    k = len(exits)
    if k == 0:
        return np.zeros(0, np.int64), np.full(n, -9999, np.int64)
    kept = np.concatenate([[0], np.cumsum(inner)])
    spine_targets = np.column_stack([rows[exits], n + 1 + np.arange(k)]).ravel()[:-1]
    spine_ptr = kept[-1] + np.minimum(2 * np.arange(1, k + 1), 2 * k - 1)
    graph = sparse.csr_matrix(
        (np.ones(kept[-1] + 2 * k - 1),
         np.concatenate([indices[inner], spine_targets]),
         np.concatenate([kept[indptr], spine_ptr])), shape=(n + k, n + k))
    order, pred = depth_first_order(graph, n, directed=True, return_predecessors=True)
    return order[order < n], pred[:n]


def _lift_sources(level: Level, nodes: np.ndarray, offsets: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sources on the network -> sources on the contracted graph: a kept node stays; a chain
    node becomes its chain's two ends, as far as it lies from each. Also returns the chain
    sources (slot, offset) for :func:`_drop_distances`."""
    at = level.position[nodes]
    kept = at >= 0
    slot = level.slot[nodes[~kept]]
    off = offsets[~kept]
    return (np.concatenate([at[kept], level.chain_a[slot], level.chain_b[slot]]),
            np.concatenate([offsets[kept], off + level.chain_pos[slot],
                            off + level.chain_rest[slot]]),
            slot, off)


def _drop_distances(level: Level, along: np.ndarray, slot: np.ndarray, off: np.ndarray
                    ) -> np.ndarray:
    """Contracted graph's distances -> the network's: a chain node takes the nearer chain end
    plus its metres from it, or a source on its own chain if nearer."""
    dist = np.empty(level.n)
    dist[level.keep] = along
    pos = level.chain_pos
    dist[level.chain_node] = np.minimum(along[level.chain_a] + pos,
                                        along[level.chain_b] + level.chain_rest)
    if len(slot):
        chain = level.chain_id[slot]
        begin = level.chain_start[chain]
        count = level.chain_start[chain + 1] - begin
        owner = np.repeat(np.arange(len(slot)), count)
        member = np.arange(count.sum()) + np.repeat(begin - (np.cumsum(count) - count), count)
        np.minimum.at(dist, level.chain_node[member],
                      off[owner] + np.abs(pos[member] - pos[slot][owner]))
    return dist


def from_edges(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
               length: np.ndarray | None = None, crs: str = "",
               node_id: np.ndarray | None = None) -> Network:
    """A :class:`Network` from undirected edges u–v (node positions into x/y). Lengths default to
    the straight segment; self-loops are dropped and parallel edges keep the shortest."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if length is None:
        length = np.hypot(x[u] - x[v], y[u] - y[v])
    length = np.asarray(length, dtype=np.float64)
    keep = u != v
    if not keep.all():
        u, v, length = u[keep], v[keep], length[keep]
    if len(length) and (not np.isfinite(length).all() or length.min() < 0):
        raise ValueError("edge lengths must be finite and non-negative")
    n = len(x)
    # One key per undirected edge (low end, high end); parallel edges keep the shortest.
    key, length = _shortest_per_key(np.minimum(u, v) * n + np.maximum(u, v), length)
    low, high = key // n, key % n
    # Row r of the symmetric CSR: its lower neighbours (the upper triangle's column r, all
    # < r, sorted), then its upper ones (> r, sorted): the two halves interleave without a sort.
    upper_ptr = np.concatenate([[0], np.cumsum(np.bincount(low, minlength=n))])
    lower = sparse.csr_matrix((length, high, upper_ptr), shape=(n, n)).tocsc()
    lower_ptr = lower.indptr.astype(np.int64)
    edges = len(key)
    indices = np.empty(2 * edges, np.int64)
    data = np.empty(2 * edges)
    at_lower = np.arange(edges) + np.repeat(upper_ptr[:-1], np.diff(lower_ptr))
    at_upper = np.arange(edges) + lower_ptr[1:][low]
    indices[at_lower], data[at_lower] = lower.indices, lower.data
    indices[at_upper], data[at_upper] = high, length
    matrix = sparse.csr_matrix((data, indices, upper_ptr + lower_ptr), shape=(n, n))
    index_type = np.int32 if n < 2**31 - 1 else np.int64
    return Network(x, y, matrix.indptr.astype(np.int64), matrix.indices.astype(index_type),
                   matrix.data.astype(np.float64), crs, node_id)


def snap(network: Network, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest node, straight-line metres to it) of every point (n×2, working CRS)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if network.n_nodes == 0:
        raise ValueError("the network has no nodes")
    if len(xy) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    dist, node = network.tree.query(xy)
    return np.asarray(node, dtype=np.int64), np.asarray(dist, dtype=float)


@dataclass(frozen=True)
class Reach:
    """Walking metres from each target to its nearest source; NaN (and ``unreachable``) where
    the target's piece of the network holds no source (or none within the search limit)."""

    distance_m: np.ndarray
    unreachable: np.ndarray

    @property
    def n_unreachable(self) -> int:
        return int(self.unreachable.sum())


def node_distance_from_sources(network: Network, source_nodes: np.ndarray,
                               source_snap_m: np.ndarray | float = 0.0,
                               limit: float = np.inf) -> np.ndarray:
    """Per node, min over sources of (source snap + path): ONE Dijkstra on the contracted graph
    (:attr:`Network.core`) from a virtual super-source whose edge to each source is that
    source's snap distance (a source on a chain joins its chain's ends, as far as it lies from
    each), then back to every node (:func:`_drop_distances`). +inf where no source is
    reachable (within `limit`)."""
    n = network.n_nodes
    nodes = np.asarray(source_nodes, dtype=np.int64).ravel()
    offsets = np.broadcast_to(np.asarray(source_snap_m, dtype=float), nodes.shape)
    if len(nodes) == 0:
        return np.full(n, np.inf)
    core = network.core
    if core.level is not None:
        nodes, offsets, slot, off = _lift_sources(core.level, nodes, offsets)
    graph = core.matrix
    m = core.n_nodes
    best = graph.data[len(graph.data) - m:]  # the super-source's row, set in place
    best.fill(np.inf)
    np.minimum.at(best, nodes, offsets)
    along = dijkstra(graph, directed=True, indices=m, limit=limit)[:m]
    if core.level is not None:
        along = _drop_distances(core.level, along, slot, off)
    if np.isfinite(limit):
        along[along > limit] = np.inf
    return along


def nearest_source_distance(network: Network, source_nodes: np.ndarray,
                            source_snap_m: np.ndarray | float, target_nodes: np.ndarray,
                            target_snap_m: np.ndarray | float, limit: float = np.inf) -> Reach:
    """Walking metres from every target to its nearest source, snap distances at both ends
    included (one multi-source pass; see :func:`node_distance_from_sources`)."""
    along = node_distance_from_sources(network, source_nodes, source_snap_m, limit)
    total = along[np.asarray(target_nodes, dtype=np.int64)] + np.asarray(target_snap_m, float)
    unreachable = ~np.isfinite(total) | (total > limit)
    return Reach(np.where(unreachable, np.nan, total), unreachable)


def nearest_by_type(network: Network, source_nodes: np.ndarray, source_snap_m: np.ndarray,
                    source_types: Sequence[str], target_nodes: np.ndarray,
                    target_snap_m: np.ndarray) -> dict[str, Reach]:
    """:func:`nearest_source_distance` for the sources of each type (one pass per type)."""
    types = np.asarray(source_types, dtype=object)
    nodes = np.asarray(source_nodes, dtype=np.int64)
    snaps = np.broadcast_to(np.asarray(source_snap_m, float), nodes.shape)
    return {t: nearest_source_distance(network, nodes[types == t], snaps[types == t],
                                       target_nodes, target_snap_m)
            for t in sorted(set(types.tolist()))}


def pairs_within(network: Network, a_nodes: np.ndarray, a_snap_m: np.ndarray,
                 b_nodes: np.ndarray, b_snap_m: np.ndarray, radius: np.ndarray | float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i into a, j into b, walking metres) of every pair at most `radius` apart on foot
    (`radius` scalar or one per b). Bounded Dijkstra searches (``limit`` = the largest radius)
    from the distinct nodes of the smaller side, a block at a time; pairs sorted by (i, j)."""
    a_nodes = np.asarray(a_nodes, dtype=np.int64)
    b_nodes = np.asarray(b_nodes, dtype=np.int64)
    a_snap = np.broadcast_to(np.asarray(a_snap_m, float), a_nodes.shape)
    b_snap = np.broadcast_to(np.asarray(b_snap_m, float), b_nodes.shape)
    radius_b = np.broadcast_to(np.asarray(radius, dtype=float), b_nodes.shape)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if len(a_nodes) == 0 or len(b_nodes) == 0:
        return empty
    limit = float(radius_b.max())
    swap = len(np.unique(b_nodes)) < len(np.unique(a_nodes))
    src_nodes, dst_nodes = (b_nodes, a_nodes) if swap else (a_nodes, b_nodes)
    src_snap, dst_snap = (b_snap, a_snap) if swap else (a_snap, b_snap)
    sources, src_row = np.unique(src_nodes, return_inverse=True)
    block = max(1, SEARCH_BLOCK_BYTES // (8 * max(network.n_nodes, len(dst_nodes), 1)))
    # Destinations ordered by node so a block's reachable ones are found by one gather.
    found_src, found_dst, found_d = [], [], []
    members = _members(src_row, len(sources))
    for start in range(0, len(sources), block):
        rows = sources[start:start + block]
        dist = np.atleast_2d(dijkstra(network.matrix, directed=True, indices=rows, limit=limit))
        along = dist[:, dst_nodes]  # (block, n_dst)
        r, j = np.nonzero(np.isfinite(along))
        if not len(r):
            continue
        base = along[r, j] + dst_snap[j]
        for k in np.unique(r):
            pick = r == k
            for s in members[start + k]:
                total = base[pick] + src_snap[s]
                found_src.append(np.full(len(total), s, np.int64))
                found_dst.append(j[pick])
                found_d.append(total)
    if not found_d:
        return empty
    src = np.concatenate(found_src)
    dst = np.concatenate(found_dst)
    d = np.concatenate(found_d)
    i, j = (dst, src) if swap else (src, dst)
    keep = d <= radius_b[j]
    i, j, d = i[keep], j[keep], d[keep]
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]


def _members(row: np.ndarray, n: int) -> list[np.ndarray]:
    """For each of n groups, the positions whose `row` is that group (ascending)."""
    order = np.argsort(row, kind="stable")
    return np.split(order, np.cumsum(np.bincount(row, minlength=n))[:-1])


def assets_within_walk(network: Network, origins_xy: np.ndarray, assets_xy: np.ndarray,
                       radius: np.ndarray | float) -> np.ndarray:
    """Number of assets within `radius[i]` metres on foot of each origin i (the walking
    counterpart of :func:`aiddeserts.method.catchment.assets_within`)."""
    origins_xy = np.asarray(origins_xy, float).reshape(-1, 2)
    assets_xy = np.asarray(assets_xy, float).reshape(-1, 2)
    if len(origins_xy) == 0 or len(assets_xy) == 0:
        return np.zeros(len(origins_xy), dtype=np.int64)
    a_node, a_snap = snap(network, assets_xy)
    o_node, o_snap = snap(network, origins_xy)
    _, j, _ = pairs_within(network, a_node, a_snap, o_node, o_snap, radius)
    return np.bincount(j, minlength=len(origins_xy)).astype(np.int64)


def two_step_fca_walk(network: Network, demand_xy: np.ndarray, population: np.ndarray,
                      supply_xy: np.ndarray, capacity: np.ndarray, catchment: float,
                      decay: str = "gaussian", steps: Sequence[float] = LUO_QI_STEPS
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(A_i per population point, R_j per asset) of the (enhanced) 2SFCA on walking distances
    (the counterpart of :func:`aiddeserts.method.catchment.two_step_fca`)."""
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    supply_xy = np.asarray(supply_xy, dtype=float).reshape(-1, 2)
    population = np.nan_to_num(np.asarray(population, dtype=float))
    capacity = np.asarray(capacity, dtype=float)
    if len(demand_xy) == 0 or len(supply_xy) == 0:
        return np.zeros(len(demand_xy)), np.zeros(len(supply_xy))
    if catchment <= 0:
        raise ValueError("catchment must be positive")
    s_node, s_snap = snap(network, supply_xy)
    d_node, d_snap = snap(network, demand_xy)
    j, i, d = pairs_within(network, s_node, s_snap, d_node, d_snap, catchment)
    return fca_from_pairs(j, i, d, population, capacity, catchment, decay, steps)


def point_walk_to_nearest(network: Network, points_xy: np.ndarray, assets_xy: np.ndarray
                          ) -> Reach:
    """Walking metres from each point to its nearest asset (snaps included)."""
    points_xy = np.asarray(points_xy, float).reshape(-1, 2)
    assets_xy = np.asarray(assets_xy, float).reshape(-1, 2)
    if len(assets_xy) == 0:
        return Reach(np.full(len(points_xy), np.nan), np.ones(len(points_xy), dtype=bool))
    a_node, a_snap = snap(network, assets_xy)
    p_node, p_snap = snap(network, points_xy)
    return nearest_source_distance(network, a_node, a_snap, p_node, p_snap)


def share_beyond_walk(network: Network, points: pd.DataFrame, n_tracts: int,
                      assets_xy: np.ndarray, threshold: np.ndarray,
                      extra_xy: np.ndarray | None = None) -> np.ndarray:
    """Per tract, the share of its population farther than `threshold[tract]` metres ON FOOT
    from every asset (points that can reach no asset count as beyond). NaN for a tract without
    population. The walking counterpart of :func:`aiddeserts.method.catchment.share_beyond`.

    `extra_xy` (n_tracts × 2, NaN for none) adds one more asset for each tract's own points:
    one bounded search (limit = that tract's threshold) from each such asset's node.
    """
    xy = points[["x", "y"]].to_numpy(dtype=float)
    tract = points["tract"].to_numpy()
    threshold = np.asarray(threshold, dtype=float)
    walk = point_walk_to_nearest(network, xy, assets_xy).distance_m
    nearest = np.where(np.isnan(walk), np.inf, walk)  # unreachable: beyond any threshold
    if extra_xy is not None and len(xy):
        extra = np.asarray(extra_xy, float).reshape(-1, 2)
        has = np.flatnonzero(np.isfinite(extra).all(axis=1))
        if len(has):
            e_node, e_snap = snap(network, extra[has])
            p_node, p_snap = snap(network, xy)
            for k, t in enumerate(has):
                mine = np.flatnonzero(tract == t)
                if not len(mine):
                    continue
                _, jj, dd = pairs_within(network, e_node[k:k + 1], e_snap[k:k + 1],
                                         p_node[mine], p_snap[mine], threshold[t])
                nearest[mine[jj]] = np.fmin(nearest[mine[jj]], dd)
    far = nearest > threshold[tract]
    pop = points["population"].to_numpy(dtype=float)
    total = np.bincount(tract, weights=pop, minlength=n_tracts)
    beyond = np.bincount(tract, weights=pop * far, minlength=n_tracts)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, beyond / np.where(total > 0, total, 1.0), np.nan)


def minutes(distance_m: np.ndarray, speed_m_per_min: float) -> np.ndarray:
    """Walking minutes at `speed_m_per_min` (NaN stays NaN)."""
    if not speed_m_per_min or speed_m_per_min <= 0 or not math.isfinite(speed_m_per_min):
        raise ValueError("speed_m_per_min must be a positive number")
    return np.asarray(distance_m, dtype=float) / float(speed_m_per_min)


def nearest_walk_distances(network: Network, tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame,
                           catchment_m: float,
                           speed_m_per_min: float | None = None) -> pd.DataFrame:
    """From each tract's representative point, on foot: `nearest_asset_walk_m` and
    `nearest_<type>_walk_m` (NaN where no asset can be reached: see `walk_unreachable`),
    `assets_within_catchment_walk`, and `_walk_min` minutes when a speed is given. The walking
    counterpart of :func:`aiddeserts.method.access.nearest_distances` (same arguments first)."""
    from aiddeserts.method.access import slug_types

    origins = tracts.geometry.representative_point()
    origin_xy = np.column_stack([origins.x.to_numpy(), origins.y.to_numpy()])
    out = pd.DataFrame(index=tracts.index)
    if assets.empty:
        out["nearest_asset_walk_m"] = np.nan
        out["assets_within_catchment_walk"] = 0
        out["walk_unreachable"] = True
        if speed_m_per_min:
            out["nearest_asset_walk_min"] = np.nan
        return out
    assets_xy = np.column_stack([assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()])
    a_node, a_snap = snap(network, assets_xy)
    o_node, o_snap = snap(network, origin_xy)
    overall = nearest_source_distance(network, a_node, a_snap, o_node, o_snap)
    columns = {"nearest_asset": overall}
    by_type = nearest_by_type(network, a_node, a_snap, slug_types(assets["type"]).to_numpy(),
                              o_node, o_snap)
    columns |= {f"nearest_{t}": reach for t, reach in by_type.items()}
    for name, reach in columns.items():
        out[f"{name}_walk_m"] = np.round(reach.distance_m, 1)
    _, j, _ = pairs_within(network, a_node, a_snap, o_node, o_snap, catchment_m)
    out["assets_within_catchment_walk"] = np.bincount(j, minlength=len(tracts)).astype(np.int64)
    out["walk_unreachable"] = overall.unreachable
    if speed_m_per_min:
        for name, reach in columns.items():
            out[f"{name}_walk_min"] = np.round(minutes(reach.distance_m, speed_m_per_min), 1)
    return out


def network_report(network: Network, points_xy: np.ndarray, assets_xy: np.ndarray
                   ) -> dict[str, float | int]:
    """What to log about a network run: its size and pieces, how far points and assets lie from
    it, and how many points can reach no asset on foot."""
    reach = point_walk_to_nearest(network, points_xy, assets_xy)
    _, p_snap = snap(network, points_xy) if len(points_xy) else (None, np.zeros(0))
    _, a_snap = snap(network, assets_xy) if len(assets_xy) else (None, np.zeros(0))
    return {"nodes": network.n_nodes, "edges": network.n_edges,
            "components": int(network.components.max() + 1) if network.n_nodes else 0,
            "points": len(reach.distance_m), "points_unreachable": reach.n_unreachable,
            "point_snap_max_m": float(p_snap.max()) if len(p_snap) else 0.0,
            "asset_snap_max_m": float(a_snap.max()) if len(a_snap) else 0.0}


def reach_pairs(network: Network, points_xy: np.ndarray, assets_xy: np.ndarray,
                radius: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point index, asset index, walking metres) of every asset within `radius[point]` on foot
    of each point, sorted by point then asset: what the desert bootstrap's distance test needs
    on walking distances in place of its k-d tree's nearest assets."""
    points_xy = np.asarray(points_xy, float).reshape(-1, 2)
    assets_xy = np.asarray(assets_xy, float).reshape(-1, 2)
    if len(points_xy) == 0 or len(assets_xy) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    p_node, p_snap = snap(network, points_xy)
    a_node, a_snap = snap(network, assets_xy)
    radius = np.broadcast_to(np.asarray(radius, float), p_node.shape)
    j, i, d = pairs_within(network, a_node, a_snap, p_node, p_snap, radius)
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]
