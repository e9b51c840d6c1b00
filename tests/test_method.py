"""The method layer on known answers: decay, 2SFCA, FARA share, auto bandwidth, edge share,
empirical Bayes, need intervals, response bias, per-asset contributions."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import CRS, X0, Y0, grid_tracts
from shapely.geometry import box

from aiddeserts.method.access import tract_density
from aiddeserts.method.catchment import (
    decay_weights,
    is_urban,
    population_points,
    share_beyond,
    two_step_fca,
)
from aiddeserts.method.confidence import (
    AccessRule,
    asset_contributions,
    cold_spots,
    contiguity_weights,
    fallback_cells,
    response_disparity,
    robustness_margin,
)
from aiddeserts.method.density import (
    Grid,
    auto_bandwidth,
    grid_for_bounds,
    kernel_density,
    outside_share,
    resolve_bandwidth,
)
from aiddeserts.method.need import empirical_bayes_rate, need_score, need_score_interval
from aiddeserts.method.zonal import zone_raster


def test_decay_weights():
    d = np.array([0.0, 500.0, 999.0, 1000.0, 1001.0])
    assert decay_weights(d, 1000.0, "uniform").tolist() == [1, 1, 1, 1, 0]
    g = decay_weights(d, 1000.0, "gaussian")
    assert g[0] == pytest.approx(1.0) and g[3] == pytest.approx(0.0, abs=1e-12) and g[4] == 0
    edge = math.exp(-0.5)
    assert g[1] == pytest.approx((math.exp(-0.125) - edge) / (1 - edge))
    assert decay_weights(np.array([100.0, 400.0, 900.0, 1200.0]), 1000.0,
                         "stepped").tolist() == [1.0, 0.68, 0.22, 0.0]
    with pytest.raises(ValueError, match="unknown decay"):
        decay_weights(d, 1000.0, "linear")


def test_two_step_fca_by_hand():
    # One asset of capacity 2 serving two points of 100 people (uniform decay): R = 2/200 and
    # each point gets 0.01; a point beyond the catchment gets nothing; a second asset 800 m
    # from the first point only adds its full capacity to that point.
    demand = np.array([[0.0, 0.0], [300.0, 0.0], [5000.0, 0.0]])
    supply = np.array([[100.0, 0.0], [-800.0, 0.0]])
    access, ratio = two_step_fca(demand, np.array([100.0, 100.0, 50.0]), supply,
                                 np.array([2.0, 1.0]), 1000.0, "uniform")
    assert ratio.tolist() == pytest.approx([0.01, 1 / 100])
    assert access.tolist() == pytest.approx([0.02, 0.01, 0.0])
    # Capacity scales supply linearly; no supply at all gives zero access.
    doubled, _ = two_step_fca(demand, np.array([100.0, 100.0, 50.0]), supply,
                              np.array([4.0, 2.0]), 1000.0, "uniform")
    assert doubled == pytest.approx(2 * access)
    assert two_step_fca(demand, np.ones(3), np.empty((0, 2)), np.empty(0), 1000.0)[0].tolist() \
        == [0.0, 0.0, 0.0]


def test_share_beyond_on_a_strip():
    strip = gpd.GeoDataFrame({"pop": [400.0]}, geometry=[box(0, 0, 4000, 100)], crs=CRS)
    points = population_points(strip, strip["pop"], 100.0)
    assert len(points) == 40 and points["population"].sum() == pytest.approx(400.0)
    asset = np.array([[0.0, 50.0]])
    assert share_beyond(points, 1, asset, np.array([2000.0])).tolist() == [0.5]
    assert share_beyond(points, 1, asset, np.array([10000.0])).tolist() == [0.0]
    assert share_beyond(points, 1, np.empty((0, 2)), np.array([10.0])).tolist() == [1.0]
    # An extra asset at the strip's east end brings everyone within 2 km.
    assert share_beyond(points, 1, asset, np.array([2000.0]),
                        extra_xy=np.array([[4000.0, 50.0]])).tolist() == [0.0]


def test_tiny_tract_population_sits_on_its_representative_point():
    tracts = gpd.GeoDataFrame({"pop": [10.0, 20.0]}, crs=CRS,
                              geometry=[box(0, 0, 1000, 1000), box(2000, 0, 2030, 30)])
    points = population_points(tracts, tracts["pop"], 100.0)
    tiny = points[points["tract"] == 1]
    assert len(tiny) == 1 and tiny["population"].item() == 20.0
    assert box(2000, 0, 2030, 30).contains(gpd.points_from_xy(tiny["x"], tiny["y"])[0])


def test_is_urban_uses_population_density():
    urban = is_urban(pd.Series([1000.0, 100.0, 0.0]), pd.Series([1.0, 1.0, 0.0]), 386.1)
    assert urban.tolist() == [True, False, False]


def test_auto_bandwidth_known_answer():
    x = np.array([1000.0, -1000.0, 0.0, 0.0])
    y = np.array([0.0, 0.0, 1000.0, -1000.0])
    # SD = 1000, D_m = 1000 (√(1/ln 2)·D_m = 1201 is larger), n = 4.
    expected = 0.9 * 1000.0 * 4 ** -0.2
    assert auto_bandwidth(x, y) == pytest.approx(expected)
    assert auto_bandwidth(x, y, "gaussian") == pytest.approx(expected / math.sqrt(8))
    assert resolve_bandwidth("auto", x, y, "quartic") == round(expected, 1)
    assert resolve_bandwidth(750, x, y, "quartic") == 750.0
    with pytest.raises(ValueError, match="one location"):
        auto_bandwidth(np.zeros(3), np.zeros(3))


def test_outside_share_at_an_edge():
    grid = Grid(0.0, 4000.0, 10.0, 400, 400)
    inside = np.zeros(grid.shape, bool)
    inside[:, :200] = True  # western half is the study area
    share = outside_share(inside, grid, 500.0, np.array([1000.0, 2000.0, 3500.0]),
                          np.array([2000.0, 2000.0, 2000.0]))
    assert share[0] == 0.0
    assert share[1] == pytest.approx(0.5, abs=0.02)
    assert share[2] == 1.0


def test_empirical_bayes_shrinks_small_tracts_most():
    events = pd.Series([1, 80, 10, 2, 0])
    trials = pd.Series([2, 100, 100, 4, 0])
    rate, p_bar, strength = empirical_bayes_rate(events, trials)
    assert p_bar == pytest.approx(93 / 206)
    spread = sum(n * (y / n - p_bar) ** 2 for y, n in [(1, 2), (80, 100), (10, 100), (2, 4)]) / 206
    tau2 = spread - p_bar * (1 - p_bar) / (206 / 4)
    assert strength == pytest.approx(p_bar * (1 - p_bar) / tau2 - 1)
    assert rate[0] == pytest.approx((1 + strength * p_bar) / (2 + strength))
    # The 2-respondent tract moves more of its way to p̄ than the 100-respondent tract.
    assert abs(rate[0] - p_bar) / abs(0.5 - p_bar) < abs(rate[1] - p_bar) / abs(0.8 - p_bar)
    assert np.isnan(rate[4])


def test_empirical_bayes_pools_fully_without_real_variation():
    rate, p_bar, strength = empirical_bayes_rate(pd.Series([5, 10, 1]), pd.Series([20, 40, 4]))
    assert p_bar == 0.25 and math.isinf(strength)
    assert rate.tolist() == [0.25, 0.25, 0.25]


def test_need_ranks_only_eligible_tracts():
    frame = pd.DataFrame({"poverty": [10.0, 20.0, 30.0, 1.0, 2.0]})
    eligible = pd.Series([True, True, True, False, False])
    ranked = need_score(frame, [{"column": "poverty", "higher_is_worse": True}], eligible)
    assert ranked["need_score"].iloc[:3].tolist() == [0.0, 0.5, 1.0]
    assert ranked["need_score"].iloc[3:].isna().all()


def test_need_interval_from_margins_of_error():
    frame = pd.DataFrame({"poverty": [10.0, 20.0, 21.0, 40.0],
                          "poverty_moe": [0.0, 8.0, 8.0, 0.0]})
    eligible = pd.Series(True, index=frame.index)
    variables = [{"column": "poverty", "moe": "poverty_moe", "higher_is_worse": True}]
    interval = need_score_interval(frame, variables, eligible, draws=400, seed=1)
    # The two middle tracts overlap within their MOE: each is ranked 1/3 or 2/3 depending on the
    # draw; the extremes never move.
    assert interval.loc[0].tolist() == [0.0, 0.0] and interval.loc[3].tolist() == [1.0, 1.0]
    assert interval.loc[1].tolist() == pytest.approx([1 / 3, 2 / 3])
    fixed = need_score_interval(frame, [{"column": "poverty", "higher_is_worse": True}], eligible,
                                draws=50, seed=0)
    assert (fixed["need_score_low"] == fixed["need_score_high"]).all()
    again = need_score_interval(frame, variables, eligible, draws=400, seed=1)
    pd.testing.assert_frame_equal(interval, again)


def test_response_disparity_flags_significant_gaps():
    respondents = pd.Series([0, 100, 100, 800])
    population = pd.Series([1000, 1000, 1000, 1000])
    bias = response_disparity(respondents, population)
    assert bias["survey_disparity"].tolist() == pytest.approx([-0.25, -0.15, -0.15, 0.55])
    assert bias["survey_bias_flag"].tolist() == ["under", "under", "under", "over"]
    assert (bias["survey_disparity_low"] <= bias["survey_disparity"]).all()
    assert (bias["survey_disparity"] <= bias["survey_disparity_high"]).all()
    balanced = response_disparity(pd.Series([3, 2]), pd.Series([500, 500]))
    assert balanced["survey_bias_flag"].tolist() == ["none", "none"]


def contribution_case(tracts: gpd.GeoDataFrame, n: int, seed: int):
    """n random assets over the 3 km test city, its 50 m grid, tract raster and fallback cells."""
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(0, 3000, n)
    y = Y0 + rng.uniform(0, 3000, n)
    grid = grid_for_bounds(tuple(tracts.total_bounds), 50.0)
    zones = zone_raster(tracts.geometry, grid)
    rep = tracts.geometry.representative_point()
    return x, y, grid, zones, fallback_cells(zones, grid, rep.x.to_numpy(), rep.y.to_numpy())


def test_asset_contributions_add_up_to_the_tract_density():
    tracts = grid_tracts(3)
    tracts = pd.concat([tracts, gpd.GeoDataFrame(
        {"TRACT_CODE": ["tiny"]}, geometry=[box(X0 + 1505, Y0 + 1505, X0 + 1520, Y0 + 1520)],
        crs=CRS)], ignore_index=True)
    x, y, grid, zones, fallback = contribution_case(tracts, 25, seed=4)
    assert (fallback[:9] == -1).all() and (fallback[9] >= 0).all()
    contributions = asset_contributions(x, y, grid, zones, fallback, kernel="quartic",
                                        bandwidth=800.0)
    density = kernel_density(x, y, grid, kernel="quartic", bandwidth=800.0)
    expected = tract_density(tracts, density, grid, zones)
    # The KDE runs its FFT in float32 (relative round-off ~1e-6) and zeroes values below 1e-6 of
    # its peak; the per-asset sums are float64.
    np.testing.assert_allclose(np.asarray(contributions.sum(axis=1)).ravel(), expected,
                               rtol=1e-4, atol=1e-5 * expected.max())


def test_robustness_margin_rules():
    rule = AccessRule(low_access_density=1.0, low_access_share=0.33, strength_density=6.0)
    margin = robustness_margin(
        is_desert=np.array([True, True, True, False]),
        density=np.array([0.1, 0.5, 0.0, 3.0]),
        share_far=np.array([0.0, 0.9, 1.0, 0.0]),
        share_far_one_more=np.array([0.0, 0.0, 0.8, 0.0]),
        urban=np.array([True, True, False, True]),
        gain=np.array([0.4, 0.4, 0.9, 0.4]), rule=rule)
    # (1 − 0.1)/0.4 → 3; far share fixed by one, density (1 − 0.5)/0.4 → 2; rural tract too big
    # for one spot, but 7 assets there make it a strength (6/0.9 → 7); not a desert → NaN.
    assert margin[:3].tolist() == [3.0, 2.0, 7.0] and np.isnan(margin[3])


def test_cold_spots_find_an_empty_corner():
    tracts = grid_tracts(8)
    values = np.full(len(tracts), 3.0) + np.random.default_rng(0).normal(0, 0.2, len(tracts))
    corner = [i for i in range(64) if i % 8 < 3 and i // 8 < 3]
    values[corner] = 0.0
    z, p_adj, cold = cold_spots(values, contiguity_weights(tracts.geometry.to_numpy()), 0.05)
    assert cold[corner[0]] and not cold[63]
    assert (p_adj >= 0).all() and (p_adj <= 1).all()
    assert z[corner[0]] < -3


def test_config_accepts_auto_bandwidth_only_as_the_word_auto():
    from aiddeserts.config import validate_config
    from aiddeserts.errors import InputError

    region = {"tracts": {"path": "t.gpkg", "id": "id", "population": "pop", "need": ["p"]},
              "assets": {"path": "a.csv"}}
    filled = validate_config({"regions": {"r": region}, "density": {"bandwidth_m": "auto"}})
    assert filled["density"]["bandwidth_m"] == "auto"
    assert filled["classification"]["fca_decay"] == "gaussian"
    with pytest.raises(InputError, match="bandwidth_m"):
        validate_config({"regions": {"r": region}, "density": {"bandwidth_m": "wide"}})
    with pytest.raises(InputError, match="'stepped'"):
        validate_config({"regions": {"r": region}, "classification": {"fca_decay": "linear"}})


def test_assets_within_a_radius_per_origin():
    from aiddeserts.method.catchment import assets_within

    origins = np.array([[0.0, 0.0], [0.0, 0.0], [5000.0, 0.0]])
    assets = np.array([[100.0, 0.0], [900.0, 0.0], [0.0, 2000.0]])
    assert assets_within(origins, assets, np.array([805.0, 16093.0, 805.0])).tolist() == [1, 3, 0]
    assert assets_within(origins, np.empty((0, 2)), np.full(3, 1e6)).tolist() == [0, 0, 0]


def test_each_asset_contribution_is_its_own_density_in_the_tract():
    """Column j of the matrix is the tract means of asset j's density alone (not only the sums)."""
    tracts = grid_tracts(3)
    x, y, grid, zones, fallback = contribution_case(tracts, 6, seed=9)
    matrix = asset_contributions(x, y, grid, zones, fallback, kernel="quartic",
                                 bandwidth=800.0).toarray()
    for j in range(len(x)):
        alone = kernel_density(x[j:j + 1], y[j:j + 1], grid, kernel="quartic", bandwidth=800.0)
        expected = tract_density(tracts, alone, grid, zones)
        # The KDE sets values under 1e-6 of its peak to zero (float32 round-off and the corrected
        # kernel's slightly negative rim); a tract reached only by that rim differs by ~1e-5.
        np.testing.assert_allclose(matrix[:, j], expected, rtol=1e-4,
                                   atol=1e-4 * expected.max())


