"""aiddeserts against its peers, side by side in one run: `make bench` (or python bench/run.py).

Every stage runs on the same seeded synthetic metro (bench/metro.py); each time is the median of
`--repeats` runs (≥ 3); ratios are aiddeserts/peer from this run only. Results are checked for
agreement before they are timed. Peak memory is the tracemalloc peak of one call (numpy and
shapely buffers are traced), or the max RSS of a child process for end-to-end runs.
`--only critical` times one cold pipeline run per region against bench/reference.py (the core
chain in one process), with the critical path and each job's import time (bench/RESULTS.md).
Not a test: nothing here passes or fails a build.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))

from dp import bench as bench_dp  # noqa: E402
from metro import CRS, X0, Y0, metro_points, metro_tracts, rural_points, rural_tracts  # noqa: E402

ROWS: list[dict] = []


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def target(name: str, ours: float, peer: float, goal: float, how: str, note: str = "") -> None:
    """Record a ratio target: holds when ours/peer ≤ goal (`how` says it in words)."""
    ratio = ours / peer
    ROWS.append({"target": name, "ours": ours, "peer": peer, "ratio": ratio, "goal": how,
                 "holds": ratio <= goal, "note": note})
    print(f"  {name}: {ours:.3f} s vs {peer:.3f} s → ratio {ratio:.4g} (goal {how}) "
          f"{'HOLDS' if ratio <= goal else 'MISSED'} {note}", flush=True)


def absolute(name: str, value: float, limit: float, unit: str, note: str = "") -> None:
    ROWS.append({"target": name, "ours": value, "peer": math.nan, "ratio": math.nan,
                 "goal": f"≤ {limit:g} {unit}", "holds": value <= limit, "note": note})
    print(f"  {name}: {value:.4g} {unit} (goal ≤ {limit:g}) "
          f"{'HOLDS' if value <= limit else 'MISSED'} {note}", flush=True)


def info(name: str, note: str) -> None:
    ROWS.append({"target": name, "ours": math.nan, "peer": math.nan, "ratio": math.nan,
                 "goal": "report", "holds": None, "note": note})
    print(f"  {name}: {note}", flush=True)


# --------------------------------------------------------------------------------------- KDE
def bench_kde(repeats: int, slow_repeats: int) -> None:
    import scipy.fft
    from KDEpy import FFTKDE
    from scipy.stats import gaussian_kde
    from sklearn.neighbors import KernelDensity

    from aiddeserts.method.density import Grid, kernel_density, kernel_value, linear_binning

    print("KDE: 1e6 points, 25 m grid over 40 km (2.56 M cells), Gaussian σ = 800 m", flush=True)
    x, y = metro_points(1_000_000)
    grid = Grid(X0, Y0 + 40_000.0, 25.0, 1600, 1600)
    # KDEpy needs every point strictly inside its grid of cell centres: drop the few others.
    keep = (x > X0 + 12.5) & (x < X0 + 39_987.5) & (y > Y0 + 12.5) & (y < Y0 + 39_987.5)
    x, y = x[keep], y[keep]
    sigma = 800.0
    ours, dens = timed(lambda: kernel_density(x, y, grid, kernel="gaussian", bandwidth=sigma),
                       repeats)
    # Floor: linear binning + one real FFT convolution (rfft2 → multiply → irfft2, float64, both
    # cores) at the padded size a non-circular 5σ convolution needs; kernel spectrum precomputed.
    half = math.ceil(5 * sigma / grid.cell_size)
    shape = (scipy.fft.next_fast_len(1600 + 2 * half, True),) * 2
    spectrum = scipy.fft.rfft2(np.ones((2 * half + 1, 2 * half + 1)), s=shape, workers=-1)

    def floor() -> np.ndarray:
        counts = linear_binning(x, y, grid)
        freq = scipy.fft.rfft2(counts, s=shape, workers=-1)
        freq *= spectrum
        return scipy.fft.irfft2(freq, s=shape, workers=-1)

    floor_t, _ = timed(floor, repeats)
    target("KDE 1e6 pts vs floor (binning + 1 rFFT conv)", ours, floor_t, 1.5, "≤ 1.5×")
    quartic_t, _ = timed(lambda: kernel_density(x, y, grid, kernel="quartic", bandwidth=1000.0),
                         repeats)
    info("KDE 1e6 pts quartic h = 1000 m", f"{quartic_t:.3f} s")

    # KDEpy in kilometres (in metres it truncates the Gaussian at ~1.8σ, see BASELINES).
    xs, ys = grid.cell_centres()
    gx, gy = np.meshgrid((xs - X0) / 1000, (ys[::-1] - Y0) / 1000, indexing="ij")
    grid_km = np.column_stack([gx.ravel(), gy.ravel()])
    data_km = np.column_stack([(x - X0) / 1000, (y - Y0) / 1000])

    def kdepy() -> np.ndarray:
        return FFTKDE(kernel="gaussian", bw=sigma / 1000).fit(data_km).evaluate(grid_km)

    peer, values = timed(kdepy, repeats)
    theirs = values.reshape(1600, 1600).T[::-1] * len(x)  # rows north→south, points per km²
    strong = dens > 0.01 * dens.max()
    diff = np.max(np.abs(dens[strong] - theirs[strong]) / theirs[strong])
    target("KDE 1e6 pts vs KDEpy FFTKDE", ours, peer, 1 / 2.5, "≥ 2.5× faster",
           f"max rel. diff {diff:.1e} where > 1 % of peak")
    # The quartic is KDEpy's radial "biweight" with bw = radius/√7 (its kernels have unit
    # variance per axis at bw = 1; checked to agree with density.kernel_value to 4e-5 of the peak).
    radius = 1000.0

    def kdepy_quartic() -> np.ndarray:
        return FFTKDE(kernel="biweight", bw=radius / 1000 / math.sqrt(7), norm=2).fit(
            data_km).evaluate(grid_km)

    peer_q, values = timed(kdepy_quartic, repeats)
    theirs = values.reshape(1600, 1600).T[::-1] * len(x)
    quartic = kernel_density(x, y, grid, kernel="quartic", bandwidth=radius)
    strong = quartic > 0.01 * quartic.max()
    diff = np.max(np.abs(quartic[strong] - theirs[strong]) / theirs[strong])
    target("KDE 1e6 pts quartic vs KDEpy FFTKDE biweight", quartic_t, peer_q, 1 / 2.5,
           "≥ 2.5× faster", f"max rel. diff {diff:.1e} where > 1 % of peak (KDEpy samples the "
           "kernel at cell centres: no binning correction)")
    mem = peak_mb(lambda: kernel_density(x, y, grid, kernel="gaussian", bandwidth=sigma))
    mem_q = peak_mb(lambda: kernel_density(x, y, grid, kernel="quartic", bandwidth=radius))
    info("KDE 1e6 pts peak memory (tracemalloc)", f"Gaussian {mem:.0f} MB, quartic {mem_q:.0f} MB")

    print("KDE: 1e4 points on a 100 m grid (160 k cells), Gaussian σ = 800 m", flush=True)
    xs4, ys4 = metro_points(10_000, seed=5)  # (scipy and sklearn evaluate anywhere)
    grid4 = Grid(X0, Y0 + 40_000.0, 100.0, 400, 400)
    ours4, d4 = timed(lambda: kernel_density(xs4, ys4, grid4, kernel="gaussian",
                                             bandwidth=sigma), repeats)
    cx, cy = grid4.cell_centres()
    mx, my = np.meshgrid(cx, cy)
    cells = np.column_stack([mx.ravel(), my.ravel()])
    pts = np.column_stack([xs4, ys4])
    kde = gaussian_kde(pts.T)
    kde.set_bandwidth(bw_method=sigma / np.sqrt(kde.covariance[0, 0] / kde.factor**2))
    scipy_t, _ = timed(lambda: kde(cells.T), slow_repeats)
    target("KDE 1e4 pts/160k cells vs scipy gaussian_kde", ours4, scipy_t, 1e-3, "≥ 1000× faster",
           f"median of {slow_repeats}")
    skl = KernelDensity(bandwidth=sigma, kernel="gaussian").fit(pts)
    sk_t, logd = timed(lambda: skl.score_samples(cells), slow_repeats)
    sk = np.exp(logd).reshape(400, 400) * len(xs4) * 1e6
    strong = sk > 0.01 * sk.max()
    diff = np.max(np.abs(d4[strong] - sk[strong]) / sk[strong])
    target("KDE 1e4 pts/160k cells vs sklearn KernelDensity", ours4, sk_t, 1e-3, "≥ 1000× faster",
           f"max rel. diff {diff:.1e} (100 m cells: σ/cell = 8); median of {slow_repeats}")

    print("KDE accuracy: 1e4 clustered points vs the exact kernel sum, 25 m cells", flush=True)
    grid25 = Grid(X0, Y0 + 40_000.0, 25.0, 1600, 1600)
    cx, cy = grid25.cell_centres()
    sub = slice(3, None, 7)  # the exact sum on every 7th row and column (52 k cells)
    for kernel, h in (("gaussian", 800.0), ("quartic", 750.0), ("quartic", 1000.0),
                      ("quartic", 1500.0)):
        binned = kernel_density(xs4, ys4, grid25, kernel=kernel, bandwidth=h)[sub, sub]
        exact = np.empty_like(binned)
        for i, yy in enumerate(cy[sub]):
            dist = np.hypot(cx[sub][:, None] - xs4[None, :], yy - ys4[None, :])
            exact[i] = kernel_value(kernel, dist, h).sum(axis=1) * 1e6
        strong = exact > 0.01 * exact.max()
        err = float(np.max(np.abs(binned[strong] - exact[strong]) / exact[strong]))
        name = f"KDE max rel. error, {kernel} h/cell = {h / 25:g}"
        if kernel == "quartic" and h != 1000.0:  # the target: the default 1 km on 25 m cells
            info(name, f"{err:.2e} where density > 1 % of peak (how the error scales)")
        else:
            absolute(name, err, 1e-3, "", "where density > 1 % of peak")


# ------------------------------------------------------------------------------------- zonal
def bench_zonal(repeats: int) -> None:
    import rasterio
    from exactextract import exact_extract
    from rasterstats import zonal_stats

    from aiddeserts.method.density import Grid, kernel_density
    from aiddeserts.method.zonal import zonal_mean, zone_raster

    print("Zonal mean of the 2.56 M-cell grid over 1,000 tracts", flush=True)
    tracts = metro_tracts(1000)
    x, y = metro_points(100_000)
    grid = Grid(X0, Y0 + 40_000.0, 25.0, 1600, 1600)
    values = kernel_density(x, y, grid, kernel="quartic", bandwidth=1000.0)

    def ours() -> np.ndarray:
        return zonal_mean(values, zone_raster(tracts.geometry, grid), len(tracts))

    ours_t, mean = timed(ours, repeats)
    rs_t, rs = timed(lambda: zonal_stats(tracts.geometry, values, affine=grid.transform,
                                         stats=["mean"], nodata=-1e30), repeats)
    rs_mean = np.array([r["mean"] for r in rs], dtype=float)
    agree = np.nanmax(np.abs(mean - rs_mean) / np.maximum(np.abs(rs_mean), 1e-12))
    target("zonal vs rasterstats (array)", ours_t, rs_t, 1 / 5, "≥ 5× faster",
           f"max rel. diff {agree:.1e}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "density.tif"
        with rasterio.open(path, "w", driver="GTiff", width=1600, height=1600, count=1,
                           dtype="float64", crs=CRS, transform=grid.transform) as dst:
            dst.write(values, 1)
        with rasterio.open(path) as src:
            ee_t, ee = timed(lambda: exact_extract(src, tracts, "mean", output="pandas"),
                             repeats)
        rs_file_t, _ = timed(lambda: zonal_stats(tracts.geometry, str(path), stats=["mean"],
                                                 nodata=-1e30), 1)
    ee_mean = ee["mean"].to_numpy(dtype=float)
    ee_diff = np.nanmax(np.abs(mean - ee_mean) / np.maximum(np.abs(ee_mean), 1e-12))
    target("zonal vs exactextract", ours_t, ee_t, 1 / 4, "≥ 4× faster",
           f"max rel. diff {ee_diff:.1e} (exactextract weights partial cells)")
    info("zonal: rasterstats from GeoTIFF", f"{rs_file_t:.3f} s (1 run)")


# ------------------------------------------------------------------------------ spatial join
def bench_join(repeats: int) -> None:
    import geopandas as gpd
    import shapely

    from aiddeserts.method.pointjoin import containing_polygon

    print("Spatial join: 1e6 points to 1,000 tracts (peers given prebuilt geometries)", flush=True)
    tracts = metro_tracts(1000)
    x, y = metro_points(1_000_000)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=tracts.crs)
    polys = tracts.geometry.values
    ours_t, pos = timed(lambda: containing_polygon(x, y, polys), repeats)
    sj_t, sj = timed(lambda: gpd.sjoin(points, tracts[["geometry"]], how="left",
                                       predicate="within"), repeats)
    tree = shapely.STRtree(polys)
    geoms = points.geometry.values._data  # the shapely array
    st_t, _ = timed(lambda: tree.query(geoms, predicate="within"), repeats)
    ref = sj[~sj.index.duplicated()]["index_right"].fillna(-1).astype(int).to_numpy()
    same = bool((ref == pos).all())
    best = min(sj_t, st_t)
    target("join vs faster of sjoin/STRtree", ours_t, best, 1.2, "≤ 1.2×",
           f"sjoin {sj_t:.3f} s, STRtree {st_t:.3f} s; identical to sjoin: {same}")
    print(f"  peak memory of containing_polygon: "
          f"{peak_mb(lambda: containing_polygon(x, y, polys)):.0f} MB", flush=True)


# ---------------------------------------------------------------------------------- growth
#: A growth exponent counts as "~linear" up to this (an FFT's n log n adds ≈ 0.07 over 64×).
LINEAR_EXPONENT = 1.2


def slope(sizes: list[float], values: list[float]) -> float:
    """Least-squares exponent k of values ∝ sizes^k (log–log fit)."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def growth(name: str, unit: str, sizes: list[float], times: list[float], mems: list[float],
           fit_from: int = 0, base: tuple[float, float] | None = None) -> None:
    """Record time and memory against size, and whether both grow ~linearly or slower.

    The exponent is fitted over sizes[fit_from:]. With `base` (time and memory at one point)
    the time exponent is that of the size-dependent part (time − base, at the sizes where it is
    at least half the fixed cost), so a fixed cost that dominates small inputs does not hide how
    the rest grows; the overall exponent is reported too. Memory is a peak (the larger of the
    fixed buffers and the per-point arrays), so its exponent is the overall one.
    """
    line = ", ".join(f"{n:.3g} {unit}: {t * 1000:.0f} ms/{m:.0f} MB"
                     for n, t, m in zip(sizes, times, mems, strict=True))
    fit = sizes[fit_from:]
    k_time, k_mem = slope(fit, times[fit_from:]), slope(fit, mems[fit_from:])
    note = f"{line}; exponent over {fit[0]:.3g}–{fit[-1]:.3g}: time {k_time:.2f}, memory {k_mem:.2f}"
    if base is not None:
        # Only sizes whose own part is at least half the fixed cost: below that, noise in the
        # two measurements dominates their difference.
        above = [(n, t - base[0]) for n, t in zip(sizes, times, strict=True)
                 if t - base[0] >= 0.5 * base[0]]
        per_point = ", ".join(f"{n:.3g}: {d / n * 1e9:.0f} ns" for n, d in above)
        k_time = slope([n for n, _ in above], [d for _, d in above])
        note += (f" overall; time above the fixed cost ({base[0] * 1000:.0f} ms/{base[1]:.0f} MB"
                 f" at one point), where it is ≥ half of it: {per_point} per {unit[:-1]}, "
                 f"exponent {k_time:.2f}")
    worst = max(k_time, k_mem)
    ROWS.append({"target": f"growth: {name}", "ours": worst, "peer": math.nan, "ratio": math.nan,
                 "goal": f"exponent ≤ {LINEAR_EXPONENT:g}", "holds": worst <= LINEAR_EXPONENT,
                 "note": note})
    print(f"  growth {name}: {note} {'HOLDS' if worst <= LINEAR_EXPONENT else 'MISSED'}",
          flush=True)


