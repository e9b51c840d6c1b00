"""Logging for Snakemake scripts: messages and uncaught errors go to the rule's log file."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiddeserts.errors import DownloadError, InputError


def run_logged(log_path: str | Path | None, step: Callable[[], Any], name: str) -> Any:
    """Run `step`, logging its duration to `log_path`; errors are logged then re-raised.

    An :class:`InputError` or :class:`DownloadError` is printed as its one-line message (no
    traceback) so a user sees what to fix; other errors keep their traceback in the log.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s")
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
    except Exception:
        logger.exception("%s failed", name)
        raise
    logger.info("%s done in %.2f s", name, time.perf_counter() - start)
    return result
