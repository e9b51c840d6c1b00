"""A seeded synthetic nation for scale tests: ≈85,000 tracts in 51 states, ≈1e6 assets, ≈5e6
survey points — generated lazily, one state at a time, so no step holds the whole nation.

The state table (:func:`state_table`) is cheap: how many tracts, assets and survey points each
state has and its land area (lognormal, like real states: a few large ones, a long tail of small
ones). :func:`generate_state` writes one state's files in the pipeline's input formats:

* ``tracts.gpkg`` — Voronoi polygons of seed points (shapely.voronoi_polygons) clipped to the
  state's square; seeds cluster in cities, so urban tracts are small and rural ones large;
  population ≈ 4,000 per tract; need variables poverty_pct and median_income.
* ``assets.csv`` — lat/lon, name, type; mostly near dense tracts, some rural.
* ``survey.csv`` — lat/lon, unmet_need, story, consent_to_share and fake personal fields.

Coordinates are built in CONUS Albers (EPSG:5070, metres) around the same centre for every state
(each state is processed on its own, so overlap is irrelevant) and written as WGS84 lat/lon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

ALBERS = "EPSG:5070"
CENTRE = (0.0, 1_900_000.0)  # EPSG:5070 metres, central Kansas
ASSET_TYPES = np.array(["community_fridge", "food_pantry", "free_store", "mutual_aid_network"])


@dataclass(frozen=True)
class NationSpec:
    """Size of the synthetic nation (defaults: roughly the United States)."""

    states: int = 51
    tracts: int = 85_000
    assets: int = 1_000_000
    survey_points: int = 5_000_000
    land_km2: float = 9_100_000.0
    seed: int = 20261125


def _apportion(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integers ≥ `minimum` summing exactly to `total`, proportional to `weights`
    (largest-remainder method)."""
    spare = total - minimum * len(weights)
    share = weights / weights.sum() * spare
    counts = np.floor(share).astype(np.int64)
    remainder = spare - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:remainder]] += 1
    return counts + minimum


def state_table(spec: NationSpec = NationSpec()) -> pd.DataFrame:
    """One row per state: state (S01…), tracts, assets, survey_points, area_km2, seed."""
    rng = np.random.default_rng(spec.seed)
    size = rng.lognormal(0.0, 0.9, spec.states)
    tracts = _apportion(spec.tracts, size, minimum=60)
    # Assets and survey effort follow population (tracts) with state-level noise.
    assets = _apportion(spec.assets, tracts * rng.lognormal(0.0, 0.3, spec.states))
    survey = _apportion(spec.survey_points, tracts * rng.lognormal(0.0, 0.5, spec.states))
    # Land area is only loosely tied to population: large empty states exist.
    area_weight = tracts ** 0.4 * rng.lognormal(0.0, 0.8, spec.states)
    area = area_weight / area_weight.sum() * spec.land_km2
    return pd.DataFrame({
        "state": [f"S{i + 1:02d}" for i in range(spec.states)],
        "tracts": tracts, "assets": assets, "survey_points": survey,
        "area_km2": area.round(1), "seed": spec.seed + 1 + np.arange(spec.states),
    })


def _seed_points(n: int, side_m: float, rng: np.random.Generator) -> np.ndarray:
    """Tract seeds in [0, side)²: 70 % in cities (Gaussian clusters), 30 % spread out."""
    n_urban = int(round(0.7 * n))
    cities = max(1, n // 400)
    city_xy = rng.uniform(0.15 * side_m, 0.85 * side_m, (cities, 2))
    city_size = _apportion(n_urban, rng.pareto(1.2, cities) + 1.0, minimum=0)
    parts = []
    for (cx, cy), k in zip(city_xy, city_size, strict=True):
        sigma = 1_200.0 * np.sqrt(max(k, 1))  # ≈ 1.2 km tract spacing at the core
        parts.append(rng.normal((cx, cy), sigma, (k, 2)))
    parts.append(rng.uniform(0, side_m, (n - n_urban, 2)))
    xy = np.vstack(parts)
    # Seeds that fell outside the state move to random places inside (clipping would stack
    # them on the border, and Voronoi cells need distinct seeds).
    outside = ((xy < 0) | (xy >= side_m)).any(axis=1)
    xy[outside] = rng.uniform(0, side_m, (int(outside.sum()), 2))
    return xy


def _voronoi_tracts(xy: np.ndarray, side_m: float, x0: float, y0: float) -> np.ndarray:
    """Voronoi cells of the seeds clipped to the state's square, in seed order."""
    square = shapely.box(x0, y0, x0 + side_m, y0 + side_m)
    points = shapely.points(xy[:, 0] + x0, xy[:, 1] + y0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points),
                                                       extend_to=square, ordered=True))
    return shapely.intersection(cells, square)


