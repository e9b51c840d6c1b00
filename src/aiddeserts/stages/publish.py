"""Publish stage (workflow/rules/publish.smk, rule publish): the region's products appear in
outputs/<region>/ all at once — standard library only, so the publish job starts fast.

``outputs/<region>`` is a symbolic link to one complete version directory,
``outputs/.versions/<region>/<version>/``. Publishing copies every product into a new version
directory, then swaps the link with one atomic rename: a reader (or a run killed at any point)
sees either the whole old set or the whole new one, never a mix, and the manifest's checksums
always match the files beside it. The public paths (``outputs/<region>/map.html``...) stay.
The previous version is kept (a partner may be downloading from it); older ones and the debris
of killed runs are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiddeserts.errors import ENVIRONMENT_ERRNOS, EnvironmentProblem

#: Version directories kept: the current one and the one before it.
KEEP_VERSIONS = 2


def public_mode() -> int:
    """The mode a new file gets under the process's umask (0o644 under umask 022): published
    files must be readable by a web server running as another user."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _write_json(data: Any, path: str | Path) -> None:
    """The same layout as aiddeserts.io.files.write_json: indented, key-sorted, UTF-8."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def _rehash_in_manifest(files: Mapping[str, Path]) -> None:
    """The manifest vouches for published bytes: after summary.json gains its `privacy` section,
    its SHA-256 in manifest.json is updated to match."""
    if "manifest.json" not in files or "summary.json" not in files:
        return
    manifest = _read_json(files["manifest.json"])
    digest = hashlib.sha256(Path(files["summary.json"]).read_bytes()).hexdigest()
    for entry in manifest.get("outputs", []):
        if entry.get("file") == "summary.json":
            entry["sha256"] = digest
    _write_json(manifest, files["manifest.json"])


def versions_dir(region_dir: Path) -> Path:
    """Where the version directories of `region_dir` (outputs/<region>) live."""
    return region_dir.parent / ".versions" / region_dir.name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_link(region_dir: Path, target: Path) -> None:
    """Point `region_dir` at `target` with one atomic rename (a relative link)."""
    relative = os.path.relpath(target, region_dir.parent)
    tmp = region_dir.parent / f".{region_dir.name}.link.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(relative, tmp)
    if region_dir.is_dir() and not region_dir.is_symlink():
        # outputs/<region> from before versioned publishing (or made empty by Snakemake before
        # the first run): moved aside, then replaced by the link.
        aside = region_dir.parent / f".{region_dir.name}.old.{os.getpid()}"
        os.replace(region_dir, aside)
        os.replace(tmp, region_dir)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, region_dir)
    _fsync_dir(region_dir.parent)


def _clean_versions(versions: Path, current: Path) -> None:
    """Keep the current version and the newest before it; remove the rest (and half-written
    versions of killed runs)."""
    others = sorted((p for p in versions.iterdir() if p.is_dir() and p != current),
                    key=lambda p: p.name)
    complete = [p for p in others if _marker(p).exists()]
    keep = set(complete[-(KEEP_VERSIONS - 1):]) if KEEP_VERSIONS > 1 else set()
    for path in others:
        if path not in keep:
            shutil.rmtree(path, ignore_errors=True)
            _marker(path).unlink(missing_ok=True)
    for marker in versions.glob("*.complete"):  # markers whose version is gone
        if not marker.with_suffix("").is_dir():
            marker.unlink()


def _remove_debris(region_dir: Path) -> None:
    """Links and moved-aside folders a killed publish left next to outputs/<region>."""
    if not region_dir.parent.is_dir():
        return
    for pattern in (f".{region_dir.name}.link.*", f".{region_dir.name}.old.*"):
        for path in region_dir.parent.glob(pattern):
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)


def _marker(version: Path) -> Path:
    """Written once every file of `version` is on disk (beside it, not inside the public set)."""
    return version.with_name(version.name + ".complete")


#: The files of a run kept in its history entry.
HISTORY_FILES = ("tract_classes.csv", "assets.csv", "summary.json")


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: a copy
        shutil.copy2(src, dst)


def carry_history(previous: Path | None, version: Path, stamp: str, keep: int) -> None:
    """``history/<stamp>/`` of the new `version`: the previous version's history entries (hard
    links: no copy of their bytes) and this run's :data:`HISTORY_FILES`, the newest `keep`."""
    history = version / "history"
    entries = []
    if previous is not None and (previous / "history").is_dir():
        entries = sorted(p for p in (previous / "history").iterdir() if p.is_dir()
                         and p.name != stamp)
    for entry in entries[-(keep - 1):] if keep > 1 else []:
        for src in sorted(entry.rglob("*")):
            if src.is_file():
                _link_or_copy(src, history / entry.name / src.relative_to(entry))
    for name in HISTORY_FILES:
        if (version / name).is_file():
            _link_or_copy(version / name, history / stamp / name)


