"""Kernel density of assets on a grid: linear binning + one real FFT convolution (scipy.fft).

Density values are assets per km². The grid is aligned to multiples of the cell size in the
working CRS, so the same inputs always give the same grid.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from affine import Affine

KERNELS = ("quartic", "gaussian", "epanechnikov", "uniform")
#: The Gaussian kernel is cut at this many standard deviations (error ≤ 1e-4 of the peak).
GAUSSIAN_CUTOFF = 5.0


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: upper-left corner, cell size and shape."""

    x_min: float
    y_max: float
    cell_size: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.cell_size, 0.0, self.x_min, 0.0, -self.cell_size, self.y_max)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column centre and y of each row centre."""
        xs = self.x_min + (np.arange(self.width) + 0.5) * self.cell_size
        ys = self.y_max - (np.arange(self.height) + 0.5) * self.cell_size
        return xs, ys


def grid_for_bounds(bounds: tuple[float, float, float, float], cell_size: float,
                    pad: float = 0.0) -> Grid:
    """The smallest cell-aligned grid covering `bounds` (minx, miny, maxx, maxy) plus `pad`."""
    minx, miny, maxx, maxy = bounds
    x0 = math.floor((minx - pad) / cell_size) * cell_size
    y0 = math.floor((miny - pad) / cell_size) * cell_size
    x1 = math.ceil((maxx + pad) / cell_size) * cell_size
    y1 = math.ceil((maxy + pad) / cell_size) * cell_size
    width = max(1, round((x1 - x0) / cell_size))
    height = max(1, round((y1 - y0) / cell_size))
    return Grid(x0, y1, cell_size, width, height)


def kernel_support(kernel: str, bandwidth: float) -> float:
    """Distance beyond which the kernel is zero (or cut, for the Gaussian)."""
    return bandwidth * (GAUSSIAN_CUTOFF if kernel == "gaussian" else 1.0)


def kernel_value(kernel: str, distance: np.ndarray, bandwidth: float) -> np.ndarray:
    """2-D kernel density (per unit²) of one point at `distance`; each kernel integrates to 1.

    quartic: 3/(πh²)(1−u²)², epanechnikov: 2/(πh²)(1−u²), uniform: 1/(πh²),
    gaussian: exp(−u²/2)/(2πh²) with u = d/h (h is σ for the Gaussian).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    if bandwidth <= 0:
        raise ValueError("bandwidth must be positive")
    u2 = (np.asarray(distance, dtype=float) / bandwidth) ** 2
    h2 = bandwidth**2
    inside = u2 < 1.0
    if kernel == "quartic":
        return np.where(inside, 3.0 / (math.pi * h2) * (1.0 - u2) ** 2, 0.0)
    if kernel == "epanechnikov":
        return np.where(inside, 2.0 / (math.pi * h2) * (1.0 - u2), 0.0)
    if kernel == "uniform":
        return np.where(inside, 1.0 / (math.pi * h2), 0.0)
    cut = u2 < GAUSSIAN_CUTOFF**2
    return np.where(cut, np.exp(-np.maximum(u2, 0.0) / 2.0) / (2.0 * math.pi * h2), 0.0)


def kernel_grid(kernel: str, bandwidth: float, cell_size: float) -> np.ndarray:
    """The kernel sampled at cell offsets, an odd square array centred on its middle cell."""
    n = math.ceil(kernel_support(kernel, bandwidth) / cell_size)
    offsets = np.arange(-n, n + 1) * cell_size
    distance = np.hypot(offsets[None, :], offsets[:, None])
    return kernel_value(kernel, distance, bandwidth)


#: The smooth kernels, whose binned grid is their L2 projection (`binned_kernel_grid`).
PROJECTED_KERNELS = frozenset({"quartic", "gaussian"})
#: Gauss–Legendre points per cell and axis for the kernel projection's integrals: exact for the
#: quartic's polynomial pieces; cells cut by its edge, and the Gaussian, err by < 1e-5 of the peak.
PROJECTION_QUADRATURE = 4


