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


def synthetic_survey(tracts: gpd.GeoDataFrame, population: pd.Series, poverty_pct: pd.Series,
                     n_respondents: int, seed: int = 20261125) -> pd.DataFrame:
    """A fake survey: respondents placed in tracts by population, unmet need rising with poverty.

    Columns: respondent_id, latitude, longitude, unmet_need, gives_help, knows_neighbours (1–5),
    story, consent_to_share, and fake name/phone/email to exercise the privacy path.
    """
    rng = np.random.default_rng(seed)
    weights = population.fillna(0).clip(lower=0).to_numpy(dtype=float)
    # Response is biased: outreach reached some tracts far more than others.
    weights = weights * rng.lognormal(0.0, 0.8, len(weights))
    per_tract = rng.multinomial(n_respondents, weights / weights.sum())
    points = sample_points_in(tracts.geometry, per_tract, rng)
    wgs = gpd.GeoSeries(points, crs=tracts.crs).to_crs(4326)
    poverty = np.repeat(poverty_pct.fillna(poverty_pct.median()).to_numpy(), per_tract)
    p_unmet = np.clip(0.08 + 0.9 * poverty / 100.0 + rng.normal(0, 0.05, len(poverty)), 0.02, 0.95)
    n = len(wgs)
    ids = np.arange(1, n + 1)
    return pd.DataFrame({
        "respondent_id": [f"S{i:05d}" for i in ids],
        "latitude": wgs.y.round(6).to_numpy(),
        "longitude": wgs.x.round(6).to_numpy(),
        "unmet_need": np.where(rng.random(n) < p_unmet, "yes", "no"),
        "gives_help": np.where(rng.random(n) < 0.4, "yes", "no"),
        "knows_neighbours": rng.integers(1, 6, n),
        "story": rng.choice(np.array(STORIES, dtype=object), n),
        "consent_to_share": rng.choice(np.array(CONSENT_FORMS, dtype=object), n),
        "name": [f"Synthetic Person {i:05d}" for i in ids],
        "phone": [f"555-01{i % 100:02d}-{i:04d}" for i in ids],
        "email": [f"respondent{i:05d}@example.invalid" for i in ids],
    })