def _jitter_around(xy: np.ndarray, weights: np.ndarray, n: int, scale_m: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points near seeds picked with probability ∝ `weights`, spread by each seed's scale;
    also returns the picked seed of each point."""
    pick = rng.choice(len(xy), size=n, p=weights / weights.sum())
    return xy[pick] + rng.normal(0.0, 1.0, (n, 2)) * scale_m[pick, None], pick


def generate_state(row: pd.Series | dict[str, Any], out_dir: str | Path) -> dict[str, Any]:
    """Write one state's tracts.gpkg, assets.csv and survey.csv into `out_dir`; return its
    region config (for the pipeline's ``regions:`` mapping). Deterministic for a given row."""
    row = dict(row)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(row["seed"]))
    n, side = int(row["tracts"]), float(np.sqrt(row["area_km2"]) * 1000.0)
    x0, y0 = CENTRE[0] - side / 2, CENTRE[1] - side / 2
    seeds = _seed_points(n, side, rng)
    cells = _voronoi_tracts(seeds, side, x0, y0)
    areas = shapely.area(cells)
    spacing = np.sqrt(np.maximum(areas, 1.0)) / 2.0  # a point's spread: half a tract's width
    population = np.clip(rng.normal(4_000, 1_200, n), 0, None).round()
    population[rng.random(n) < 0.01] = 0  # parks, airports
    density = population / np.maximum(areas / 1e6, 1e-3)
    poverty = np.clip(rng.beta(2, 8, n) * 100 + 4 * np.log1p(density / 1000), 0, 100).round(1)
    income = np.clip(rng.lognormal(np.log(70_000), 0.45, n) * (1 - poverty / 150), 8_000, 400_000)
    geoid = [f"{row['state']}{i:06d}" for i in range(n)]
    tracts = gpd.GeoDataFrame({"GEOID": geoid, "population": population,
                               "poverty_pct": poverty, "median_income": income.round(-2)},
                              geometry=cells, crs=ALBERS)
    tracts.to_file(out_dir / "tracts.gpkg", layer="tracts", driver="GPKG", engine="pyogrio")

    to_wgs = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    origin = np.array([x0, y0])
    urban = population * density  # assets and respondents concentrate where people are dense
    n_assets = int(row["assets"])
    n_rural = n_assets // 5
    axy = np.vstack([_jitter_around(seeds, np.maximum(urban, 1e-9), n_assets - n_rural,
                                    spacing, rng)[0],
                     rng.uniform(0, side, (n_rural, 2))]) + origin
    lon, lat = to_wgs.transform(axy[:, 0], axy[:, 1])
    pd.DataFrame({"lat": np.round(lat, 6), "lon": np.round(lon, 6),
                  "name": [f"{row['state']} asset {i}" for i in range(n_assets)],
                  "type": rng.choice(ASSET_TYPES, n_assets)}
                 ).to_csv(out_dir / "assets.csv", index=False, lineterminator="\n")

    n_survey = int(row["survey_points"])
    sxy, home = _jitter_around(seeds, np.maximum(population, 1e-9), n_survey, spacing, rng)
    sxy = sxy + origin
    lon, lat = to_wgs.transform(sxy[:, 0], sxy[:, 1])
    p_unmet = np.clip(0.1 + 0.8 * poverty[home] / 100, 0.02, 0.95)
    pd.DataFrame({"lat": np.round(lat, 6), "lon": np.round(lon, 6),
                  "unmet_need": np.where(rng.random(n_survey) < p_unmet, "yes", "no"),
                  "story": "", "consent_to_share": np.where(rng.random(n_survey) < 0.3, "yes", "no"),
                  "email": [f"r{i}@example.invalid" for i in range(n_survey)]}
                 ).to_csv(out_dir / "survey.csv", index=False, lineterminator="\n")
    return {
        "title": f"Synthetic state {row['state']}",
        "tracts": {"path": str(out_dir / "tracts.gpkg"), "layer": "tracts", "id": "GEOID",
                   "population": "population",
                   "need": ["poverty_pct", {"column": "median_income", "higher_is_worse": False}]},
        "assets": {"path": str(out_dir / "assets.csv"), "lat": "lat", "lon": "lon",
                   "name": "name", "type": "type"},
        "survey": {"path": str(out_dir / "survey.csv"), "lat": "lat", "lon": "lon",
                   "need": "unmet_need", "story": "story", "consent": "consent_to_share"},
    }
