"""Summary stage (workflow/rules/publish.smk, rule summarize): summary.json and rejects.csv."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.io.files import read_density_tags, read_gpkg, read_json, write_csv, write_json


def summarize(region_name: str, title: str | None, parameters: Mapping[str, Any],
              counts_paths: Sequence[str], rejects_paths: Sequence[str], tracts_path: str,
              density_path: str, out_summary: str, out_rejects: str,
              inventory_path: str | None = None, survey_release_path: str | None = None
              ) -> None:
    """summary.json (counts read/kept/rejected, parameters and the bandwidth used, classes,
    confidence, and with `inventory_path` the inventory's counts) and the merged rejects.csv.

    With `survey_release_path` (the classify stage's release record) summary.json carries it as
    `privacy.survey_release`, and no exact survey count is published: the survey's rows read,
    kept and rejected stay in data/processed/ (rejects_survey.csv, for the organizer), and
    `inputs.survey` shows the release's noisy total instead (docs/privacy.md)."""
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
    release = read_json(survey_release_path) if survey_release_path else None
    if release is not None and "survey" in counts:
        # Exact survey counts would undo the release's guarantee: only the noisy total.
        rejects = rejects.loc[~rejects["source"].str.startswith("survey:")]
        counts["survey"] = {"configured": bool(release.get("configured")),
                            **({"respondents_released": release["respondents_total"]}
                               if release.get("configured") else {})}
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
        **({"inventory": inventory_summary(read_gpkg(inventory_path), tracts)}
           if inventory_path else {}),
        **({"privacy": {"survey_release": release}} if release else {}),
    }, out_summary)


def inventory_summary(inventory: pd.DataFrame, tracts: pd.DataFrame) -> dict[str, Any]:
    """Assets by status (active, stale, closed), the community-reported ones, and
    `deserts_if_stale_removed`: the high-need tracts not already deserts (nor without data)
    that have at least one asset within their distance threshold (`far_threshold_m`, from the
    representative point) and only stale ones — without the stale assets they would have none
    within reach, the distance test's mark of low access. An estimate without reclassifying:
    density and the share of people beyond reach are not recomputed."""
    from aiddeserts.method.catchment import assets_within

    counted = inventory.loc[inventory["status"] != "closed"]
    stale = inventory.loc[inventory["status"] == "stale"]
    rep = tracts.geometry.representative_point()
    rep_xy = np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()])
    far = tracts["far_threshold_m"].to_numpy(float)
    def xy(frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])

    within_all = assets_within(rep_xy, xy(counted), far)
    within_stale = assets_within(rep_xy, xy(stale), far)
    candidates = (tracts["need_high"].astype(bool) & ~tracts["is_desert"].astype(bool)
                  & (tracts["desert_class"] != "insufficient_data")).to_numpy()
    at_risk = candidates & (within_stale > 0) & (within_all == within_stale)
    return {
        **{status: int((inventory["status"] == status).sum())
           for status in ("active", "stale", "closed")},
        "community_reported": int(inventory["community_reported"].astype(bool).sum()),
        "deserts_if_stale_removed": int(at_risk.sum()),
    }


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
