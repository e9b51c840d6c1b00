"""Classify tracts on two measured axes, need × access, in classes that say only what was measured.

Need: high / not high / not assessed (no need variables configured). Access: low / adequate /
strong (absolute tests). A class never claims more than its two axes: `served` means the access
test passed, `low_access` is low access where need is not high (or not assessed).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from aiddeserts.i18n import N_, _, current_language, number, significant

#: Every value of `desert_class` (a public contract: extend, never rename).
CLASSES = ("desert", "fragile", "low_access", "served", "strength", "insufficient_data")
#: `need_level` and `access_level`: the two axes behind the class (and the bivariate map).
NEED_LEVELS = ("high", "not_high", "not_assessed")
ACCESS_LEVELS = ("low", "adequate", "strong")

METRES_PER_MILE = 1609.344


def distance_words(metres: float) -> str:
    """A distance as people say it: metres below a mile, else miles ("800 m", "10 miles")."""
    return _distance_words(float(metres), current_language())


@cache
def _distance_words(metres: float, language: str) -> str:
    """:func:`distance_words` in `language` (the current one), once per distance: the map's
    popups say the same few distances thousands of times."""
    if metres < 0.95 * METRES_PER_MILE:
        return _("{distance} m").format(distance=number(metres))
    miles = metres / METRES_PER_MILE
    return _("1 mile") if round(miles, 1) == 1 else _("{miles} miles").format(
        miles=significant(miles))


def class_definitions(catchment_m: float, far_rural_m: float, need_assessed: bool = True
                      ) -> dict[str, str]:
    """Plain-language definitions for the map legend, popups and figure, naming the region's
    configured distances (`classification.catchment_m`, `far_rural_m`). Without need data the
    definitions say need was not assessed."""
    reach = _("{town} in towns, {countryside} in the countryside").format(
        town=distance_words(catchment_m), countryside=distance_words(far_rural_m))
    if not need_assessed:
        return {
            "desert": _("Not used: need was not assessed, so no tract is called a desert."),
            "fragile": _("Access passes, but only one asset within reach ({reach}): one closure "
                         "away from low access.").format(reach=reach),
            "low_access": _("Low access: few known assets within reach of the people here "
                            "(need was not assessed)."),
            "served": _("Access passes: known assets are within reach of most people here."),
            "strength": _("A community strength: notably many assets nearby."),
            "insufficient_data": _("Too few residents (parks, airports) to judge."),
        }
    return {
        "desert": _("High need and low access: few mutual aid assets nearby for the people who "
                    "need them most."),
        "fragile": _("High need, access passes, but only one asset within reach ({reach}): one "
                     "closure away from a desert.").format(reach=reach),
        "low_access": _("Low access, need not high: few known assets within reach, in a tract "
                        "whose need is not among the region's highest."),
        "served": _("Access passes: known assets are within reach of most people here."),
        "strength": _("A community strength: notably many assets nearby."),
        "insufficient_data": _("Too few residents (parks, airports) or no need data to judge."),
    }


#: Okabe–Ito colours (colour-blind safe).
CLASS_COLOURS = {
    "desert": "#D55E00",
    "fragile": "#E69F00",
    "low_access": "#CC79A7",
    "served": "#56B4E9",
    "strength": "#009E73",
    "insufficient_data": "#BBBBBB",
}
#: Class names in English (marked for the catalogue; :func:`class_label` gives them translated).
CLASS_LABELS = {
    "desert": N_("Mutual aid desert"),
    "fragile": N_("Fragile (one asset away)"),
    "low_access": N_("Low access (need not high)"),
    "served": N_("Served (access passes)"),
    "strength": N_("Community strength"),
    "insufficient_data": N_("Insufficient data"),
}


def class_label(desert_class: str) -> str:
    """The class's name in the current language."""
    return _(CLASS_LABELS[desert_class])


def classify(population: pd.Series, need_score: pd.Series, access_score: pd.Series,
             assets_within_catchment: pd.Series, access_low: pd.Series, *, need_threshold: float,
             strength_density: float, min_population: float | None,
             need_assessed: bool = True) -> pd.DataFrame:
    """Class of each tract from its two axes, with the tests it rests on.

    Need is relative (a percentile within the region); access is absolute (`access_low`, the
    density and distance tests of `confidence.AccessRule`), so a tract's access test does not
    depend on which other tracts the region holds. In this order:

    * `insufficient_data`: fewer than `min_population` residents (None: no population data,
      no test) or, with need assessed, no need score;
    * `desert`: high need and low access; `low_access`: low access, need not high or not
      assessed;
    * `strength`: access passes and mean density ≥ `strength_density`;
    * `fragile`: access passes with at most one asset within reach, and high need (or need not
      assessed);
    * `served`: access passes.

    So no `served`, `fragile` or `strength` tract fails the access test.
    """
    low = access_low.fillna(False).astype(bool)
    need_high = (need_score >= need_threshold).fillna(False).astype(bool) if need_assessed \
        else pd.Series(False, index=population.index)
    no_data = pd.Series(False, index=population.index)
    if min_population is not None:
        no_data |= population.isna() | (population < min_population)
    if need_assessed:
        no_data |= need_score.isna()
    strong = ~low & (access_score >= strength_density)
    one_away = ~low & (assets_within_catchment <= 1) & (need_high | (not need_assessed))
    labels = np.select([no_data, need_high & low, low, strong, one_away],
                       ["insufficient_data", "desert", "low_access", "strength", "fragile"],
                       default="served")
    need_level = np.where(need_high, "high", "not_high") if need_assessed else \
        np.full(len(population), "not_assessed")
    access_level = np.select([low, strong], ["low", "strong"], default="adequate")
    return pd.DataFrame({
        "desert_class": labels,
        "is_desert": labels == "desert",
        "need_high": need_high,
        "access_low": low,
        "need_level": need_level,
        "access_level": access_level,
    }, index=population.index)