def publish(staged: Sequence[str], published: Sequence[str],
            privacy_report: str | None = None, history_keep: int | None = None) -> None:
    """Publish the staged files as one new version of outputs/<region>/ (one atomic swap).

    With `privacy_report` (the audit's JSON, counts only), summary.json is published with it as
    its `privacy` section. With `history_keep`, the version carries ``history/<UTC stamp>/``
    entries (:func:`carry_history`).
    """
    parents = sorted({Path(p).parent for p in published}, key=lambda p: (len(p.parts), p))
    region_dir = parents[0]
    if not all(p.is_relative_to(region_dir) for p in parents):
        raise ValueError("publish takes the products of one region")
    _remove_debris(region_dir)
    versions = versions_dir(region_dir)
    try:
        versions.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _raise_environment(exc, versions)
    digest = hashlib.sha256()
    for src in staged:
        digest.update(Path(src).read_bytes())
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    version = versions / f"{stamp}-{time.time_ns() % 10**9:09d}-{digest.hexdigest()[:12]}"
    try:
        _write_version(version, region_dir, staged, published, privacy_report, history_keep,
                       stamp)
        _swap_link(region_dir, version)
    except BaseException as exc:
        # A full disk or a refused write (or Ctrl-C) before the swap: the old set stays public
        # and the half-written version goes, so no debris is left (a kill -9 leaves it for the
        # next run's clean-up). A version already swapped in is never removed.
        if not (region_dir.is_symlink() and region_dir.resolve() == version.resolve()):
            shutil.rmtree(version, ignore_errors=True)
            with contextlib.suppress(OSError):
                _marker(version).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            _remove_debris(region_dir)
        if isinstance(exc, OSError):
            _raise_environment(exc, versions)
        raise
    _clean_versions(versions, version)


def _raise_environment(exc: OSError, folder: Path) -> None:
    """Re-raise a refused write (read-only, permissions, full disk) as an EnvironmentProblem
    naming `folder`, where the version is written (an OSError of a copy names its source, which
    is not the file that could not be written); any other OSError as it is."""
    if exc.errno in ENVIRONMENT_ERRNOS:
        raise EnvironmentProblem(folder, exc.errno) from exc
    raise exc


def _write_version(version: Path, region_dir: Path, staged: Sequence[str],
                   published: Sequence[str], privacy_report: str | None,
                   history_keep: int | None, stamp: str) -> None:
    """Every file of the new `version`, on disk (fsynced) and marked complete."""
    version.mkdir()
    files: dict[str, Path] = {}
    for src, dst in zip(staged, published, strict=True):
        relative = Path(dst).relative_to(region_dir).as_posix()
        target = version / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if privacy_report and relative == "summary.json":
            summary = _read_json(src)
            # The survey's release record (summarize) sits beside the audit's counts.
            # Survey-derived counts of the audit stay private (audit.public_report).
            from aiddeserts.privacy.report import public_report

            privacy = {**summary.get("privacy", {}), **public_report(_read_json(privacy_report))}
            _write_json({**summary, "privacy": privacy}, target)
        else:
            shutil.copyfile(src, target)
        files[relative] = target
    if privacy_report:
        _rehash_in_manifest(files)
    for target in files.values():
        os.chmod(target, public_mode())
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())
    if history_keep:
        previous = region_dir.resolve() if region_dir.is_symlink() else None
        carry_history(previous, version, f"{stamp}Z",
                      history_keep)
    for folder in {target.parent for target in files.values()}:
        _fsync_dir(folder)
    _marker(version).touch()
