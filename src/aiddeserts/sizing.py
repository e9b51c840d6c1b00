"""Per-rule cluster resources (memory, run time) derived from the size of a job's input files.

Each rule's ``resources:`` calls :func:`mem_mb` and :func:`runtime_min` with the job's
``input.size_mb`` and Snakemake's ``attempt`` (1 on the first try). A job that fails — on a
cluster typically killed for exceeding its memory or time — is retried (``retries`` in the
profile) with twice, then three times the request.

The coefficients are a linear model ``base + per_mb × input MB`` per rule, set from the
synthetic-nation measurements in ``bench/SCALE.md`` with head-room: peak memory of the vector
stages grows with the files they read. The density stage's memory grows with its grid — the
region's extent over the cell size — so :func:`density_mem_mb` costs it from the prepared tracts'
extent and the configured cell size instead.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cost:
    """``base + per_mb × input MB``, for memory (MB) and run time (minutes)."""

    mem_base_mb: float
    mem_per_input_mb: float
    runtime_base_min: float
    runtime_per_input_mb: float


#: Costs per rule; rules not listed use DEFAULT.
COSTS: dict[str, Cost] = {
    "ingest_tracts": Cost(1000, 20, 5, 0.05),
    "ingest_assets": Cost(1000, 20, 5, 0.05),
    "ingest_survey": Cost(1000, 20, 5, 0.05),
    "asset_density": Cost(2000, 60, 10, 0.2),
    "classify_tracts": Cost(1500, 25, 10, 0.1),
    "web_map": Cost(1500, 30, 10, 0.1),
    "summarize": Cost(500, 10, 5, 0.02),
    "manifest": Cost(300, 0, 5, 0.02),
    "publish": Cost(300, 0, 5, 0.02),
}
DEFAULT = Cost(1000, 20, 10, 0.1)
#: Upper bounds, so a misjudged input cannot ask a scheduler for an impossible node.
MAX_MEM_MB = 256_000
MAX_RUNTIME_MIN = 24 * 60


def _cost(rule: str) -> Cost:
    return COSTS.get(rule, DEFAULT)


def mem_mb(rule: str, input_mb: float, attempt: int = 1) -> int:
    """Memory (MB) to request for `rule` given its inputs' total size; scales with `attempt`."""
    cost = _cost(rule)
    estimate = (cost.mem_base_mb + cost.mem_per_input_mb * max(input_mb, 0.0)) * max(attempt, 1)
    return int(min(MAX_MEM_MB, round(estimate)))


def runtime_min(rule: str, input_mb: float, attempt: int = 1) -> int:
    """Wall time (minutes) to request for `rule` given its inputs' size; scales with `attempt`."""
    cost = _cost(rule)
    estimate = (cost.runtime_base_min + cost.runtime_per_input_mb * max(input_mb, 0.0)) * max(
        attempt, 1)
    return int(min(MAX_RUNTIME_MIN, round(estimate)))


#: Asset source files above this size (MB, ~50,000 rows of CSV) make the static figure, with
#: one vector marker per asset (0.1–0.2 ms each in the PDF), the longest product of a run.
FIGURE_FIRST_ASSET_MB = 4.0


def figure_priority(asset_source_mb: float, default: int, first: int) -> int:
    """The static figure's job priority: `first` (ahead of the map and the posters) when the
    region's asset sources are large, else `default`; on two cores the longest job should
    start first, and a cold run knows only its raw inputs' sizes."""
    return first if asset_source_mb > FIGURE_FIRST_ASSET_MB else default


#: Density memory per grid cell (bytes): measured ≈ 47 B/cell (bench/SCALE.md), with head-room.
DENSITY_BYTES_PER_CELL = 64
DENSITY_BASE_MB = 1000


def density_cells(bounds: tuple[float, float, float, float], cell_size_m: float,
                  bandwidth_m: float) -> int:
    """Cells of the density grid over `bounds` (projected metres), with the kernel's margin that
    the FFT convolution adds on every side."""
    minx, miny, maxx, maxy = bounds
    margin = 2 * bandwidth_m
    return int(((maxx - minx + margin) / cell_size_m + 1) * ((maxy - miny + margin) / cell_size_m + 1))


def density_mem_mb(tracts_path: str, cell_size_m: float, bandwidth_m: float,
                   attempt: int = 1) -> int:
    """Memory (MB) for the density job: it grows with the grid — the region's extent over the
    cell size — not with the size of its files. Reads only the extent of the prepared tracts.

    Raises FileNotFoundError while the tracts are not built yet; Snakemake then shows the
    request as <TBD> and evaluates it when the job is scheduled.
    """
    import pyogrio

    if not Path(tracts_path).exists():
        raise FileNotFoundError(errno.ENOENT, "not built yet", str(tracts_path))
    bounds = tuple(pyogrio.read_info(tracts_path, force_total_bounds=True)["total_bounds"])
    cells = density_cells(bounds, cell_size_m, bandwidth_m)
    estimate = (DENSITY_BASE_MB + DENSITY_BYTES_PER_CELL * cells / 2**20) * max(attempt, 1)
    return int(min(MAX_MEM_MB, round(estimate)))


def machine_memory_mb() -> int:
    """Physical memory of this machine (MB)."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)


def check_density_grid(bounds: tuple[float, float, float, float], cell_size_m: float,
                       bandwidth_m: float | str, limit_mb: int | None = None) -> int:
    """Memory (MB) the density grid needs; raises InputError, before anything is allocated,
    when it exceeds `limit_mb` (default: this machine's memory). `bandwidth_m: auto` is taken
    as 2 km for the estimate."""
    from aiddeserts.errors import InputError

    bandwidth = bandwidth_m if isinstance(bandwidth_m, int | float) else 2000.0
    cells = density_cells(bounds, cell_size_m, bandwidth)
    need_mb = DENSITY_BASE_MB + DENSITY_BYTES_PER_CELL * cells / 2**20
    limit = machine_memory_mb() if limit_mb is None else limit_mb
    if need_mb > limit:
        side = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
        suggested = max(cell_size_m, (DENSITY_BYTES_PER_CELL * (side / 1) ** 2
                                      / max(limit - DENSITY_BASE_MB, 1) / 2**20) ** 0.5)
        raise InputError(
            f"config key 'density.cell_size_m': {cell_size_m:g} m cells make a density grid of "
            f"{cells:,} cells, which needs about {need_mb / 1024:,.1f} GB of memory; this "
            f"machine has {limit / 1024:,.1f} GB.",
            fix=f"raise density.cell_size_m (about {suggested:,.0f} m or more fits; keep it "
            "small against bandwidth_m) or run on a larger machine.")
    return int(need_mb)
