"""The rejects table every reader returns next to the rows it kept, and the row counts.

A row is either kept or listed in the rejects (`source`, `row`, `reason`, `action`), never
silently dropped. `action` is `dropped` (the row is not used), `repaired` (kept after a change,
e.g. swapped lat/lon, restored GEOID zeros, geometry fixed with make_valid), `flagged` (kept
unchanged but worth a look, e.g. zero population) or `note` (about the whole file, row blank:
e.g. read as Latin-1). Row numbers are 1-based data rows (header rows are not counted). Rejects
never carry a row's content, which may be personal — except a public asset's name (`name`,
added by the asset reader), so an organizer finds the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["ACTIONS", "REJECT_COLUMNS", "concat_rejects", "count_rows", "empty_rejects",
           "make_rejects"]

REJECT_COLUMNS = ["source", "row", "reason", "action"]
ACTIONS = ("dropped", "repaired", "flagged", "note")


def empty_rejects() -> pd.DataFrame:
    """A rejects table with no rows."""
    return pd.DataFrame({"source": pd.Series(dtype=str), "row": pd.Series(dtype="Int64"),
                         "reason": pd.Series(dtype=str), "action": pd.Series(dtype=str)})


def make_rejects(source: str, rows: Sequence[int], reason: str | Sequence[str],
                 action: str = "dropped") -> pd.DataFrame:
    """Rejects rows for `rows` (1-based) of `source`, all with one reason or one reason each."""
    if action not in ACTIONS:
        raise ValueError(action)
    rows = list(rows)
    reasons = [reason] * len(rows) if isinstance(reason, str) else list(reason)
    return pd.DataFrame({"source": pd.Series([source] * len(rows), dtype=str),
                         "row": pd.array(rows, dtype="Int64"),
                         "reason": pd.Series(reasons, dtype=str),
                         "action": pd.Series([action] * len(rows), dtype=str)})


def concat_rejects(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One rejects table from several (empty ones skipped), in order."""
    return pd.concat([empty_rejects(), *[p for p in parts if len(p)]], ignore_index=True)


def count_rows(read: Mapping[str, int], rejects: pd.DataFrame) -> dict[str, Any]:
    """Counts of one input: rows read, kept, rejected (dropped), repaired and flagged, total and
    per source, such that read = kept + rejected for every source."""
    actions = rejects["action"] if "action" in rejects else pd.Series("dropped", rejects.index)
    per_source: dict[str, dict[str, int]] = {}
    for source, n in read.items():
        mine = actions[rejects["source"] == source]
        dropped = int((mine == "dropped").sum())
        per_source[source] = {"read": int(n), "kept": int(n) - dropped, "rejected": dropped,
                              "repaired": int((mine == "repaired").sum()),
                              "flagged": int((mine == "flagged").sum())}
    total = {k: sum(s[k] for s in per_source.values())
             for k in ("read", "kept", "rejected", "repaired", "flagged")}
    return {**total, "by_source": {s: c["read"] for s, c in per_source.items()},
            "sources": per_source}
