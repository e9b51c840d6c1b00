"""Provenance: which code, configuration and input files made a region's outputs.

* :func:`code_version` hashes the package modules a rule's script imports (followed through the
  package's own imports), so a rule reruns when the code it runs changes — Snakemake itself only
  tracks the script file, not the package behind it.
* :func:`build_manifest` describes one run of one region for ``outputs/<region>/manifest.json``:
  input checksums, config hash, package and Snakemake versions, git revision, start and end times.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE = "aiddeserts"
#: Written by the workflow's ``onstart`` handler; read by the manifest rule for ``started_utc``.
RUN_STARTED_FILE = Path(".snakemake") / "aiddeserts" / "run_started_utc.txt"
#: Parsed imports of each package source, keyed by a hash of its text (see :func:`_imported_modules`).
IMPORTS_CACHE_FILE = Path(".snakemake") / "aiddeserts" / "imports_cache.json"
#: The same, for every module of the installed package, written once at install (``make``
#: runs :func:`write_installed_imports`, as it byte-compiles): a first run in a new working
#: directory then parses no module either. Read only, and ignored when absent or damaged.
INSTALLED_IMPORTS_FILE = Path(__file__).parent / "__pycache__" / "aiddeserts-imports.json"


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


def _package_imports(node: ast.AST) -> list[tuple[str, frozenset[str] | None]]:
    """`aiddeserts` imports made by one import statement: (module, the names it takes from the
    module, or None for the whole module)."""
    def ours(name: str) -> bool:
        return name == PACKAGE or name.startswith(PACKAGE + ".")

    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names if ours(alias.name)]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and ours(node.module):
        # `from aiddeserts import io` takes a module; `from aiddeserts.io.files import x` a name.
        names = frozenset(alias.name for alias in node.names)
        return [(node.module, names)] + [(f"{node.module}.{n}", None) for n in names]
    return []


def _is_type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (its imports never run)."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


#: Fields of the nodes that hold statements (an import is a statement, never in an expression).
_STATEMENT_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _imports_in(nodes: list[ast.stmt]) -> list[tuple[str, frozenset[str] | None]]:
    """Every package import in `nodes`, at any depth, except under `if TYPE_CHECKING:`."""
    found: list[tuple[str, frozenset[str] | None]] = []
    pending: list[ast.AST] = list(nodes)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += _package_imports(node)
            continue
        if _is_type_checking(node):
            continue
        for name in _STATEMENT_FIELDS:
            children = getattr(node, name, None)
            if isinstance(children, list):
                pending.extend(children)
    return found


Import = tuple[str, frozenset[str] | None]
Imports = tuple[Import, ...]


def _entry_key(entry: Import) -> tuple[str, tuple[str, ...]]:
    return entry[0], () if entry[1] is None else ("",) + tuple(sorted(entry[1]))


def _unique(entries: Iterable[Import]) -> Imports:
    """`entries` once each, in a fixed order."""
    return tuple(sorted(set(entries), key=_entry_key))


@dataclass(frozen=True)
class ModuleImports:
    """A module's `aiddeserts` imports, from one parse of its source: those outside its
    top-level functions (`top`), and per top-level function its own imports and the module's
    functions it names (`functions`: name -> (imports, names)). Imports under
    ``if TYPE_CHECKING:`` never run and are left out."""

    top: Imports
    functions: Mapping[str, tuple[Imports, frozenset[str]]]
    every: Imports

    def to_json(self) -> dict[str, Any]:
        def entries(imports: Imports) -> list[list[Any]]:
            return [[m, None if w is None else sorted(w)] for m, w in imports]

        return {"top": entries(self.top), "every": entries(self.every),
                "functions": {name: [entries(found), sorted(refs)]
                              for name, (found, refs) in sorted(self.functions.items())}}

    @classmethod
    def from_json(cls, data: Any) -> ModuleImports:
        """Raises TypeError, ValueError, KeyError or AttributeError on a damaged entry."""
        def entries(items: Any) -> Imports:
            return tuple((str(m), None if w is None else frozenset(map(str, w)))
                         for m, w in items)

        return cls(entries(data["top"]),
                   {str(name): (entries(found), frozenset(map(str, refs)))
                    for name, (found, refs) in data["functions"].items()},
                   entries(data["every"]))


class _ImportsCache:
    """:func:`_analyse_imports` results kept between Snakemake starts in
    :data:`IMPORTS_CACHE_FILE`, keyed by the SHA-256 of the source text, so an edited module is
    parsed again and an unchanged one never is. Kept only in a Snakemake working directory (one
    holding `.snakemake/`); written at exit, atomically, with exactly the entries this process
    used (so it never grows), and ignored when unreadable. An entry it lacks is looked up in
    `installed` (:data:`INSTALLED_IMPORTS_FILE`) before the source is parsed."""

    def __init__(self, path: Path, installed: Path | None = None) -> None:
        self.path = path
        self.installed = installed
        self.loaded: dict[str, Any] | None = None
        self.installed_entries: dict[str, Any] | None = None
        self.used: dict[str, Any] = {}
        self.changed = False

    def _load(self) -> dict[str, Any]:
        if self.loaded is None:
            self.loaded = _read_entries(self.path)
        return self.loaded

    def _installed(self) -> dict[str, Any]:
        if self.installed_entries is None:
            self.installed_entries = _read_entries(self.installed) if self.installed else {}
        return self.installed_entries

    def get(self, source: str) -> ModuleImports:
        key = _cache_key(source)
        in_workdir = self.path.parent.parent.is_dir()  # a Snakemake working directory
        entry = self._load().get(key) if in_workdir else None
        if entry is None:
            entry = self._installed().get(key)
        try:
            result = ModuleImports.from_json(entry) if entry is not None else None
        except (TypeError, ValueError, KeyError, AttributeError):
            result = None
        if result is None:
            result = _analyse_imports(source)
            entry = result.to_json()
        if in_workdir and key not in self.used:
            self.used[key] = entry
            self.changed = self.changed or key not in self._load()
        return result

    def save(self) -> None:
        if not (self.changed or set(self.used) != set(self._load())) or not self.used:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.used, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


def _cache_key(source: str) -> str:
    return "v2:" + hashlib.sha256(source.encode()).hexdigest()


def _read_entries(path: Path) -> dict[str, Any]:
    """A cache file's entries; none when it is missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_installed_imports(package_dir: str | Path = Path(__file__).parent,
                            out: str | Path = INSTALLED_IMPORTS_FILE) -> int:
    """Parse every module of the package once and write :data:`INSTALLED_IMPORTS_FILE`
    (atomically); returns the number of modules. Run at install: ``python -m
    aiddeserts.manifest``."""
    out = Path(out)
    modules = sorted(Path(package_dir).rglob("*.py"))
    entries = {_cache_key(text): _analyse_imports(text).to_json()
               for text in (path.read_text(encoding="utf-8") for path in modules)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entries, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out)
    return len(modules)


