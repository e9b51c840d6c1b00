"""Copy staged outputs into outputs/ — standard library only, so the publish job starts fast.

The publish job is the last on the critical path of every run; importing the geo stack there
(~1.2 s per process) would only delay the result, so this module imports nothing heavy.

All files are first copied to temporary files next to their targets, then renamed into place one
after another (each rename is atomic), so a run killed while copying leaves the previous outputs
untouched and the renames take microseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def public_mode() -> int:
    """The mode a new file gets under the process's umask (0o644 under umask 022): published
    files must be readable by a web server running as another user."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temporary_next_to(dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=dst.suffix, dir=dst.parent)
    os.close(fd)
    os.chmod(tmp, public_mode())  # mkstemp makes 0600 files
    return Path(tmp)


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


def publish(staged: Sequence[str], published: Sequence[str],
            privacy_report: str | None = None) -> None:
    """Copy staged files into outputs/, all swapped in by atomic renames at the end.

    With `privacy_report` (the audit's JSON, counts only), summary.json is published with it as
    its `privacy` section.
    """
    temporaries: list[Path] = []
    try:
        for src, dst in zip(staged, published, strict=True):
            tmp = _temporary_next_to(Path(dst))
            temporaries.append(tmp)
            if privacy_report and Path(dst).name == "summary.json":
                _write_json({**_read_json(src), "privacy": _read_json(privacy_report)}, tmp)
            else:
                shutil.copyfile(src, tmp)
        if privacy_report:
            _rehash_in_manifest({Path(dst).name: tmp
                                 for dst, tmp in zip(published, temporaries, strict=True)})
        for tmp, dst in zip(temporaries, published, strict=True):
            os.replace(tmp, dst)
    finally:
        for tmp in temporaries:
            if tmp.exists():
                tmp.unlink()