def binned_kernel_grid(kernel: str, bandwidth: float, cell_size: float) -> np.ndarray:
    """The kernel grid to convolve binned counts with, an odd square array like `kernel_grid`.

    Linear binning evaluates, for each point, the bilinear interpolant of the grid values
    between the four cell centres around it. For the smooth kernels (quartic, Gaussian) the
    values are therefore not the kernel's samples but its L2 projection onto bilinear
    interpolants: the grid whose interpolant is closest to K over every position in a cell
    (a mass-matrix solve, M·G·M = ∫∫K·φⱼφₖ with hat functions φ, per axis M = tridiag(1, 4, 1)/6).
    To leading order that is K − cell²/12·∇²K, the mean binning bias removed; unlike that series
    it stays accurate across the quartic's edge, where ∇²K jumps. Mass is kept; the grid has one
    ring of cells beyond the support (the solve's ringing, < 1e-3 of the peak). Other kernels
    are sampled as is.
    """
    if kernel not in PROJECTED_KERNELS:
        return kernel_grid(kernel, bandwidth, cell_size)
    return _projected_kernel_grid(kernel, float(bandwidth), float(cell_size)).copy()


def binned_kernel_half_width(kernel: str, bandwidth: float, cell_size: float) -> int:
    """Cells from the centre of `binned_kernel_grid` to its edge."""
    half = math.ceil(kernel_support(kernel, bandwidth) / cell_size)
    return half + 1 if kernel in PROJECTED_KERNELS else half


@functools.lru_cache(maxsize=8)
def _projected_kernel_grid(kernel: str, bandwidth: float, cell_size: float) -> np.ndarray:
    half = math.ceil(kernel_support(kernel, bandwidth) / cell_size)
    nodes = 2 * half + 3  # one ring beyond the support, so the integrals see all of K
    cells = nodes - 1
    u, w = np.polynomial.legendre.leggauss(PROJECTION_QUADRATURE)
    u = (u + 1.0) / 2.0  # positions within a cell, 0…1, and their weights (sum 1)
    w = w / 2.0
    along = ((np.arange(cells) - (half + 1))[:, None] + u[None, :]).ravel() * cell_size
    values = kernel_value(kernel, np.hypot(along[None, :], along[:, None]), bandwidth)
    values = values.reshape(cells, PROJECTION_QUADRATURE, cells, PROJECTION_QUADRATURE)
    # ∫ over each cell against the hat of its left (1 − u) and right (u) node, per axis.
    hats = np.stack([w * (1.0 - u), w * u])  # (2, q)
    per_cell = np.einsum("aq,iqjr,br->abij", hats, values, hats, optimize=True)
    loads = np.zeros((nodes, nodes))
    for a in (0, 1):
        for b in (0, 1):
            loads[a:a + cells, b:b + cells] += per_cell[a, b]
    mass = np.zeros((3, nodes))
    mass[0, 1:] = mass[2, :-1] = 1.0 / 6.0
    mass[1] = 4.0 / 6.0
    import scipy.linalg  # here, not at the top: most importers only need `Grid`

    grid = scipy.linalg.solve_banded((1, 1), mass, loads)
    grid = scipy.linalg.solve_banded((1, 1), mass, grid.T).T
    grid.flags.writeable = False
    return grid


#: Kernels whose binning also corrects each point's own interpolation error (see
#: `binning_shares`). The quartic's ∇²K is large near its edge (and jumps there), so without
#: it the quartic errs by 8e-4 at bandwidth/cell 40 where the Gaussian errs by 7e-5 at σ/cell 32
#: (bench/RESULTS.md); it costs two more shares per point (~+30 % KDE time at 1e6 points).
CURVATURE_CORRECTED = frozenset({"quartic"})
#: Cells of padding around the grid that binning writes into (the stencils reach one cell
#: beyond a point's nearest centre, and points up to the grid's edge keep their place).
BINNING_PAD = 2
#: Points binned per chunk (their temporaries, ~0.5 MB each, stay in the CPU cache).
BINNING_CHUNK = 65_536
#: Points per `numpy.bincount`: their share arrays (≤ 25 MB) stay under glibc's 32 MB limit for
#: fresh memory maps, so they are reused call after call instead of faulted in anew.
BINCOUNT_CHUNK = 524_288


