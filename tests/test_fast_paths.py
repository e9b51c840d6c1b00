"""The fast method kernels against the implementations they replaced, on real data: NYC's 2010
tracts (Staten Island and Manhattan, projected to UTM 18N) and the demo's real fridge and pantry
locations. The replaced implementations are kept here, verbatim but for names, as references."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.signal import fftconvolve

from aiddeserts.method.confidence import (
    BOX_HISTOGRAM_CELLS,
    _binning_cells,
    _zone_boxes,
    asset_contributions,
    asset_contributions_for,
    fallback_cells,
)
from aiddeserts.method.density import (
    Grid,
    binned_kernel_grid,
    grid_for_bounds,
    kernel_grid,
    outside_share,
)
from aiddeserts.method.zonal import zone_raster

NYC = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"


def reference_outside_share(inside: np.ndarray, grid: Grid, bandwidth: float, x: np.ndarray,
                            y: np.ndarray) -> np.ndarray:
    """`density.outside_share` before: one FFT convolution of the whole grid with the disc."""
    disc = kernel_grid("uniform", bandwidth, grid.cell_size) > 0
    covered = np.rint(fftconvolve(inside.astype(float), disc.astype(float), mode="same"))
    col = np.floor((np.asarray(x) - grid.x_min) / grid.cell_size).astype(int)
    row = np.floor((grid.y_max - np.asarray(y)) / grid.cell_size).astype(int)
    ok = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    out = np.full(len(col), np.nan)
    out[ok] = 1.0 - np.clip(covered[row[ok], col[ok]] / disc.sum(), 0.0, 1.0)
    return out


def reference_asset_contributions(x: np.ndarray, y: np.ndarray, grid: Grid, zones: np.ndarray,
                                  fallback: np.ndarray, *, kernel: str, bandwidth: float
                                  ) -> sp.csr_matrix:
    """`confidence.asset_contributions` before: one `scipy.signal.fftconvolve` per tract."""
    n_tracts = fallback.shape[0]
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    n_points = len(x)
    kern = binned_kernel_grid(kernel, bandwidth, grid.cell_size) * 1e6
    half = kern.shape[0] // 2
    corner_rows, corner_cols, shares = _binning_cells(x, y, grid, kernel)
    lo_r, hi_r = corner_rows.min(axis=0), corner_rows.max(axis=0)
    lo_c, hi_c = corner_cols.min(axis=0), corner_cols.max(axis=0)
    flat = zones.ravel()
    inside = np.flatnonzero(flat)
    zone_of = flat[inside]
    cell_rows, cell_cols = np.divmod(inside, grid.width)
    cells_per_zone = np.bincount(zone_of, minlength=n_tracts + 1)
    big = np.iinfo(np.int64).max
    box = np.stack([np.full(n_tracts + 1, big), np.full(n_tracts + 1, -1),
                    np.full(n_tracts + 1, big), np.full(n_tracts + 1, -1)])
    np.minimum.at(box[0], zone_of, cell_rows)
    np.maximum.at(box[1], zone_of, cell_rows)
    np.minimum.at(box[2], zone_of, cell_cols)
    np.maximum.at(box[3], zone_of, cell_cols)
    rows_out, cols_out, vals_out = [], [], []

    def add(tract: int, points: np.ndarray, values: np.ndarray) -> None:
        keep = values != 0
        rows_out.append(np.full(int(keep.sum()), tract))
        cols_out.append(points[keep])
        vals_out.append(values[keep])

    for zone in np.flatnonzero(cells_per_zone[1:]) + 1:
        r0, r1, c0, c1 = box[:, zone]
        near = np.flatnonzero((hi_r >= r0 - half) & (lo_r <= r1 + half)
                              & (hi_c >= c0 - half) & (lo_c <= c1 + half))
        if not len(near):
            continue
        mask = (zones[r0:r1 + 1, c0:c1 + 1] == zone).astype(float)
        response = fftconvolve(mask, kern, mode="full") / cells_per_zone[zone]
        response[np.abs(response) < 1e-12 * np.abs(response).max()] = 0.0
        origin_r, origin_c = r0 - half, c0 - half
        values = np.zeros(len(near))
        for k in range(len(shares)):
            ri = corner_rows[k, near] - origin_r
            ci = corner_cols[k, near] - origin_c
            ok = (ri >= 0) & (ri < response.shape[0]) & (ci >= 0) & (ci < response.shape[1])
            values[ok] += shares[k, near[ok]] * response[ri[ok], ci[ok]]
        add(zone - 1, near, values)
    for tract in np.flatnonzero(fallback[:, 0] >= 0):
        fr, fc = fallback[tract]
        values = np.zeros(n_points)
        for k in range(len(shares)):
            kr = fr - corner_rows[k] + half
            kc = fc - corner_cols[k] + half
            ok = (kr >= 0) & (kr < kern.shape[0]) & (kc >= 0) & (kc < kern.shape[1])
            values[ok] += shares[k, ok] * kern[kr[ok], kc[ok]]
        add(tract, np.arange(n_points), values)
    if not rows_out:
        return sp.csr_matrix((n_tracts, n_points))
    return sp.csr_matrix((np.concatenate(vals_out), (np.concatenate(rows_out),
                                                     np.concatenate(cols_out))),
                         shape=(n_tracts, n_points))


@pytest.fixture(scope="module")
def nyc_case() -> dict:
    """Staten Island and Manhattan tracts on a 50 m grid, the demo's real assets (all of NYC,
    so many fall off these tracts or off the grid), and the tracts' representative points."""
    tracts = gpd.read_file(NYC / "nyc_tracts_2010.gpkg")
    tracts = tracts[tracts["borough_name"].isin(["Staten Island", "Manhattan"])]
    tracts = tracts.to_crs("EPSG:32618").reset_index(drop=True)
    fridges = pd.read_csv(NYC / "community_fridges.csv")
    pantries = gpd.read_file(NYC / "food_pantries.geojson")
    assets = pd.concat([
        gpd.GeoSeries(gpd.points_from_xy(fridges["lon"], fridges["lat"]), crs=4326),
        pantries.geometry.to_crs(4326)], ignore_index=True).to_crs("EPSG:32618")
    assets = assets[~assets.is_empty & assets.notna()]
    grid = grid_for_bounds(tuple(tracts.total_bounds), 50.0, pad=1000.0)
    zones = zone_raster(tracts.geometry, grid)
    rep = tracts.geometry.representative_point()
    return {"tracts": tracts, "grid": grid, "zones": zones,
            "assets": (assets.x.to_numpy(), assets.y.to_numpy()),
            "rep": (rep.x.to_numpy(), rep.y.to_numpy()),
            "fallback": fallback_cells(zones, grid, rep.x.to_numpy(), rep.y.to_numpy())}


