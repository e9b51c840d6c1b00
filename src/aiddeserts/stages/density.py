"""Density stage (workflow/rules/density.smk): kernel density of assets on a grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from aiddeserts.io.files import read_gpkg, write_geotiff, write_zones
from aiddeserts.sizing import check_density_grid


def build_density(tracts_path: str, assets_path: str, settings: Mapping[str, Any],
                  out_tif: str, out_zones: str | None = None) -> None:
    """Kernel density of all assets (assets per km²); cells outside every tract are nodata.

    `settings` is the region's `density` section (kernel, bandwidth_m, cell_size_m).
    `bandwidth_m: auto` is resolved here (`density.resolve_bandwidth`); the kernel and the
    bandwidth used are written to the GeoTIFF's tags, where later stages read them back
    (:func:`aiddeserts.io.files.read_density_tags`). `out_zones` gets the grid's tract
    raster (:func:`aiddeserts.method.zonal.zone_raster`, written by
    :func:`aiddeserts.io.files.write_zones`), which classify reads instead of rasterising the
    tracts again.
    """
    from aiddeserts.method import density
    from aiddeserts.method.zonal import zone_raster

    tracts = read_gpkg(tracts_path)
    # Never start an allocation the machine cannot finish: refuse with the memory it needs.
    check_density_grid(tuple(tracts.total_bounds), settings["cell_size_m"],
                       settings["bandwidth_m"])
    assets = read_gpkg(assets_path, columns=[])  # the points only
    x, y = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    kernel = settings["kernel"]
    bandwidth = density.resolve_bandwidth(settings["bandwidth_m"], x, y, kernel)
    grid = density.grid_for_bounds(tuple(tracts.total_bounds), settings["cell_size_m"])
    values = density.kernel_density(x, y, grid, kernel=kernel, bandwidth=bandwidth)
    zones = zone_raster(tracts.geometry, grid)
    values = np.where(zones > 0, values, np.nan)
    if out_zones:
        write_zones(zones, out_zones)
    write_geotiff(values, grid, tracts.crs, out_tif, tags={
        "units": "assets per km2", "kernel": kernel, "bandwidth_m": bandwidth,
        "cell_size_m": settings["cell_size_m"]})

