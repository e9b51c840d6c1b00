"""Copy staged outputs into outputs/ — standard library only, so the publish job starts fast.

The publish job is the last on the critical path of every run; importing the geo stack there
(~1.2 s per process) would only delay the result, so this module imports nothing heavy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path


def copy_atomic(src: str | Path, dst: str | Path) -> None:
    """Copy `src` to `dst` through a temporary file next to `dst`, replaced in one step."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=dst.suffix, dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def publish(staged: Sequence[str], published: Sequence[str]) -> None:
    """Copy staged files into outputs/, each replaced atomically."""
    for src, dst in zip(staged, published, strict=True):
        copy_atomic(src, dst)
