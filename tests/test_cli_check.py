"""`aiddeserts check` runs the input validation alone and maps its result onto the CLI's codes."""

from __future__ import annotations

import subprocess
import sys

import yaml

from aiddeserts.cli import EXIT_BAD_INPUT, EXIT_OK


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiddeserts.cli", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_check_passes_good_inputs_and_flags_bad_ones(tmp_path, tiny_region):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(tiny_region))
    result = run_cli("check", "--configfile", str(good), cwd=tmp_path)
    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert not (tmp_path / "outputs").exists()

    tiny_region["regions"]["tiny"]["tracts"]["id"] = "TRACT_COD"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(tiny_region))
    result = run_cli("check", "--configfile", str(bad), cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "did you mean 'TRACT_CODE'" in result.stdout + result.stderr
