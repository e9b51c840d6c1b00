"""Privacy stage (workflow/rules/privacy.smk): consented stories, and the audit that gates
publication (docs/privacy.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aiddeserts.io.files import atomic_path, make_private, read_gpkg, write_csv, write_json


def make_stories(tract_id: str, survey_path: str, out_csv: str) -> None:
    """Consented, redacted stories attached to their tract only: [<tract id>, story]."""
    from aiddeserts.privacy.rules import stories_by_tract

    write_csv(stories_by_tract(read_gpkg(survey_path), tract_id), out_csv)
    make_private(out_csv)


def audit_secrets(survey: Mapping[str, Any] | None, tract_id: str,
                  privacy: Mapping[str, Any], min_respondents: int, tracts_path: str,
                  assets_exact_path: str, out_secrets: str, out_points: str,
                  public_config: Any = None, density_cell_m: float | None = None,
                  places: Mapping[str, Any] | None = None) -> None:
    """What the audit looks for, prepared once for all its parts (:func:`audit_part`):
    respondents, hidden assets, personal values; written owner-only.

    `survey` is the region's survey config (the raw export is read again, every column);
    `privacy` its `privacy` section; `public_config` the config text that outputs show (title,
    map section): with the tool's own words and the displayed assets' public text, a survey
    value found there is not a leak (:func:`aiddeserts.privacy.audit.drop_public_values`).
    `density_cell_m` (`density.cell_size_m`): the density grid, whose picture's corners the
    map holds (public coordinates). The tracts' names and the labels of the places layer
    (`places`: `map.places`), which the maps print, are public text too.
    """
    from aiddeserts.privacy import audit
    from aiddeserts.privacy.rules import assets_for_display

    tracts = read_gpkg(tracts_path)
    # The audit needs each asset's place, tract, name and visibility (no other column).
    assets = read_gpkg(assets_exact_path)
    displayed = assets_for_display(assets, tracts, tract_id, privacy)
    secrets = audit.collect_secrets(survey, tract_id, tracts, assets, displayed,
                                    min_respondents, privacy["audit_ignore_columns"],
                                    density_cell_m=density_cell_m)
    # A drawn asset's text is public, except an asset pinned on a respondent's home: a
    # respondent pasted into the asset list (name and home) stays a leak.
    slack = privacy["audit_slack_m"]
    shown = displayed.loc[~_on_a_home(displayed, secrets.respondents, slack)]
    shown = shown.drop(columns=displayed.geometry.name).astype(str)
    # The places' labels too, but a landmark's at a respondent's home (as for an asset).
    labels = []
    if places:
        from aiddeserts.maps.shapes import read_places

        layer = read_places(places, tracts.crs)
        labels = layer.loc[~_on_a_home(layer, secrets.respondents, slack), "label"].tolist()
    names = tracts["tract_name"].dropna().astype(str).tolist() if "tract_name" in tracts else []
    public = [*audit.tool_texts(), *shown.to_numpy().ravel().tolist(),
              *map(str, tracts[tract_id]), *names, *labels,
              json.dumps(public_config, ensure_ascii=False)]
    audit.drop_public_values(secrets, public)
    with atomic_path(out_secrets) as secrets_tmp, atomic_path(out_points) as points_tmp:
        audit.save_secrets(secrets, secrets_tmp, points_tmp)
    make_private(out_secrets)  # survey values
    make_private(out_points)  # respondents' places


def _on_a_home(frame: Any, respondents: np.ndarray, slack: float) -> np.ndarray:
    """Which of `frame`'s points lie within `slack` metres of a respondent (in its CRS, that of
    `respondents`); other geometries (a neighbourhood's polygon) never do."""
    on_home = np.zeros(len(frame), bool)
    points = np.flatnonzero((frame.geometry.geom_type == "Point").to_numpy())
    if len(respondents) and len(points):
        from scipy.spatial import cKDTree

        geometry = frame.geometry.iloc[points]
        xy = np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])
        on_home[points] = cKDTree(respondents).query(xy)[0] <= slack
    return on_home


def audit_part(secrets_path: str, points_path: str, privacy: Mapping[str, Any],
               staged: Sequence[str], out_part: str) -> None:
    """Audit some staged outputs (one product's files) for the secrets of
    :func:`audit_secrets`; write what was found (file, kind and count of each leak, never a
    value) to `out_part`, private. :func:`privacy_audit` gathers the parts and gates
    publication, so each product is audited as soon as it exists, beside the products still
    being made."""
    from aiddeserts.privacy import audit

    secrets = audit.load_secrets(secrets_path, points_path)
    write_json(audit.scan_files(staged, secrets, privacy), out_part)
    make_private(out_part)  # its survey-derived counts are exact (docs/privacy.md)


def privacy_audit(parts: Sequence[str], order: Sequence[str], out_report: str) -> None:
    """The audit's report from its parts (:func:`audit_part`), files in `order` (the staged
    products' names); written only when nothing leaks, else PrivacyLeakError naming every
    file and kind of leak, so publication never starts."""
    from aiddeserts.privacy import audit

    report = audit.finish_audit([json.loads(Path(part).read_text(encoding="utf-8"))
                                 for part in parts], order)
    write_json(report, out_report)
    make_private(out_report)  # its survey-derived counts are exact (docs/privacy.md)
