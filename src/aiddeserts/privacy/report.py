"""What of the privacy audit's report is published: no count that follows from the survey."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Counts of the audit's report that follow from the survey (exact numbers of respondents, of
#: their values, of public pins near them): they stay in the private report
#: (data/processed/<region>/privacy_audit.json) and never reach the published summary.json, so
#: two published runs cannot be differenced for them (issue #15: no exact survey count is public).
SURVEY_COUNTS = ("respondents_checked", "public_asset_pins_near_respondents",
                 "personal_values_in_public_text")


def public_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The audit's report as summary.json publishes it: survey-derived counts left out (see
    :data:`SURVEY_COUNTS`); the kinds of survey values checked are named, without their numbers."""
    public = {key: value for key, value in report.items() if key not in SURVEY_COUNTS}
    if "personal_values_checked" not in report:  # not an audit report of values: as it is
        return public
    checked = report["personal_values_checked"]
    survey_kinds = sorted(k for k in checked if k.startswith("personal value from survey")
                          or k == "story without consent")
    public["personal_values_checked"] = {k: v for k, v in checked.items() if k not in survey_kinds}
    public["survey_values_checked"] = survey_kinds
    public["survey_counts"] = "private: data/processed/<region>/privacy_audit.json"
    return public
