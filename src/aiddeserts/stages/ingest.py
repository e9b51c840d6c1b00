"""Ingest stage (workflow/rules/ingest.smk): read, validate and join a region's raw inputs.

Respondent-level data stays under data/processed/<region>/; rejected and repaired rows are
listed (never quoted) in the stage's rejects table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aiddeserts.io.files import (
    make_private,
    read_gpkg,
    write_csv,
    write_gpkg,
    write_json,
)


def ingest_tracts(tracts: Mapping[str, Any], working_crs: str | None, out_tracts: str,
                  out_rejects: str, out_counts: str) -> None:
    """Read and validate tracts (+ attributes) as configured under `tracts`, reprojected to
    `working_crs` (None: pyproj's UTM estimate)."""
    from aiddeserts.io.crs import working_crs as projected_crs
    from aiddeserts.io.rejects import count_rows
    from aiddeserts.io.tracts import load_tracts

    frame, rejects, read = load_tracts(tracts)
    crs = projected_crs(frame, working_crs)
    write_gpkg(frame.to_crs(crs), out_tracts, layer="tracts", intermediate=True)
    write_csv(rejects, out_rejects)
    counts: dict[str, Any] = {"working_crs": crs.to_string()}
    for source, n in read.items():
        counts[source.split(":", 1)[0]] = count_rows({source: n}, rejects)
    write_json(counts, out_counts)


def ingest_assets(sources: Sequence[Mapping[str, Any]], corrections: Sequence[Mapping[str, Any]],
                  inventory: Mapping[str, Any], tract_id: str, approximate_to: str,
                  approximate_grid_m: float, tracts_path: str, out_assets: str,
                  out_rejects: str, out_counts: str, out_exact: str, out_inventory: str) -> None:
    """Read every asset source, apply the `corrections`, join to tracts, keep the allow-listed
    columns.

    `out_inventory` holds every asset with its inventory status (active, stale, closed:
    `inventory` settings), `out_assets` the ones that count (closed ones left out). Both hold
    them where analysis may use them: `approximate` and `hidden` assets moved to their tract's
    representative point or an `approximate_grid_m` grid cell (`approximate_to`), so density and
    distances never rest on their exact place; `out_exact` keeps every asset at its exact place
    (for the privacy audit only).
    """
    from aiddeserts.io.assets import read_assets
    from aiddeserts.io.corrections import apply_corrections, inventory_status
    from aiddeserts.io.rejects import concat_rejects, count_rows
    from aiddeserts.privacy import rules as privacy

    tracts = read_gpkg(tracts_path)
    assets, rejects, read = read_assets({"assets": list(sources), "tracts": {"id": tract_id}},
                                        tracts)
    assets, fixes, fixes_read = apply_corrections(assets, corrections, tracts, tract_id)
    assets["status"] = inventory_status(assets, inventory["stale_after_days"],
                                        inventory["as_of"]).to_numpy()
    write_gpkg(assets, out_exact, layer="assets", intermediate=True)
    make_private(out_exact)  # hidden assets' exact places
    if privacy.any_protected(assets):
        assets = privacy.protected_locations(assets, tracts, tract_id, approximate_to,
                                             approximate_grid_m)
    write_gpkg(assets, out_inventory, layer="inventory", intermediate=True)
    counted = assets.loc[assets["status"] != "closed"].reset_index(drop=True)
    write_gpkg(counted, out_assets, layer="assets", intermediate=True)
    write_csv(concat_rejects([rejects, fixes]), out_rejects)
    counts = {"assets": count_rows(read, rejects)}
    if corrections:
        counts["corrections"] = count_rows(fixes_read, fixes)
    write_json(counts, out_counts)


def ingest_survey(survey: Mapping[str, Any] | None, tract_id: str, min_respondents: int,
                  tracts_path: str, out_survey: str, out_rejects: str, out_counts: str) -> None:
    """Read the survey (if configured), keeping only allow-listed fields; stays private."""
    from aiddeserts.io.rejects import count_rows, empty_rejects
    from aiddeserts.io.survey import read_survey

    tracts = read_gpkg(tracts_path)
    if survey:
        answers, rejects, read = read_survey(survey, tracts, tract_id, min_respondents)
        counts = count_rows({f"survey:{survey['path']}": read}, rejects)
    else:
        answers = tracts.iloc[:0][[tract_id, "geometry"]].assign(
            unmet_need=pd.Series(dtype=bool), story_consented=pd.Series(dtype=bool),
            story=pd.Series(dtype=str))
        rejects = empty_rejects()
        counts = count_rows({}, rejects)
    write_gpkg(answers, out_survey, layer="survey", intermediate=True)
    # Respondents' places: owner only, and so is the region's folder of intermediate files.
    make_private(out_survey, Path(out_survey).parent)
    write_csv(rejects, out_rejects)
    write_json({"survey": {**counts, "configured": bool(survey)}}, out_counts)
    # The rejected rows quote respondents' answers; the counts are exact: owner only as well.
    make_private(out_rejects, out_counts)
