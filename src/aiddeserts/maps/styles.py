"""Colours, icon shapes and bins of the map's layers (shared by the layers and their legends)."""

from __future__ import annotations

import numpy as np

from aiddeserts.maps.rendering import esc

#: Okabe–Ito for asset types (the classes use it too); each type also gets its own icon shape.
ASSET_COLOURS = ["#0072B2", "#CC79A7", "#009E73", "#E69F00", "#56B4E9", "#D55E00", "#000000"]
ASSET_SHAPES = ["circle", "square", "diamond", "triangle"]
DENSITY_COLOURS = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]
#: Survey unmet-need bins (share of respondents) and their colours (ColorBrewer Purples, CB-safe).
SURVEY_BINS = [0.25, 0.5, 0.75]
SURVEY_COLOURS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"]
SUPPRESSED_COLOUR = "#BDBDBD"
STORY_COLOUR = "#7B3294"


def survey_bin(rate: float) -> int:
    """Index of the survey colour bin for an unmet-need rate (0–1)."""
    return int(np.searchsorted(SURVEY_BINS, rate, side="right"))


def icon_html(shape: str, colour: str, letter: str) -> str:
    """The HTML of a type's marker icon (letter escaped)."""
    return (f'<div class="aid-icon aid-{shape}" style="background:{colour}">'
            f'<span>{esc(letter)}</span></div>')
