"""Summary stage (workflow/rules/publish.smk, rule summarize): summary.json and rejects.csv."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from aiddeserts.io.files import read_density_tags, read_gpkg, read_json, write_csv, write_json


def summarize(region_name: str, title: str | None, parameters: Mapping[str, Any],
              counts_paths: Sequence[str], rejects_paths: Sequence[str], tracts_path: str,
              density_path: str, out_summary: str, out_rejects: str) -> None:
    """summary.json (counts read/kept/rejected, parameters and the bandwidth used, classes,
    confidence) and the merged rejects.csv."""
    from aiddeserts.method.classify import CLASSES

    counts: dict[str, Any] = {}
    for path in counts_paths:
        counts.update(read_json(path))
    rejects = pd.concat([pd.read_csv(p, dtype={"source": str, "reason": str, "name": str},
                                     keep_default_na=False, na_values={"row": [""]})
                         for p in rejects_paths], ignore_index=True)
    # `name`: an asset row's public name (blank elsewhere), so the row is found without
    # opening the file by record number.
    rejects["name"] = rejects["name"].fillna("") if "name" in rejects else ""
    rejects = rejects[["source", "row", "name", "reason", "action"]]
    tracts = read_gpkg(tracts_path)
    classes = tracts["desert_class"].value_counts()
    write_csv(rejects, out_rejects)
    write_json({
        "region": region_name,
        "title": title or region_name,
        "inputs": counts,
        "rejects_total": len(rejects),
        "parameters": parameters,
        "classes": {c: int(classes.get(c, 0)) for c in CLASSES},
        "tracts_total": len(tracts),
        "population_in_deserts": float(tracts.loc[tracts["is_desert"], "population"].sum()),
        "bandwidth_m_used": read_density_tags(density_path)[1],
        "confidence": confidence_summary(tracts),
    }, out_summary)


def confidence_summary(tracts: pd.DataFrame) -> dict[str, int]:
    """Counts behind the deserts' confidence (docs/method.md, section 5)."""
    deserts = tracts[tracts["is_desert"]]
    return {
        "deserts_lifted_by_one_asset": int((deserts["robustness_margin"] == 1).sum()),
        "deserts_stable_90pct": int((deserts["desert_stability"] >= 0.9).sum()),
        "deserts_need_uncertain": int(deserts["need_uncertain"].sum()),
        "tracts_need_uncertain": int(tracts["need_uncertain"].sum()),
        "cold_spots": int(tracts["cold_spot"].sum()),
        "tracts_survey_under_represented": int((tracts["survey_bias_flag"] == "under").sum()),
    }
