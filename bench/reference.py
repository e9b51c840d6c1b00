"""The expert's single-process reference of the core chain, for bench/run.py's `critical` entry.

    python bench/reference.py CONFIG REGION OUT_DIR [--root DIR]

One process, no workflow manager: read the tracts (+ attribute table) and the assets named in
the region's configuration, project them to the working CRS (the configured one, else the UTM
zone pyproj estimates), keep the assets inside a tract (each once), binned-FFT KDE of the
assets, each tract's mean density (zonal means, with the cell under the representative point for
a tract holding no cell centre), the FARA-style distance test (population spread over 100 m
cells, the share of it farther than the urban or rural threshold from every asset), and write
the density GeoTIFF and a tracts GeoPackage. On the NYC demo its `access_score` and
`share_beyond_threshold` equal the pipeline's.

Which code: the method kernels are aiddeserts' own, so the comparison measures everything but
the kernels (orchestration, process start-up, imports, reading and writing, validation, the
products beyond the core chain): `aiddeserts.method.density` (linear binning + one real FFT with
scipy.fft), `aiddeserts.method.zonal.zone_raster` (rasterio.features.rasterize),
`aiddeserts.method.access.tract_density` (numpy bincount), `aiddeserts.method.catchment`
(`population_points`, `is_urban`, `share_beyond`: scipy.spatial.cKDTree). Reading and writing
are geopandas/pyogrio, pandas and rasterio. Defaults are the configuration schema's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

T0 = time.perf_counter()

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
import yaml  # noqa: E402

from aiddeserts.method import access, catchment, density  # noqa: E402
from aiddeserts.method.zonal import zone_raster  # noqa: E402

DENSITY = {"kernel": "quartic", "bandwidth_m": 1000, "cell_size_m": 50}
CLASSIFICATION = {"urban_density": 386.1, "far_urban_m": 805, "far_rural_m": 16093,
                  "population_cell_m": 100, "population_points_max": 400}


def read_tracts(spec: dict[str, Any], root: Path) -> gpd.GeoDataFrame:
    """The tract polygons with their id and population column (joined from the attribute table
    when the population lives there)."""
    tracts = gpd.read_file(root / spec["path"], layer=spec.get("layer"), engine="pyogrio")
    if tracts.crs is None:
        tracts = tracts.set_crs(spec["crs"])
    id_col, pop_col = spec["id"], spec["population"]
    attributes = spec.get("attributes")
    if pop_col not in tracts and attributes:
        table = pd.read_csv(root / attributes["path"], dtype={attributes["id"]: str},
                            usecols=[attributes["id"], pop_col])
        tracts[id_col] = tracts[id_col].astype(str)
        tracts = tracts.merge(table, left_on=id_col, right_on=attributes["id"], how="left")
    return tracts[[id_col, pop_col, tracts.geometry.name]]


def read_assets(specs: dict[str, Any] | list[dict[str, Any]], root: Path) -> gpd.GeoDataFrame:
    """All asset points with their name and type, lon/lat (CSV columns) or any vector file, as
    one frame in EPSG:4326."""
    parts = []
    for spec in specs if isinstance(specs, list) else [specs]:
        path = root / spec["path"]
        named = [c for c in (spec.get("name"), spec.get("type")) if c]
        if path.suffix.lower() == ".csv":
            lat, lon = spec.get("lat", "lat"), spec.get("lon", "lon")
            table = pd.read_csv(path, usecols=[lat, lon, *named]).dropna(subset=[lat, lon])
            frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table[lon], table[lat]),
                                     crs=4326)
        else:
            frame = gpd.read_file(path, engine="pyogrio", columns=named).to_crs(4326)
        frame["name"] = frame[spec["name"]] if spec.get("name") else ""
        frame["type"] = frame[spec["type"]] if spec.get("type") else spec.get("type_value", "")
        parts.append(frame[["name", "type", "geometry"]])
    points = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(points[~points.is_empty & points.geometry.notna()], crs=4326)


def write_tif(values: np.ndarray, grid: density.Grid, crs: Any, path: Path) -> None:
    profile = {"driver": "GTiff", "height": grid.height, "width": grid.width, "count": 1,
               "dtype": "float32", "crs": crs, "transform": grid.transform, "nodata": -9999.0,
               "compress": "deflate", "tiled": True}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.where(np.isnan(values), -9999.0, values).astype("float32"), 1)


def run(config: dict[str, Any], region_name: str, root: Path, out_dir: Path) -> dict[str, float]:
    """The core chain; returns the seconds of each step."""
    region = config["regions"][region_name]
    dens = {**DENSITY, **config.get("density", {})}
    cls = {**CLASSIFICATION, **config.get("classification", {})}
    steps: dict[str, float] = {}
    t = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = now - t
        t = now

    tracts = read_tracts(region["tracts"], root)
    assets = read_assets(region["assets"], root)
    step("read")
    crs = region.get("working_crs") or tracts.estimate_utm_crs()
    tracts = tracts.to_crs(crs)
    assets = assets.to_crs(crs)
    # Only assets inside a tract, and each once (same place to 1 m, name and type), as the
    # pipeline's ingest keeps them.
    assets = assets.iloc[np.unique(tracts.sindex.query(assets.geometry, predicate="within")[0])]
    x, y = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    key = pd.DataFrame({"x": x.round(0), "y": y.round(0), "type": assets["type"].astype(str).to_numpy(),
                        "name": assets["name"].astype(str).str.strip().str.lower().to_numpy()})
    once = ~key.duplicated().to_numpy()
    x, y = x[once], y[once]
    step("project")
    bandwidth = density.resolve_bandwidth(dens["bandwidth_m"], x, y, dens["kernel"])
    grid = density.grid_for_bounds(tuple(tracts.total_bounds), dens["cell_size_m"])
    values = density.kernel_density(x, y, grid, kernel=dens["kernel"], bandwidth=bandwidth)
    step("kde")
    zones = zone_raster(tracts.geometry, grid)
    values = np.where(zones > 0, values, np.nan)
    out = tracts.copy()
    out["access_score"] = access.tract_density(tracts, np.nan_to_num(values), grid,
                                               zones).round(4)
    step("zonal")
    population = out[region["tracts"]["population"]].astype(float)
    urban = catchment.is_urban(population, tracts.geometry.area / 1e6, cls["urban_density"])
    far_m = np.where(urban, cls["far_urban_m"], cls["far_rural_m"]).astype(float)
    points = catchment.population_points(tracts, population, cls["population_cell_m"],
                                         cls["population_points_max"])
    out["urban"] = urban.to_numpy(bool)
    out["far_threshold_m"] = far_m
    out["share_beyond_threshold"] = np.round(
        catchment.share_beyond(points, len(tracts), np.column_stack([x, y]), far_m), 4)
    step("distance")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tif(values, grid, crs, out_dir / "density.tif")
    out.to_file(out_dir / "tracts.gpkg", layer="tracts", driver="GPKG", engine="pyogrio")
    step("write")
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("region")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="directory the configuration's relative paths start from")
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    imports = time.perf_counter() - T0
    steps = run(config, args.region, args.root, args.out_dir)
    print(json.dumps({"imports": imports, **steps}))


if __name__ == "__main__":
    main()
