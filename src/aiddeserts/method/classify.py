"""Classify tracts: desert, fragile, served, strength, insufficient_data."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = ("desert", "fragile", "served", "strength", "insufficient_data")

METRES_PER_MILE = 1609.344


def distance_words(metres: float) -> str:
    """A distance as people say it: metres below a mile, else miles ("800 m", "10 miles")."""
    if metres < 0.95 * METRES_PER_MILE:
        return f"{metres:,.0f} m"
    miles = metres / METRES_PER_MILE
    return "1 mile" if round(miles, 1) == 1 else f"{miles:.3g} miles"


def class_definitions(catchment_m: float = 800.0, far_rural_m: float = 16_093.0
                      ) -> dict[str, str]:
    """Plain-language definitions for the map legend, popups and figure, naming the region's
    configured distances (`classification.catchment_m`, `far_rural_m`)."""
    return {
        "desert": "High need and low access: few mutual aid assets nearby for the people who "
        "need them most.",
        "fragile": f"High need, but only one asset within reach ({distance_words(catchment_m)} "
        f"in towns, {distance_words(far_rural_m)} in the countryside): one closure away from a "
        "desert.",
        "served": "Assets are within reach relative to need.",
        "strength": "A community strength: notably many assets nearby.",
        "insufficient_data": "Too few residents (parks, airports) or no need data to judge.",
    }


#: The definitions with the default distances.
CLASS_DEFINITIONS = class_definitions()

#: Okabe–Ito colours (colour-blind safe).
CLASS_COLOURS = {
    "desert": "#D55E00",
    "fragile": "#E69F00",
    "served": "#56B4E9",
    "strength": "#009E73",
    "insufficient_data": "#BBBBBB",
}
CLASS_LABELS = {
    "desert": "Mutual aid desert",
    "fragile": "Fragile (one asset away)",
    "served": "Served",
    "strength": "Community strength",
    "insufficient_data": "Insufficient data",
}


def classify(population: pd.Series, need_score: pd.Series, access_score: pd.Series,
             assets_within_catchment: pd.Series, *, need_threshold: float,
             low_access_density: float, strength_density: float, min_population: float,
             access_low: pd.Series | None = None) -> pd.DataFrame:
    """Class of each tract, with the two tests it rests on (`need_high`, `access_low`).

    Need is relative (a percentile within the region); access is absolute (assets per km², and,
    when `access_low` is given, the distance test of `confidence.AccessRule` too), so a tract's
    access test does not depend on which other tracts the region holds.
    """
    need_high = need_score >= need_threshold
    if access_low is None:
        access_low = access_score < low_access_density
    no_data = population.isna() | (population < min_population) | need_score.isna()
    conditions = [
        no_data,
        access_score >= strength_density,
        need_high & access_low,
        need_high & (assets_within_catchment <= 1),
    ]
    labels = np.select(conditions, ["insufficient_data", "strength", "desert", "fragile"],
                       default="served")
    return pd.DataFrame({
        "desert_class": labels,
        "is_desert": labels == "desert",
        "need_high": need_high.fillna(False).astype(bool),
        "access_low": access_low.fillna(False).astype(bool),
    }, index=population.index)