def binning_shares(x: np.ndarray, y: np.ndarray, grid: Grid, *, curvature: bool = False,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where each point's weight goes on the grid padded by `BINNING_PAD` cells, and how much.

    Returns (index, share), both shape (k, n): flat indices into the padded grid, shape
    (H + 2·pad, W + 2·pad), and the shares, which sum to the point's weight. Points beyond the
    pad's centres are moved onto them.

    - Plain (k = 4): linear binning, the bilinear shares of the four centres around the point.
    - `curvature` (k = 6): linear binning evaluates, per axis, the kernel's linear interpolant,
      which errs by cell²·K″·t(1−t)/2 for a point at fraction t between two centres. The
      kernel grid already removes the average, cell²/12·∇²K (`binned_kernel_grid`); the
      point's own remainder r = 1/12 − t(1−t)/2 is added as r·[1, −2, 1] around its nearest
      centre along each axis (a finite-difference K″). The stencils overlap the bilinear
      corners, so six cells per point: shares keep the mass and the first moments.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    k = 6 if curvature else 4
    index = np.empty((k, len(x)), dtype=np.int64)
    shares = np.empty((k, len(x)))
    # In chunks, so the temporaries stay in cache; one write of each result row.
    for start in range(0, len(x), BINNING_CHUNK):
        part = slice(start, start + BINNING_CHUNK)
        _fill_shares(x[part], y[part], None if w is None else w[part], grid, curvature,
                     index[:, part], shares[:, part])
    return index, shares


def _fill_shares(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, grid: Grid,
                 curvature: bool, index: np.ndarray, shares: np.ndarray) -> None:
    """`binning_shares` for one chunk of points, written into `index` and `shares`."""
    pad = BINNING_PAD
    height, width = grid.height, grid.width
    padded_width = width + 2 * pad
    fx = (x - grid.x_min) * (1.0 / grid.cell_size) - 0.5
    fy = (grid.y_max - y) * (1.0 / grid.cell_size) - 0.5
    np.clip(fx, -1.0, float(width), out=fx)  # the first pad ring's centres are at −1 and width
    np.clip(fy, -1.0, float(height), out=fy)
    if not curvature:
        ix = np.minimum(np.floor(fx), width - 1.0)
        iy = np.minimum(np.floor(fy), height - 1.0)
        tx = fx - ix  # share of the right-hand column
        ty = fy - iy  # share of the lower row
        np.multiply(iy, padded_width, out=fy)
        fy += ix
        fy += pad * padded_width + pad
        index[0] = fy
        np.add(index[0], 1, out=index[1])
        np.add(index[0], padded_width, out=index[2])
        np.add(index[0], padded_width + 1, out=index[3])
        sx = 1.0 - tx
        sy = 1.0 - ty
        if w is not None:
            sy *= w
            ty *= w
        np.multiply(sx, sy, out=shares[0])
        np.multiply(tx, sy, out=shares[1])
        np.multiply(sx, ty, out=shares[2])
        np.multiply(tx, ty, out=shares[3])
        return
    nx = np.rint(fx)
    ny = np.rint(fy)
    ax = np.subtract(fx, nx, out=fx)  # signed offset from the nearest centre, in [−½, ½]
    ay = np.subtract(fy, ny, out=fy)
    step_x = np.where(ax >= 0.0, 1, -1)
    step_y = np.where(ay >= 0.0, padded_width, -padded_width)
    np.abs(ax, out=ax)
    np.abs(ay, out=ay)
    ny *= padded_width
    ny += nx
    ny += pad * padded_width + pad
    index[0] = ny  # the nearest centre
    np.add(index[0], step_x, out=index[1])  # its neighbours towards the point ...
    np.add(index[0], step_y, out=index[2])
    np.add(index[1], step_y, out=index[3])  # ... the diagonal between them
    np.subtract(index[0], step_x, out=index[4])  # ... and away from the point
    np.subtract(index[0], step_y, out=index[5])
    rx = ax * (ax - 1.0)
    rx *= 0.5
    rx += 1.0 / 12.0
    ry = ay * (ay - 1.0)
    ry *= 0.5
    ry += 1.0 / 12.0
    bx = 1.0 - ax
    by = 1.0 - ay
    if w is not None:
        by *= w
        ay *= w
        rx *= w
        ry *= w
    np.multiply(bx, by, out=shares[0])
    shares[0] -= 2.0 * (rx + ry)
    np.multiply(ax, by, out=shares[1])
    shares[1] += rx
    np.multiply(bx, ay, out=shares[2])
    shares[2] += ry
    np.multiply(ax, ay, out=shares[3])
    shares[4] = rx
    shares[5] = ry


def _padded_binning(x: np.ndarray, y: np.ndarray, grid: Grid, *, curvature: bool = False,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """Binned weights on the grid padded by `BINNING_PAD` cells: one `numpy.bincount` per
    `BINCOUNT_CHUNK` points, so the share arrays stay small enough to be reused (no fresh
    pages per call) and memory does not grow with the number of points."""
    pad = BINNING_PAD
    shape = (grid.height + 2 * pad, grid.width + 2 * pad)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    size = shape[0] * shape[1]
    counts = None
    for start in range(0, len(x), BINCOUNT_CHUNK):
        part = slice(start, start + BINCOUNT_CHUNK)
        index, shares = binning_shares(x[part], y[part], grid, curvature=curvature,
                                       weights=None if w is None else w[part])
        chunk = np.bincount(index.ravel(), weights=shares.ravel(), minlength=size)
        if counts is None:
            counts = chunk
        else:
            counts += chunk
    return (np.zeros(size) if counts is None else counts).reshape(shape)


def linear_binning(x: np.ndarray, y: np.ndarray, grid: Grid,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """Spread each point's weight over its four nearest cell centres (bilinear shares).

    Points beyond the outer cell centres give their share to the edge cells.
    """
    height, width = grid.height, grid.width
    pad = BINNING_PAD
    padded = _padded_binning(x, y, grid, weights=weights)
    padded[pad, :] += padded[pad - 1, :]  # fold the pad back onto the edge cells
    padded[pad + height - 1, :] += padded[pad + height, :]
    padded[:, pad] += padded[:, pad - 1]
    padded[:, pad + width - 1] += padded[:, pad + width]
    return padded[pad:pad + height, pad:pad + width]


@functools.lru_cache(maxsize=8)
def _kernel_spectrum(kernel: str, bandwidth: float, cell_size: float,
                     fft_shape: tuple[int, int], workers: int) -> np.ndarray:
    """rfft2 of the (corrected) kernel grid zero-padded to `fft_shape`, float32 (cached)."""
    cells = binned_kernel_grid(kernel, bandwidth, cell_size).astype(np.float32)
    # Pruned 2-D transform: only the kernel's rows are non-zero, so transform them first.
    import scipy.fft

    rows = scipy.fft.rfft(cells, n=fft_shape[1], axis=1, workers=workers)
    spectrum = scipy.fft.fft(rows, n=fft_shape[0], axis=0, workers=workers)
    spectrum.flags.writeable = False
    return spectrum


def kernel_density(x: np.ndarray, y: np.ndarray, grid: Grid, *, kernel: str = "quartic",
                   bandwidth: float = 1000.0, weights: np.ndarray | None = None,
                   workers: int = -1) -> np.ndarray:
    """Density of points on `grid` in points per km² (coordinates in metres).

    Binned KDE: linear binning onto the cell centres (`binning_shares`, with the per-point
    curvature stencil for the quartic; into a pad around the grid, so points between the outer
    centres and the edge are not moved), then one real FFT convolution with the kernel
    projected for binning (`binned_kernel_grid`), in float32 (relative round-off
    ~1e-6, far below the binning error); the kernel's spectrum is cached per kernel, bandwidth,
    cell and FFT shape. Values below 1e-6 of the peak (round-off, and the corrected kernel's
    slightly negative rim) are set to zero, so the result is ≥ 0.
    """
    import scipy.fft  # here, not at the top: the map and zonal stages import only `Grid`

    kernel_value(kernel, np.zeros(1), bandwidth)  # validates the kernel name and bandwidth
    # Binned on the grid plus a pad, so points near the grid's edge keep their place.
    counts = _padded_binning(x, y, grid, curvature=kernel in CURVATURE_CORRECTED,
                             weights=weights)
    if not counts.any():
        return np.zeros(grid.shape)
    pad = BINNING_PAD
    half = binned_kernel_half_width(kernel, bandwidth, grid.cell_size)
    fft_shape = (scipy.fft.next_fast_len(grid.height + 2 * pad + 2 * half, real=True),
                 scipy.fft.next_fast_len(grid.width + 2 * pad + 2 * half, real=True))
    spectrum = _kernel_spectrum(kernel, float(bandwidth), float(grid.cell_size), fft_shape, workers)
    freq = scipy.fft.rfft2(counts.astype(np.float32), s=fft_shape, workers=workers)
    freq *= spectrum
    full = scipy.fft.irfft2(freq, s=fft_shape, workers=workers)
    first = half + pad
    density = full[first:first + grid.height, first:first + grid.width].astype(float)
    peak = float(np.abs(density).max())
    density[density < 1e-6 * peak] = 0.0  # float32 round-off and the corrected kernel's rim
    density *= 1e6
    return density


#: Per-axis variance of each kernel with bandwidth 1 (quartic 1/8, Epanechnikov 1/6, uniform 1/4,
#: Gaussian 1): used to give every kernel the same spread as the quartic under `bandwidth_m: auto`.
KERNEL_VARIANCE = {"quartic": 1 / 8, "epanechnikov": 1 / 6, "uniform": 1 / 4, "gaussian": 1.0}


def auto_bandwidth(x: np.ndarray, y: np.ndarray, kernel: str = "quartic") -> float:
    """Data-driven bandwidth (metres): the spatial variant of Silverman's rule of thumb used as
    ArcGIS's default Kernel Density search radius,

        h = 0.9 · min(SD, √(1/ln 2) · D_m) · n^(−0.2)

    with SD the standard distance of the points and D_m their median distance from the mean
    centre (Silverman 1986; Esri, "How Kernel Density works"). h is the quartic radius; other
    kernels get the bandwidth with the same per-axis spread (h·√(var_quartic/var_kernel)).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 2:
        raise ValueError("auto bandwidth needs at least two points")
    dx, dy = x - x.mean(), y - y.mean()
    standard_distance = math.sqrt(float(np.mean(dx**2 + dy**2)))
    median_distance = float(np.median(np.hypot(dx, dy)))
    radius = 0.9 * min(standard_distance, math.sqrt(1.0 / math.log(2.0)) * median_distance)
    radius *= len(x) ** -0.2
    if radius <= 0:
        raise ValueError("auto bandwidth is zero: the points all share one location")
    return radius * math.sqrt(KERNEL_VARIANCE["quartic"] / KERNEL_VARIANCE[kernel])


def resolve_bandwidth(setting: float | str, x: np.ndarray, y: np.ndarray, kernel: str) -> float:
    """The bandwidth in metres: the configured number, or `auto_bandwidth` for `"auto"`."""
    if isinstance(setting, str):
        if setting != "auto":
            raise ValueError(f"bandwidth must be a number of metres or 'auto', not {setting!r}")
        return round(auto_bandwidth(x, y, kernel), 1)
    return float(setting)


def outside_share(inside: np.ndarray, grid: Grid, bandwidth: float, x: np.ndarray,
                  y: np.ndarray) -> np.ndarray:
    """Share of the disc of radius `bandwidth` around each point (x, y) that lies outside the
    study area (`inside`, a boolean raster on `grid`): the part of a location's kernel window
    where no asset could have been recorded (the edge effect). NaN for points off the grid.

    The disc is the cells of `kernel_grid("uniform", …)`; the count of inside cells under it is
    exact (integers): per disc row, a difference of the row-wise running sums of `inside`,
    gathered only at the points' cells — no convolution of the whole grid.
    """
    disc = kernel_grid("uniform", bandwidth, grid.cell_size) > 0
    half = disc.shape[0] // 2
    col = np.floor((np.asarray(x) - grid.x_min) / grid.cell_size).astype(np.int64)
    row = np.floor((grid.y_max - np.asarray(y)) / grid.cell_size).astype(np.int64)
    ok = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    out = np.full(len(col), np.nan)
    if not ok.any():
        return out
    row, col = row[ok], col[ok]
    # The rows the discs touch; running[i, k] counts the inside cells among the first k columns
    # of band row i padded by `half` empty columns on each side.
    first, last = max(int(row.min()) - half, 0), min(int(row.max()) + half, grid.height - 1)
    band = np.asarray(inside[first:last + 1], dtype=bool)
    running = np.zeros((band.shape[0], grid.width + 2 * half + 1), dtype=np.int32)
    np.cumsum(band, axis=1, dtype=np.int32, out=running[:, half + 1:half + 1 + grid.width])
    running[:, half + 1 + grid.width:] = running[:, half + grid.width:half + 1 + grid.width]
    covered = np.zeros(len(row), dtype=np.int64)
    for offset in range(-half, half + 1):
        spans = np.flatnonzero(disc[offset + half])
        if not len(spans):
            continue
        lo, hi = spans[0] - half, spans[-1] - half  # the disc row is one run of cells
        r = row + offset
        hit = np.flatnonzero((r >= 0) & (r < grid.height))
        band_row, c = r[hit] - first, col[hit]
        covered[hit] += running[band_row, c + hi + half + 1] - running[band_row, c + lo + half]
    out[ok] = 1.0 - np.clip(covered / disc.sum(), 0.0, 1.0)
    return out
