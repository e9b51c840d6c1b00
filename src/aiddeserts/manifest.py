"""Provenance: which code, configuration and input files made a region's outputs.

* :func:`code_version` hashes the package modules a rule's script imports (followed through the
  package's own imports), so a rule reruns when the code it runs changes — Snakemake itself only
  tracks the script file, not the package behind it.
* :func:`build_manifest` describes one run of one region for ``outputs/<region>/manifest.json``:
  input checksums, config hash, package and Snakemake versions, git revision, start and end times.
"""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE = "aiddeserts"
#: Written by the workflow's ``onstart`` handler; read by the manifest rule for ``started_utc``.
RUN_STARTED_FILE = Path(".snakemake") / "aiddeserts" / "run_started_utc.txt"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (inputs may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: Files that belong to a Shapefile: a change in any of them is a change of the input.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def sidecars(path: str | Path) -> list[str]:
    """`path` and, for a Shapefile, its existing companion files (.shx, .dbf, .prj, .cpg)."""
    path = Path(path)
    if path.suffix.lower() != ".shp":
        return [str(path)]
    parts = [path.with_suffix(ext) for ext in SHAPEFILE_PARTS[1:]]
    return [str(path)] + [str(p) for p in parts if p.exists()]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_hash(value: Any) -> str:
    """Hex SHA-256 of :func:`canonical_json` of `value` (a region's configuration)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@cache
def _imported_modules(source: str) -> frozenset[str]:
    """Names of `aiddeserts.*` modules imported anywhere in `source` (also inside functions).

    Cached by source text: every rule's closure shares most modules, and parsing them once
    instead of once per rule saves seconds of every Snakemake start."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(n for n in names if n == PACKAGE or n.startswith(PACKAGE + "."))
    return frozenset(found)


def module_closure(script: str | Path, package_dir: str | Path) -> list[Path]:
    """Package source files `script` depends on: its `aiddeserts` imports, followed transitively.

    Imports that name a symbol rather than a module (``from aiddeserts.io import write_json``)
    resolve to the module file; names that are no file of the package are ignored.
    """
    package_dir = Path(package_dir)
    seen: set[Path] = set()
    pending = [Path(script)]
    while pending:
        current = pending.pop()
        for name in _imported_modules(current.read_text(encoding="utf-8")):
            parts = name.split(".")[1:]
            candidates = [package_dir / "__init__.py"]
            if parts:
                candidates += [package_dir.joinpath(*parts).with_suffix(".py"),
                               package_dir.joinpath(*parts, "__init__.py")]
            for path in candidates:
                if path.is_file() and path not in seen:
                    seen.add(path)
                    pending.append(path)
    return sorted(seen)


@cache
def code_version(script: str | Path, package_dir: str | Path) -> str:
    """Short hash of the package modules `script` uses (names relative to the package, contents).

    Used as a rule parameter: when any module a rule runs changes, Snakemake's params trigger
    reruns that rule (and, through its outputs, everything downstream). Comments count as change.
    """
    package_dir = Path(package_dir)
    digest = hashlib.sha256()
    for path in module_closure(script, package_dir):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def git_revision(repo_dir: str | Path) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the git checkout at `repo_dir`; None outside git.

    `dirty` is true when tracked files differ from the commit (untracked files are ignored).
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def package_versions(names: Iterable[str] = (PACKAGE, "snakemake")) -> dict[str, str | None]:
    """Installed versions of `names` (None for a package that is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def utc_now() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()  # noqa: UP017


def read_run_started(path: str | Path = RUN_STARTED_FILE) -> str | None:
    """The run's start time written by the workflow's onstart handler, if any."""
    path = Path(path)
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def build_manifest(region_name: str, region: Mapping[str, Any], settings: Mapping[str, Any],
                   inputs: Mapping[str, Sequence[str]], products: Sequence[str],
                   staged: Sequence[str], repo_dir: str | Path, code_versions: Mapping[str, str],
                   started_utc: str | None, finished_utc: str) -> dict[str, Any]:
    """The manifest of one region's outputs.

    `inputs` maps a role (tracts, attributes, assets, survey) to raw file paths; each file is
    listed with its size and SHA-256. `products` are the published file names and `staged` the
    files they are copied from (hashed here, so the manifest vouches for the published bytes).
    Only paths, sizes and checksums of inputs are recorded — never their content.
    """
    files = []
    for role, paths in inputs.items():
        for path in paths:
            files.append({"role": role, "path": str(path), "bytes": Path(path).stat().st_size,
                          "sha256": sha256_file(path)})
    return {
        "region": region_name,
        "title": region.get("title", region_name),
        "inputs": files,
        "config_sha256": config_hash({"region": region, "settings": settings}),
        "settings": settings,
        "outputs": [{"file": name, "sha256": sha256_file(src)}
                    for name, src in zip(products, staged, strict=True)],
        "software": {**package_versions(), "code_versions": dict(sorted(code_versions.items()))},
        "git": git_revision(repo_dir),
        "started_utc": started_utc,
        "finished_utc": finished_utc,
    }


def write_manifest(manifest: Mapping[str, Any], out_path: str | Path) -> None:
    """Write the manifest as indented JSON with sorted keys (atomically)."""
    from aiddeserts.io import atomic_path

    with atomic_path(out_path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                       encoding="utf-8")


def write_region_manifest(region_name: str, region: Mapping[str, Any],
                          settings: Mapping[str, Any], inputs: Mapping[str, Sequence[str]],
                          products: Sequence[str], staged: Sequence[str], repo_dir: str | Path,
                          code_versions: Mapping[str, str], out_path: str | Path) -> None:
    """Entry of the manifest rule: build the manifest now and write it to `out_path`."""
    manifest = build_manifest(region_name, region, settings, inputs, products, staged, repo_dir,
                              code_versions, started_utc=read_run_started(),
                              finished_utc=utc_now())
    write_manifest(manifest, out_path)
