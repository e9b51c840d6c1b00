"""Logging for Snakemake scripts: messages and uncaught errors go to the rule's log file."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiddeserts.errors import (
    DownloadError,
    EnvironmentProblem,
    InputError,
    environment_errno,
    environment_message,
)
from aiddeserts.paths import PROCESSED, for_region

#: Free bytes below which a file system counts as full when a library did not say which file.
FULL_BELOW = 1 << 20


def failing_folder(region: str | None, number: int) -> Path | None:
    """Which of the region's folders (data/processed/<region>, outputs/) is on a read-only or
    full file system, for a library error that named no file."""
    for folder in ([for_region(PROCESSED, region)] if region else []) + ["outputs", "."]:
        path = Path(folder)
        while not path.exists() and path != path.parent:
            path = path.parent
        stats = os.statvfs(path)
        readonly = bool(stats.f_flag & os.ST_RDONLY)
        full = stats.f_bavail * stats.f_frsize < FULL_BELOW
        if (number == errno.EROFS and readonly) or (number in (errno.ENOSPC, errno.EDQUOT)
                                                    and full):
            return path.resolve()
    return None


#: Loggers of libraries kept at WARNING in a job's log.
QUIET_LIBRARIES = ("fontTools", "matplotlib", "PIL", "fiona", "rasterio", "pyogrio")


def run_logged(log_path: str | Path | None, step: Callable[[], Any], name: str) -> Any:
    """Run `step`, logging its duration to `log_path`; errors are logged then re-raised.

    An :class:`InputError` or :class:`DownloadError` is printed as its one-line message (no
    traceback) so a user sees what to fix, and so is a write the machine refused (read-only
    folder, permissions, full disk: ``aiddeserts (environment): ``, naming the path and the fix);
    other errors keep their traceback in the log.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s")
    # Libraries' own INFO chatter (fontTools prints every glyph subset of a PDF) stays out.
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logger = logging.getLogger(f"aiddeserts.{name}")
    start = time.perf_counter()
    try:
        result = step()
    except InputError as exc:
        logger.error("%s", exc)
        raise SystemExit(f"aiddeserts: {exc}") from None
    except DownloadError as exc:
        logger.error("%s", exc)
        raise SystemExit(f"aiddeserts (download failed): {exc}") from None
    except Exception as exc:
        number = environment_errno(exc)
        if number is None:
            logger.exception("%s failed", name)
            raise
        path = exc.path if isinstance(exc, EnvironmentProblem) else getattr(exc, "filename", None)
        region = Path(log_path).parent.name if log_path else None
        message = environment_message(path or failing_folder(region, number), number)
        with contextlib.suppress(OSError):  # the log may sit on the full disk itself
            logger.error("%s", message)
        raise SystemExit(f"aiddeserts (environment): {message}") from None
    logger.info("%s done in %.2f s", name, time.perf_counter() - start)
    return result
