"""environment.yml and pyproject.toml declare the same dependencies; code is lint-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = names(project["dependencies"]) | names(project["optional-dependencies"]["test"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = names([d for d in env["dependencies"] if isinstance(d, str)]) - {"python", "pip"}
    conda |= names([p for d in env["dependencies"] if isinstance(d, dict)
                    for p in d.get("pip", []) if not p.startswith("-")])
    assert conda == declared
    rule_env = yaml.safe_load((REPO / "workflow" / "envs" / "aiddeserts.yaml").read_text())
    rule_deps = names([d for d in rule_env["dependencies"] if isinstance(d, str)])
    rule_deps |= names([p for d in rule_env["dependencies"] if isinstance(d, dict)
                        for p in d.get("pip", []) if not p.startswith(".")])
    assert names(project["dependencies"]) - {"snakemake"} <= rule_deps


def test_snakemake_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment (pip install -e .[test])")
    result = subprocess.run([ruff, "check", "src", "tests", "workflow/scripts", "scripts"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