def bench_growth(repeats: int) -> None:
    from aiddeserts.method.density import Grid, kernel_density
    from aiddeserts.method.pointjoin import containing_polygon
    from aiddeserts.method.zonal import zonal_mean, zone_raster

    print("Growth: time and memory against points, cells and tracts", flush=True)
    grid = Grid(X0, Y0 + 40_000.0, 25.0, 1600, 1600)
    tracts = metro_tracts(1000)

    def kde(x: np.ndarray, y: np.ndarray, g: Grid = grid) -> Callable[[], object]:
        return lambda: kernel_density(x, y, g, kernel="quartic", bandwidth=1000.0)

    def join(x: np.ndarray, y: np.ndarray, polygons: np.ndarray = tracts.geometry.values
             ) -> Callable[[], object]:
        return lambda: containing_polygon(x, y, polygons)

    def measure(fn: Callable[[], object]) -> tuple[float, float]:
        fn()  # warm-up: the first call at a new size pays page faults for its fresh arrays
        return timed(fn, repeats)[0], peak_mb(fn)

    sizes = [1_000, 10_000, 100_000, 300_000, 1_000_000, 3_000_000]
    points = [metro_points(n) for n in sizes]
    one = metro_points(1)
    kde_runs = [measure(kde(x, y)) for x, y in points]
    growth("KDE vs points (2.56 M cells)", "pts", sizes, *map(list, zip(*kde_runs, strict=True)),
           fit_from=2, base=measure(kde(*one)))
    sizes, points = sizes[:-1], points[:-1]  # the join: 1e3…1e6
    join_runs = [measure(join(x, y)) for x, y in points]
    growth("join vs points (1,000 tracts)", "pts", sizes,
           *map(list, zip(*join_runs, strict=True)), fit_from=1)

    sides = [400, 800, 1600, 3200]
    x, y = points[2]
    cell_runs = [measure(kde(x, y, Grid(X0, Y0 + 40_000.0, 40_000.0 / side, side, side)))
                 for side in sides]
    growth("KDE vs cells (1e5 points)", "cells", [s * s for s in sides],
           *map(list, zip(*cell_runs, strict=True)))

    n_tracts = [100, 1000, 10_000]
    x, y = points[-1]
    values = np.ones(grid.shape)
    zonal_runs, join_tract_runs = [], []
    for k in n_tracts:
        polygons = metro_tracts(k).geometry.values
        zonal_runs.append(measure(lambda p=polygons: zonal_mean(values, zone_raster(p, grid),
                                                                len(p))))
        join_tract_runs.append(measure(join(x, y, polygons)))
    growth("zonal vs tracts (2.56 M cells)", "tracts", n_tracts,
           *map(list, zip(*zonal_runs, strict=True)))
    growth("join vs tracts (1e6 points)", "tracts", n_tracts,
           *map(list, zip(*join_tract_runs, strict=True)))


