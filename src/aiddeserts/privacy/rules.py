"""Privacy by construction: asset visibility, story redaction, geomasking.

Everything here is a pure function over tables; the checks that outputs really hold no personal
data live in :mod:`aiddeserts.privacy.audit`. docs/privacy.md explains the guarantees and limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.errors import InputError

#: Visibility of an asset row: drawn where it is, drawn at an approximate place, or not drawn.
VISIBILITY = ("public", "approximate", "hidden")
REDACTED = "[redacted]"
YES_NO = {"yes", "y", "true", "t", "1", "si", "sí", "oui", "x", "no", "n", "false", "f", "0",
          "non", ""}

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
#: Seven or more digits, optionally with a leading + and separators: phone numbers and the like.
PHONE = re.compile(r"(?<![\w])\+?\d(?:[\s().-]{0,3}\d){6,}(?![\w])")
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,}")
TOKEN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\w+", re.UNICODE)


# ------------------------------------------------------------------------------------ assets
def parse_visibility(values: pd.Series, path: str, column: str,
                     rows: Sequence[int] | None = None) -> pd.Series:
    """Visibility values (case-insensitive; blank means public) checked against VISIBILITY.

    Raises :class:`InputError` naming the file, the 1-based data row (`rows[i]` when given,
    else position + 1) and the column.
    """
    text = values.astype("string").fillna("").str.strip().str.lower()
    text = text.where(text != "", "public")
    bad = ~text.isin(VISIBILITY)
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        row = int(rows[position]) if rows is not None else position + 1
        raise InputError(f"visibility {values.iloc[position]!r} is not one of "
                         f"{', '.join(VISIBILITY)}.", path=path, row=row, column=column,
                         fix="use public, approximate or hidden (blank means public).")
    return text.astype(object)


def snap_to_grid(x: np.ndarray, y: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre of the `cell_m` grid cell (aligned on the CRS origin) holding each point."""
    return ((np.floor(x / cell_m) + 0.5) * cell_m, (np.floor(y / cell_m) + 0.5) * cell_m)


def any_protected(assets: pd.DataFrame) -> bool:
    """Whether any asset is approximate or hidden (else :func:`protected_locations` moves none)."""
    return "visibility" in assets.columns and bool((assets["visibility"] != "public").any())


def protected_locations(assets: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, id_col: str,
                        approximate_to: str, grid_m: float) -> gpd.GeoDataFrame:
    """Assets with every non-public location replaced by a coarse one (`approximate_to` and
    `grid_m`: the region's privacy.approximate_to and privacy.approximate_grid_m).

    `approximate` assets move to their tract's representative point (`approximate_to="tract"`)
    or to the centre of a `grid_m` grid cell (`"grid"`); `hidden` assets always move to their
    tract's representative point. Density, distances and maps use these locations, so no
    output is computed from a protected asset's exact place. Rows without a `visibility`
    column are public. Metric CRS expected for the grid.
    """
    out = assets.copy()
    if "visibility" not in out.columns or out.empty:
        return out
    points = tracts.set_index(id_col).geometry.representative_point()
    visibility = out["visibility"].to_numpy()
    at_tract = (visibility == "hidden") | ((visibility == "approximate")
                                           & (approximate_to == "tract"))
    geometry = out.geometry.to_numpy().copy()
    if at_tract.any():
        geometry[at_tract] = points.reindex(out.loc[at_tract, id_col].to_numpy()).to_numpy()
    on_grid = (visibility == "approximate") & (approximate_to == "grid")
    if on_grid.any():
        gx, gy = snap_to_grid(out.geometry.x.to_numpy()[on_grid],
                              out.geometry.y.to_numpy()[on_grid], grid_m)
        geometry[on_grid] = gpd.points_from_xy(gx, gy)
    out = out.set_geometry(gpd.GeoSeries(geometry, index=out.index, crs=out.crs))
    return out


