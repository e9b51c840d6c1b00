"""GeoPackage and GeoTIFF helpers on real files."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point

from aiddeserts.io.files import read_gpkg, write_gpkg


def test_read_gpkg_reads_only_the_columns_asked_for(tmp_path):
    path = tmp_path / "assets.gpkg"
    frame = gpd.GeoDataFrame({"name": ["a", "b"], "type": ["fridge", "pantry"], "n": [1, 2]},
                             geometry=[Point(1, 2), Point(3, 4)], crs=32618)
    write_gpkg(frame, path, layer="assets")
    assert list(read_gpkg(path).columns) == ["name", "type", "n", "geometry"]
    assert list(read_gpkg(path, columns=["n"]).columns) == ["n", "geometry"]
    points = read_gpkg(path, columns=[])
    assert list(points.columns) == ["geometry"] and points.crs.to_epsg() == 32618
    assert points.geometry.x.tolist() == [1.0, 3.0] and points.geometry.y.tolist() == [2.0, 4.0]
