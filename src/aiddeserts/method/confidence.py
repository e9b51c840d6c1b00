"""How sure is a tract's class? Robustness margin, bootstrap stability, survey response bias,
and Getis-Ord Gi* cold spots of access.

"Whatever we collect is a floor": asset lists are incomplete, so every desert comes with how
many assets it would take to lift it and how stable it is when the asset list is resampled.

The tract's mean density is linear in the assets, so the per-asset contribution to each tract's
mean density (`asset_contributions`) is computed once from the same binned kernel as the density
raster; the bootstrap and the robustness margin then reuse it instead of recomputing the KDE
(`asset_contributions_for` gives both point sets from one convolution per tract). scipy.stats is
not imported (0.9 s): its p-values and FDR are reproduced exactly with scipy.special and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from aiddeserts.method.density import (
    BINNING_PAD,
    CURVATURE_CORRECTED,
    Grid,
    binned_kernel_grid,
    binning_shares,
)

if TYPE_CHECKING:
    from aiddeserts.method.network import Network

#: Nearest assets kept per population point for the bootstrap's distance test. A point counts as
#: far in a resample only if all of its (up to) K nearest assets within the threshold are absent:
#: exact when fewer than K assets are within reach, else off with probability ≈ e^−K ≈ 3e-4.
BOOTSTRAP_NEIGHBOURS = 8
#: The bootstrap's draws (assets × resamples) and, on foot, its counts of drawn assets within
#: reach (points × resamples) are formed this many cells at a time (16-32 MB).
BOOTSTRAP_BLOCK_CELLS = 4_000_000


def _binning_cells(x: np.ndarray, y: np.ndarray, grid: Grid, kernel: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, shares), each (k, n): the cells the KDE bins each point into
    (`density.binning_shares`); rows and columns of the padding are −2, −1, H, H + 1 etc."""
    index, shares = binning_shares(x, y, grid, curvature=kernel in CURVATURE_CORRECTED)
    rows, cols = np.divmod(index, grid.width + 2 * BINNING_PAD)
    return rows - BINNING_PAD, cols - BINNING_PAD, shares


#: Batched transforms hold at most this many float64 cells at a time (~64 MB with the spectra).
RESPONSE_BATCH_CELLS = 4_000_000
#: Above this many (tracts × rows or columns) the tracts' bounding boxes come from `ufunc.at`
#: instead of two dense per-tract histograms.
BOX_HISTOGRAM_CELLS = 1 << 24