def assets_for_display(assets: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, id_col: str,
                       settings: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """The assets a map may draw: public ones where they are, approximate ones moved, hidden
    ones left out (they are still counted in tract counts and density, at their tract).
    `settings` is the region's privacy section (config.region_settings)."""
    moved = protected_locations(assets, tracts, id_col, settings["approximate_to"],
                                settings["approximate_grid_m"])
    if "visibility" in moved.columns:
        moved = moved.loc[moved["visibility"] != "hidden"]
    return moved.reset_index(drop=True)


# ---------------------------------------------------------------------------------- stories
def is_distinctive(value: str) -> bool:
    """A value that can identify someone: 4+ characters with a letter, or 7+ digits."""
    text = value.strip()
    if text.lower() in YES_NO or len(text) < 4:
        return False
    return any(ch.isalpha() for ch in text) or sum(ch.isdigit() for ch in text) >= 7


def personal_values_by_column(table: pd.DataFrame, allowed: Iterable[str],
                              min_respondents: int) -> dict[str, list[str]]:
    """Per column outside the allow-list, its distinctive values held by fewer than
    `min_respondents` rows (a value many respondents share, like "yes", identifies nobody)."""
    allowed = set(allowed)
    found: dict[str, list[str]] = {}
    for column in table.columns:
        if column in allowed or column == "row" or column == getattr(table, "_geometry_column_name",
                                                                     None):
            continue
        values = table[column].dropna().astype(str).str.strip()
        counts = values.value_counts()
        found[str(column)] = sorted(v for v, c in counts.items()
                                    if c < min_respondents and is_distinctive(v))
    return found


def personal_values(table: pd.DataFrame, allowed: Iterable[str], min_respondents: int
                    ) -> list[str]:
    """All values of :func:`personal_values_by_column`, sorted and unique."""
    by_column = personal_values_by_column(table, allowed, min_respondents)
    return sorted({v for values in by_column.values() for v in values})


def redact(text: str, personal: Sequence[str] = ()) -> str:
    """`text` with emails, URLs, phone numbers, @handles and the given personal values (whole
    words, case-insensitive, any separators between words) replaced by "[redacted]"."""
    if not text:
        return text
    for pattern in (EMAIL, URL, PHONE):
        text = pattern.sub(REDACTED, text)
    for value in sorted(personal, key=len, reverse=True):
        tokens = TOKEN.findall(value)
        if not tokens:
            continue
        # The value's words with any separators between them ("555-0101" = "555 0101").
        body = r"[\W_]+".join(re.escape(t) for t in tokens)
        text = re.sub(rf"(?<!\w){body}(?!\w)", REDACTED, text, flags=re.IGNORECASE)
    for pattern in (PHONE, HANDLE):  # phones again: digits a redacted value had split
        text = pattern.sub(REDACTED, text)
    return text


def redact_stories(stories: Sequence[str], personal: Sequence[str]) -> list[str]:
    """:func:`redact` every story, only testing the personal values whose longest token occurs
    in it (fast on large surveys)."""
    by_token: dict[str, list[str]] = {}
    for value in personal:
        tokens = TOKEN.findall(value.lower())
        if tokens:
            by_token.setdefault(max(tokens, key=len), []).append(value)
    out = []
    for story in stories:
        tokens = set(TOKEN.findall(str(story).lower()))
        relevant = [v for t in tokens for v in by_token.get(t, [])]
        out.append(redact(str(story), relevant))
    return out


def stories_by_tract(survey: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """Consented, non-empty stories with their tract id only (no point, no respondent order):
    columns [id_col, "story"], sorted by tract then text, so the row order reveals nothing."""
    consented = survey["story_consented"].astype(bool) & (survey["story"].fillna("").str.strip()
                                                          != "")
    table = pd.DataFrame({id_col: survey.loc[consented, id_col].astype(str).to_numpy(),
                          "story": survey.loc[consented, "story"].astype(str).to_numpy()})
    return table.sort_values([id_col, "story"], kind="stable").reset_index(drop=True)


# -------------------------------------------------------------------------------- geomasking
def donut_geomask(points: gpd.GeoSeries, min_m: float, max_m: float, seed: int
                  ) -> gpd.GeoSeries:
    """Move every point in a random direction by a distance between `min_m` and `max_m` metres
    (uniform over the donut's area), seeded so the same input gives the same output.

    For users who must show points; the pipeline itself never draws respondents. The CRS must
    be metric (project first). At least `min_m` always separates a masked point from the true
    one, so nobody sits at their own masked point.
    """
    if not 0 <= min_m < max_m:
        raise ValueError("donut geomasking needs 0 <= min_m < max_m")
    if points.crs is not None and not points.crs.is_projected:
        raise ValueError("donut geomasking needs a projected (metric) CRS")
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2.0 * np.pi, len(points))
    radius = np.sqrt(rng.uniform(min_m**2, max_m**2, len(points)))
    x = points.x.to_numpy() + radius * np.cos(angle)
    y = points.y.to_numpy() + radius * np.sin(angle)
    return gpd.GeoSeries(gpd.points_from_xy(x, y), index=points.index, crs=points.crs)
