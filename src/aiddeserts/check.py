"""`aiddeserts check`: run every input validation alone, write nothing, print a report.

    python -m aiddeserts.check --config mine.yaml [--region NAME ...]
    snakemake check_inputs --configfile mine.yaml      (the same report, as a Snakemake target)

Exit status 0 when every input passes (repairs and dropped rows are listed, not failures),
2 on bad input (the one InputError that would stop the pipeline, naming file, row, column, fix).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from aiddeserts.config import load_config
from aiddeserts.errors import InputError
from aiddeserts.io.assets import read_assets
from aiddeserts.io.crs import working_crs
from aiddeserts.io.rejects import count_rows
from aiddeserts.io.survey import read_survey
from aiddeserts.io.tracts import load_tracts
from aiddeserts.sizing import check_density_grid


def _summarise(kind: str, counts: dict[str, Any], rejects: pd.DataFrame, out: TextIO) -> None:
    print(f"  {kind}: {counts['read']} rows read, {counts['kept']} kept, {counts['rejected']} "
          f"dropped, {counts['repaired']} repaired, {counts['flagged']} flagged", file=out)
    if rejects.empty:
        return
    grouped = rejects.groupby(["source", "action", "reason"], sort=True, dropna=False)
    for (source, action, reason), rows in grouped:
        numbers = rows["row"].dropna().astype(int).tolist()
        where = (f"rows {', '.join(map(str, numbers[:10]))}" + (" ..." if len(numbers) > 10
                                                                else "")) if numbers else "file"
        print(f"    {action}: {source}: {reason} ({len(rows)}x; {where})", file=out)
    require_rows_kept(counts, rejects)


def require_rows_kept(counts: dict[str, Any], rejects: pd.DataFrame) -> None:
    """No silent zero: a source that keeps no row, or drops most of its rows for a reason other
    than lying outside the study area (an expected loss for a statewide list), is no pass."""
    for source, n in counts.get("sources", {}).items():
        if n["read"] == 0:
            continue
        mine = rejects[(rejects["source"] == source) & (rejects["action"] == "dropped")]
        inside = mine[~mine["reason"].str.startswith("outside")]
        if n["kept"] == 0 or len(inside) > n["read"] / 2:
            top = inside["reason"].value_counts() if len(inside) else mine["reason"].value_counts()
            reason = top.index[0] if len(top) else "see above"
            raise InputError(f"{source.split(':', 1)[-1]} keeps {n['kept']} of {n['read']} rows "
                             f"(most dropped: {reason}, {int(top.iloc[0]) if len(top) else 0}x).",
                             path=source.split(":", 1)[-1],
                             fix="fix the rows as the reason says (the report above lists them), "
                             "or point the config at the right columns; a source that keeps "
                             "nothing would map nothing.")


def check_region(name: str, region: dict[str, Any], out: TextIO) -> None:
    """Validate one region's inputs as the pipeline would; raise the first InputError."""
    print(f"region {name}:", file=out)
    if region.get("retrieve"):
        attributes = region["tracts"].get("attributes") or {}
        for key, path in (("tracts.path", region["tracts"]["path"]),
                          ("tracts.attributes.path", attributes.get("path"))):
            if path and not Path(path).exists():
                raise InputError(f"not downloaded yet ({key}).", path=path,
                                 fix="run `aiddeserts run` (or `snakemake retrieve_tracts "
                                 "retrieve_acs`) first: the region's `retrieve` config downloads "
                                 "it; then check again.")
    tracts, rejects, read = load_tracts(region["tracts"])
    crs = working_crs(tracts, region.get("working_crs"))
    for source, n in read.items():
        mine = rejects[rejects["source"] == source]
        _summarise(source.split(":", 1)[0], count_rows({source: n}, rejects), mine, out)
    tracts = tracts.to_crs(crs)
    check_density_grid(tuple(tracts.total_bounds), region["density"]["cell_size_m"],
                       region["density"]["bandwidth_m"])
    assets, rejects, read = read_assets(region, tracts)
    _summarise("assets", count_rows(read, rejects), rejects, out)
    if region.get("survey"):
        id_col = region["tracts"]["id"]
        _, rejects, n = read_survey(region["survey"], tracts, id_col,
                                    region["survey_rules"]["min_respondents"])
        source = f"survey:{region['survey']['path']}"
        _summarise("survey", count_rows({source: n}, rejects), rejects, out)
    print(f"  working CRS {crs.to_string()}; {len(tracts)} tracts, {len(assets)} assets: OK",
          file=out)


def check_regions(config: dict[str, Any], regions: list[str] | None = None,
                  out: TextIO | None = None, source: str = "config") -> int:
    """Validate every input of `regions` (default: all) of a validated `config`; print the report.

    Returns 0 when all inputs pass, 2 on bad input. Nothing is written.
    """
    out = out or sys.stdout
    try:
        names = regions or sorted(config["regions"])
        unknown = [r for r in names if r not in config["regions"]]
        if unknown:
            raise InputError(f"region {unknown[0]!r} is not in the config.", path=source,
                             fix=f"use one of: {', '.join(sorted(config['regions']))}.")
        for name in names:
            check_region(name, config["regions"][name], out)
    except InputError as exc:
        print(f"BAD INPUT: {exc}", file=out)
        return 2
    print("all inputs pass.", file=out)
    return 0


def run_check(config_path: str, regions: list[str] | None = None, out: TextIO | None = None
              ) -> int:
    """Validate the config file and every input of `regions` (default: all); print the report.

    Returns 0 when all inputs pass, 2 on bad input. Nothing is written.
    """
    out = out or sys.stdout
    try:
        config = load_config(config_path)
    except InputError as exc:
        print(f"BAD INPUT: {exc}", file=out)
        return 2
    return check_regions(config, regions, out, source=config_path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiddeserts check", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="config YAML file")
    parser.add_argument("--region", action="append", help="only this region (repeatable)")
    args = parser.parse_args(argv)
    return run_check(args.config, args.region)


if __name__ == "__main__":
    raise SystemExit(main())