_IMPORTS_CACHE = _ImportsCache(IMPORTS_CACHE_FILE, INSTALLED_IMPORTS_FILE)
atexit.register(_IMPORTS_CACHE.save)


@cache
def _module_imports(source: str) -> ModuleImports:
    """:func:`_analyse_imports`, cached in memory and between Snakemake starts."""
    return _IMPORTS_CACHE.get(source)


@cache
def _imported_modules(source: str, names: frozenset[str] | None = None) -> Imports:
    """The `aiddeserts` imports `source` makes: (module, names taken or None for all of it).

    With `names` (the functions another module takes from this one), only the imports that
    running them can reach: the module's top-level imports, and those inside the named
    functions and inside the module's functions they refer to (followed transitively). Without,
    or when a name is not a top-level function, every import in the module (also inside
    functions). Imports under `if TYPE_CHECKING:` never run and are skipped.
    """
    module = _module_imports(source)
    if names is None or not names <= module.functions.keys():
        return module.every
    found, reached, pending = list(module.top), set(), list(names)
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        imports, refs = module.functions[name]
        found += imports
        pending += refs
    return _unique(found)


def _analyse_imports(source: str) -> ModuleImports:
    """One parse of `source` and one walk of its tree (see :class:`ModuleImports`).

    Every rule's closure shares most modules: analysing each once, whatever names other modules
    take from it, keeps a cold Snakemake start (no cache yet) from parsing them again per rule.
    """
    tree = ast.parse(source)
    function_nodes = {node.name: node for node in tree.body
                      if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    top: list[Import] = []
    every: list[Import] = []
    functions: dict[str, tuple[Imports, frozenset[str]]] = {}
    for node in tree.body:
        found = _imports_in([node])
        every += found
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            top += found
        elif function_nodes[node.name] is node:  # a name defined twice: the last definition
            refs = frozenset(inner.id for inner in ast.walk(node)
                             if isinstance(inner, ast.Name) and inner.id in function_nodes)
            functions[node.name] = (_unique(found), refs)
    return ModuleImports(_unique(top), functions, _unique(every))


def module_closure(script: str | Path, package_dir: str | Path) -> list[Path]:
    """Package source files `script` depends on: its `aiddeserts` imports, followed transitively.

    A module whose functions are imported by name (``from aiddeserts.pipeline import
    make_map``) is followed only through what those functions can reach
    (:func:`_imported_modules`), so a rule does not depend on the stages it never runs. Names
    that are no file of the package are ignored.
    """
    package_dir = Path(package_dir)
    taken: dict[Path, frozenset[str] | None] = {}  # per file: names followed so far, None = all
    pending: list[tuple[Path, frozenset[str] | None]] = [(Path(script), None)]
    first = True
    while pending:
        current, names = pending.pop()
        if not first:
            before = taken.get(current, frozenset())
            if before is None or (names is not None and names <= before):
                continue
            taken[current] = None if names is None else before | names
            names = taken[current]
        first = False
        for module, wanted in _imported_modules(_source(current), names):
            for path, whole in _module_files(module, package_dir):
                pending.append((path, None if whole else wanted))
    return sorted(taken)


@cache
def _source(path: Path) -> str:
    """A module's text, read once per process (Snakemake's start reads each for every rule)."""
    return path.read_text(encoding="utf-8")


@cache
def _module_files(module: str, package_dir: Path) -> tuple[tuple[Path, bool], ...]:
    """The package's files that importing `module` runs, each with whether it runs whole: the
    package's ``__init__`` (always whole), then the module's file or its ``__init__``."""
    parts = module.split(".")[1:]
    candidates = [package_dir / "__init__.py"]
    if parts:
        candidates += [package_dir.joinpath(*parts).with_suffix(".py"),
                       package_dir.joinpath(*parts, "__init__.py")]
    return tuple((path, index == 0) for index, path in enumerate(candidates) if path.is_file())


#: Folders of non-Python files a sub-package's modules read (map templates, JS, CSS).
PACKAGE_DATA_DIRS = ("templates", "static")


def package_data(script: str | Path, package_dir: str | Path) -> list[Path]:
    """Data files beside the modules `script` runs (a sub-package's templates/ and static/):
    an edit to the map's JavaScript reruns the map like an edit to its Python."""
    return _data_beside(module_closure(script, package_dir))


def _data_beside(modules: Iterable[Path]) -> list[Path]:
    """The files of the templates/ and static/ folders beside `modules`."""
    folders = sorted({path.parent for path in modules})
    return sorted(file for folder in folders for name in PACKAGE_DATA_DIRS
                  if (folder / name).is_dir()
                  for file in (folder / name).rglob("*") if file.is_file())


@cache
def code_version(script: str | Path, package_dir: str | Path) -> str:
    """Short hash of the package modules `script` uses (names relative to the package, contents).

    Used as a rule parameter: when any module a rule runs changes, Snakemake's params trigger
    reruns that rule (and, through its outputs, everything downstream). Comments count as change,
    and so do the data files those modules read (:func:`package_data`).
    """
    package_dir = Path(package_dir)
    digest = hashlib.sha256()
    modules = module_closure(script, package_dir)
    for path in modules + _data_beside(modules):
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
    from aiddeserts.io.files import atomic_path

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


if __name__ == "__main__":
    print(f"{write_installed_imports()} modules' imports written to {INSTALLED_IMPORTS_FILE}")