def test_population_points_of_a_large_tract_are_thinned_evenly():
    """A 20 km square at 100 m cells (40,000 cells) keeps every 10th row and column: 400
    points 1 km apart, the whole population, and the same share beyond a threshold to 1 %."""
    big = gpd.GeoDataFrame({"pop": [5000.0, 30.0]}, crs=CRS,
                           geometry=[box(0, 0, 20_000, 20_000), box(25_000, 0, 27_000, 1_000)])
    full = population_points(big, big["pop"], 100.0)
    thin = population_points(big, big["pop"], 100.0, max_points=400)
    counts = thin["tract"].value_counts().sort_index().tolist()
    assert counts == [400, 200]  # the small tract (200 cells) keeps every cell
    assert thin.groupby("tract")["population"].sum().tolist() == pytest.approx([5000.0, 30.0])
    spacing = np.diff(np.sort(thin.loc[thin["tract"] == 0, "x"].unique()))
    assert np.allclose(spacing, 1000.0)
    asset = np.array([[0.0, 0.0]])
    for threshold in (5_000.0, 12_000.0, 20_000.0):
        exact, sampled = (share_beyond(p, 2, asset, np.array([threshold, 1e6]))[0]
                          for p in (full, thin))
        assert sampled == pytest.approx(exact, abs=0.01)
    # Counted from the tract's own first row: a strip one cell tall keeps every 2nd cell.
    strip = gpd.GeoDataFrame({"pop": [90.0]}, crs=CRS, geometry=[box(0, 0, 90_000, 100)])
    assert len(population_points(strip, strip["pop"], 100.0, max_points=400)) == 450


def test_population_points_are_the_same_in_bands_and_keep_all_cells_of_a_missed_tract(
        monkeypatch):
    """Rasterising in bands of rows gives the same points as one band; a tract whose every
    cell falls off its kept rows and columns (an anti-diagonal of cells, 601 columns wide)
    keeps all of them rather than none."""
    from shapely.geometry import MultiPolygon

    import aiddeserts.method.catchment as catchment

    cells = [box(100 * k + 20, 100 * k + 20, 100 * k + 80, 100 * k + 80)
             for k in range(602)]
    tracts = gpd.GeoDataFrame({"pop": [602.0, 5000.0, 30.0]}, crs=CRS, geometry=[
        MultiPolygon(cells), box(0, 70_000, 20_000, 90_000), box(25_000, 70_000, 27_000, 71_000)])
    whole = population_points(tracts, tracts["pop"], 100.0, max_points=100)
    missed = whole[whole["tract"] == 0]
    assert len(missed) == 602 and missed["population"].sum() == pytest.approx(602.0)
    monkeypatch.setattr(catchment, "POPULATION_BAND_CELLS", 3_000)
    banded = population_points(tracts, tracts["pop"], 100.0, max_points=100)
    pd.testing.assert_frame_equal(banded, whole)
