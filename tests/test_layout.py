"""The redesign's promises: a rule reruns only for the config keys and code it uses, every
default lives in the schema, and every published survey figure passes one disclosure path."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, run_snakemake

from aiddeserts.config import load_schema
from aiddeserts.privacy.disclosure import hidden, publishable
from aiddeserts.stages.classify import release_columns

MAP_JOBS = {"web_map", "static_map", "datawalk", "manifest", "privacy_audit_secrets",
            "privacy_audit_part", "privacy_audit", "publish"}


def planned_jobs(work: Path, config: dict) -> set[str]:
    """The rules Snakemake would run now (a dry run, as `snakemake -n` plans them)."""
    result = run_snakemake(work, config, extra=("-n", "--quiet", "rules"))
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout + result.stderr
    rules = set()
    for line in table.splitlines():
        match = re.match(r"^([a-z_]+)\s+\d+\s*$", line.strip())
        if match and match.group(1) not in {"total", "all"}:
            rules.add(match.group(1))
    return rules


@pytest.fixture
def built_region(tmp_path, tiny_region):
    work = tmp_path / "run"
    result = run_snakemake(work, tiny_region)
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_jobs(work, tiny_region) == set()  # a no-op rerun plans nothing
    return work, tiny_region


def test_editing_the_map_caption_reruns_only_the_map_and_what_publishes_it(built_region):
    work, config = built_region
    edited = copy.deepcopy(config)
    edited["regions"]["tiny"]["map"] = {"about": "A new caption for partners."}
    planned = planned_jobs(work, edited)
    assert "web_map" in planned and planned <= MAP_JOBS, planned


def test_editing_the_bandwidth_reruns_density_and_after_never_ingest(built_region):
    work, config = built_region
    edited = copy.deepcopy(config)
    edited["regions"]["tiny"]["density"] = {"bandwidth_m": 750}
    planned = planned_jobs(work, edited)
    assert {"asset_density", "classify_tracts"} <= planned, planned
    assert not {r for r in planned if r.startswith("ingest_")}, planned
    assert "stories" not in planned


# ------------------------------------------------------------------------ defaults, once
def schema_defaults_by_key() -> dict[str, list]:
    """Every schema property with a default: its name → the defaults it has (a name may occur in
    several sections)."""
    found: dict[str, list] = {}

    def walk(node):
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and "default" in prop and prop["default"] not in (
                        None, {}, [], ""):
                    found.setdefault(name, []).append(prop["default"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    schema = load_schema()
    # The correction source's keys name columns of a form export (`action`, `name`...): their
    # defaults are column names, not settings, and the words recur in unrelated code.
    walk({k: v for k, v in schema.items() if k != "$defs"})
    walk({k: v for k, v in schema["$defs"].items() if k != "correction_source"})
    return found


def code_defaults() -> list[tuple[Path, int, str, object]]:
    """`x.get("<schema key>", <literal>)` calls and `<schema key>=<literal>` parameter defaults
    in the package: (file, line, key, the literal)."""
    keys = schema_defaults_by_key()
    found = []
    for path in sorted((REPO / "src" / "aiddeserts").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get" and len(node.args) == 2
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in keys
                    and not (isinstance(node.args[1], ast.Constant)
                             and node.args[1].value is None)):
                value = node.args[1].value if isinstance(node.args[1], ast.Constant) else ...
                found.append((path, node.lineno, node.args[0].value, value))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                            + list(node.args.defaults) + list(node.args.kw_defaults))
                for arg, default in zip(args, defaults, strict=True):
                    if (arg.arg in keys and isinstance(default, ast.Constant)
                            and default.value is not None):
                        found.append((path, node.lineno, arg.arg, default.value))
    return found


def test_code_repeats_no_schema_default():
    """Code that reads config (stages, io, maps, privacy, config...) has no default of a schema
    key: it reads validated config, whose defaults come from the schema alone. The pure method
    kernels (method/) may keep a keyword default for direct use, but never one that differs
    from the schema's."""
    keys = schema_defaults_by_key()
    method = REPO / "src" / "aiddeserts" / "method"
    repeated = [f"{p.relative_to(REPO)}:{line} {key}" for p, line, key, _ in code_defaults()
                if method not in p.parents]
    assert not repeated, "defaults repeated from the schema: " + "; ".join(repeated)
    differing = [f"{p.relative_to(REPO)}:{line} {key}={value!r} (schema: {keys[key]})"
                 for p, line, key, value in code_defaults()
                 if method in p.parents and value not in keys[key]]
    assert not differing, "defaults that differ from the schema: " + "; ".join(differing)


# ------------------------------------------------------------------ one disclosure path
def test_complementary_suppression_hides_every_survey_figure_12_4_20(tmp_path, monkeypatch):
    """Exact counts 12, 4 and 20 with k = 11: disclosure.suppression_mask still hides 12 as the
    complement of 4 where exact counts are published; the pipeline's survey figures come from
    the DP release instead (stages.classify.release_columns), where every figure of the hidden
    tract is hidden together and no complement is needed (docs/privacy.md)."""
    counts = pd.Series([12, 4, 20], index=[0, 1, 2])
    assert publishable(counts, 11).tolist() == [False, False, True]
    assert hidden(counts, 11).tolist() == [True, True, False]
    ids = pd.Series(["A", "B", "C"])
    survey = gpd.GeoDataFrame({"tract": ["A"] * 12 + ["B"] * 4 + ["C"] * 20,
                               "unmet_need": [True] * 36}, geometry=gpd.points_from_xy(
                                   np.zeros(36), np.zeros(36)), crs=3857)
    monkeypatch.chdir(tmp_path)
    # ε = 5 (the schema's maximum): noise of scale 0.2, so 4 stays far below k and 12 above.
    rules = {"min_respondents": 11, "epsilon": 5.0, "epsilon_lifetime": 5.0, "reuse": "region",
             "margin_z": 0.0}
    out, record = release_columns(survey, "tract", ids, pd.Series([1000.0, 1000.0, 1000.0]),
                                  [], True, "layout", rules)
    numbers = ["survey_respondents", "survey_unmet_rate", "survey_unmet_rate_respondents",
               "survey_unmet_rate_eb", "survey_disparity", "survey_disparity_low",
               "survey_disparity_high"]
    assert out.loc[1, numbers].isna().all()
    assert out.loc[[0, 2], numbers].notna().all().all()
    assert out["survey_suppressed"].tolist() == [False, True, False]
    assert record["epsilon_spent"] == 5.0
    assert (tmp_path / "data/processed/layout/survey_ledger.json").exists()
