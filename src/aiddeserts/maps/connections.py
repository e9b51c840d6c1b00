"""The "community connections" layer: connection-theme survey questions as a strength.

Tracts where neighbours know and help each other are shown on their own layer (with its
legend), from the published, differentially private survey columns only (post-processing).
The layer never enters the classification: it cannot move a tract toward "desert".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.i18n import N_, _
from aiddeserts.maps.elements import TractLayer
from aiddeserts.maps.rendering import esc

#: Light to dark green: fewer to more connections (a strength, never the deficit colours).
CONNECTION_COLOURS = ("#edf8e9", "#bae4b3", "#74c476", "#238b45")
CONNECTION_BINS = (0.25, 0.5, 0.75)
CONNECTION_WORDS = (N_("Few connections"), N_("Some connections"), N_("Many connections"),
                    N_("Very many connections"))


def question_name(spec: Mapping[str, Any]) -> str:
    """The published column of a `survey.questions` item (as privacy.release names it)."""
    from aiddeserts.privacy.release import Question

    return Question.from_config(spec).name


def connection_questions(questions: Sequence[Mapping[str, Any]], tracts: pd.DataFrame
                         ) -> list[Mapping[str, Any]]:
    """The connection-theme questions the tracts layer carries."""
    return [q for q in questions if q.get("theme") == "connection"
            and question_name(q) in tracts.columns]


def connection_score(tracts: pd.DataFrame, questions: Sequence[Mapping[str, Any]]) -> pd.Series:
    """Per tract, the mean of its shown connection questions on a 0–1 scale (a yes/no share as
    is, a scale's mean as (mean − min) / (max − min)); NaN where none is shown."""
    parts = []
    for q in connection_questions(questions, tracts):
        value = pd.to_numeric(tracts[question_name(q)], errors="coerce").astype(float)
        if q.get("kind") == "scale":
            value = (value - float(q["min"])) / (float(q["max"]) - float(q["min"]))
        parts.append(value.clip(0.0, 1.0))
    if not parts:
        return pd.Series(np.nan, index=tracts.index)
    return pd.concat(parts, axis=1).mean(axis=1, skipna=True)


def _answer_text(q: Mapping[str, Any], value: float) -> str:
    if q.get("kind") == "scale":
        return _("{value} on a scale of {low} to {high}").format(
            value=f"{value:.1f}", low=q["min"], high=q["max"])
    return _("{share}% yes").format(share=f"{value * 100:.0f}")


def add_properties(props: list[dict[str, Any]], tracts: pd.DataFrame, headings: Sequence[str],
                   questions: Sequence[Mapping[str, Any]]) -> bool:
    """Give each tract with a connection score its bin `cn` and popup `cp`; whether any has."""
    chosen = connection_questions(questions, tracts)
    score = connection_score(tracts, chosen).to_numpy()
    any_shown = False
    for i, prop in enumerate(props):
        if not np.isfinite(score[i]):
            continue
        any_shown = True
        level = int(np.searchsorted(CONNECTION_BINS, score[i], side="right"))
        prop["cn"] = level
        lines = [f"<b>{esc(headings[i])}</b>", esc(_(CONNECTION_WORDS[level]))]
        for q in chosen:
            value = tracts[question_name(q)].iat[i]
            if pd.notna(value):
                lines.append(f"{esc(q.get('label') or q['column'])}: "
                             f"{esc(_answer_text(q, float(value)))}")
        lines.append(f"<small>{esc(_('Survey answers with random noise added for privacy.'))}"
                     "</small>")
        prop["cp"] = "<br>".join(lines)
    return any_shown


def connections_legend_html(questions: Sequence[Mapping[str, Any]]) -> str:
    """The green bins, what was asked, and that the layer is a strength."""
    rows = [f"<b>{esc(_('Community connections'))}</b> <small>({esc(_('per tract'))})</small>"]
    for colour, words in zip(CONNECTION_COLOURS, CONNECTION_WORDS, strict=True):
        rows.append(f'<div class="aid-row"><span class="aid-swatch" '
                    f'style="background:{colour}"></span>{esc(_(words))}</div>')
    asked = ", ".join(esc(q.get("label") or q["column"]) for q in questions)
    rows.append(f"<small>{esc(_('From the survey:'))} {asked}. "
                f"{esc(_('A strength: it never makes a tract a desert.'))}</small>")
    return "".join(rows)


def connections_layer(questions: Sequence[Mapping[str, Any]]) -> tuple[TractLayer, str, str]:
    """The layer (tracts with `cn`), its legend label and its legend."""
    colours = json.dumps(list(CONNECTION_COLOURS))
    layer = TractLayer(
        _("Community connections (per tract)"), show=False, popup_key="cp",
        filter_js="f.properties.cn !== undefined",
        style_js=f"{{fillColor: {colours}[f.properties.cn], color: '#2b6d2f', "
                 "weight: 0.5, fillOpacity: 0.75}")
    return layer, _("Community connections"), connections_legend_html(questions)


def about_html(questions: Sequence[Mapping[str, Any]]) -> str:
    """The About panel's lines on what the survey asked (every question, by theme)."""
    if not questions:
        return ""
    themes = {"need": _("need"), "connection": _("community connections"),
              "engagement": _("community engagement")}
    items = "".join(f"<li>{esc(q.get('label') or q['column'])} "
                    f"<small>({esc(themes.get(q.get('theme') or '', ''))})</small></li>"
                    for q in questions)
    intro = _("The community survey also asked:")
    note = _("Every survey number on this map has random noise added (differential privacy), so "
             "no one can work out what a person answered.")
    return f"<p>{esc(intro)}</p><ul>{items}</ul><p><small>{esc(note)}</small></p>"
