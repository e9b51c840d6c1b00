"""Our methods against the field's reference implementations on the same inputs.

KDE: KDEpy (NaiveKDE, exact sums) and scikit-learn. For the kernels sampled as is (Epanechnikov,
uniform) points are placed on cell centres, where linear binning is exact, so the comparison
measures the kernel and the FFT convolution alone. For the smooth kernels (quartic, Gaussian) the
binned kernel is projected to remove the average binning bias (density.binned_kernel_grid),
so points are placed at random and the grid is fine against the bandwidth (h/cell = 71): the
remaining grid discretisation error is below 1e-3 where density is ≥ 10 % of its peak
(bench/RESULTS.md; ~0.3 % at h/cell = 20). Peers get kilometres, not metres (KDEpy's FFTKDE is
known to truncate the Gaussian with metre-scale bandwidths; the exact NaiveKDE is used here), and
both return per-unit² densities, so km gives assets per km² directly.
2SFCA: PySAL `access` (two_stage_fca). Gi*: PySAL `esda` (G_Local, star=True).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import grid_tracts

from aiddeserts.method.catchment import decay_weights, two_step_fca
from aiddeserts.method.confidence import contiguity_weights, getis_ord_gi_star
from aiddeserts.method.density import Grid, kernel_density

#: KDEpy's bw is the kernel's 1-D standard deviation; our quartic/Epanechnikov/uniform bandwidth
#: is the support radius h, so bw = h / √c with c the kernel's 1-D variance denominator.
KDEPY = {"quartic": ("biweight", 7.0), "epanechnikov": ("epa", 5.0), "uniform": ("box", 3.0),
         "gaussian": ("gaussian", 1.0)}


def points_on_centres(grid: Grid, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys = grid.cell_centres()
    cols = rng.integers(grid.width // 4, 3 * grid.width // 4, n)
    rows = rng.integers(grid.height // 4, 3 * grid.height // 4, n)
    return xs[cols], ys[rows]


def kde_case(kernel: str, extent: float, coarse_cell: float, n: int, seed: int
                         ) -> tuple[Grid, np.ndarray, np.ndarray]:
    """On-centre points on a coarse grid, or random points on a fine grid (smooth kernels)."""
    if kernel in ("quartic", "gaussian"):
        cell = 10.0
        side = int(extent / cell)
        grid = Grid(0.0, extent, cell, side, side)
        rng = np.random.default_rng(seed)
        return grid, rng.uniform(extent / 4, 3 * extent / 4, n), rng.uniform(
            extent / 4, 3 * extent / 4, n)
    side = int(extent / coarse_cell)
    grid = Grid(0.0, extent, coarse_cell, side, side)
    return (grid, *points_on_centres(grid, n, seed))


@pytest.mark.parametrize("kernel", list(KDEPY))
def test_kde_matches_kdepy(kernel):
    from KDEpy import NaiveKDE

    grid, x, y = kde_case(kernel, 8000.0, 50.0, 40, seed=3)
    bandwidth = 710.0  # not a whole number of cells: no cell centre on the edge of the support
    ours = kernel_density(x, y, grid, kernel=kernel, bandwidth=bandwidth)
    name, var = KDEPY[kernel]
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    peer = NaiveKDE(kernel=name, bw=bandwidth / 1000 / np.sqrt(var), norm=2).fit(
        np.column_stack([x, y]) / 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = peer.evaluate(np.column_stack([gx.ravel(), gy.ravel()]) / 1000)
    theirs = theirs.reshape(grid.shape) * len(x)  # KDEpy returns a probability density
    # Away from the kernel's edge (where a cell-sized step is a large relative change) and,
    # for the Gaussian, away from our 5σ cut.
    # Near the rim of a lone quartic kernel the binning error is relatively large (the kernel
    # falls to zero with a vanishing slope); compare the quartic where density is ≥ 10 % of peak.
    floor = 0.1 if kernel == "quartic" else 0.01
    strong = theirs > floor * theirs.max()
    rel = np.abs(ours[strong] - theirs[strong]) / theirs[strong]
    assert rel.max() <= 1e-3
    cell_km2 = (grid.cell_size / 1000) ** 2
    assert ours.sum() * cell_km2 == pytest.approx(theirs.sum() * cell_km2, rel=5e-3)


@pytest.mark.parametrize(("kernel", "sk_kernel"), [("gaussian", "gaussian"),
                                                   ("epanechnikov", "epanechnikov"),
                                                   ("uniform", "tophat")])
def test_kde_matches_scikit_learn(kernel, sk_kernel):
    from sklearn.neighbors import KernelDensity

    grid, x, y = kde_case(kernel, 6000.0, 40.0, 30, seed=11)
    bandwidth = 510.0
    ours = kernel_density(x, y, grid, kernel=kernel, bandwidth=bandwidth)
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid(xs, ys)
    model = KernelDensity(kernel=sk_kernel, bandwidth=bandwidth / 1000).fit(
        np.column_stack([x, y]) / 1000)
    theirs = np.exp(model.score_samples(np.column_stack([gx.ravel(), gy.ravel()]) / 1000))
    theirs = theirs.reshape(grid.shape) * len(x)
    strong = theirs > 0.01 * theirs.max()
    assert np.max(np.abs(ours[strong] - theirs[strong]) / theirs[strong]) <= 1e-3


def city_for_fca(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 6000, (60, 2))
    population = rng.integers(100, 5000, 60).astype(float)
    supply = rng.uniform(0, 6000, (15, 2))
    capacity = rng.integers(1, 10, 15).astype(float)
    return demand, population, supply, capacity


@pytest.mark.parametrize("decay", ["uniform", "stepped", "gaussian"])
def test_two_step_fca_matches_pysal_access(decay):
    from access.fca import two_stage_fca

    demand, population, supply, capacity = city_for_fca()
    catchment = 1800.0
    ours, _ = two_step_fca(demand, population, supply, capacity, catchment, decay)
    cost = pd.DataFrame([(f"d{i}", f"s{j}", float(np.hypot(*(demand[i] - supply[j]))))
                         for i in range(len(demand)) for j in range(len(supply))],
                        columns=["origin", "dest", "cost"])
    demand_df = pd.DataFrame({"demand": population}, index=[f"d{i}" for i in range(60)])
    demand_df.index.name = "geoid"
    supply_df = pd.DataFrame({"supply": capacity}, index=[f"s{j}" for j in range(15)])
    supply_df.index.name = "geoid"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = two_stage_fca(demand_df, supply_df, cost, max_cost=catchment,
                               weight_fn=lambda d: float(decay_weights(d, catchment, decay)))
    theirs = theirs.reindex(demand_df.index).fillna(0.0).to_numpy()
    assert (ours > 0).sum() > 20  # the comparison covers many served points
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6 * np.abs(theirs).max())
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def test_gi_star_matches_esda():
    import libpysal
    from esda.getisord import G_Local

    tracts = grid_tracts(6)
    rng = np.random.default_rng(2)
    values = rng.gamma(2.0, 1.0, len(tracts))
    values[:6] = 0.0  # a cold row
    z, p = getis_ord_gi_star(values, contiguity_weights(tracts.geometry.to_numpy()))
    w = libpysal.weights.Queen.from_dataframe(tracts, use_index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = G_Local(values, w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(z, peer.Zs, rtol=1e-9, atol=1e-9)
    assert z[:6].mean() < 0
