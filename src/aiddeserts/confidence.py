"""How sure is a tract's class? Robustness margin, bootstrap stability, survey response bias,
and Getis-Ord Gi* cold spots of access.

"Whatever we collect is a floor": asset lists are incomplete, so every desert comes with how
many assets it would take to lift it and how stable it is when the asset list is resampled.

The tract's mean density is linear in the assets, so the per-asset contribution to each tract's
mean density (`asset_contributions`) is computed once from the same binned kernel as the density
raster; the bootstrap and the robustness margin then reuse it instead of recomputing the KDE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree
from scipy.stats import false_discovery_control, norm

from aiddeserts.density import Grid, binned_kernel_grid

#: Nearest assets kept per population point for the bootstrap's distance test. A point counts as
#: far in a resample only if all of its (up to) K nearest assets within the threshold are absent:
#: exact when fewer than K assets are within reach, else off with probability ≈ e^−K ≈ 3e-4.
BOOTSTRAP_NEIGHBOURS = 8


def _bilinear(x: np.ndarray, y: np.ndarray, grid: Grid) -> list[tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]]:
    """The four (row, col, share) of linear binning, as in density.linear_binning."""
    fx = (np.asarray(x, float) - grid.x_min) / grid.cell_size - 0.5
    fy = (grid.y_max - np.asarray(y, float)) / grid.cell_size - 0.5
    ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
    tx, ty = fx - ix, fy - iy
    out = []
    for dy, dx, share in ((0, 0, (1 - tx) * (1 - ty)), (0, 1, tx * (1 - ty)),
                          (1, 0, (1 - tx) * ty), (1, 1, tx * ty)):
        out.append((np.clip(iy + dy, 0, grid.height - 1), np.clip(ix + dx, 0, grid.width - 1),
                    share))
    return out


def asset_contributions(x: np.ndarray, y: np.ndarray, grid: Grid, zones: np.ndarray,
                        fallback_cells: np.ndarray, *, kernel: str, bandwidth: float
                        ) -> sp.csr_matrix:
    """Sparse (tracts × points) matrix: each point's contribution to each tract's mean density
    (per km²), exactly as binned KDE + `access.tract_density` compute it.

    `zones` is the 1-based tract raster; `fallback_cells` (tracts × 2, row/col, −1 if unused) is
    the cell sampled for a tract holding no cell centre.
    """
    n_tracts = fallback_cells.shape[0]
    kern = binned_kernel_grid(kernel, bandwidth, grid.cell_size) * 1e6
    half = kern.shape[0] // 2
    cells_per_zone = np.bincount(zones.ravel(), minlength=n_tracts + 1)[1:].astype(float)
    fb_tracts = np.flatnonzero(fallback_cells[:, 0] >= 0)
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    vals_out: list[np.ndarray] = []
    corners = _bilinear(x, y, grid)
    for j in range(len(np.atleast_1d(x))):
        r_lo = max(0, int(min(c[0][j] for c in corners)) - half)
        r_hi = min(grid.height, int(max(c[0][j] for c in corners)) + half + 1)
        c_lo = max(0, int(min(c[1][j] for c in corners)) - half)
        c_hi = min(grid.width, int(max(c[1][j] for c in corners)) + half + 1)
        window = np.zeros((r_hi - r_lo, c_hi - c_lo))
        for r, c, share in corners:
            if share[j] == 0:
                continue
            # kernel centred on (r, c): its cell (rr, cc) holds kern[rr - r + half, cc - c + half]
            kr0, kc0 = r_lo - r[j] + half, c_lo - c[j] + half
            window += share[j] * _shifted(kern, kr0, kc0, window.shape)
        zone_win = zones[r_lo:r_hi, c_lo:c_hi].ravel()
        sums = np.bincount(zone_win, weights=window.ravel(), minlength=n_tracts + 1)[1:]
        hit = np.flatnonzero(sums)
        values = sums[hit] / cells_per_zone[hit]
        if len(fb_tracts):
            fr, fc = fallback_cells[fb_tracts, 0], fallback_cells[fb_tracts, 1]
            inside = (fr >= r_lo) & (fr < r_hi) & (fc >= c_lo) & (fc < c_hi)
            fb_vals = np.zeros(len(fb_tracts))
            fb_vals[inside] = window[fr[inside] - r_lo, fc[inside] - c_lo]
            keep = fb_vals != 0
            hit = np.concatenate([hit, fb_tracts[keep]])
            values = np.concatenate([values, fb_vals[keep]])
        rows_out.append(hit)
        cols_out.append(np.full(len(hit), j))
        vals_out.append(values)
    n_points = len(np.atleast_1d(x))
    if not rows_out:
        return sp.csr_matrix((n_tracts, n_points))
    return sp.csr_matrix((np.concatenate(vals_out), (np.concatenate(rows_out),
                                                     np.concatenate(cols_out))),
                         shape=(n_tracts, n_points))


def _shifted(kern: np.ndarray, r0: int, c0: int, shape: tuple[int, int]) -> np.ndarray:
    """kern[r0:r0+h, c0:c0+w], zero where the slice falls outside kern."""
    out = np.zeros(shape)
    h, w = shape
    kr_lo, kc_lo = max(r0, 0), max(c0, 0)
    kr_hi, kc_hi = min(r0 + h, kern.shape[0]), min(c0 + w, kern.shape[1])
    if kr_lo < kr_hi and kc_lo < kc_hi:
        out[kr_lo - r0:kr_hi - r0, kc_lo - c0:kc_hi - c0] = kern[kr_lo:kr_hi, kc_lo:kc_hi]
    return out


def fallback_cells(zones: np.ndarray, grid: Grid, rep_x: np.ndarray, rep_y: np.ndarray
                   ) -> np.ndarray:
    """(row, col) of the cell under the representative point of each tract holding no cell
    centre; (−1, −1) for the others (and for points off the grid)."""
    n = len(rep_x)
    has_cells = np.bincount(zones.ravel(), minlength=n + 1)[1:] > 0
    col = np.floor((np.asarray(rep_x) - grid.x_min) / grid.cell_size).astype(np.int64)
    row = np.floor((grid.y_max - np.asarray(rep_y)) / grid.cell_size).astype(np.int64)
    ok = ~has_cells & (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    return np.column_stack([np.where(ok, row, -1), np.where(ok, col, -1)])


@dataclass(frozen=True)
class AccessRule:
    """The absolute access test: low when at least `low_access_share` of the population is farther
    than the (urban or rural) threshold from any asset, or — urban tracts only — when the mean
    density is below `low_access_density`. A tract at `strength_density` or more is a strength."""

    low_access_density: float
    low_access_share: float
    strength_density: float

    def access_low(self, density: np.ndarray, share_far: np.ndarray, urban: np.ndarray
                   ) -> np.ndarray:
        share_far = np.nan_to_num(np.asarray(share_far, float))
        return (share_far >= self.low_access_share) | (
            np.asarray(urban, bool) & (np.asarray(density, float) < self.low_access_density))

    def desert(self, candidate: np.ndarray, density: np.ndarray, share_far: np.ndarray,
               urban: np.ndarray) -> np.ndarray:
        """Desert test for tracts that are `candidate` (enough people, high need)."""
        density = np.asarray(density, float)
        return (np.asarray(candidate, bool) & (density < self.strength_density)
                & self.access_low(density, share_far, urban))


def robustness_margin(is_desert: np.ndarray, density: np.ndarray, share_far: np.ndarray,
                      share_far_one_more: np.ndarray, urban: np.ndarray, gain: np.ndarray,
                      rule: AccessRule) -> np.ndarray:
    """Per desert, the fewest additional assets at its representative point that make it stop
    being a desert (NaN for tracts that are not deserts; inf when no number would do).

    `gain` is one such asset's contribution to the tract's mean density; `share_far_one_more`
    the share beyond the threshold once one asset stands at the representative point.
    """
    density = np.asarray(density, float)
    gain = np.asarray(gain, float)
    urban = np.asarray(urban, bool)
    eps = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        k_dens = np.where(urban & (density < rule.low_access_density),
                          np.ceil((rule.low_access_density - density) / gain - eps), 0.0)
        k_strength = np.ceil((rule.strength_density - density) / gain - eps)
    k_dens = np.where(np.isnan(k_dens), np.inf, k_dens)
    k_strength = np.where(np.isnan(k_strength) | (gain <= 0), np.inf, k_strength)
    share_far = np.nan_to_num(np.asarray(share_far, float))
    share_one = np.nan_to_num(np.asarray(share_far_one_more, float))
    k_far = np.where(share_far < rule.low_access_share, 0.0,
                     np.where(share_one < rule.low_access_share, 1.0, np.inf))
    k = np.minimum(np.maximum(np.maximum(k_far, k_dens), 1.0), np.maximum(k_strength, 1.0))
    return np.where(np.asarray(is_desert, bool), k, np.nan)


def bootstrap_desert_share(candidate: np.ndarray, contributions: sp.csr_matrix,
                           points_tract: np.ndarray, points_xy: np.ndarray,
                           points_population: np.ndarray, points_threshold: np.ndarray,
                           assets_xy: np.ndarray, urban: np.ndarray, rule: AccessRule, *,
                           runs: int = 200, seed: int = 0) -> np.ndarray:
    """Share of `runs` bootstrap resamples of the asset list (with replacement, seeded) in which
    each tract is a desert. Need is held fixed; density and the distance test are recomputed
    from the per-asset contributions. NaN for tracts that are not candidates (never deserts).
    """
    n_tracts = contributions.shape[0]
    m = len(assets_xy)
    out = np.full(n_tracts, np.nan)
    cand = np.flatnonzero(np.asarray(candidate, bool))
    if len(cand) == 0:
        return out
    rng = np.random.default_rng(seed)
    if m == 0:
        out[cand] = 1.0
        return out
    counts = rng.multinomial(m, np.full(m, 1.0 / m), size=runs).T.astype(float)  # m × runs
    density = np.asarray(contributions[cand] @ counts)  # cand × runs
    # Distance test: population points of candidate tracts, their nearest assets within reach.
    in_cand = np.isin(points_tract, cand)
    p_tract = points_tract[in_cand]
    p_pop = points_population[in_cand]
    k = min(BOOTSTRAP_NEIGHBOURS, m)
    dist, idx = cKDTree(assets_xy).query(points_xy[in_cand], k=k)
    dist, idx = dist.reshape(len(p_tract), k), idx.reshape(len(p_tract), k)
    reach = dist <= points_threshold[in_cand][:, None]
    present = counts > 0  # m × runs
    near = np.zeros((len(p_tract), runs), bool)
    for col in range(k):
        rows = np.flatnonzero(reach[:, col])
        near[rows] |= present[idx[rows, col]]
    position = np.full(n_tracts, -1)
    position[cand] = np.arange(len(cand))
    slot = position[p_tract]
    total = np.bincount(slot, weights=p_pop, minlength=len(cand))
    far_pop = np.zeros((len(cand), runs))
    np.add.at(far_pop, slot, p_pop[:, None] * ~near)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_far = np.where(total[:, None] > 0, far_pop / np.maximum(total, 1e-300)[:, None],
                             0.0)
    deserts = rule.desert(np.ones_like(density, bool), density, share_far,
                          np.asarray(urban, bool)[cand][:, None])
    out[cand] = deserts.mean(axis=1)
    return out


def response_disparity(respondents: pd.Series, population: pd.Series, z: float = 1.959964
                       ) -> pd.DataFrame:
    """Survey geographic disparity per tract, after the Urban Institute's Spatial Equity Data
    Tool: respondents' share minus population share, with a 95 % interval (Wilson score interval
    of the respondents' share; the population share is taken as known). `survey_bias_flag` is
    `under`/`over` where the interval excludes zero, else `none`.
    """
    n_i = pd.to_numeric(respondents, errors="coerce").fillna(0).astype(float)
    pop = pd.to_numeric(population, errors="coerce").fillna(0).clip(lower=0).astype(float)
    total_n, total_pop = float(n_i.sum()), float(pop.sum())
    out = pd.DataFrame(index=respondents.index)
    if total_n == 0 or total_pop == 0:
        for column in ("survey_disparity", "survey_disparity_low", "survey_disparity_high"):
            out[column] = np.nan
        out["survey_bias_flag"] = "none"
        return out
    share = n_i / total_n
    pop_share = pop / total_pop
    centre = (share + z * z / (2 * total_n)) / (1 + z * z / total_n)
    half = z / (1 + z * z / total_n) * np.sqrt(share * (1 - share) / total_n
                                               + z * z / (4 * total_n * total_n))
    out["survey_disparity"] = share - pop_share
    out["survey_disparity_low"] = centre - half - pop_share
    out["survey_disparity_high"] = centre + half - pop_share
    out["survey_bias_flag"] = np.select(
        [out["survey_disparity_high"] < 0, out["survey_disparity_low"] > 0],
        ["under", "over"], default="none")
    return out


def contiguity_weights(geometries: Sequence[shapely.Geometry] | np.ndarray) -> sp.csr_matrix:
    """Binary queen contiguity (polygons sharing any boundary point), self included: the Gi*
    weights. Built with a shapely STRtree."""
    geoms = np.asarray(geometries, dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    n = len(geoms)
    w = sp.csr_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    w = ((w + sp.identity(n, format="csr")) > 0).astype(float)
    return sp.csr_matrix(w)


def getis_ord_gi_star(values: np.ndarray, weights: sp.csr_matrix) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Getis & Ord (1995) Gi* z-scores (binary weights including self) and two-sided normal
    p-values: z_i = (Σ_j w_ij x_j − x̄ W_i) / (S √((n W_i − W_i²)/(n − 1))), S² = Σx²/n − x̄².
    """
    x = np.asarray(values, float)
    n = len(x)
    mean = x.mean()
    s = math.sqrt(max((x**2).mean() - mean**2, 0.0))
    w_sum = np.asarray(weights.sum(axis=1)).ravel()
    numerator = weights @ x - mean * w_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = s * np.sqrt((n * w_sum - w_sum**2) / (n - 1))
        z = np.where(denominator > 0, numerator / denominator, 0.0)
    return z, 2.0 * norm.sf(np.abs(z))


def cold_spots(values: np.ndarray, weights: sp.csr_matrix, fdr: float = 0.05
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gi* z, Benjamini–Hochberg adjusted p (false discovery rate), and the cold-spot flag
    (z < 0 and adjusted p ≤ `fdr`)."""
    z, p = getis_ord_gi_star(values, weights)
    adjusted = false_discovery_control(p, method="bh") if len(p) else p
    return z, adjusted, (z < 0) & (adjusted <= fdr)
