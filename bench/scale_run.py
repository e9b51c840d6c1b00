"""Scale evidence: run a sample of synthetic states for real, extrapolate the whole nation.

    .venv/bin/python bench/scale_run.py [--states S01,S13,S23,S40] [--cores 2] [--cell-size 200]

1. The synthetic nation's state table (bench/synthetic_nation.py: ≈85,000 tracts in 51 states,
   ≈1e6 assets, ≈5e6 survey points); only the sampled states are generated (lazily, per state).
2. `aiddeserts run --cores N` builds the sampled states in parallel, as a scheduled rerun would.
3. Each costly rule's Snakemake benchmark (seconds, peak RSS) is fitted against the quantity that
   drives it (tracts, assets, survey points or density-grid cells) with a straight line, and the
   fit is applied to all 51 states.
4. Results: bench/scale_results.json and bench/scale_results.md (tables); narrative in SCALE.md.

Keep the sample small (the defaults take a few minutes on 2 cores); the extrapolation is a
straight line through few points — read it as an order of magnitude, not a promise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from synthetic_nation import NationSpec, generate_state, state_table

BENCH = Path(__file__).resolve().parent
#: The quantity (or quantities) that drive each costly rule's time and memory.
DRIVER = {
    "ingest_tracts": "tracts",
    "ingest_assets": "assets",
    "ingest_survey": "survey_points",
    "asset_density": "cells",
    # Per tract (bootstrap, contributions) and per km² (the population grid of the distance
    # test, at population_cell_m, before large tracts are thinned): the state's grid cells.
    "classify_tracts": ("tracts", "cells"),
    "web_map": "assets",
}
#: The chain of jobs one state cannot run in parallel (the surveys and assets ingests overlap).
CRITICAL = ["ingest_tracts", "ingest_survey", "asset_density", "classify_tracts", "web_map"]
#: Cheap per-state jobs without benchmarks (summarize, manifest, publish): measured overhead.
SMALL_JOBS_S = 4.0


def grid_cells(area_km2: pd.Series | float, cell_size_m: float) -> pd.Series | float:
    """Density-grid cells over a state's (square) extent."""
    return area_km2 * 1e6 / cell_size_m**2


def compute_seconds(log: Path) -> float:
    """The step's own time ("<rule> done in X s", logged by aiddeserts.logs.run_logged): the
    job's time without the start-up of a Python process and its imports."""
    match = re.search(r"done in ([0-9.]+) s", log.read_text())
    return float(match.group(1)) if match else float("nan")


def read_benchmarks(workdir: Path, states: list[str]) -> pd.DataFrame:
    """One row per (state, rule): seconds and peak RSS (MB) from Snakemake's benchmark files."""
    rows = []
    for state in states:
        for rule in DRIVER:
            path = workdir / "benchmarks" / state / f"{rule}.tsv"
            bench = pd.read_csv(path, sep="\t")
            rows.append({"state": state, "rule": rule, "s": float(bench["s"].iloc[0]),
                         "compute_s": compute_seconds(workdir / "logs" / state / f"{rule}.log"),
                         "max_rss_mb": float(bench["max_rss"].iloc[0])})
    return pd.DataFrame(rows)


def drivers(driver: str | tuple[str, ...]) -> list[str]:
    return [driver] if isinstance(driver, str) else list(driver)


def fit_lines(measured: pd.DataFrame, table: pd.DataFrame) -> dict[str, dict]:
    """Per rule: [intercept, slope per driver] of compute seconds and of peak RSS against the
    rule's driver(s), by non-negative least squares (a negative term would be noise on few
    points), and the job's start-up overhead (median of benchmark seconds minus compute)."""
    from scipy.optimize import nnls

    fits = {}
    for rule, driver in DRIVER.items():
        rows = measured[measured["rule"] == rule].merge(table, on="state")
        design = np.column_stack([np.ones(len(rows))]
                                 + [rows[d].to_numpy(dtype=float) for d in drivers(driver)])
        scale = design.max(axis=0)  # columns of similar size for the solver
        fits[rule] = {"driver": drivers(driver)}
        fits[rule]["overhead_s"] = float((rows["s"] - rows["compute_s"]).median())
        for column in ("compute_s", "max_rss_mb"):
            coef, _ = nnls(design / scale, rows[column].to_numpy(dtype=float))
            fits[rule][column] = [float(c) for c in coef / scale]
    return fits


def predict(fit: list[float], table: pd.DataFrame, driver: list[str]) -> np.ndarray:
    """intercept + Σ slope × driver, per state."""
    return fit[0] + sum(c * table[d].to_numpy(dtype=float) for c, d in zip(fit[1:], driver,
                                                                          strict=True))


