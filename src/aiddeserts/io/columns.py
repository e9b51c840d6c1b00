"""Configured columns and cell values: presence of the configured columns, numbers, yes/no.

Messages about a personal source (a survey) never quote a cell or a column name other than the
configured ones: a survey exported without its header row has a respondent's answers (name,
phone, e-mail, location) where the column names should be.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from aiddeserts.errors import InputError
from aiddeserts.io.readers import acs_numbers
from aiddeserts.io.rejects import concat_rejects, make_rejects

__all__ = ["NO", "YES", "header_hint", "header_looks_like_data", "numeric_columns", "parse_yes_no",
           "require_columns", "to_number"]

YES = {"yes", "y", "true", "t", "1", "si", "sí", "oui", "x", "ja"}
NO = {"no", "n", "false", "f", "0", "non", "nein"}


def header_looks_like_data(columns: Sequence[str]) -> bool:
    """Whether some column names look like answers, not names: a number, an e-mail address, a
    run of 7+ digits (a phone number) — as when a file is exported without its header row."""
    names = [str(c).strip() for c in columns]
    numbers = pd.to_numeric(pd.Series(names, dtype=object), errors="coerce")
    return bool(numbers.notna().any()) or any(
        "@" in n or sum(ch.isdigit() for ch in n) >= 7 for n in names)


def header_hint(columns: Sequence[str]) -> str:
    """What a message about a personal source says instead of listing its columns: their number
    and whether the first row is perhaps data."""
    count = f"the file has {len(columns)} column{'' if len(columns) == 1 else 's'}"
    if header_looks_like_data(columns):
        return f"{count} and its first row looks like data, not a header: export with a header row"
    return f"{count}; the first row may be data, not a header: export with a header row"


def require_columns(columns: Sequence[str], wanted: Mapping[str, str | None]
                    | Sequence[tuple[str, str | None]], path: str | Path, *,
                    personal: bool) -> None:
    """Raise if a configured column (given as role → column) is missing.

    For a source that is not `personal` the message suggests the closest column or lists them
    all; for a `personal` one (a survey) it quotes no column name but the configured one.
    """
    pairs = wanted.items() if isinstance(wanted, Mapping) else wanted
    for role, column in pairs:
        if column is None or column in columns:
            continue
        names = [str(c) for c in columns]
        fix = f"name an existing column in the config's '{role}' key."
        if personal:
            case = any(c.lower() == column.lower() for c in names)
            detail = "; one differs only in letter case" if case else ""
            raise InputError(f"the configured {role} column is missing: no column is named "
                             f"'{column}'{detail} ({header_hint(names)}).", path=path,
                             column=column, fix=f"{fix} The survey's column names are not "
                             "quoted here: they may hold a respondent's answers.")
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.5)
        if not close:
            close = [c for c in names if c.lower() == column.lower()]
        listing = ", ".join(names)
        hint = f"did you mean '{close[0]}'?" if close else f"columns are: {listing}."
        raise InputError(f"the configured {role} column is missing; {hint}", path=path,
                         column=column, fix=fix)


def to_number(values: pd.Series) -> pd.Series:
    """Text to float: blanks, ACS annotations and sentinel values become NaN; other text raises
    ``ValueError(first_bad_index)``."""
    numbers, _ = acs_numbers(values)
    return numbers


def parse_yes_no(values: pd.Series) -> pd.Series:
    """Yes/no answers in their usual forms (yes/Y/true/1/sí) to a nullable boolean."""
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(YES)] = True
    out[text.isin(NO)] = False
    return out


def numeric_columns(frame: pd.DataFrame, columns: Sequence[str], path: str | Path,
                    source: str, row_offset: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse ACS-style numeric columns in place; text is fatal (the message quotes it: for tract
    and attribute tables only), missing/coded cells reported."""
    notes: dict[int, list[str]] = {}
    for column in dict.fromkeys(columns):
        try:
            numbers, note = acs_numbers(frame[column])
        except ValueError as exc:
            index = int(exc.args[0])
            raise InputError(f"value {frame[column].iloc[index]!r} is not a number.", path=path,
                             row=index + 1 + row_offset, column=column,
                             fix="use numbers only (blank for missing); check the configured "
                                 "need/population columns name numeric columns.") from exc
        frame[column] = numbers.to_numpy()
        for i in np.flatnonzero(note.notna().to_numpy()):
            kind = note.iloc[i]
            text = {"top/bottom-coded": "used as its bound",
                    "formatted number": "read as the number it shows"}.get(kind,
                                                                          "treated as missing")
            notes.setdefault(int(i), []).append(f"{kind} value in '{column}' {text}")
    rows = sorted(notes)
    blank_only = [all(n.startswith("blank") for n in notes[r]) for r in rows]
    rejects = concat_rejects([
        make_rejects(source, [r + 1 + row_offset for r, b in zip(rows, blank_only, strict=True)
                              if b], [", ".join(notes[r]) for r, b in
                                      zip(rows, blank_only, strict=True) if b], "flagged"),
        make_rejects(source, [r + 1 + row_offset for r, b in zip(rows, blank_only, strict=True)
                              if not b], ["; ".join(notes[r]) for r, b in
                                          zip(rows, blank_only, strict=True) if not b],
                     "repaired")])
    return frame, rejects
