"""Kernel density of assets on a grid: linear binning + one real FFT convolution (scipy.fft).

Density values are assets per km². The grid is aligned to multiples of the cell size in the
working CRS, so the same inputs always give the same grid.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from affine import Affine
from scipy.signal import fftconvolve

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


def kernel_laplacian(kernel: str, distance: np.ndarray, bandwidth: float) -> np.ndarray:
    """∇²K (per unit⁴) of the smooth kernels at `distance`: quartic 3/(πh²)·(16u²−8)/h²,
    Gaussian K·(u²−2)/h²; zero outside the support."""
    u2 = (np.asarray(distance, dtype=float) / bandwidth) ** 2
    h2 = bandwidth**2
    if kernel == "quartic":
        return np.where(u2 < 1.0, 3.0 / (math.pi * h2) * (16.0 * u2 - 8.0) / h2, 0.0)
    if kernel == "gaussian":
        return kernel_value(kernel, distance, bandwidth) * (u2 - 2.0) / h2
    raise ValueError(f"no Laplacian for the {kernel!r} kernel")


def binned_kernel_grid(kernel: str, bandwidth: float, cell_size: float) -> np.ndarray:
    """The kernel grid to convolve linearly binned counts with.

    Linear binning evaluates, for each point, the bilinear interpolant of the kernel between the
    four cell centres around it; averaged over positions in a cell that overestimates K by
    cell²/12·∇²K. For the smooth kernels (quartic, Gaussian) that bias is subtracted from the
    samples, which cuts the error near the quartic's edge ~5× at no run-time cost (mass is kept:
    ∇²K integrates to zero because K′ vanishes at the edge). Other kernels are sampled as is.
    """
    n = math.ceil(kernel_support(kernel, bandwidth) / cell_size)
    offsets = np.arange(-n, n + 1) * cell_size
    distance = np.hypot(offsets[None, :], offsets[:, None])
    values = kernel_value(kernel, distance, bandwidth)
    if kernel in ("quartic", "gaussian"):
        values = values - cell_size**2 / 12.0 * kernel_laplacian(kernel, distance, bandwidth)
    return values


def _padded_linear_binning(x: np.ndarray, y: np.ndarray, grid: Grid,
                           weights: np.ndarray | None = None) -> np.ndarray:
    """Linear binning onto the grid padded by one cell on every side, shape (H + 2, W + 2).

    The pad keeps the exact bilinear shares of points between the outer cell centres and the
    grid's edge; points beyond the pad are moved onto it. One `numpy.bincount` does all four
    shares at once.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    height, width = grid.height, grid.width
    n = len(x)
    fx = (x - grid.x_min) * (1.0 / grid.cell_size) - 0.5
    fy = (grid.y_max - y) * (1.0 / grid.cell_size) - 0.5
    np.clip(fx, -1.0, float(width), out=fx)  # the pad's centres are at −1 and width
    np.clip(fy, -1.0, float(height), out=fy)
    ix = np.minimum(np.floor(fx), width - 1.0)
    iy = np.minimum(np.floor(fy), height - 1.0)
    tx = fx - ix  # share of the right-hand column
    ty = fy - iy  # share of the lower row
    padded_width = width + 2
    index = np.empty((4, n), dtype=np.int64)
    np.multiply(iy, padded_width, out=fy)
    fy += ix
    fy += padded_width + 1  # (iy + 1, ix + 1) in the padded grid
    index[0] = fy
    np.add(index[0], 1, out=index[1])
    np.add(index[0], padded_width, out=index[2])
    np.add(index[0], padded_width + 1, out=index[3])
    sx = 1.0 - tx
    sy = 1.0 - ty
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        sy *= w
        ty *= w
    shares = np.empty((4, n))
    np.multiply(sx, sy, out=shares[0])
    np.multiply(tx, sy, out=shares[1])
    np.multiply(sx, ty, out=shares[2])
    np.multiply(tx, ty, out=shares[3])
    return np.bincount(index.ravel(), weights=shares.ravel(),
                       minlength=(height + 2) * padded_width).reshape(height + 2, padded_width)


