"""Need: SVI-style percentile ranks of need variables, and survey unmet-need rates per tract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.privacy import suppression_mask


def percentile_rank(values: pd.Series, higher_is_worse: bool = True) -> pd.Series:
    """(rank − 1) / (N − 1) with ties given the lowest rank, as CDC/ATSDR SVI does.

    Missing values stay missing and do not count in N. 1 is the most need.
    """
    values = pd.to_numeric(values, errors="coerce").astype(float)
    ranked = (values if higher_is_worse else -values).rank(method="min")
    n = int(values.notna().sum())
    if n <= 1:
        return pd.Series(np.where(values.notna(), 0.0, np.nan), index=values.index)
    return (ranked - 1.0) / (n - 1.0)


def need_score(frame: pd.DataFrame, variables: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Per-variable percentile ranks (`rank_<column>`) and their re-ranked mean (`need_score`).

    A tract missing some variables is scored on those it has; missing all, its score is NaN.
    """
    ranks = pd.DataFrame(index=frame.index)
    for spec in variables:
        ranks[f"rank_{spec['column']}"] = percentile_rank(
            frame[spec["column"]], spec.get("higher_is_worse", True))
    mean_rank = ranks.mean(axis=1, skipna=True)
    ranks["need_score"] = percentile_rank(mean_rank)
    return ranks


def survey_by_tract(survey: pd.DataFrame, id_col: str, tract_ids: pd.Series,
                    min_respondents: int) -> pd.DataFrame:
    """Respondents and unmet-need rate per tract; tracts under `min_respondents` are suppressed.

    Suppressed tracts report neither count nor rate (both NaN) and `survey_suppressed` True.
    Suppression is primary (fewer than `min_respondents`) and complementary, so a suppressed
    count cannot be derived from the region's total (see privacy.suppression_mask).
    """
    grouped = survey.groupby(id_col)["unmet_need"].agg(["size", "sum"])
    n = tract_ids.map(grouped["size"]).fillna(0).astype(int)
    unmet = tract_ids.map(grouped["sum"]).fillna(0).astype(int)
    suppressed = suppression_mask(n, min_respondents)
    shown = (n >= min_respondents) & ~suppressed
    return pd.DataFrame({
        "survey_respondents": n.where(shown).astype("Int64"),
        "survey_unmet_rate": (unmet / n.where(shown)).where(shown),
        "survey_suppressed": suppressed,
    }, index=tract_ids.index)
