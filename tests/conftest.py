"""Shared fixtures: small synthetic cities with known answers, written in real file formats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
#: UTM 18N, around New York; the synthetic city's origin.
CRS = "EPSG:32618"
X0, Y0 = 580_000.0, 4_500_000.0


def grid_tracts(n: int = 4, size: float = 1000.0) -> gpd.GeoDataFrame:
    """n×n square tracts of `size` metres; ids T00..; population 1000 each."""
    cells = [box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)
             for j in range(n) for i in range(n)]
    ids = [f"T{k:02d}" for k in range(n * n)]
    return gpd.GeoDataFrame({"TRACT_CODE": ids, "pop": 1000.0,
                             "poverty": np.linspace(5, 50, n * n)}, geometry=cells, crs=CRS)


def points_lonlat(xy: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(gpd.points_from_xy(*zip(*xy, strict=True)), crs=CRS).to_crs(4326)
    return pts.y.to_numpy(), pts.x.to_numpy()


@pytest.fixture
def tiny_region(tmp_path: Path) -> dict:
    """A 4×4 km city: shapefile tracts without .prj (CRS from config), id column TRACT_CODE,
    assets as CSV, a survey CSV with personal fields. Returns the config dict."""
    raw = tmp_path / "raw"
    raw.mkdir()
    tracts = grid_tracts()
    tracts.to_file(raw / "tracts.shp")
    (raw / "tracts.prj").unlink()
    # Assets cluster in the low-poverty south-west; the high-poverty north-east has none.
    xy = [(X0 + 300 + 150 * k, Y0 + 300 + 100 * (k % 3)) for k in range(6)]
    lat, lon = points_lonlat(xy)
    pd.DataFrame({"Latitude": lat, "Longitude": lon,
                  "Site": [f"Fridge {k}" for k in range(6)],
                  "Kind": ["fridge", "pantry"] * 3}).to_csv(raw / "assets.csv", index=False)
    rng = np.random.default_rng(1)
    sx = X0 + rng.uniform(0, 4000, 200)
    sy = Y0 + rng.uniform(0, 4000, 200)
    slat, slon = points_lonlat(list(zip(sx, sy, strict=True)))
    pd.DataFrame({"lat": slat, "lon": slon, "need": np.where(sx + sy - X0 - Y0 > 4000, "yes", "no"),
                  "story": "my story", "consent": rng.choice(["yes", "no"], 200),
                  "name": [f"Canary Name {i}" for i in range(200)],
                  "email": [f"canary{i}@example.invalid" for i in range(200)]}
                 ).to_csv(raw / "survey.csv", index=False)
    return {
        "regions": {"tiny": {
            "title": "Tiny test city",
            "tracts": {"path": str(raw / "tracts.shp"), "id": "TRACT_CODE", "population": "pop",
                       "need": ["poverty"], "crs": CRS},
            "assets": {"path": str(raw / "assets.csv"), "lat": "Latitude", "lon": "Longitude",
                       "name": "Site", "type": "Kind"},
            "survey": {"path": str(raw / "survey.csv"), "lat": "lat", "lon": "lon",
                       "need": "need", "story": "story", "consent": "consent"},
        }},
        "density": {"bandwidth_m": 800, "cell_size_m": 25},
        "classification": {"min_population": 10},
    }


def run_snakemake(workdir: Path, config: dict, *targets: str, extra: tuple[str, ...] = ()
                  ) -> subprocess.CompletedProcess:
    """Run the real workflow in `workdir` with `config` (written to workdir/config.yaml)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *targets, *extra, "--configfile", str(cfg)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)


def asset_region(sources: dict | list[dict], tract_id: str = "TRACT_CODE") -> dict:
    """The part of a region the asset reader uses: the tract id and the asset source(s), with
    the schema's point-source defaults filled in as the validated config has them."""
    from aiddeserts.config import load_schema

    properties = load_schema()["$defs"]["point_source"]["properties"]
    defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
    listed = sources if isinstance(sources, list) else [sources]
    return {"tracts": {"id": tract_id}, "assets": [{**defaults, **source} for source in listed]}
