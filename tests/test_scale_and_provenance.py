"""The synthetic nation (lazy, per state) and the code-version hash that makes code changes rerun."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
from conftest import REPO
from shapely.geometry import box
from synthetic_nation import NationSpec, generate_state, state_table

from aiddeserts.config import validate_config
from aiddeserts.manifest import code_version, config_hash, module_closure, sidecars


def test_state_table_partitions_the_nation_exactly():
    table = state_table()
    spec = NationSpec()
    assert len(table) == spec.states == table["state"].nunique()
    assert table["tracts"].sum() == spec.tracts == 85_000
    assert table["assets"].sum() == spec.assets == 1_000_000
    assert table["survey_points"].sum() == spec.survey_points == 5_000_000
    assert table["area_km2"].sum() == pytest.approx(spec.land_km2, rel=1e-6)
    assert (table["tracts"] >= 60).all()
    assert table["tracts"].max() > 10 * table["tracts"].min()  # a long tail, like real states
    pd.testing.assert_frame_equal(table, state_table())  # seeded


def test_generate_state_writes_a_valid_region(tmp_path):
    row = {"state": "S99", "tracts": 80, "assets": 300, "survey_points": 1_000,
           "area_km2": 400.0, "seed": 7}
    config = generate_state(row, tmp_path / "a")
    tracts = gpd.read_file(config["tracts"]["path"], layer="tracts")
    assert len(tracts) == 80 and tracts["GEOID"].is_unique
    assert tracts.geometry.is_valid.all() and not tracts.geometry.is_empty.any()
    # Voronoi cells tile the state's 20 km square: no gap, no overlap.
    assert tracts.area.sum() == pytest.approx(400e6, rel=1e-9)
    square = box(*tracts.total_bounds)
    assert square.area == pytest.approx(400e6, rel=1e-9)
    assets = pd.read_csv(config["assets"]["path"])
    survey = pd.read_csv(config["survey"]["path"])
    assert len(assets) == 300 and len(survey) == 1_000
    assert set(survey["unmet_need"]) <= {"yes", "no"}
    validate_config({"regions": {"S99": config}})
    again = generate_state(row, tmp_path / "b")
    for key in ("assets", "survey"):
        assert (tmp_path / "a" / f"{key}.csv").read_bytes() == (
            tmp_path / "b" / f"{key}.csv").read_bytes()
    assert again["tracts"]["id"] == "GEOID"


def test_code_version_follows_the_modules_a_script_imports(tmp_path):
    package = tmp_path / "aiddeserts"
    shutil.copytree(REPO / "src" / "aiddeserts", package)
    scripts = tmp_path / "scripts"
    shutil.copytree(REPO / "workflow" / "scripts", scripts)
    manifest_script = scripts / "manifest.py"
    ingest_script = scripts / "ingest_tracts.py"
    closure = {p.relative_to(package).as_posix() for p in module_closure(manifest_script, package)}
    assert {"__init__.py", "manifest.py", "logs.py", "errors.py"} <= closure
    assert "maps/webmap.py" not in closure and "io/readers.py" not in closure
    before = {s: code_version(s, package) for s in (manifest_script, ingest_script)}
    code_version.cache_clear()
    # A change to the readers changes the ingest rule's code version, not the manifest's.
    with open(package / "io" / "readers.py", "a") as handle:
        handle.write("\n# changed\n")
    after = {s: code_version(s, package) for s in (manifest_script, ingest_script)}
    code_version.cache_clear()
    assert after[ingest_script] != before[ingest_script]
    assert after[manifest_script] == before[manifest_script]


def test_code_version_follows_imports_made_inside_functions():
    # Stage modules import the method modules inside their entry functions (so other jobs
    # start faster); a change to them must still rerun the rules that use them, and only those.
    scripts, package = REPO / "workflow" / "scripts", REPO / "src" / "aiddeserts"

    def closure(script: str) -> set[str]:
        return {p.relative_to(package).as_posix()
                for p in module_closure(scripts / script, package)}

    classify = closure("classify_tracts.py")
    assert {"stages/classify.py", "method/density.py", "method/confidence.py",
            "method/catchment.py", "method/need.py", "method/access.py", "method/zonal.py",
            "privacy/disclosure.py"} <= classify
    # (io/readers.py is in: classify reads the walking network through io/osm.)
    assert not {"maps/webmap.py", "maps/figure.py", "privacy/audit.py", "stages/maps.py"} & classify
    web_map = closure("web_map.py")
    assert {"maps/webmap.py", "method/density.py", "privacy/rules.py"} <= web_map
    # (io/readers.py and method/confidence.py are in: the map stage reads the places layer, and
    # the connections layer names questions as privacy/release does.)
    assert not {"method/catchment.py", "stages/classify.py", "privacy/audit.py"} & web_map
    # Every rule's script runs exactly one stage module.
    for script in scripts.glob("*.py"):
        stages = {p for p in closure(script.name) if p.startswith("stages/")
                  and p != "stages/__init__.py"}
        assert len(stages) <= 1, (script.name, stages)


def test_code_version_covers_the_map_templates_and_scripts(tmp_path):
    package = tmp_path / "aiddeserts"
    shutil.copytree(REPO / "src" / "aiddeserts", package)
    scripts = REPO / "workflow" / "scripts"
    web_map, classify = scripts / "web_map.py", scripts / "classify_tracts.py"
    static = package / "maps" / "static"
    static.mkdir(exist_ok=True)
    before = {s: code_version(s, package) for s in (web_map, classify)}
    code_version.cache_clear()
    (static / "extra.js").write_text("// changed\n")
    after = {s: code_version(s, package) for s in (web_map, classify)}
    code_version.cache_clear()
    assert after[web_map] != before[web_map] and after[classify] == before[classify]


def test_a_stage_module_change_reruns_only_the_rules_that_run_it(tmp_path):
    package = tmp_path / "aiddeserts"
    shutil.copytree(REPO / "src" / "aiddeserts", package)
    scripts = REPO / "workflow" / "scripts"
    rules = [scripts / f"{name}.py" for name in ("classify_tracts", "web_map", "ingest_assets")]
    before = {s: code_version(s, package) for s in rules}
    code_version.cache_clear()
    with open(package / "method" / "catchment.py", "a") as handle:
        handle.write("\n# changed\n")
    after = {s: code_version(s, package) for s in rules}
    code_version.cache_clear()
    assert after[rules[0]] != before[rules[0]]
    assert after[rules[1]] == before[rules[1]] and after[rules[2]] == before[rules[2]]


def test_imported_modules_follow_the_named_functions_and_skip_type_checking():
    from aiddeserts.manifest import _imported_modules

    source = """