def linear_binning(x: np.ndarray, y: np.ndarray, grid: Grid,
                   weights: np.ndarray | None = None) -> np.ndarray:
    """Spread each point's weight over its four nearest cell centres (bilinear shares).

    Points beyond the outer cell centres give their share to the edge cells.
    """
    height, width = grid.height, grid.width
    padded = _padded_linear_binning(x, y, grid, weights)
    padded[1, :] += padded[0, :]  # fold the pad back onto the edge cells
    padded[height, :] += padded[height + 1, :]
    padded[:, 1] += padded[:, 0]
    padded[:, width] += padded[:, width + 1]
    return padded[1:height + 1, 1:width + 1]


@functools.lru_cache(maxsize=8)
def _kernel_spectrum(kernel: str, bandwidth: float, cell_size: float,
                     fft_shape: tuple[int, int], workers: int) -> np.ndarray:
    """rfft2 of the (corrected) kernel grid zero-padded to `fft_shape`, float32 (cached)."""
    cells = binned_kernel_grid(kernel, bandwidth, cell_size).astype(np.float32)
    # Pruned 2-D transform: only the kernel's rows are non-zero, so transform them first.
    rows = scipy.fft.rfft(cells, n=fft_shape[1], axis=1, workers=workers)
    spectrum = scipy.fft.fft(rows, n=fft_shape[0], axis=0, workers=workers)
    spectrum.flags.writeable = False
    return spectrum


def kernel_density(x: np.ndarray, y: np.ndarray, grid: Grid, *, kernel: str = "quartic",
                   bandwidth: float = 1000.0, weights: np.ndarray | None = None,
                   workers: int = -1) -> np.ndarray:
    """Density of points on `grid` in points per km² (coordinates in metres).

    Binned KDE: linear binning onto the cell centres (and a one-cell pad around the grid, so
    points between the outer centres and the edge are not moved), then one real FFT convolution
    with the binning-corrected kernel (`binned_kernel_grid`), in float32 (relative round-off
    ~1e-6, far below the binning error); the kernel's spectrum is cached per kernel, bandwidth,
    cell and FFT shape. Values below 1e-6 of the peak (round-off, and the corrected kernel's
    slightly negative rim) are set to zero, so the result is ≥ 0.
    """
    kernel_value(kernel, np.zeros(1), bandwidth)  # validates the kernel name and bandwidth
    # Binned on the grid plus a one-cell pad, so points near the grid's edge keep their place.
    counts = _padded_linear_binning(x, y, grid, weights)
    if not counts.any():
        return np.zeros(grid.shape)
    half = math.ceil(kernel_support(kernel, bandwidth) / grid.cell_size)
    fft_shape = (scipy.fft.next_fast_len(grid.height + 2 + 2 * half, real=True),
                 scipy.fft.next_fast_len(grid.width + 2 + 2 * half, real=True))
    spectrum = _kernel_spectrum(kernel, float(bandwidth), float(grid.cell_size), fft_shape, workers)
    freq = scipy.fft.rfft2(counts.astype(np.float32), s=fft_shape, workers=workers)
    freq *= spectrum
    full = scipy.fft.irfft2(freq, s=fft_shape, workers=workers)
    density = full[half + 1:half + 1 + grid.height, half + 1:half + 1 + grid.width].astype(float)
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
    where no asset could have been recorded (the edge effect). NaN for points off the grid."""
    disc = kernel_grid("uniform", bandwidth, grid.cell_size) > 0
    covered = np.rint(fftconvolve(inside.astype(float), disc.astype(float), mode="same"))
    col = np.floor((np.asarray(x) - grid.x_min) / grid.cell_size).astype(int)
    row = np.floor((grid.y_max - np.asarray(y)) / grid.cell_size).astype(int)
    ok = (col >= 0) & (col < grid.width) & (row >= 0) & (row < grid.height)
    out = np.full(len(col), np.nan)
    out[ok] = 1.0 - np.clip(covered[row[ok], col[ok]] / disc.sum(), 0.0, 1.0)
    return out
