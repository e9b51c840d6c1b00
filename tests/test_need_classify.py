"""Need ranks (SVI rule), survey suppression, and the classification rules, on known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aiddeserts.method.classify import classify
from aiddeserts.method.need import need_score, percentile_rank, survey_by_tract


def test_percentile_rank_follows_svi_with_ties_lowest():
    ranks = percentile_rank(pd.Series([10.0, 20.0, 20.0, 40.0, np.nan]), higher_is_worse=True)
    assert ranks.iloc[:4].tolist() == pytest.approx([0.0, 1 / 3, 1 / 3, 1.0])
    assert np.isnan(ranks.iloc[4])


def test_percentile_rank_lower_is_worse():
    ranks = percentile_rank(pd.Series([30000.0, 90000.0, 60000.0]), higher_is_worse=False)
    assert ranks.tolist() == [1.0, 0.0, 0.5]


def test_need_score_combines_variables_and_reranks():
    frame = pd.DataFrame({"poverty": [5.0, 10.0, 40.0], "income": [90.0, 50.0, 20.0]})
    scores = need_score(frame, [{"column": "poverty", "higher_is_worse": True},
                                {"column": "income", "higher_is_worse": False}])
    assert scores["need_score"].tolist() == [0.0, 0.5, 1.0]
    assert scores["rank_income"].tolist() == [0.0, 0.5, 1.0]


def test_survey_rates_are_suppressed_below_k():
    # b (4) and d (9) are suppressed together (13 ≥ k between them), so a stays shown; see
    # tests/test_privacy.py for complementary suppression.
    survey = pd.DataFrame({"tid": ["a"] * 12 + ["b"] * 4 + ["d"] * 9,
                           "unmet_need": [True] * 6 + [False] * 19})
    table = survey_by_tract(survey, "tid", pd.Series(["a", "b", "c", "d"]), min_respondents=11)
    assert table["survey_unmet_rate"].iloc[0] == pytest.approx(0.5)
    assert table["survey_respondents"].iloc[0] == 12
    assert pd.isna(table["survey_respondents"].iloc[1]) and table["survey_suppressed"].iloc[1]
    assert not table["survey_suppressed"].iloc[2]


def run_classify(population, need, access, nearby, need_assessed=True, min_population=100):
    access = pd.Series(access, dtype=float)
    return classify(pd.Series(population, dtype=float), pd.Series(need, dtype=float),
                    access, pd.Series(nearby), access < 1.0, need_threshold=0.75,
                    strength_density=6.0, min_population=min_population,
                    need_assessed=need_assessed)


def test_classes_on_known_cases():
    out = run_classify(population=[5000, 5000, 5000, 5000, 20, 5000, 5000],
                       need=[0.9, 0.9, 0.9, 0.2, 0.9, 0.1, 0.2],
                       access=[0.1, 3.0, 3.0, 0.1, 0.0, 9.0, 3.0],
                       nearby=[0, 1, 4, 0, 0, 12, 1])
    assert out["desert_class"].tolist() == ["desert", "fragile", "served", "low_access",
                                            "insufficient_data", "strength", "served"]
    assert out["is_desert"].tolist() == [True, False, False, False, False, False, False]
    assert out["need_level"].tolist() == ["high", "high", "high", "not_high", "high",
                                          "not_high", "not_high"]
    assert out["access_level"].tolist() == ["low", "adequate", "adequate", "low", "low",
                                            "strong", "adequate"]
    # Only what was measured: no served, fragile or strength tract fails the access test.
    assert not out.loc[out["desert_class"].isin(["served", "fragile", "strength"]),
                       "access_low"].any()


def test_classes_without_need_or_population_rest_on_access_alone():
    out = run_classify(population=[np.nan] * 4, need=[np.nan] * 4, access=[0.1, 3.0, 3.0, 9.0],
                       nearby=[0, 1, 4, 12], need_assessed=False, min_population=None)
    assert out["desert_class"].tolist() == ["low_access", "fragile", "served", "strength"]
    assert not out["is_desert"].any()
    assert set(out["need_level"]) == {"not_assessed"}


def test_access_is_absolute_not_relative():
    """Adding empty countryside to the region does not change an urban tract's access test."""
    city = run_classify([5000, 5000], [0.9, 0.2], [0.5, 4.0], [0, 5])
    with_country = run_classify([5000, 5000, 300, 300], [0.9, 0.2, 0.1, 0.1],
                                [0.5, 4.0, 0.0, 0.0], [0, 5, 0, 0])
    assert city["access_low"].tolist() == with_country["access_low"].tolist()[:2]
    assert with_country["desert_class"].iloc[0] == "desert"


def test_distance_words_and_class_definitions():
    from aiddeserts.method.classify import class_definitions, distance_words

    assert [distance_words(m) for m in (400, 1500, 1550, 16_093.0, 48_280)] == [
        "400 m", "1,500 m", "1 mile", "10 miles", "30 miles"]
    assert "(800 m in towns, 10 miles in the countryside)" in class_definitions(
        800, 16_093.0)["fragile"]
    assert "need was not assessed" in class_definitions(800, 16_093.0, need_assessed=False)[
        "low_access"]
    assert "(1,200 m in towns, 20 miles" in class_definitions(1200, 32_186.88)["fragile"]