from typing import TYPE_CHECKING
from aiddeserts.io import files as io
if TYPE_CHECKING:
    from aiddeserts.method import density

def entry():
    from aiddeserts.method import need
    return helper()

def helper():
    from aiddeserts.method.catchment import share_beyond
    return share_beyond

def other():
    from aiddeserts.maps import webmap
"""
    def modules(names):
        return {module for module, _ in _imported_modules(source, names)}

    assert modules(frozenset({"entry"})) == {
        "aiddeserts.io", "aiddeserts.io.files", "aiddeserts.method", "aiddeserts.method.need",
        "aiddeserts.method.catchment", "aiddeserts.method.catchment.share_beyond"}
    assert "aiddeserts.maps.webmap" in modules(None) and "aiddeserts.method.density" not in modules(None)
    # A name that is not a top-level function (a constant, a class) takes the whole module.
    assert "aiddeserts.maps.webmap" in modules(frozenset({"CONSTANT"}))


def test_imported_modules_found_in_every_kind_of_block():
    """Imports in handlers, loops, with-blocks, match cases, methods and nested functions are
    found; a function named only as an attribute (`obj.helper`) is not followed."""
    from aiddeserts.manifest import _imported_modules

    source = """
class Thing:
    def method(self):
        with open("x"):
            from aiddeserts import sizing

def entry(obj):
    try:
        pass
    except ImportError:
        import aiddeserts.errors
    finally:
        for _ in ():
            from aiddeserts import logs
    match obj:
        case 1:
            from aiddeserts import paths
    def inner():
        while True:
            from aiddeserts import check
    obj.helper()
    return [inner for _ in (lambda: other)()]

def helper():
    from aiddeserts.maps import webmap

def other():
    from aiddeserts import cli
"""
    found = {module for module, _ in _imported_modules(source, frozenset({"entry"}))}
    assert found == {"aiddeserts.sizing", "aiddeserts.errors", "aiddeserts.logs",
                     "aiddeserts.paths", "aiddeserts.check", "aiddeserts",
                     "aiddeserts.cli"}


def test_config_hash_is_canonical_and_sidecars_list_shapefile_parts(tmp_path):
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    for ext in (".shp", ".shx", ".dbf"):
        (tmp_path / f"t{ext}").write_text("x")
    parts = [str(tmp_path / f"t{ext}") for ext in (".shp", ".shx", ".dbf")]
    assert sidecars(tmp_path / "t.shp") == parts
    assert sidecars(tmp_path / "t.gpkg") == [str(tmp_path / "t.gpkg")]
