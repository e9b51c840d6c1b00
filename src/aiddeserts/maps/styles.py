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
#: Classes drawn with a pattern over their colour, so they are not told by colour alone (the
#: legend names every class as well): deserts hatched, low access dotted.
CLASS_PATTERNS = {"desert": "hatch", "low_access": "dots"}
#: The bivariate need × access colours (Stevens' 3×3 scheme: need in pink, access in blue, darker
#: is more), by (need_level, access_level); high need is also hatched.
BIVARIATE_COLOURS = {
    ("high", "low"): "#be64ac", ("high", "adequate"): "#8c62aa", ("high", "strong"): "#3b4994",
    ("not_high", "low"): "#dfb0d6", ("not_high", "adequate"): "#a5add3",
    ("not_high", "strong"): "#5698b9",
    ("not_assessed", "low"): "#e8e8e8", ("not_assessed", "adequate"): "#ace4e4",
    ("not_assessed", "strong"): "#5ac8c8",
}
BIVARIATE_PATTERNS = {"high": "hatch"}
#: CSS backgrounds of the legend swatches drawing each pattern over a swatch's colour.
PATTERN_CSS = {
    "hatch": "repeating-linear-gradient(45deg,rgba(0,0,0,.6) 0 1.5px,transparent 1.5px 5px)",
    "dots": "radial-gradient(rgba(0,0,0,.7) 1px,transparent 1.4px) 0 0/5px 5px",
}
#: Hatches of the static figure (matplotlib) for the same patterns.
PATTERN_HATCH = {"hatch": "////", "dots": ".."}


def survey_bin(rate: float) -> int:
    """Index of the survey colour bin for an unmet-need rate (0–1)."""
    return int(np.searchsorted(SURVEY_BINS, rate, side="right"))


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG contrast)."""
    return "#000" if contrast_ratio(background, "#000000") >= contrast_ratio(background,
                                                                               "#ffffff") else "#fff"


def icon_html(shape: str, colour: str, letter: str) -> str:
    """The HTML of a type's marker icon (letter escaped, in black or white as reads best)."""
    return (f'<div class="aid-icon aid-{shape}" style="background:{colour};'
            f'color:{text_colour(colour)}"><span>{esc(letter)}</span></div>')


def swatch_css(colour: str, pattern: str | None) -> str:
    """A legend swatch's CSS `background`: the colour, with the pattern drawn over it."""
    return f"{PATTERN_CSS[pattern]},{colour}" if pattern else colour


def pattern_id(colour: str, pattern: str) -> str:
    """The id of the page's SVG pattern drawing `pattern` over `colour` (patterns.js)."""
    return f"aid-{pattern}-{colour.lstrip('#').lower()}"


def fill_js(fills: list[tuple[str, str | None]]) -> str:
    """A JavaScript array of Leaflet `fillColor`s: a colour, or the url of its SVG pattern."""
    return "[" + ", ".join(f"'url(#{pattern_id(c, p)})'" if p else f"'{c}'"
                           for c, p in fills) + "]"
