"""The maps' shapes made beforehand (map_shapes.gpkg) are exactly the shapes the map jobs would
make themselves, and are used only for the tracts they were made from. On NYC's real 2010
tracts (Staten Island and Manhattan, UTM 18N) and on odd geometries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from aiddeserts.maps.shapes import (
    county_outlines,
    map_shapes,
    read_map_shapes,
    simplified_tracts,
    tracts_fingerprint,
    write_map_shapes,
)

NYC = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"


@pytest.fixture(scope="module")
def tracts() -> gpd.GeoDataFrame:
    frame = gpd.read_file(NYC / "nyc_tracts_2010.gpkg")
    frame = frame[frame["borough_name"].isin(["Staten Island", "Manhattan"])]
    return frame.to_crs("EPSG:32618").reset_index(drop=True)


def _wkb(geoms) -> list[bytes]:
    return list(shapely.to_wkb(np.asarray(geoms)))


def _saved(shapes, fingerprint: str, path: Path):
    write_map_shapes(shapes, fingerprint, path)
    return path


def test_read_back_exactly_what_the_maps_would_make(tracts, tmp_path):
    path = _saved(map_shapes(tracts, "geoid"), tracts_fingerprint(tracts, "geoid"),
                  tmp_path / "map_shapes.gpkg")
    read = read_map_shapes(path, tracts, "geoid")
    assert read is not None and read.counties_made
    outlines, counties = simplified_tracts(tracts), county_outlines(tracts, "geoid")
    assert _wkb(read.outlines) == _wkb(outlines)
    assert read.outlines.crs == outlines.crs and read.outlines.index.equals(tracts.index)
    assert read.counties["county"].tolist() == counties["county"].tolist() == ["36061", "36085"]
    assert _wkb(read.counties.geometry) == _wkb(counties.geometry)
    # Same inputs, same bytes.
    again = _saved(map_shapes(tracts, "geoid"), tracts_fingerprint(tracts, "geoid"),
                   tmp_path / "again.gpkg")
    assert again.read_bytes() == path.read_bytes()


def test_geometry_types_survive_the_file(tmp_path):
    """A Polygon stays a Polygon beside MultiPolygons (GeoJSON and paths would differ)."""
    frame = gpd.GeoDataFrame(
        {"geoid": ["36085000100", "36085000200", "36061000300"]},
        geometry=[box(0, 0, 1000, 1000),
                  MultiPolygon([box(1000, 0, 2000, 1000), box(2500, 0, 3000, 500)]),
                  Polygon([(0, 1000), (2000, 1000), (2000, 2000), (0, 2000)],
                          [[(500, 1200), (900, 1200), (900, 1600)]])],
        index=[7, 3, 5], crs=32618)
    made = map_shapes(frame, "geoid")
    read = read_map_shapes(_saved(made, tracts_fingerprint(frame, "geoid"),
                                  tmp_path / "s.gpkg"), frame, "geoid")
    assert read is not None
    assert list(read.outlines.geom_type) == list(made.outlines.geom_type)
    assert "Polygon" in set(read.outlines.geom_type)
    assert _wkb(read.outlines) == _wkb(made.outlines) and list(read.outlines.index) == [7, 3, 5]
    assert _wkb(read.counties.geometry) == _wkb(made.counties.geometry)


def test_counties_left_out_or_not_geoids(tracts, tmp_path):
    # A region with its own places layer: no union made, and the file says so.
    skipped = read_map_shapes(_saved(map_shapes(tracts, "geoid", counties=False),
                                     tracts_fingerprint(tracts, "geoid"), tmp_path / "a.gpkg"),
                              tracts, "geoid")
    assert skipped is not None and not skipped.counties_made and skipped.counties is None
    # Ids that are no GEOIDs: no county outlines, as the figure would decide.
    named = tracts.assign(name=[f"t{i}" for i in range(len(tracts))])
    none = read_map_shapes(_saved(map_shapes(named, "name"), tracts_fingerprint(named, "name"),
                                  tmp_path / "b.gpkg"), named, "name")
    assert none is not None and none.counties_made and none.counties is None


def test_shapes_of_other_tracts_are_not_used(tracts, tmp_path):
    path = _saved(map_shapes(tracts, "geoid"), tracts_fingerprint(tracts, "geoid"),
                  tmp_path / "map_shapes.gpkg")
    moved = tracts.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry[0], 0.001)
    renamed = tracts.assign(geoid=tracts["geoid"].iloc[::-1].to_numpy())
    for other, id_col in [(moved, "geoid"), (renamed, "geoid"), (tracts.iloc[:-1], "geoid"),
                          (tracts.iloc[::-1], "geoid"), (tracts.to_crs(2263), "geoid"),
                          (tracts, "borough_name")]:
        assert read_map_shapes(path, other, id_col) is None
    assert read_map_shapes(path, tracts, "geoid") is not None


def test_the_maps_draw_the_same_from_the_file(tracts, tmp_path):
    """The web map's tract layer and the figure's place context from the file equal those the
    jobs make themselves."""
    from aiddeserts.maps.figure import context_places
    from aiddeserts.maps.webmap import tract_collection

    read = read_map_shapes(_saved(map_shapes(tracts, "geoid"),
                                  tracts_fingerprint(tracts, "geoid"), tmp_path / "m.gpkg"),
                           tracts, "geoid")
    props = [{"i": i} for i in range(len(tracts))]
    assert tract_collection(tracts, props, read.outlines) == tract_collection(tracts, props)
    theirs = context_places(tracts, "geoid", None)
    ours = context_places(tracts, "geoid", None, read)
    assert ours["county"].tolist() == theirs["county"].tolist()
    assert _wkb(ours.geometry) == _wkb(theirs.geometry)