# ------------------------------------------------------------------------------ end to end
def run_pipeline(workdir: Path, configfile: Path | None, targets: tuple[str, ...] = ("all",),
                 timeout: float | None = None, env_extra: dict[str, str] | None = None,
                 via_cli: bool = False) -> tuple[float, float, float]:
    """Wall time, max RSS (MB, largest single process) and CPU seconds (all processes) of one
    forced Snakemake run. CPU time is far less sensitive than wall time to a loaded machine.
    `via_cli`: as the deploy units run it, ``aiddeserts run --cores 2`` (every region; a cold
    directory, so nothing needs forcing)."""
    if via_cli:
        cmd = [str(Path(sys.executable).parent / "aiddeserts"), "run", "--cores", "2",
               "-d", str(workdir)]
    else:
        cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"),
               "-d", str(workdir), "--cores", "2", "--forceall", *targets, "--quiet", "all"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env_extra or {})}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    # Own process group, so a timeout stops Snakemake's jobs too.
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate()
        return math.inf, math.nan, math.nan
    result = subprocess.CompletedProcess(cmd, proc.returncode, "", stderr)
    wall = time.perf_counter() - t0
    if result.returncode != 0:
        raise RuntimeError(f"pipeline failed in {workdir}:\n{result.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, max(before, usage.ru_maxrss) / 1024, usage.ru_utime + usage.ru_stime - cpu0


def write_metro_inputs(root: Path) -> Path:
    """Synthetic metro (1,000 tracts, 1e5 assets, 1e5 survey points) as real input files."""
    import geopandas as gpd
    import pandas as pd
    import yaml

    raw = root / "raw"
    raw.mkdir(parents=True)
    tracts = metro_tracts(1000)
    tracts.to_file(raw / "tracts.gpkg", layer="tracts")
    ax, ay = metro_points(100_000, seed=7)
    assets = gpd.GeoSeries(gpd.points_from_xy(ax, ay), crs=CRS).to_crs(4326)
    kinds = np.array(["community_fridge", "food_pantry", "free_store", "mutual_aid_network"])
    pd.DataFrame({"lat": assets.y.round(7), "lon": assets.x.round(7),
                  "name": [f"Site {i}" for i in range(len(ax))],
                  "kind": kinds[np.arange(len(ax)) % 4]}).to_csv(raw / "assets.csv", index=False)
    sx, sy = metro_points(100_000, seed=8, n_clusters=200)
    survey = gpd.GeoSeries(gpd.points_from_xy(sx, sy), crs=CRS).to_crs(4326)
    rng = np.random.default_rng(9)
    pd.DataFrame({"lat": survey.y.round(7), "lon": survey.x.round(7),
                  "unmet": rng.choice(["yes", "no"], len(sx)), "story": "",
                  "consent": rng.choice(["yes", "no"], len(sx))}).to_csv(raw / "survey.csv",
                                                                          index=False)
    config = {
        "regions": {"metro": {
            "title": "Synthetic metro",
            "tracts": {"path": str(raw / "tracts.gpkg"), "layer": "tracts", "id": "geoid",
                       "population": "pop",
                       "need": ["poverty_pct", {"column": "median_income",
                                                "higher_is_worse": False}]},
            "assets": {"path": str(raw / "assets.csv"), "lat": "lat", "lon": "lon",
                       "name": "name", "type": "kind"},
            "survey": {"path": str(raw / "survey.csv"), "lat": "lat", "lon": "lon",
                       "need": "unmet", "story": "story", "consent": "consent"}}},
        "density": {"kernel": "quartic", "bandwidth_m": 1000, "cell_size_m": 25},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def bench_end_to_end(repeats: int, metro_timeout: float) -> None:
    print("End to end (Snakemake, --cores 2, --forceall)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        nyc = Path(tmp) / "nyc"
        nyc.mkdir()
        shutil.copytree(REPO / "data" / "raw", nyc / "data" / "raw")
        shutil.copytree(REPO / "config", nyc / "config")
        runs = [run_pipeline(nyc, None) for _ in range(repeats)]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        absolute("end to end: NYC demo", wall, 20, "s",
                 f"CPU {cpu:.1f} s over 2 cores; max RSS of one process {rss:.0f} MB")
        map_html = nyc / "outputs" / "nyc" / "map.html"
        size = map_html.stat().st_size / 1e6
        absolute("map: NYC demo map.html size", size, 5, "MB")
        first_render(map_html)

        metro = Path(tmp) / "metro"
        configfile = write_metro_inputs(metro)
        runs = [run_pipeline(metro, configfile, timeout=metro_timeout) for _ in range(repeats)]
        wall = statistics.median(r[0] for r in runs)
        rss = max((r[1] for r in runs if math.isfinite(r[0])), default=math.nan)
        cpu = statistics.median(r[2] for r in runs)
        absolute("end to end: metro 1,000 tracts, 1e5 assets, 1e5 survey, 25 m", wall, 30, "s",
                 f"median of {repeats} (" + ", ".join(f"{r[0]:.1f}" for r in runs)
                 + f" s), CPU {cpu:.1f} s" if math.isfinite(wall) else
                 f"stopped after {metro_timeout:.0f} s")
        absolute("end to end: peak memory (largest process)", rss, 2048, "MB")
        bench_dir = metro / "benchmarks" / "metro"
        if bench_dir.exists():
            parts = []
            for tsv in sorted(bench_dir.glob("*.tsv")):
                lines = tsv.read_text().splitlines()
                parts.append(f"{tsv.stem} {float(lines[1].split()[0]):.1f} s")
            info("end to end: metro jobs (Snakemake benchmark:)", ", ".join(parts))


# ------------------------------------------------------------------- critical path (issue 20)
#: Imported by every Python process of a pipeline run (on PYTHONPATH): a Snakemake script job
#: sends its stderr, where `PYTHONPROFILEIMPORTTIME` writes, to a file of its own (the job's
#: log file keeps its messages), so each job's import time can be read back.
IMPORT_HOOK = """\
import os, sys
_dir = os.environ.get("BENCH_IMPORTTIME_DIR")
_script = os.path.basename(sys.argv[0]) if sys.argv else ""
if _dir and os.sep + os.path.join(".snakemake", "scripts") + os.sep in os.path.abspath(
        sys.argv[0]):
    _name = _script.split(".", 1)[1].rsplit(".", 1)[0] if "." in _script else _script
    _fd = os.open(os.path.join(_dir, f"{_name}.{os.getpid()}.txt"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(_fd, 2)
"""


def top_level_imports(lines: list[str]) -> tuple[float, list[str]]:
    """A process's import seconds and its top-level imports in order, from `-X importtime`
    lines: the sum of the top-level imports' cumulative times (nested ones are inside them)."""
    total, names = 0, []
    for line in lines:
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if not name.startswith("  "):  # one space after the bar: a top-level import
            total += int(cumulative)
            names.append(name.strip())
    return total / 1e6, names


#: Imported by Python itself before the hook, or the hook: not replayed.
STARTUP_MODULES = frozenset({"site", "sitecustomize", "encodings", "_distutils_hack", "gc"})


def replay_imports(names: list[str]) -> tuple[float, float]:
    """CPU and wall seconds a fresh interpreter spends importing `names` in order: a job's
    imports timed again on their own, as CPU time, which a loaded machine does not inflate."""
    wanted = [n for n in names if n.split(".")[0] not in STARTUP_MODULES]
    code = ("import importlib, time\nc, w = time.process_time(), time.perf_counter()\n"
            f"for name in {wanted!r}:\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception:\n        pass\n"
            "print(time.process_time() - c, time.perf_counter() - w)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def warm_job_cpu(server_log: Path) -> dict[str, float]:
    """CPU seconds of each job the warm server ran, by script (`logs/warm_server.log`): the
    rule's name, but for the audit's parts (one script, privacy_audit_part.py), which add up
    under `privacy_audit_part`."""
    if not server_log.exists():
        return {}
    text = server_log.read_text()
    script = {pid: name for pid, name in re.findall(
        r"job process (\d+) runs (?:tmp\w+\.)?(\w+)\.py", text)}
    cpu: dict[str, float] = {}
    for pid, seconds in re.findall(r"job process (\d+) exited -?\d+ after [\d.]+ s, "
                                   r"CPU ([\d.]+) s", text):
        if pid in script:
            cpu[script[pid]] = cpu.get(script[pid], 0.0) + float(seconds)
    return cpu


def dag_edges(workdir: Path, configfile: Path | None) -> tuple[dict[int, str], list[tuple[int, int]]]:
    """The jobs (rule names) and dependencies of the run's DAG (`snakemake --dag`)."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "-s", str(REPO / "Snakefile"),
           "-d", str(workdir), "--dag", "--forceall", "--quiet", "all"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    dot = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                         check=True).stdout
    nodes = {int(m[1]): _job_name(m[2]) for m in re.finditer(r'^\s*(\d+)\[label = "([^"]+)"',
                                                                dot, re.M)}
    edges = [(int(m[1]), int(m[2])) for m in re.finditer(r"^\s*(\d+) -> (\d+)", dot, re.M)]
    return nodes, edges


def _job_name(label: str) -> str:
    """A DAG node's name as its benchmark file has it: the rule, and for a part of the privacy
    audit its part (benchmarks/<region>/privacy_audit_<part>.tsv)."""
    rule, *wildcards = label.split("\\n")
    part = next((w.split(": ", 1)[1] for w in wildcards if w.startswith("part: ")), None)
    return f"{rule.removesuffix('_part')}_{part}" if part else rule


def critical_path(nodes: dict[int, str], edges: list[tuple[int, int]],
                  seconds: dict[str, float]) -> tuple[float, list[str]]:
    """The longest chain of dependent jobs weighted by their benchmark seconds (0 for a job
    without a benchmark file): its length and its rules in order."""
    preds: dict[int, list[int]] = {n: [] for n in nodes}
    for u, v in edges:
        preds[v].append(u)
    best: dict[int, tuple[float, list[int]]] = {}

    def longest(n: int) -> tuple[float, list[int]]:
        if n not in best:
            before = max((longest(p) for p in preds[n]), key=lambda c: c[0], default=(0.0, []))
            best[n] = (before[0] + seconds.get(nodes[n], 0.0), [*before[1], n])
        return best[n]

    length, chain = max((longest(n) for n in nodes), key=lambda c: c[0])
    return length, [nodes[n] for n in chain if nodes[n] in seconds]


def run_reference(workdir: Path, configfile: Path, region: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds of bench/reference.py in its own process, and its step times."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, str(REPO / "bench" / "reference.py"), str(configfile),
                          region, str(workdir / "reference"), "--root", str(workdir)],
                         cwd=workdir, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    import json

    return wall, usage.ru_utime + usage.ru_stime - cpu0, json.loads(out.stdout)


def write_rural_inputs(root: Path) -> Path:
    """The rural-heavy county (bench/metro.py `rural_tracts`: 200 tracts, 100 km × 100 km, most
    of the area in ~50 large rural tracts), 400 assets, 3,000 survey points, 50 m cells."""
    import geopandas as gpd
    import pandas as pd
    import yaml

    raw = root / "raw"
    raw.mkdir(parents=True)
    rural_tracts().to_file(raw / "tracts.gpkg", layer="tracts")
    ax, ay = rural_points(400, seed=13)
    assets = gpd.GeoSeries(gpd.points_from_xy(ax, ay), crs=CRS).to_crs(4326)
    kinds = np.array(["community_fridge", "food_pantry", "free_store", "mutual_aid_network"])
    pd.DataFrame({"lat": assets.y.round(7), "lon": assets.x.round(7),
                  "name": [f"Site {i}" for i in range(len(ax))],
                  "kind": kinds[np.arange(len(ax)) % 4]}).to_csv(raw / "assets.csv", index=False)
    sx, sy = rural_points(3000, seed=16, rural_share=0.3)
    survey = gpd.GeoSeries(gpd.points_from_xy(sx, sy), crs=CRS).to_crs(4326)
    rng = np.random.default_rng(15)
    pd.DataFrame({"lat": survey.y.round(7), "lon": survey.x.round(7),
                  "unmet": rng.choice(["yes", "no"], len(sx)), "story": "",
                  "consent": rng.choice(["yes", "no"], len(sx))}).to_csv(raw / "survey.csv",
                                                                          index=False)
    config = {
        "regions": {"rural": {
            "title": "Synthetic rural-heavy county",
            "tracts": {"path": str(raw / "tracts.gpkg"), "layer": "tracts", "id": "geoid",
                       "population": "pop",
                       "need": ["poverty_pct", {"column": "median_income",
                                                "higher_is_worse": False}]},
            "assets": {"path": str(raw / "assets.csv"), "lat": "lat", "lon": "lon",
                       "name": "name", "type": "kind"},
            "survey": {"path": str(raw / "survey.csv"), "lat": "lat", "lon": "lon",
                       "need": "unmet", "story": "story", "consent": "consent"}}},
        "density": {"kernel": "quartic", "bandwidth_m": 1000, "cell_size_m": 50},
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def bench_critical(timeout: float, only: tuple[str, ...] = ("nyc", "metro", "rural")) -> None:
    """Cold pipeline (fresh directory, every job) against bench/reference.py, per region
    (`only`: some of nyc, metro, rural)."""
    print("Critical path: cold `aiddeserts run` vs the single-process reference", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        hook = Path(tmp) / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(IMPORT_HOOK)
        regions: list[tuple[str, str, Path, Path | None]] = []
        if "nyc" in only:
            nyc = Path(tmp) / "nyc"
            nyc.mkdir()
            shutil.copytree(REPO / "data" / "raw", nyc / "data" / "raw")
            shutil.copytree(REPO / "config", nyc / "config")
            regions.append(("NYC demo", "nyc", nyc, None))
        if "metro" in only:
            metro = Path(tmp) / "metro"
            regions.append(("metro 1,000 tracts 25 m", "metro", metro,
                            write_metro_inputs(metro)))
        if "rural" in only:
            rural = Path(tmp) / "rural"
            regions.append(("rural-heavy 200 tracts 50 m", "rural", rural,
                            write_rural_inputs(rural)))
        for label, region, workdir, configfile in regions:
            imports = Path(tmp) / f"imports-{region}"
            imports.mkdir()
            # Timed as a user runs it; the imports are measured in a second cold run of the
            # same inputs (-X importtime and the hook slow every process: 1-2 s on NYC).
            instrumented = Path(tmp) / f"instrumented-{region}"
            shutil.copytree(workdir, instrumented)
            wall, _, cpu = run_pipeline(workdir, configfile, timeout=timeout, via_cli=True)
            env = {"PYTHONPATH": f"{hook}{os.pathsep}{REPO / 'src'}",
                   "PYTHONPROFILEIMPORTTIME": "1", "BENCH_IMPORTTIME_DIR": str(imports)}
            instrumented_wall, _, _ = run_pipeline(instrumented, configfile, timeout=timeout,
                                                   env_extra=env, via_cli=True)
            ref_wall, ref_cpu, steps = run_reference(
                workdir, configfile or workdir / "config" / "config.yaml", region)
            seconds, cpu_s = {}, {}
            for tsv in sorted((workdir / "benchmarks").glob(f"**/{region}/*.tsv")):
                header, values = (line.split("\t") for line in tsv.read_text().splitlines()[:2])
                row = dict(zip(header, values, strict=True))
                seconds[tsv.stem] = float(row["s"])
                cpu_s[tsv.stem] = float(row["cpu_time"])
            # A job run by the warm server spends its CPU in the server's fork, which its
            # benchmark file does not see: that CPU is in the server's log.
            cpu_s = warm_job_cpu(workdir / "logs" / "warm_server.log") or cpu_s
            nodes, edges = dag_edges(workdir, configfile)
            path_s, chain = critical_path(nodes, edges, seconds)
            steps_note = ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
            target(f"critical: {label}, cold pipeline vs reference", wall, ref_wall, 3.0, "≤ 3×",
                   f"CPU {cpu:.1f} s vs {ref_cpu:.1f} s; reference steps (s): {steps_note}")
            if region == "nyc":
                absolute("critical: NYC demo cold run", wall, 10, "s", f"CPU {cpu:.1f} s")
            info(f"critical: {label}, critical path (benchmark: files)",
                 f"{path_s:.1f} s of {wall:.1f} s wall: " + " → ".join(
                     f"{job} {seconds[job]:.1f} s ({seconds[job] / path_s:.0%})" for job in chain)
                 + "; all jobs (wall/CPU s): " + ", ".join(
                     f"{job} {seconds[job]:.1f}/" + (f"{cpu_s[job]:.1f}" if job in cpu_s else "-")
                     for job in sorted(seconds))
                 + "".join(f"; {job} (together) CPU {cpu_s[job]:.1f} s"
                           for job in sorted(set(cpu_s) - set(seconds)))
                 + "; no benchmark file: " + ", ".join(
                     sorted({r for r in nodes.values() if r not in seconds})))
            in_run: dict[str, float] = {}
            replayed: dict[str, tuple[float, float]] = {}
            for log in sorted(imports.glob("*.txt")):
                job = log.name.split(".", 1)[0]
                seconds_in_run, names = top_level_imports(log.read_text().splitlines())
                in_run[job] = seconds_in_run
                replayed[job] = replay_imports(names)
            if replayed:
                # A job forked by the warm server imports only what the server had not: what
                # it pays is its own -X importtime in the run (its process and its fork).
                worst = max(in_run, key=in_run.get)
                server = workdir / "logs" / "warm_server.log"
                preload = re.findall(r"all preloaded after ([\d.]+) s, CPU ([\d.]+) s",
                                     server.read_text()) if server.exists() else []
                absolute(f"critical: {label}, slowest job import (in the run)",
                         in_run[worst], 0.5, "s", f"{worst}; per job in the run (-X importtime, "
                         "job process + its fork) / the same imports in a fresh Python (CPU, "
                         "replayed): " + ", ".join(
                             f"{job} {in_run[job]:.2f}/{replayed[job][0]:.2f}"
                             for job in sorted(replayed))
                         + (f"; the warm server's imports, once per run: {preload[0][1]} s CPU"
                            if preload else "; no warm server")
                         + f"; that run, with -X importtime, took {instrumented_wall:.1f} s")
            if region == "rural":
                absolute("critical: classify_tracts on the rural-heavy region",
                         seconds.get("classify_tracts", math.nan), 2, "s",
                         f"CPU {cpu_s.get('classify_tracts', math.nan):.1f} s")


def first_render(map_html: Path) -> None:
    """Headless Chromium: time to the page's load event (virtual-time budget not used)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        info("map: first render in headless Chromium", "not measured: no chromium on PATH")
        return
    def load(page: Path) -> tuple[float, str]:
        times, out = [], ""
        for _ in range(3):
            with tempfile.TemporaryDirectory() as profile:
                cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                       f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
                t0 = time.perf_counter()
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
                times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    with tempfile.TemporaryDirectory() as tmp:
        blank = Path(tmp) / "blank.html"
        blank.write_text("<!doctype html><title>blank</title><p>blank</p>")
        start, _ = load(blank)
    total, dom = load(map_html)
    # Leaflet adds the class to the map's <div> when it runs (the page's CSS names it too).
    rendered = re.search(r'<div[^>]*class="[^"]*leaflet-container', dom) is not None
    absolute("map: first render in headless Chromium (map − blank page)", total - start, 3, "s",
             f"{total:.2f} s with the browser's start-up ({start:.2f} s for a blank page); "
             + ("Leaflet rendered" if rendered else
                "Leaflet did NOT render (its CDN is unreachable offline)"))


# ------------------------------------------------------------------------------------ main
def bench_network(repeats: int) -> None:
    """Walking distances vs networkx and pandana (bench/network.py)."""
    import network

    network.bench_network(repeats, target, absolute, info, growth, timed, peak_mb)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
            f"load average at start {load[0]:.1f}")


def table() -> str:
    lines = ["| target | aiddeserts | peer | ratio | goal | holds | note |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in ROWS:
        def f(v: float) -> str:
            return "" if isinstance(v, float) and math.isnan(v) else f"{v:.4g}"
        holds = {True: "yes", False: "**no**", None: ""}[r["holds"]]
        lines.append(f"| {r['target']} | {f(r['ours'])} | {f(r['peer'])} | {f(r['ratio'])} | "
                     f"{r['goal']} | {holds} | {r['note']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slow-repeats", type=int, default=3,
                        help="repeats for scipy gaussian_kde / sklearn (13–16 s each)")
    parser.add_argument("--only", nargs="*",
                        default=["e2e", "kde", "zonal", "join", "growth", "dp", "network",
                                 "critical"])
    parser.add_argument("--metro-timeout", type=float, default=120.0,
                        help="stop the full synthetic-metro run (with its map) after this long")
    parser.add_argument("--critical-regions", nargs="*", default=["nyc", "metro", "rural"],
                        help="regions of the `critical` entry: nyc, metro, rural")
    parser.add_argument("--out", type=Path, help="also write the table (markdown) here")
    args = parser.parse_args()
    header = f"Machine: {machine()}"
    print(header, flush=True)
    stages = {"kde": lambda: bench_kde(args.repeats, args.slow_repeats),
              "zonal": lambda: bench_zonal(args.repeats), "join": lambda: bench_join(args.repeats),
              "growth": lambda: bench_growth(args.repeats),
              "e2e": lambda: bench_end_to_end(args.repeats, args.metro_timeout),
              "dp": lambda: bench_dp(args.repeats, absolute, info),
              "network": lambda: bench_network(args.repeats),
              "critical": lambda: bench_critical(args.metro_timeout,
                                                 tuple(args.critical_regions))}
    for name in args.only:
        stages[name]()
    print()
    print(header)
    print(table())
    if args.out:
        args.out.write_text(f"{header}\n\n{table()}\n")


if __name__ == "__main__":
    main()
