"""The on-disk cache of parsed imports gives the same closures and never a stale one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aiddeserts import manifest
from aiddeserts.manifest import code_version, module_closure

REPO = Path(__file__).resolve().parents[1]


def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> manifest._ImportsCache:
    """A new process's view: nothing parsed in memory, the cache file read again."""
    cache = manifest._ImportsCache(manifest.IMPORTS_CACHE_FILE)
    monkeypatch.setattr(manifest, "_IMPORTS_CACHE", cache)
    manifest._imported_modules.cache_clear()
    manifest._module_imports.cache_clear()
    code_version.cache_clear()
    return cache


def test_cached_closures_equal_parsed_ones_and_follow_edits(tmp_path, monkeypatch):
    package = tmp_path / "src" / "aiddeserts"
    shutil.copytree(REPO / "src" / "aiddeserts", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = tmp_path / "summarize.py"
    shutil.copy(REPO / "workflow" / "scripts" / "summarize.py", script)
    monkeypatch.chdir(tmp_path)
    fresh_cache(monkeypatch)
    parsed = module_closure(script, package)  # no .snakemake/ here: nothing cached on disk
    version = code_version(script, package)
    assert not manifest.IMPORTS_CACHE_FILE.exists()

    (tmp_path / ".snakemake").mkdir()
    cache = fresh_cache(monkeypatch)
    assert module_closure(script, package) == parsed
    cache.save()
    assert manifest.IMPORTS_CACHE_FILE.is_file()

    # A second start reads every module's imports from the file: no parse at all.
    fresh_cache(monkeypatch)
    real_parse = manifest._analyse_imports

    def no_parse(*args):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(manifest, "_analyse_imports", no_parse)
    assert module_closure(script, package) == parsed
    assert code_version(script, package) == version

    # An edited module is parsed again: its new import joins the closure.
    monkeypatch.setattr(manifest, "_analyse_imports", real_parse)
    fresh_cache(monkeypatch)
    script.write_text(script.read_text() + "from aiddeserts.sizing import mem_mb  # noqa\n")
    edited = module_closure(script, package)
    assert package / "sizing.py" in edited and package / "sizing.py" not in parsed
    assert code_version(script, package) != version

    # A damaged cache file is ignored.
    manifest.IMPORTS_CACHE_FILE.write_text("{not json", encoding="utf-8")
    fresh_cache(monkeypatch)
    assert module_closure(script, package) == edited
