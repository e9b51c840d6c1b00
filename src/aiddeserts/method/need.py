"""Need: SVI-style percentile ranks of need variables, and survey unmet-need rates per tract."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.privacy.disclosure import publishable, suppression_mask


def percentile_rank(values: pd.Series, higher_is_worse: bool) -> pd.Series:
    """(rank − 1) / (N − 1) with ties given the lowest rank, as CDC/ATSDR SVI does.

    Missing values stay missing and do not count in N. 1 is the most need.
    """
    values = pd.to_numeric(values, errors="coerce").astype(float)
    ranked = (values if higher_is_worse else -values).rank(method="min")
    n = int(values.notna().sum())
    if n <= 1:
        return pd.Series(np.where(values.notna(), 0.0, np.nan), index=values.index)
    return (ranked - 1.0) / (n - 1.0)


def need_score(frame: pd.DataFrame, variables: Sequence[Mapping[str, Any]],
               eligible: pd.Series | None = None) -> pd.DataFrame:
    """Per-variable percentile ranks (`rank_<column>`) and their re-ranked mean (`need_score`).

    A tract missing some variables is scored on those it has; missing all, its score is NaN.
    Only `eligible` tracts (default: all) are ranked; the others get NaN, as CDC's SVI leaves
    out tracts without population, so empty tracts never shift anyone's rank.
    """
    if eligible is not None:
        eligible = eligible.fillna(False).astype(bool)
        return need_score(frame.loc[eligible], variables).reindex(frame.index)
    ranks = pd.DataFrame(index=frame.index)
    for spec in variables:
        ranks[f"rank_{spec['column']}"] = percentile_rank(
            frame[spec["column"]], spec["higher_is_worse"])
    mean_rank = ranks.mean(axis=1, skipna=True)
    ranks["need_score"] = percentile_rank(mean_rank, higher_is_worse=True)
    return ranks


def survey_by_tract(survey: pd.DataFrame, id_col: str, tract_ids: pd.Series,
                    min_respondents: int) -> pd.DataFrame:
    """Respondents and unmet-need rate per tract; tracts under `min_respondents` are suppressed.

    Suppressed tracts report neither count nor rate (both NaN) and `survey_suppressed` True.
    Suppression is primary (fewer than `min_respondents`) and complementary, so a suppressed
    count cannot be derived from the region's total (see privacy.disclosure).
    """
    grouped = survey.groupby(id_col)["unmet_need"].agg(["size", "sum"])
    n = tract_ids.map(grouped["size"]).fillna(0).astype(int)
    unmet = tract_ids.map(grouped["sum"]).fillna(0).astype(int)
    suppressed = suppression_mask(n, min_respondents)
    shown = publishable(n, min_respondents)
    return pd.DataFrame({
        "survey_respondents": n.where(shown).astype("Int64"),
        "survey_unmet_rate": (unmet / n.where(shown)).where(shown),
        "survey_suppressed": suppressed,
    }, index=tract_ids.index)


#: z of the ACS's 90 % margins of error: SE = MOE / 1.645 (Census Bureau, ACS handbook).
ACS_Z90 = 1.645


def empirical_bayes_rate(events: pd.Series, trials: pd.Series) -> tuple[pd.Series, float, float]:
    """Unmet-need rates shrunk toward the regional rate (global empirical Bayes, beta-binomial).

    With p̄ = Σy/Σn the regional rate and, by the method of moments (Marshall 1991, adapted to
    proportions), between-tract variance τ² = Σn(p − p̄)²/Σn − p̄(1 − p̄)/n̄, the prior strength is
    m = p̄(1 − p̄)/τ² − 1 "pseudo-respondents" and each tract's rate is (y + m·p̄)/(n + m): a tract
    with few respondents stays near the regional rate, one with many keeps its own. When τ² ≤ 0
    (no detectable variation beyond chance) every tract gets p̄. Tracts with no respondent: NaN.

    Returns (smoothed rates, p̄, m).
    """
    y = pd.to_numeric(events, errors="coerce").fillna(0).astype(float)
    n = pd.to_numeric(trials, errors="coerce").fillna(0).astype(float)
    answered = n > 0
    if not answered.any():
        return pd.Series(np.nan, index=n.index), float("nan"), float("nan")
    p_bar = float(y[answered].sum() / n[answered].sum())
    rate = y[answered] / n[answered]
    spread = float((n[answered] * (rate - p_bar) ** 2).sum() / n[answered].sum())
    tau2 = spread - p_bar * (1.0 - p_bar) / float(n[answered].mean())
    if tau2 <= 0 or p_bar in (0.0, 1.0):
        strength = float("inf")
        smoothed = pd.Series(p_bar, index=n.index)
    else:
        strength = max(p_bar * (1.0 - p_bar) / tau2 - 1.0, 0.0)
        smoothed = (y + strength * p_bar) / (n + strength)
    return smoothed.where(answered), p_bar, strength


def min_ranks(values: np.ndarray) -> np.ndarray:
    """Per column, each value's rank among the column's non-NaN values, ties given the lowest
    (1 + how many are smaller); NaN stays NaN. `scipy.stats.rankdata(values, method="min",
    axis=0, nan_policy="omit")` without importing scipy.stats (the ranks are whole numbers, so
    the same floats)."""
    values = np.asarray(values, dtype=float)
    shape = values.shape
    if values.ndim == 1:
        values = values[:, None]
    if values.shape[0] == 0:
        return values.reshape(shape).copy()
    order = np.argsort(values, axis=0, kind="stable")  # NaN last
    ordered = np.take_along_axis(values, order, axis=0)
    position = np.arange(values.shape[0])[:, None]
    starts = np.ones(values.shape, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]  # each run of equal values starts its rank
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    ranks = np.empty(values.shape)
    np.put_along_axis(ranks, order, first + 1.0, axis=0)
    return np.where(np.isnan(values), np.nan, ranks).reshape(shape)


def rank_matrix(values: np.ndarray, higher_is_worse: bool) -> np.ndarray:
    """`percentile_rank` applied to each column of a 2-D array (tracts × draws) at once."""
    values = np.asarray(values, dtype=float)
    signed = values if higher_is_worse else -values
    ranked = min_ranks(signed)
    n = np.sum(~np.isnan(values), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (ranked - 1.0) / (n - 1.0)
    out = np.where(n > 1, out, 0.0)
    return np.where(np.isnan(values), np.nan, out)


def need_score_interval(frame: pd.DataFrame, variables: Sequence[Mapping[str, Any]],
                        eligible: pd.Series, *, draws: int, seed: int,
                        level: float = 0.9) -> pd.DataFrame:
    """The need score's `level` interval from the ACS margins of error (Monte Carlo).

    Each variable with a `moe` column is redrawn `draws` times as Normal(estimate, MOE/1.645)
    (seeded), the SVI ranking is redone on every draw, and the interval is the central `level`
    share of each tract's scores (`need_score_low`, `need_score_high`). Variables without a MOE
    are held fixed. Ranks are among `eligible` tracts only, as for the score itself.
    """
    rng = np.random.default_rng(seed)
    index = frame.index[eligible.to_numpy()]
    ranks = []
    for spec in variables:
        est = pd.to_numeric(frame.loc[index, spec["column"]], errors="coerce").to_numpy(float)
        values = np.repeat(est[:, None], draws, axis=1)
        if spec.get("moe") and spec["moe"] in frame:
            se = pd.to_numeric(frame.loc[index, spec["moe"]], errors="coerce").to_numpy(float)
            se = np.nan_to_num(np.abs(se) / ACS_Z90)
            values = values + rng.standard_normal(values.shape) * se[:, None]
        ranks.append(rank_matrix(values, spec["higher_is_worse"]))
    with np.errstate(invalid="ignore"), warnings_ignored():
        mean_rank = np.nanmean(np.stack(ranks), axis=0)
    scores = rank_matrix(mean_rank, higher_is_worse=True)
    tail = (1.0 - level) / 2.0
    with warnings_ignored():
        low = row_nanquantile(scores, tail)
        high = row_nanquantile(scores, 1.0 - tail)
    out = pd.DataFrame({"need_score_low": np.nan, "need_score_high": np.nan}, index=frame.index)
    out.loc[index, "need_score_low"] = low
    out.loc[index, "need_score_high"] = high
    return out


def row_nanquantile(values: np.ndarray, q: float) -> np.ndarray:
    """``np.nanquantile(values, q, axis=1)``, the same numbers, without numpy's Python call per
    row: rows without NaN in one ``np.quantile``, the others grouped by their count of values
    (NaN sorts last), all-NaN rows NaN."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape[0], np.nan)
    counts = np.sum(~np.isnan(values), axis=1)
    full = counts == values.shape[1]
    if full.any() and values.shape[1]:
        out[full] = np.quantile(values[full], q, axis=1)
    partial = np.flatnonzero(~full & (counts > 0))
    if len(partial):
        ordered = np.sort(values[partial], axis=1)
        for count in np.unique(counts[partial]):
            rows = counts[partial] == count
            out[partial[rows]] = np.quantile(ordered[rows, :count], q, axis=1)
    return out


@contextmanager
def warnings_ignored() -> Iterator[None]:
    """Silence numpy's 'all-NaN slice' warnings (tracts with no need data stay NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def survey_smoothed(survey: pd.DataFrame, id_col: str, tract_ids: pd.Series,
                    min_respondents: int) -> tuple[pd.Series, float, float]:
    """Empirical-Bayes unmet-need rate per tract (`empirical_bayes_rate`), from all respondents,
    reported only where the tract's figures are publishable (privacy.disclosure; NaN elsewhere).

    Returns (rates, regional rate, prior strength m).
    """
    grouped = survey.groupby(id_col)["unmet_need"].agg(["size", "sum"])
    n = tract_ids.map(grouped["size"]).fillna(0)
    unmet = tract_ids.map(grouped["sum"]).fillna(0)
    rate, p_bar, strength = empirical_bayes_rate(unmet, n)
    return rate.where(publishable(n, min_respondents)), p_bar, strength