@pytest.mark.parametrize("bandwidth", [1000.0, 730.0, 2600.0])
def test_outside_share_is_exactly_the_fft_count(nyc_case: dict, bandwidth: float):
    grid, zones = nyc_case["grid"], nyc_case["zones"]
    rng = np.random.default_rng(5)
    # Representative points, the assets and random points, some beyond the grid.
    x = np.concatenate([nyc_case["rep"][0], nyc_case["assets"][0],
                        rng.uniform(grid.x_min - 3000, grid.x_min + 50 * grid.width + 3000, 300)])
    y = np.concatenate([nyc_case["rep"][1], nyc_case["assets"][1],
                        rng.uniform(grid.y_max - 50 * grid.height - 3000, grid.y_max + 3000, 300)])
    fast = outside_share(zones > 0, grid, bandwidth, x, y)
    slow = reference_outside_share(zones > 0, grid, bandwidth, x, y)
    assert np.isnan(fast).sum() > 10 and 0 < np.nanmean(fast) < 1
    np.testing.assert_array_equal(fast, slow)  # the same float64 numbers, NaNs in place


def test_outside_share_on_an_empty_or_missed_grid():
    grid = Grid(0.0, 1000.0, 10.0, 100, 100)
    inside = np.ones(grid.shape, bool)
    assert np.isnan(outside_share(inside, grid, 200.0, np.array([-5.0]), np.array([50.0]))).all()
    assert outside_share(inside, grid, 200.0, np.array([]), np.array([])).shape == (0,)
    corner = outside_share(inside, grid, 200.0, np.array([1.0]), np.array([999.0]))
    np.testing.assert_array_equal(
        corner, reference_outside_share(inside, grid, 200.0, np.array([1.0]), np.array([999.0])))


@pytest.mark.parametrize("kernel", ["quartic", "gaussian", "epanechnikov"])
def test_batched_contributions_equal_the_per_tract_convolutions(nyc_case: dict, kernel: str):
    grid, zones, fallback = nyc_case["grid"], nyc_case["zones"], nyc_case["fallback"]
    bandwidth = 300.0 if kernel == "gaussian" else 1000.0
    sets = [nyc_case["assets"], nyc_case["rep"]]
    fast = asset_contributions_for(sets, grid, zones, fallback, kernel=kernel,
                                   bandwidth=bandwidth)
    assert len(fast) == 2
    for (x, y), matrix in zip(sets, fast, strict=True):
        old = reference_asset_contributions(x, y, grid, zones, fallback, kernel=kernel,
                                            bandwidth=bandwidth).toarray()
        new = matrix.toarray()
        assert new.shape == old.shape and (old > 0).sum() > 100
        # The same transforms, batched: the same float64 numbers.
        np.testing.assert_array_equal(new, old)
        single = asset_contributions(x, y, grid, zones, fallback, kernel=kernel,
                                     bandwidth=bandwidth)
        np.testing.assert_array_equal(single.toarray(), new)