def _zone_boxes(zones: np.ndarray, n_tracts: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells per zone 0..n_tracts and each zone's bounding box (rows 0..3: first row, last row,
    first column, last column; int64 max / −1 for a zone without cells).

    From two histograms (zone × row, zone × column) when they are small
    (`BOX_HISTOGRAM_CELLS`), else from `ufunc.at` over the cells inside."""
    height, width = zones.shape
    big = np.iinfo(np.int64).max
    box = np.stack([np.full(n_tracts + 1, big), np.full(n_tracts + 1, -1),
                    np.full(n_tracts + 1, big), np.full(n_tracts + 1, -1)])
    labels = n_tracts + 1
    if labels * max(height, width) > BOX_HISTOGRAM_CELLS:
        flat = zones.ravel()
        inside = np.flatnonzero(flat)
        zone_of = flat[inside]
        cell_rows, cell_cols = np.divmod(inside, width)
        np.minimum.at(box[0], zone_of, cell_rows)
        np.maximum.at(box[1], zone_of, cell_rows)
        np.minimum.at(box[2], zone_of, cell_cols)
        np.maximum.at(box[3], zone_of, cell_cols)
        return np.bincount(zone_of, minlength=labels), box
    zones = zones.astype(np.int64)
    by_row = np.bincount((zones + labels * np.arange(height)[:, None]).ravel(),
                         minlength=labels * height).reshape(height, labels)
    by_col = np.bincount((zones + labels * np.arange(width)[None, :]).ravel(),
                         minlength=labels * width).reshape(width, labels)
    cells_per_zone = by_row.sum(axis=0)
    cells_per_zone[0] = 0  # zone 0 is outside every tract
    present = np.flatnonzero(cells_per_zone)
    for first, hist in ((0, by_row), (2, by_col)):
        occupied = hist[:, present] > 0
        box[first, present] = occupied.argmax(axis=0)
        box[first + 1, present] = len(hist) - 1 - occupied[::-1].argmax(axis=0)
    return cells_per_zone, box


def _tract_responses(zones: np.ndarray, kern: np.ndarray, n_tracts: int):
    """Yield (zone, row0, col0, convolved, cells) per tract holding cells: its cell mask Z_t
    convolved with the kernel (Z_t ∗ K, not yet divided by its `cells`) over the tract's
    bounding box widened by the kernel's half-width (row0, col0: its upper-left cell on the
    grid, may be negative).

    The same transforms as `scipy.signal.fftconvolve(mask, kern, "full")` (real FFTs of the next
    fast length), so the same numbers; tracts whose transforms have the same shape share one
    spectrum of the kernel and are transformed in batches."""
    import scipy.fft

    half = kern.shape[0] // 2
    cells_per_zone, box = _zone_boxes(zones, n_tracts)
    groups: dict[tuple[int, int], list[int]] = {}
    for zone in (np.flatnonzero(cells_per_zone[1:]) + 1).tolist():
        r0, r1, c0, c1 = box[:, zone]
        shape = (scipy.fft.next_fast_len(int(r1 - r0) + 1 + 2 * half, True),
                 scipy.fft.next_fast_len(int(c1 - c0) + 1 + 2 * half, True))
        groups.setdefault(shape, []).append(zone)
    for shape in sorted(groups):
        spectrum = scipy.fft.rfftn(kern, shape, axes=(0, 1))
        members = groups[shape]
        per_batch = max(1, RESPONSE_BATCH_CELLS // (shape[0] * shape[1]))
        for start in range(0, len(members), per_batch):
            batch = members[start:start + per_batch]
            masks = np.zeros((len(batch), *shape))
            for slot, zone in enumerate(batch):
                r0, r1, c0, c1 = box[:, zone]
                masks[slot, :r1 - r0 + 1, :c1 - c0 + 1] = zones[r0:r1 + 1, c0:c1 + 1] == zone
            freq = scipy.fft.rfftn(masks, shape, axes=(1, 2))
            freq *= spectrum
            full = scipy.fft.irfftn(freq, shape, axes=(1, 2))
            for slot, zone in enumerate(batch):
                r0, r1, c0, c1 = box[:, zone]
                yield (zone, r0 - half, c0 - half,
                       full[slot, :r1 - r0 + 1 + 2 * half, :c1 - c0 + 1 + 2 * half],
                       int(cells_per_zone[zone]))


@dataclass
class _PointSet:
    """One set of points for `asset_contributions_for`: their binning cells and shares, the
    box of those cells per point, and the matrix entries found so far."""

    rows: np.ndarray
    cols: np.ndarray
    shares: np.ndarray
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]]

    @property
    def n(self) -> int:
        return self.rows.shape[1]

    def add(self, tract: int, points: np.ndarray, values: np.ndarray) -> None:
        keep = values != 0
        self.entries.append((np.full(int(keep.sum()), tract), points[keep], values[keep]))

    def matrix(self, n_tracts: int) -> sp.csr_matrix:
        if not self.entries:
            return sp.csr_matrix((n_tracts, self.n))
        rows, cols, values = (np.concatenate(part) for part in zip(*self.entries, strict=True))
        return sp.csr_matrix((values, (rows, cols)), shape=(n_tracts, self.n))


def asset_contributions_for(point_sets: Sequence[tuple[np.ndarray, np.ndarray]], grid: Grid,
                            zones: np.ndarray, fallback_cells: np.ndarray, *, kernel: str,
                            bandwidth: float) -> list[sp.csr_matrix]:
    """`asset_contributions` for several sets of points (e.g. the assets and the deserts'
    representative points) at the cost of one: each tract's response is convolved once and
    sampled at every set's binning cells. Returns one (tracts × points) matrix per set, each
    equal to `asset_contributions` of that set alone."""
    n_tracts = fallback_cells.shape[0]
    kern = binned_kernel_grid(kernel, bandwidth, grid.cell_size) * 1e6
    half = kern.shape[0] // 2
    sets = []
    for x, y in point_sets:
        rows, cols, shares = _binning_cells(np.atleast_1d(np.asarray(x, dtype=float)),
                                            np.atleast_1d(np.asarray(y, dtype=float)), grid,
                                            kernel)
        sets.append(_PointSet(rows, cols, shares, []))
    reach = [(s.rows.min(axis=0), s.rows.max(axis=0), s.cols.min(axis=0), s.cols.max(axis=0))
             for s in sets if s.n]

    if reach:
        for zone, origin_r, origin_c, convolved, cells in _tract_responses(zones, kern,
                                                                            n_tracts):
            height, width = convolved.shape
            # R_t = convolved / cells; values under 1e-12 of its peak are round-off, set to 0.
            floor = 1e-12 * (np.abs(convolved).max() / cells)
            for s, (lo_r, hi_r, lo_c, hi_c) in zip((s for s in sets if s.n), reach,
                                                   strict=True):
                near = np.flatnonzero((hi_r >= origin_r) & (lo_r < origin_r + height)
                                      & (hi_c >= origin_c) & (lo_c < origin_c + width))
                if not len(near):
                    continue
                # All binning cells of the near points at once (k × near); cells beyond the
                # response add nothing. Summed over k in order, as one cell at a time would.
                ri = s.rows[:, near] - origin_r
                ci = s.cols[:, near] - origin_c
                ok = (ri >= 0) & (ri < height) & (ci >= 0) & (ci < width)
                response = convolved[np.where(ok, ri, 0), np.where(ok, ci, 0)] / cells
                response[~ok | (np.abs(response) < floor)] = 0.0
                terms = s.shares[:, near] * response
                values = terms[0] + 0.0
                for k in range(1, len(terms)):
                    values += terms[k]
                s.add(zone - 1, near, values)

    for tract in np.flatnonzero(fallback_cells[:, 0] >= 0):
        fr, fc = fallback_cells[tract]
        for s in sets:
            values = np.zeros(s.n)
            for k in range(len(s.shares)):
                kr = fr - s.rows[k] + half
                kc = fc - s.cols[k] + half
                ok = (kr >= 0) & (kr < kern.shape[0]) & (kc >= 0) & (kc < kern.shape[1])
                values[ok] += s.shares[k, ok] * kern[kr[ok], kc[ok]]
            s.add(tract, np.arange(s.n), values)
    return [s.matrix(n_tracts) for s in sets]


def asset_contributions(x: np.ndarray, y: np.ndarray, grid: Grid, zones: np.ndarray,
                        fallback_cells: np.ndarray, *, kernel: str, bandwidth: float
                        ) -> sp.csr_matrix:
    """Sparse (tracts × points) matrix: each point's contribution to each tract's mean density
    (per km²), exactly as binned KDE + `access.tract_density` compute it.

    `zones` is the 1-based tract raster; `fallback_cells` (tracts × 2, row/col, −1 if unused) is
    the cell sampled for a tract holding no cell centre.

    Computed per tract, not per point: a tract's response R_t = (Z_t ∗ K) / n_t (its cell mask
    convolved with the binned kernel, over its bounding box widened by the kernel) gives, at any
    cell p, what a unit weight binned at p adds to the tract's mean; a point's contribution is the
    share-weighted sum of R_t at its binning cells (`density.binning_shares`). Use
    `asset_contributions_for` when several point sets need it: the responses are shared.
    """
    return asset_contributions_for([(x, y)], grid, zones, fallback_cells, kernel=kernel,
                                   bandwidth=bandwidth)[0]


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
                           runs: int = 200, seed: int = 0, network: Network | None = None
                           ) -> np.ndarray:
    """Share of `runs` bootstrap resamples of the asset list (with replacement, seeded) in which
    each tract is a desert. Need is held fixed; density and the distance test are recomputed
    from the per-asset contributions. NaN for tracts that are not candidates (never deserts).

    The distance test is a straight line, or, with `network` (when the classes use walking
    distances), on foot: a point is near in a resample when any asset drawn in it lies within
    the point's threshold along the streets (every such asset, from bounded searches:
    :func:`aiddeserts.method.network.reach_pairs`); a point that can reach no asset on foot is
    far in every resample.
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
    # Each resample's draw counts per asset, a block of resamples at a time (the same draws:
    # a resample's are drawn after the one before it), so the counts of all of them (m × runs
    # numbers) are never held at once: the tract densities and which assets each drew.
    weights = contributions[cand]
    density = np.empty((len(cand), runs))  # cand × runs
    present = np.empty((m, runs), bool)  # m × runs
    block = max(1, BOOTSTRAP_BLOCK_CELLS // m)
    for first in range(0, runs, block):
        counts = rng.multinomial(m, np.full(m, 1.0 / m), size=min(block, runs - first)).T
        density[:, first:first + block] = weights @ counts.astype(float)
        present[:, first:first + block] = counts > 0
    # Distance test: population points of candidate tracts, their nearest assets within reach.
    in_cand = np.isin(points_tract, cand)
    p_tract = points_tract[in_cand]
    p_pop = points_population[in_cand]
    if network is None:
        near = _near_straight(points_xy[in_cand], points_threshold[in_cand], assets_xy, present)
    else:
        near = _near_on_foot(network, points_xy[in_cand], points_threshold[in_cand],
                             assets_xy, present)
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


def _near_straight(points_xy: np.ndarray, threshold: np.ndarray, assets_xy: np.ndarray,
                   present: np.ndarray) -> np.ndarray:
    """(points × runs) whether a drawn asset is within each point's threshold in a straight line
    (its `BOOTSTRAP_NEIGHBOURS` nearest assets)."""
    m, runs = present.shape
    k = min(BOOTSTRAP_NEIGHBOURS, m)
    dist, idx = cKDTree(assets_xy).query(points_xy, k=k)
    dist, idx = dist.reshape(len(points_xy), k), idx.reshape(len(points_xy), k)
    reach = dist <= threshold[:, None]
    near = np.zeros((len(points_xy), runs), bool)
    for col in range(k):
        rows = np.flatnonzero(reach[:, col])
        near[rows] |= present[idx[rows, col]]
    return near


def _near_on_foot(network: Network, points_xy: np.ndarray, threshold: np.ndarray,
                  assets_xy: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(points × runs) whether a drawn asset is within each point's threshold on foot: every
    (point, asset) pair within reach along the streets, then one sparse product with the draws."""
    from aiddeserts.method.network import reach_pairs

    point, asset, _ = reach_pairs(network, points_xy, assets_xy, threshold)
    within = sp.csr_matrix((np.ones(len(point), np.float32), (point, asset)),
                           shape=(len(points_xy), present.shape[0]))
    drawn = present.astype(np.float32)
    near = np.zeros((len(points_xy), present.shape[1]), bool)
    block = max(1, BOOTSTRAP_BLOCK_CELLS // max(present.shape[1], 1))
    for start in range(0, len(points_xy), block):
        near[start:start + block] = within[start:start + block] @ drawn > 0
    return near


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
    from scipy.special import ndtr  # = scipy.stats.norm.cdf, without scipy.stats' import

    return z, 2.0 * ndtr(-np.abs(z))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (the false discovery rate), computed as
    `scipy.stats.false_discovery_control(p, method="bh")` does, without importing scipy.stats:
    sorted p·m/i, a running minimum from the largest down, clipped to [0, 1]."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m <= 1:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = p[order] * (m / np.arange(1, m + 1, dtype=float))
    np.minimum.accumulate(adjusted[::-1], out=adjusted[::-1])
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return np.clip(out, 0.0, 1.0)


def cold_spots(values: np.ndarray, weights: sp.csr_matrix, fdr: float = 0.05
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gi* z, Benjamini–Hochberg adjusted p (false discovery rate), and the cold-spot flag
    (z < 0 and adjusted p ≤ `fdr`)."""
    z, p = getis_ord_gi_star(values, weights)
    adjusted = benjamini_hochberg(p) if len(p) else p
    return z, adjusted, (z < 0) & (adjusted <= fdr)
