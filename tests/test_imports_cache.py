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
    manifest._source.cache_clear()
    manifest._module_files.cache_clear()
    code_version.cache_clear()
    return cache


def package_and_script(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
                       ) -> tuple[Path, Path]:
    """A copy of the package (no bytecode) and of workflow/scripts/`name`, in a new folder
    that is the working directory, with nothing parsed yet."""
    package = tmp_path / "src" / "aiddeserts"
    shutil.copytree(REPO / "src" / "aiddeserts", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = tmp_path / name
    shutil.copy(REPO / "workflow" / "scripts" / name, script)
    monkeypatch.chdir(tmp_path)
    fresh_cache(monkeypatch)
    return package, script


def test_cached_closures_equal_parsed_ones_and_follow_edits(tmp_path, monkeypatch):
    package, script = package_and_script(tmp_path, "summarize.py", monkeypatch)
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


def test_installed_imports_spare_a_first_run_every_parse(tmp_path, monkeypatch):
    """The file written at install (`python -m aiddeserts.manifest`) is read where no
    .snakemake/ exists yet (a first run): the same closures and code versions, no parse; an
    edited module is parsed, and a damaged file is ignored."""
    package, script = package_and_script(tmp_path, "web_map.py", monkeypatch)
    parsed, version = module_closure(script, package), code_version(script, package)

    installed = tmp_path / "installed.json"
    count = manifest.write_installed_imports(package, installed)
    assert count == len(list(package.rglob("*.py")))

    def with_installed(path: Path) -> None:
        fresh_cache(monkeypatch)
        monkeypatch.setattr(manifest, "_IMPORTS_CACHE",
                            manifest._ImportsCache(manifest.IMPORTS_CACHE_FILE, path))

    with_installed(installed)
    real_parse = manifest._analyse_imports
    parses: list[str] = []

    def counted(source: str):
        parses.append(source)
        return real_parse(source)

    monkeypatch.setattr(manifest, "_analyse_imports", counted)
    assert module_closure(script, package) == parsed
    assert code_version(script, package) == version
    assert parses == [script.read_text()]  # the script is no module of the package
    assert not manifest.IMPORTS_CACHE_FILE.exists()

    # An edited module is not in the installed file: it is parsed, and its change counts.
    parses.clear()
    stages = package / "stages" / "maps.py"
    stages.write_text(stages.read_text() + "\nfrom aiddeserts.sizing import mem_mb  # noqa\n")
    with_installed(installed)
    assert package / "sizing.py" in module_closure(script, package)
    assert stages.read_text() in parses

    # A damaged installed file is ignored: everything is parsed, with the same result.
    installed.write_text("[1, 2", encoding="utf-8")
    with_installed(installed)
    parses.clear()
    assert package / "sizing.py" in module_closure(script, package)
    assert len(parses) > 10