def extrapolate(table: pd.DataFrame, fits: dict) -> pd.DataFrame:
    """Predicted seconds and peak memory per state and rule, plus the state's critical path."""
    out = table[["state", "tracts", "assets", "survey_points", "cells"]].copy()
    for rule, fit in fits.items():
        out[f"{rule}_s"] = fit["overhead_s"] + predict(fit["compute_s"], table, fit["driver"])
        out[f"{rule}_mb"] = predict(fit["max_rss_mb"], table, fit["driver"])
    out["cpu_s"] = out[[f"{r}_s" for r in fits]].sum(axis=1) + SMALL_JOBS_S
    out["critical_path_s"] = out[[f"{r}_s" for r in CRITICAL]].sum(axis=1) + SMALL_JOBS_S
    out["peak_mb"] = out[[f"{r}_mb" for r in fits]].max(axis=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", default="S01,S13,S23,S40",
                        help="comma-separated sample of states (see the state table)")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--cell-size", type=float, default=200.0,
                        help="density cell size in metres for the run (default 200)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to generate and run (default: a temporary directory)")
    parser.add_argument("--out", type=Path, default=BENCH)
    parser.add_argument("--analyse-only", action="store_true",
                        help="re-read the benchmarks of a finished --workdir; generate/run nothing")
    args = parser.parse_args()

    spec = NationSpec()
    table = state_table(spec)
    table["cells"] = grid_cells(table["area_km2"], args.cell_size)
    states = args.states.split(",")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aiddeserts-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)

    regions, generate_s, wall_s = {}, {}, float("nan")
    if args.analyse_only:
        previous = json.loads((args.out / "scale_results.json").read_text())
        generate_s, wall_s = previous["generate_s"], previous["sample_wall_s"]
    else:
        for state in states:
            start = time.perf_counter()
            row = table.set_index("state").loc[state].to_dict() | {"state": state}
            regions[state] = generate_state(row, workdir / "raw" / state)
            generate_s[state] = round(time.perf_counter() - start, 2)
            print(f"generated {state} in {generate_s[state]} s", file=sys.stderr)
        config = {"regions": regions, "density": {"cell_size_m": args.cell_size}}
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        start = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(BENCH.parent / "src")}
        result = subprocess.run([sys.executable, "-m", "aiddeserts.cli", "run", "--cores",
                                 args.cores, "--configfile", str(workdir / "config.yaml"),
                                 "-d", str(workdir)], env=env, capture_output=True, text=True)
        wall_s = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(result.stderr[-5000:])

    measured = read_benchmarks(workdir, states)
    fits = fit_lines(measured, table)
    predicted = extrapolate(table, fits)
    cores = int(args.cores)
    nation = {
        "cpu_hours": float(predicted["cpu_s"].sum() / 3600),
        "two_core_hours": float(max(predicted["cpu_s"].sum() / cores,
                                    predicted["critical_path_s"].max()) / 3600),
        "cluster_1000_core_minutes": float(predicted["critical_path_s"].max() / 60),
        "largest_state_peak_mb": float(predicted["peak_mb"].max()),
        "median_state_peak_mb": float(predicted["peak_mb"].median()),
    }
    # The density grid at the default 50 m cells instead of the run's cells (same fit per cell).
    fit = fits["asset_density"]
    cells_50 = grid_cells(table["area_km2"], 50.0)
    nation["density_at_50m_largest_state_mb"] = float(
        fit["max_rss_mb"][0] + fit["max_rss_mb"][1] * cells_50.max())
    nation["density_at_50m_cpu_hours"] = float(
        (fit["overhead_s"] + fit["compute_s"][0] + fit["compute_s"][1] * cells_50).sum() / 3600)
    results = {
        "spec": vars(spec), "cell_size_m": args.cell_size, "cores": cores,
        "sample": states, "generate_s": generate_s, "sample_wall_s": round(wall_s, 1),
        "sample_tracts": int(table.set_index("state").loc[states, "tracts"].sum()),
        "measured": measured.round(3).to_dict(orient="records"), "fits": fits,
        "nation": {k: round(v, 2) for k, v in nation.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale_results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "scale_results.md").write_text(report(results, measured, predicted, table))
    print(json.dumps(results["nation"], indent=2))


def report(results: dict, measured: pd.DataFrame, predicted: pd.DataFrame,
           table: pd.DataFrame) -> str:
    """Markdown tables of the measured sample and the extrapolated nation."""
    sample = measured.pivot(index="state", columns="rule", values="s").round(2)
    compute = measured.pivot(index="state", columns="rule", values="compute_s").round(2)
    rss = measured.pivot(index="state", columns="rule", values="max_rss_mb").round(0)
    drivers = table.set_index("state").loc[results["sample"],
                                           ["tracts", "assets", "survey_points", "cells"]]
    worst = predicted.sort_values("critical_path_s", ascending=False).head(5)
    lines = [
        "# Scale results (generated by bench/scale_run.py; see SCALE.md)", "",
        f"Sample: {', '.join(results['sample'])} ({results['sample_tracts']} tracts), "
        f"{results['cores']} cores, density cell {results['cell_size_m']:.0f} m; "
        f"wall time of `aiddeserts run` on the sample: {results['sample_wall_s']} s.", "",
        "## Sample: what drives each state", "", drivers.to_markdown(), "",
        "## Measured seconds per job (Snakemake benchmark, with process start-up)", "",
        sample.to_markdown(), "",
        "## Measured compute seconds per job (the step itself, from its log)", "",
        compute.to_markdown(), "",
        "## Measured peak memory (MB) per rule", "", rss.to_markdown(), "",
        "## Whole nation (extrapolated)", "",
        "| quantity | value |", "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in results["nation"].items()], "",
        "## Slowest five states (extrapolated)", "",
        worst[["state", "tracts", "assets", "survey_points", "cells", "critical_path_s",
               "cpu_s", "peak_mb"]].round(0).to_markdown(index=False), "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
