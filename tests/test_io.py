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


def test_an_intermediate_geopackage_holds_the_same_rows_without_a_spatial_index(tmp_path):
    import sqlite3

    import numpy as np
    import pyogrio
    import shapely

    rng = np.random.default_rng(2)
    frame = gpd.GeoDataFrame(
        {"asset_id": [f"a{i}" for i in range(500)], "capacity": rng.uniform(0, 9, 500),
         "community_reported": rng.random(500) < 0.5},
        geometry=gpd.points_from_xy(rng.uniform(5e5, 6e5, 500), rng.uniform(4.5e6, 4.6e6, 500)),
        crs=32618)
    write_gpkg(frame, tmp_path / "published.gpkg", layer="assets")
    write_gpkg(frame, tmp_path / "scratch.gpkg", layer="assets", intermediate=True)
    write_gpkg(frame, tmp_path / "scratch2.gpkg", layer="assets", intermediate=True)
    published, scratch = (read_gpkg(tmp_path / n) for n in ("published.gpkg", "scratch.gpkg"))
    assert scratch.drop(columns="geometry").equals(published.drop(columns="geometry"))
    assert (shapely.to_wkb(scratch.geometry.values)
            == shapely.to_wkb(published.geometry.values)).all() and scratch.crs == published.crs

    def tables(name):
        with sqlite3.connect(tmp_path / name) as db:
            return {row[0] for row in db.execute("select name from sqlite_master")}

    assert any(t.startswith("rtree_") for t in tables("published.gpkg"))
    assert not any(t.startswith("rtree_") for t in tables("scratch.gpkg"))
    # Deterministic, and the SQLite setting does not outlive the write.
    assert (tmp_path / "scratch.gpkg").read_bytes() == (tmp_path / "scratch2.gpkg").read_bytes()
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") is None


def _mixed_frame(rows: int) -> gpd.GeoDataFrame:
    """Every kind of column the pipeline's intermediates hold, with missing values."""
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(5)
    names = np.array(["Fridge", "Pantry é", "", "漢字", "a,b \"c\""], object)[
        rng.integers(0, 5, rows)]
    names[::7] = None
    shapes = [shapely.box(x, y, x + 10, y + 10) if k % 3 else shapely.MultiPolygon(
        [shapely.box(x, y, x + 5, y + 5), shapely.box(x + 6, y, x + 9, y + 3)])
        for k, (x, y) in enumerate(rng.uniform(5e5, 6e5, (rows, 2)))]
    return gpd.GeoDataFrame({
        "name": names, "count": rng.integers(-5, 10**12, rows),
        "share": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows)),
        "flag": rng.random(rows) < 0.5, "updated": pd.array(
            [None if k % 4 == 0 else f"2026-0{1 + k % 9}-1{k % 10}" for k in range(rows)],
            dtype=object),
        "nothing": pd.array([None] * rows, dtype=object),
        "when": pd.to_datetime(rng.integers(1.6e9, 1.8e9, rows), unit="s")},
        geometry=shapes, crs=32618)


def test_an_intermediate_is_read_back_as_gdals_own_writer_and_reader_give_it(tmp_path):
    """write_gpkg(intermediate) and read_gpkg go through Arrow: the jobs get the frame GDAL's
    row-by-row writer and reader give, column for column (values, missing values, dtypes)."""
    import pandas as pd
    import pyogrio
    import shapely

    for rows in (0, 1, 600):
        frame = _mixed_frame(rows)
        write_gpkg(frame, tmp_path / "arrow.gpkg", layer="x", intermediate=True)
        pyogrio.write_dataframe(frame, tmp_path / "rows.gpkg", layer="x", driver="GPKG")
        ours = read_gpkg(tmp_path / "arrow.gpkg")
        gdal = gpd.read_file(tmp_path / "rows.gpkg", engine="pyogrio", use_arrow=False)
        pd.testing.assert_frame_equal(ours, gdal, check_exact=True)
        assert ours.crs == gdal.crs and ours.geometry.name == gdal.geometry.name
        assert list(shapely.to_wkb(ours.geometry.values)) == list(
            shapely.to_wkb(gdal.geometry.values))
        for columns in (["share", "name"], []):
            pd.testing.assert_frame_equal(
                read_gpkg(tmp_path / "arrow.gpkg", columns=columns),
                gpd.read_file(tmp_path / "rows.gpkg", engine="pyogrio", columns=columns,
                              use_arrow=False), check_exact=True)
        (tmp_path / "arrow.gpkg").unlink()
        (tmp_path / "rows.gpkg").unlink()