def test_contributions_for_an_empty_point_set(nyc_case: dict):
    grid, zones, fallback = nyc_case["grid"], nyc_case["zones"], nyc_case["fallback"]
    empty, reps = asset_contributions_for([(np.array([]), np.array([])), nyc_case["rep"]], grid,
                                          zones, fallback, kernel="quartic", bandwidth=1000.0)
    assert empty.shape == (len(nyc_case["tracts"]), 0)
    # A tract's own representative point adds to the tract's mean density.
    assert (reps.diagonal() > 0).all()


def test_zone_boxes_by_histogram_equal_ufunc_at(nyc_case: dict, monkeypatch):
    zones = nyc_case["zones"]
    n = len(nyc_case["tracts"]) + 3  # three zones without cells
    cells, box = _zone_boxes(zones, n)
    monkeypatch.setattr("aiddeserts.method.confidence.BOX_HISTOGRAM_CELLS", 0)
    cells_at, box_at = _zone_boxes(zones, n)
    assert BOX_HISTOGRAM_CELLS > 0 and (cells[-3:] == 0).all()
    np.testing.assert_array_equal(cells, cells_at)
    np.testing.assert_array_equal(box, box_at)
    rows, cols = np.nonzero(zones == 7)
    assert box[:, 7].tolist() == [rows.min(), rows.max(), cols.min(), cols.max()]


def test_min_ranks_equal_scipy_rankdata():
    from scipy.stats import rankdata

    from aiddeserts.method.need import min_ranks

    rng = np.random.default_rng(3)
    values = rng.integers(0, 12, (300, 40)).astype(float)  # many ties
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:5] = -0.0  # −0 ties with 0
    values[5:8] = 0.0
    values[:, 7] = np.nan  # a column of NaN only
    expected = rankdata(values, method="min", axis=0, nan_policy="omit")
    np.testing.assert_array_equal(min_ranks(values), expected)
    np.testing.assert_array_equal(min_ranks(values[:, 0]), expected[:, 0])
    assert min_ranks(np.empty((0, 3))).shape == (0, 3)


def test_gi_star_p_values_and_fdr_equal_scipy_stats(nyc_case: dict):
    from scipy.stats import false_discovery_control, norm

    from aiddeserts.method.access import tract_density
    from aiddeserts.method.confidence import (
        benjamini_hochberg,
        cold_spots,
        contiguity_weights,
        getis_ord_gi_star,
    )
    from aiddeserts.method.density import kernel_density

    tracts, grid, zones = nyc_case["tracts"], nyc_case["grid"], nyc_case["zones"]
    values = kernel_density(*nyc_case["assets"], grid, kernel="quartic", bandwidth=1000.0)
    access = tract_density(tracts, values, grid, zones)
    weights = contiguity_weights(tracts.geometry.to_numpy())
    z, p = getis_ord_gi_star(access, weights)
    np.testing.assert_array_equal(p, 2.0 * norm.sf(np.abs(z)))
    np.testing.assert_array_equal(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    ties = np.array([0.01, 0.04, 0.04, 0.5, 0.01, 1.0, 0.0])
    np.testing.assert_array_equal(benjamini_hochberg(ties),
                                  false_discovery_control(ties, method="bh"))
    assert benjamini_hochberg(np.array([0.3])).tolist() == [0.3]
    _, adjusted, cold = cold_spots(access, weights, 0.05)
    assert cold.sum() > 5 and (adjusted[cold] <= 0.05).all()


def _rendered(draw) -> tuple[bytes, bytes]:
    """PNG and PDF bytes of a figure whose one axes `draw` fills."""
    import io

    from matplotlib.figure import Figure

    from aiddeserts.maps.figure import PDF_METADATA, print_style

    with print_style():
        fig = Figure(figsize=(4, 4), dpi=100)
        ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
        draw(ax)
        ax.set_aspect("equal", adjustable="box", anchor="C")
        ax.set_axis_off()
        png, pdf = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(pdf, format="pdf", metadata=PDF_METADATA)
    return png.getvalue(), pdf.getvalue()


def test_polygon_paths_draw_what_geopandas_plot_draws(nyc_case: dict):
    """Paths built once and drawn per layer give geopandas' own bytes (PNG and vector PDF):
    NYC's tracts, and polygons with holes, a mixed multipolygon, an empty and a missing
    geometry, a subset drawn from the whole frame's paths, hatches and transparency."""
    from shapely.geometry import MultiPolygon, Polygon, box

    from aiddeserts.maps.figure import draw_polygons, polygon_paths

    holed = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)],
                    [[(2, 2), (4, 2), (4, 4), (2, 4)], [(6, 6), (8, 6), (8, 8), (6, 8)]])
    multi = MultiPolygon([box(12, 0, 14, 3), Polygon([(15, 0), (20, 0), (20, 5)],
                                                     [[(18, 1), (19, 1), (19, 2)]])])
    odd = gpd.GeoDataFrame({"k": [0, 1, 2, 3, 4]},
                           geometry=[holed, multi, Polygon(), None, box(0, 12, 3, 15)],
                           index=[10, 3, 7, 8, 1], crs=26918)
    styles = [{"color": "#F2F2F2", "edgecolor": "#BBBBBB", "linewidth": 0.2},
              {"color": "#D55E00", "edgecolor": "#555555", "linewidth": 0.6, "hatch": "xx",
               "alpha": 0.6}]
    for frame in (odd, nyc_case["tracts"]):
        paths, subset = polygon_paths(frame), frame.iloc[::2]
        assert paths is not None

        def ours(ax, frame=frame, paths=paths, subset=subset):
            draw_polygons(ax, frame, paths, **styles[0])
            draw_polygons(ax, subset, paths, **styles[1])

        def theirs(ax, frame=frame, subset=subset):
            frame.plot(ax=ax, **styles[0])
            subset.plot(ax=ax, **styles[1])

        assert _rendered(ours) == _rendered(theirs)
    # Points or a repeated index: geopandas draws them as before.
    assert polygon_paths(odd.set_geometry(odd.centroid)) is None
    assert polygon_paths(odd.set_index(np.zeros(len(odd), int))) is None


