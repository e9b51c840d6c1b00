"""Disclosure control of survey numbers: the one path every published survey figure passes.

A tract's survey figures (respondents, rates, smoothed rates, response disparity, anything
computed from its respondents) are published only where :func:`publishable` says so, so no
rule re-implements suppression and no figure of a hidden tract slips out beside it.
"""

from __future__ import annotations

import pandas as pd


def suppression_mask(counts: pd.Series, min_respondents: int) -> pd.Series:
    """Cells (tracts) whose survey results must not be shown: primary and complementary.

    Primary: 0 < n < k. Complementary: the region's total is public (summary.json), so the
    suppressed cells' sum is derivable as total − shown. While exactly one cell is suppressed,
    or the suppressed cells hold fewer than k respondents in all, the shown cell with the
    fewest respondents (ties: first in order) is suppressed too. Cells with no respondents are
    never suppressed (they reveal nothing).
    """
    n = counts.fillna(0).astype(int)
    suppressed = (n > 0) & (n < min_respondents)
    if not suppressed.any():
        return suppressed
    candidates = n[(n >= min_respondents)].sort_values(kind="stable")
    for index in candidates.index:
        if suppressed.sum() >= 2 and n[suppressed].sum() >= min_respondents:
            break
        suppressed[index] = True
    return suppressed


def publishable(counts: pd.Series, min_respondents: int) -> pd.Series:
    """Tracts whose survey figures may be published: at least `min_respondents` respondents and
    not hidden by complementary suppression (:func:`suppression_mask`)."""
    n = counts.fillna(0).astype(int)
    return (n >= min_respondents) & ~suppression_mask(n, min_respondents)


def hidden(counts: pd.Series, min_respondents: int) -> pd.Series:
    """Tracts with respondents whose figures must not be published (primary or complementary)."""
    n = counts.fillna(0).astype(int)
    return (n > 0) & ~publishable(n, min_respondents)
