"""Errors a user can cause or meet: bad input (file, row, column and fix) and a failed download."""

from __future__ import annotations

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
