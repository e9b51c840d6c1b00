"""Survey responses reduced to an allow-list (location, unmet need, the configured questions,
consented and redacted story).

A survey is personal: names, phones, e-mails and every other column are dropped here and never
written, and no message about the file (errors, fixes, rejects reasons) quotes a cell or a column
name other than the configured ones (:func:`aiddeserts.io.points.read_points` with
``personal=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.errors import InputError
from aiddeserts.io.columns import parse_yes_no, require_columns
from aiddeserts.io.points import assign_tracts, read_points
from aiddeserts.io.rejects import concat_rejects, make_rejects
from aiddeserts.privacy import rules as privacy

__all__ = ["question_columns", "read_survey", "survey_allow_list"]


def survey_allow_list(survey_config: Mapping[str, Any]) -> list[str]:
    """The only survey columns the pipeline reads: location, unmet need, story, consent and the
    `survey.questions` columns."""
    keys = {"lat": "lat", "lon": "lon", "geopoint": None, "need": None, "story": None,
            "consent": None}
    fixed = [c for k, d in keys.items() if (c := survey_config.get(k, d))]
    return [*fixed, *question_columns(survey_config)]


#: Columns of the ingested survey that a question column may not take.
RESERVED = ("unmet_need", "story_consented", "story", "geometry")


def question_columns(survey_config: Mapping[str, Any]) -> list[str]:
    """The `survey.questions` columns, in order."""
    return [str(q["column"]) for q in survey_config.get("questions") or []]


def question_answers(attrs: pd.DataFrame, survey_config: Mapping[str, Any]) -> dict[str, Any]:
    """Each question's answers as the release reads them: yes/no as a nullable boolean, a scale
    as a number (NaN: no answer). An unreadable answer counts as no answer; nothing is quoted."""
    out: dict[str, Any] = {}
    for spec in survey_config.get("questions") or []:
        column = str(spec["column"])
        if spec.get("kind") == "scale":
            out[column] = pd.to_numeric(attrs[column], errors="coerce").to_numpy(dtype=float)
        else:
            out[column] = pd.array(parse_yes_no(attrs[column]).to_numpy(), dtype="boolean")
    return out


def read_survey(survey_config: Mapping[str, Any], tracts: gpd.GeoDataFrame, id_col: str,
                min_respondents: int) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Survey responses reduced to an allow-list: location, unmet need, consented story.

    Names, phones, emails and every other column are dropped here and never written.
    A story is kept only when the consent column says yes (yes/Y/true/1/sí...), with personal
    details redacted (see :func:`aiddeserts.privacy.rules.redact`; `min_respondents` is the
    region's survey_rules.min_respondents, as in privacy.personal_values); a consent answer
    that is not recognised withholds the story and is flagged.
    """
    name = f"survey:{survey_config['path']}"
    points, table, rejects = read_points(survey_config, name, tracts, personal=True)
    need, story, consent = (survey_config.get(k) for k in ("need", "story", "consent"))
    wanted = [("need", need), ("story", story), ("consent", consent),
              *(("questions", c) for c in question_columns(survey_config))]
    require_columns(table.columns.drop("row").tolist(), wanted, survey_config["path"],
                    personal=True)
    taken = [c for c in question_columns(survey_config) if c in (*RESERVED, id_col, need)]
    if taken:
        raise InputError(f"survey.questions lists the column '{taken[0]}', which the survey "
                         f"already uses for another purpose.", path=survey_config["path"],
                         fix="list only question columns under survey.questions (not the need, "
                             "story, consent or location columns).")
    points, outside = assign_tracts(points, tracts, id_col, name)
    attrs = table.set_index("row").loc[points["row"]]
    unmet = parse_yes_no(attrs[need]).to_numpy()
    stories = (attrs[story].astype("string").fillna("").str.strip().to_numpy()
               if story else np.full(len(points), ""))
    if consent:
        answers = parse_yes_no(attrs[consent])
        consented = answers.fillna(False).to_numpy(dtype=bool)
        unclear = (answers.isna().to_numpy() & (stories != "")
                   & (attrs[consent].astype("string").fillna("").str.strip() != "").to_numpy())
    else:
        consented = np.zeros(len(points), bool)
        unclear = np.zeros(len(points), bool)
    personal = privacy.personal_values(table, survey_allow_list(survey_config), min_respondents)
    stories = np.array(privacy.redact_stories(np.where(consented, stories, ""), personal),
                       dtype=object)
    survey = gpd.GeoDataFrame({
        id_col: points[id_col].to_numpy(),
        "unmet_need": pd.array(unmet, dtype="boolean"),
        "story_consented": consented,
        "story": np.where(consented, stories, ""),
        **question_answers(attrs, survey_config),
    }, geometry=points.geometry.to_numpy(), crs=tracts.crs)
    unparsed = survey["unmet_need"].isna().to_numpy()
    bad_need = make_rejects(name, points.loc[unparsed, "row"].tolist(),
                            f"unmet-need answer in '{need}' is not yes/no")
    unclear_consent = make_rejects(name, points.loc[unclear & ~unparsed, "row"].tolist(),
                                   f"consent answer in '{consent}' is not yes/no: story withheld",
                                   "repaired")
    survey = survey.loc[~unparsed].reset_index(drop=True)
    survey["unmet_need"] = survey["unmet_need"].astype(bool)
    return survey, concat_rejects([rejects, outside, bad_need, unclear_consent]), len(table)
