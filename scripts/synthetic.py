"""Seeded synthetic data: a survey for the demo (no real survey may be published)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

STORIES = (
    "The fridge on our block is empty by noon most days.",
    "Neighbours share rides to the pantry on Saturdays.",
    "I did not know there was a free store near here until this survey.",
    "Our tenants' association runs a grocery run every week.",
    "The closest pantry is two buses away, so I rarely go.",
    "I cook extra and drop it at the church on Sundays.",
    "",
)
CONSENT_FORMS = ("yes", "Y", "true", "1", "sí", "no", "N", "false", "0", "")


def sample_points_in(geometries: gpd.GeoSeries, counts: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """`counts[i]` uniformly random points inside each geometry (rejection sampling)."""
    out = []
    for geom, n in zip(geometries, counts, strict=True):
        if n == 0:
            continue
        minx, miny, maxx, maxy = geom.bounds
        found: list = []
        while len(found) < n:
            xs = rng.uniform(minx, maxx, 4 * n)
            ys = rng.uniform(miny, maxy, 4 * n)
            pts = shapely.points(xs, ys)
            found.extend(pts[shapely.contains(geom, pts)][: n - len(found)])
        out.extend(found)
    return np.array(out, dtype=object)


def outreach_tracts(population: pd.Series, n_tracts: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """Indices of the `n_tracts` populated tracts an outreach campaign reached (chosen at random,
    by population): a survey dense enough to show per tract once noise is added."""
    weights = population.fillna(0).clip(lower=0).to_numpy(dtype=float)
    return np.sort(rng.choice(len(weights), size=min(n_tracts, int((weights > 0).sum())),
                              replace=False, p=weights / weights.sum()))


def synthetic_survey(tracts: gpd.GeoDataFrame, population: pd.Series, poverty_pct: pd.Series,
                     n_respondents: int, seed: int = 20261125, n_tracts: int = 40
                     ) -> pd.DataFrame:
    """A fake survey: respondents concentrated in `n_tracts` outreach tracts (30–120 each, so
    the differentially private release shows them), unmet need rising with poverty, and the
    connectedness questions of data/raw/forms/connectedness.xlsx varying by tract.

    Columns: respondent_id, latitude, longitude, unmet_need, keys_with_neighbour,
    knows_neighbours (1–5), helped_neighbour, helped_by_neighbour, community_group, story,
    consent_to_share, and fake name/phone/email to exercise the privacy path.
    """
    rng = np.random.default_rng(seed)
    reached = outreach_tracts(population, n_tracts, rng)
    # Response is biased: outreach reached some of these tracts far more than others.
    weights = rng.lognormal(0.0, 0.4, len(reached))
    per_reached = 30 + rng.multinomial(n_respondents - 30 * len(reached), weights / weights.sum())
    per_tract = np.zeros(len(tracts), dtype=int)
    per_tract[reached] = per_reached
    points = sample_points_in(tracts.geometry, per_tract, rng)
    wgs = gpd.GeoSeries(points, crs=tracts.crs).to_crs(4326)
    poverty = np.repeat(poverty_pct.fillna(poverty_pct.median()).to_numpy(), per_tract)
    p_unmet = np.clip(0.08 + 0.9 * poverty / 100.0 + rng.normal(0, 0.05, len(poverty)), 0.02, 0.95)
    # Each tract's connectedness: a tract effect shared by the connection answers.
    bond = np.repeat(rng.normal(0.0, 1.0, len(tracts)), per_tract)
    n = len(wgs)

    def share(base: float) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(base + 0.9 * bond + rng.normal(0, 0.3, n))))
        return np.where(rng.random(n) < p, "yes", "no")

    knows = np.clip(np.round(3.0 + 0.9 * bond + rng.normal(0, 1.0, n)), 1, 5).astype(int)
    ids = np.arange(1, n + 1)
    return pd.DataFrame({
        "respondent_id": [f"S{i:05d}" for i in ids],
        "latitude": wgs.y.round(6).to_numpy(),
        "longitude": wgs.x.round(6).to_numpy(),
        "unmet_need": np.where(rng.random(n) < p_unmet, "yes", "no"),
        "keys_with_neighbour": share(0.0),
        "knows_neighbours": knows,
        "helped_neighbour": share(-0.5),
        "helped_by_neighbour": share(-0.8),
        "community_group": np.where(rng.random(n) < 0.3, "yes", "no"),
        "story": rng.choice(np.array(STORIES, dtype=object), n),
        "consent_to_share": rng.choice(np.array(CONSENT_FORMS, dtype=object), n),
        "name": [f"Synthetic Person {i:05d}" for i in ids],
        "phone": [f"555-01{i % 100:02d}-{i:04d}" for i in ids],
        "email": [f"respondent{i:05d}@example.invalid" for i in ids],
    })
