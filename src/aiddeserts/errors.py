"""Errors a user can cause or meet: bad input (file, row, column and fix), a failed download, and a
machine that cannot take a write (read-only folder, permissions, disk full)."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path


class InputError(ValueError):
    """Bad input that stops the run before any output is written.

    The message always says what is wrong, where (file, row, column when known) and how to fix it.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.row = row
        self.column = column
        self.fix = fix
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.path:
            where.append(f"file {self.path}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.problem}" if where else self.problem
        if self.fix:
            text = text.rstrip()
            text += ("" if text.endswith((".", "?", "!")) else ".") + f" Fix: {self.fix}"
        return text


class DownloadError(RuntimeError):
    """A download failed after its retries (the network or the server, not the input): the CLI
    exits with its own code and reason, so an alert does not say "bad input"."""

    def __init__(self, problem: str, *, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} Fix: {fix}")


#: errno values that mean the machine, not the input, stopped a write (read-only file system,
#: permission, full disk or quota).
ENVIRONMENT_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}
#: The same causes in the words of libraries that do not raise OSError (GDAL, SQLite).
_ENVIRONMENT_WORDS = {
    errno.ENOSPC: ("no space left on device", "database or disk is full", "disk full"),
    errno.EROFS: ("read-only file system", "attempt to write a readonly database"),
    errno.EACCES: ("permission denied",),
}


def environment_errno(exc: BaseException) -> int | None:
    """The errno of an environment failure (see :data:`ENVIRONMENT_ERRNOS`) behind `exc` or its
    causes, also when a library reported it only in words; else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in ENVIRONMENT_ERRNOS:
            return seen.errno
        text = str(seen).lower()
        for number, words in _ENVIRONMENT_WORDS.items():
            if any(w in text for w in words):
                return number
        seen = seen.__cause__ or seen.__context__
    return None


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not path.is_mount() and path != path.parent:
        path = path.parent
    return path


def environment_message(path: str | Path | None, number: int) -> str:
    """One line naming the folder or file that cannot be written, why, and the fix (no value of
    any input: only the path)."""
    place = Path(path).absolute() if path else Path.cwd()
    where = f"{'folder' if place.is_dir() else 'file'} {place}"
    if number == errno.EROFS:
        return (f"{where} cannot be written: its file system is mounted read-only. Fix: remount "
                f"it read-write (mount -o remount,rw {_mount_point(place)}) or run in a "
                "writable working directory (-d).")
    if number in (errno.ENOSPC, errno.EDQUOT):
        return (f"{where} cannot be written: the disk (or the quota) is full. Fix: free space "
                f"on {_mount_point(place)} (df -h {place}) or move data/ and outputs/ to a larger "
                "disk; nothing new was published and the old outputs are as they were.")
    owner = ""
    with contextlib.suppress(OSError, KeyError, ImportError):
        import pwd

        owner = f" (owned by {pwd.getpwuid(place.stat().st_uid).pw_name})"
    return (f"{where}{owner} cannot be written (permission denied, or the folder is immutable). "
            f"Fix: let the user running aiddeserts write there (chown -R <user> {place}, or "
            f"chmod -R u+w {place}; lsattr/chattr -i if it is immutable), or run aiddeserts as "
            "the folder's owner.")


class EnvironmentProblem(RuntimeError):
    """The machine stopped a write (read-only folder, permissions, disk full): not the input's
    fault; the CLI exits with its own code and reason."""

    def __init__(self, path: str | Path | None, number: int) -> None:
        self.path, self.errno = (str(path) if path else None), number
        super().__init__(environment_message(path, number))