def test_row_nanquantile_equals_numpy_nanquantile():
    """The need interval's vectorised quantile gives numpy's bytes: rows without NaN, with some,
    all NaN, infinite values, ties, one column and none."""
    from aiddeserts.method.need import row_nanquantile

    rng = np.random.default_rng(7)
    for trial in range(150):
        values = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 50))))
        if trial % 3:
            values = np.round(values, int(rng.integers(0, 3)))  # ties
        values[rng.random(values.shape) < rng.choice([0.0, 0.1, 0.5, 1.0])] = np.nan
        if trial % 7 == 0:
            values[0, 0] = np.inf
        for q in (0.0, 0.05, 0.5, 0.95, 1.0):
            with warnings.catch_warnings():  # all-NaN rows, inf - inf
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanquantile(values, q, axis=1)
                got = row_nanquantile(values, q)
            assert got.tobytes() == expected.tobytes(), (trial, q)
    assert row_nanquantile(np.zeros((0, 5)), 0.5).shape == (0,)


def test_utm_zone_worked_out_equals_pyprojs_estimate():
    """`utm_crs` works the zone out where the centre is clear of a zone's edges and asks
    pyproj elsewhere: the CRS pyproj's `estimate_utm_crs` gives, for centres all over the
    globe (both hemispheres, both ends of the zones), on and next to edges, in NAD83 and WGS 84
    lon/lat and in a projected CRS."""
    from shapely.geometry import box

    from aiddeserts.io import crs as crs_module

    rng = np.random.default_rng(5)
    centres = [(-73.95, 40.7), (-72.0, 40.7), (-72.0 + 1e-4, 40.7), (10.0, 0.0),
               (179.99, -45.0), (-179.99, 83.9), (3.0, 60.0), (-72.0, 0.0), (0.5, -79.99)]
    centres += [(float(x), float(y)) for x, y in zip(rng.uniform(-180, 180, 24),
                                                    rng.uniform(-80, 84, 24), strict=True)]
    worked_out = 0
    for index, (lon, lat) in enumerate(centres):
        crs = "EPSG:4269" if index % 3 == 0 else "EPSG:4326"
        frame = gpd.GeoDataFrame(geometry=[box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)],
                                 crs=crs)
        assert crs_module.utm_crs(frame) == frame.estimate_utm_crs(), (lon, lat)
        position = (lon + 180) / 6
        worked_out += 1e-3 < position % 1 < 1 - 1e-3 and 1e-3 < abs(lat) < 79
    assert worked_out > 20
    # Projected tracts (NYC's state plane in feet, UTM, Web Mercator across the antimeridian).
    for crs, bounds in (("EPSG:2263", (900_000, 120_000, 1_070_000, 275_000)),
                        ("EPSG:32618", (580_000, 4_500_000, 590_000, 4_510_000)),
                        ("EPSG:32633", (166_000, 0, 180_000, 10_000)),
                        ("EPSG:3857", (19_900_000, -5_000_000, 20_037_000, -4_900_000)),
                        ("EPSG:3857", (-20_037_000, 5_000_000, -19_900_000, 5_100_000))):
        projected = gpd.GeoDataFrame(geometry=[box(*bounds)], crs=crs)
        assert crs_module.utm_crs(projected) == projected.estimate_utm_crs(), crs
