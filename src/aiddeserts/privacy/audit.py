"""The privacy audit that gates publication: staged outputs must hold no respondent and no hidden
asset, neither as a coordinate pair (text or vector geometry) nor as a personal value.

Coordinate rule: a number pair written with `d` decimals (degrees) or as metres in the working
CRS locates a point to within its rounding cell; the pair is a leak when it lies within that
cell's diagonal plus `audit_slack_m` of a survey respondent (or of a hidden/approximate asset's
true place), unless it is a public coordinate (a tract vertex, representative point or
centroid, within the cell diagonal + 0.5 m). Pairs with fewer than `audit_min_decimals` decimals
(3 decimals ≈ 111 m) are too coarse to locate a home and are not examined. The report never
holds a value: only file, kind of leak and how many.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from aiddeserts.errors import InputError
from aiddeserts.privacy.rules import TOKEN

#: Metres per degree of latitude; a degree of longitude is never longer.
M_PER_DEGREE = 111_320.0
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.(\d+))?(?![\w.])")
#: What may stand between the two numbers of a pair: `a, b`, `a b`, `"a","b"`, `a, "lng": b`.
PAIR_SEPARATOR = re.compile(
    r"""["']?\s*[,;\s]\s*["']?|["']?\s*,\s*["']?[A-Za-z_]{1,12}["']?\s*[:=]\s*["']?""")
#: A number followed by a separator and a second number (found by a lookahead, so the second
#: can start the next pair): groups are the first number, its decimals, the second, its decimals.
NUMBER_PAIR = re.compile(rf"(?<![\w.])(-?\d+(?:\.(\d+))?)(?![\w.])"
                         rf"(?=(?:{PAIR_SEPARATOR.pattern})(?<![\w.])(-?\d+(?:\.(\d+))?)(?![\w.]))")
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
TEXT_SUFFIXES = {".html", ".htm", ".json", ".geojson", ".csv", ".txt", ".js", ".svg", ".xml"}
VECTOR_SUFFIXES = {".gpkg", ".shp", ".fgb"}
RASTER_SUFFIXES = {".tif", ".tiff"}
#: Printed outputs (map.pdf, datawalk.pdf): their text is extracted and audited like a text file.
PDF_SUFFIXES = {".pdf"}
#: One item of a PDF dictionary: a plain character, a nested dictionary (/DecodeParms), a hex
#: string or a literal string (an indexed image's palette).
_PDF_ITEM = rb"(?:[^<>()]|<<[^<>]*>>|<[0-9A-Fa-f\s]*>|\((?:[^\\()]|\\.)*\))"
#: A PDF stream whose dictionary names a /Filter (compressed: pages, fonts, images), with that
#: dictionary kept in group 1. A dictionary it cannot parse keeps its stream: scanned as is.
COMPRESSED_STREAM = re.compile(
    rb"(<<" + _PDF_ITEM + rb"*/Filter" + _PDF_ITEM + rb"*>>\s*stream\r?\n).*?(endstream)",
    re.S)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PrivacyLeakError(InputError):
    """The audit found personal data in an output; nothing is published."""


@dataclass
class Secrets:
    """What must not appear in any output. Coordinates in the working CRS."""

    crs: CRS
    respondents: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    private_assets: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    public: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    #: Displayed asset positions: the user declared them public, so a pin there is no leak.
    public_assets: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    #: kind of leak → values, e.g. "personal value from survey column 'email'" → [...]
    values: dict[str, list[str]] = field(default_factory=dict)
    #: Survey values that also occur in public text (the tool's own words, public asset lists,
    #: the config): finding them in an output proves nothing, so they are not looked for.
    in_public_text: int = 0


#: The coordinate arrays of :class:`Secrets`, in the order :func:`save_secrets` stacks them.
_SECRET_ARRAYS = ("respondents", "private_assets", "public", "public_assets")


def save_secrets(secrets: Secrets, json_path: str | Path, points_path: str | Path) -> None:
    """Write `secrets` for the audit's parts: values and counts as JSON, the coordinate arrays
    stacked in one ``.npy`` (no pickle; the same secrets give the same bytes). Both files hold
    survey values and respondents' places: the caller makes them owner-only."""
    arrays = [np.asarray(getattr(secrets, name), float).reshape(-1, 2) for name in _SECRET_ARRAYS]
    meta = {"crs": secrets.crs.to_wkt(), "lengths": [len(a) for a in arrays],
            "values": secrets.values, "in_public_text": secrets.in_public_text}
    Path(json_path).write_text(json.dumps(meta, ensure_ascii=False, sort_keys=True),
                               encoding="utf-8")
    with open(points_path, "wb") as out:
        np.save(out, np.concatenate(arrays), allow_pickle=False)


def load_secrets(json_path: str | Path, points_path: str | Path) -> Secrets:
    """The secrets :func:`save_secrets` wrote."""
    meta = json.loads(Path(json_path).read_text(encoding="utf-8"))
    stacked = np.load(points_path, allow_pickle=False)
    ends = np.cumsum(meta["lengths"])
    arrays = dict(zip(_SECRET_ARRAYS, np.split(stacked, ends[:-1]), strict=True))
    return Secrets(crs=CRS.from_wkt(meta["crs"]), values=meta["values"],
                   in_public_text=meta["in_public_text"], **arrays)


@dataclass
class Candidates:
    """Number pairs found in a file, as (a, b) with the decimals of the coarser number."""

    a: list[np.ndarray] = field(default_factory=list)
    b: list[np.ndarray] = field(default_factory=list)
    decimals: list[np.ndarray] = field(default_factory=list)

    def add(self, a: np.ndarray, b: np.ndarray, decimals: np.ndarray) -> None:
        self.a.append(np.asarray(a, float))
        self.b.append(np.asarray(b, float))
        self.decimals.append(np.asarray(decimals, int))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.a:
            return np.empty(0), np.empty(0), np.empty(0, int)
        return np.concatenate(self.a), np.concatenate(self.b), np.concatenate(self.decimals)


# ------------------------------------------------------------------------------- extraction
def text_variants(text: str) -> list[str]:
    """The text as written, HTML-unescaped and with JSON \\uXXXX escapes decoded, so a value
    hidden behind an escape is still found. Base64 data URIs (embedded images) are removed."""
    raw = DATA_URI.sub(" ", text)
    unescaped = html.unescape(raw)
    return list(dict.fromkeys([raw, unescaped, _decoded(unescaped)]))


def _decoded(text: str) -> str:
    """`text` with JSON \\uXXXX escapes and ``\\/`` decoded."""
    return UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).replace("\\/", "/")


@dataclass(frozen=True)
class EscapedText:
    """A text (images removed) whose escapes may hide a value: the audit reads it and its
    other :func:`text_variants`; of a variant that differs from it in a few places, only the
    stretches around them (:func:`changed_stretches`)."""

    text: str


#: The variants of a text after the text itself (:func:`text_variants`), each as a function
#: of a stretch of the text and the characters at which an escape it decodes starts.
VARIANTS: tuple[tuple[Callable[[str], str], str], ...] = (
    (html.unescape, "&"), (lambda part: _decoded(html.unescape(part)), "&\\"))
#: Characters no escape holds and no token holds: a variant is the text with each stretch
#: between two of them replaced by its variant, and tokenising restarts after them.
_CUTS = (" ", "\n")
#: A variant is read by stretches when the characters that may start its escapes are this
#: many characters apart on average, or more; else whole (the map's JSON escapes all its
#: markup: its stretches would cost more than tokenising it).
STRETCH_SPACING = 200


def changed_segments(text: str, variant: Callable[[str], str], starts: str
                     ) -> list[tuple[int, int, str]]:
    """The stretches `text[start:end]` between two :data:`_CUTS` that `variant` changes, as
    (start, end, variant of the stretch). `variant(text)` is `text` with each replaced, when
    `variant` changes only stretches holding one of `starts` and leaves cuts as they are."""
    out: list[tuple[int, int, str]] = []
    end = 0  # text[end] is a cut (or end is 0): the stretch before it is done
    following = dict.fromkeys(_CUTS, -1)  # the next position of each cut, len(text) if none
    for found in re.finditer(f"[{re.escape(starts)}]", text):
        at = found.start()
        if at < end:
            continue
        start = max(text.rfind(cut, end, at) for cut in _CUTS) + 1
        for cut in _CUTS:
            if following[cut] < at:
                position = text.find(cut, at)
                following[cut] = len(text) if position < 0 else position
        end = min(following.values())
        segment = text[start:end]
        changed = variant(segment)
        if changed != segment:
            out.append((start, end, changed))
    return out


def _context_start(text: str, start: int, floor: int, context: int) -> int:
    """The latest position after a cut (or `floor`) with `context` tokens between it and
    `start`; `floor` when there are fewer."""
    reach = 64
    while True:
        begin = max(floor, start - reach)
        if begin > floor:
            begin = max(floor, max(text.rfind(cut, floor, begin) for cut in _CUTS) + 1)
        if begin == floor or len(tokens(text[begin:start])) >= context:
            return begin
        reach *= 4


def _context_end(text: str, end: int, context: int) -> int:
    """Where the `context` tokens after `end` (a cut) end; the text's end if there are fewer."""
    if not context:
        return end
    ends = [m.end() for m in itertools.islice(TOKEN.finditer(text, end), context)]
    return ends[-1] if len(ends) == context else len(text)


def changed_stretches(text: str, segments: Sequence[tuple[int, int, str]], context: int
                      ) -> list[str]:
    """A variant of `text` where it differs (:func:`changed_segments`), each changed stretch
    with `context` tokens of `text` on both sides (or up to its ends).

    A sequence of up to `context` + 1 tokens of the variant either lies where the variant is
    `text`, so `text` holds it too, or in one of these stretches: scanning `text` and the
    stretches finds what scanning `text` and the whole variant finds."""
    groups: list[list[int]] = []  # stretch start, stretch end, first and last segment
    for index, (start, end, _) in enumerate(segments):
        floor = segments[index - 1][1] if index else 0  # the text is the variant from here
        begin = _context_start(text, start, floor, context) if context else start
        if index and begin == floor:  # too few tokens after the segment before: join it
            groups[-1][3] = index
        else:
            groups.append([begin, 0, index, index])
        groups[-1][1] = _context_end(text, end, context)
    out = []
    for begin, finish, first, last in groups:
        parts, position = [], begin
        for start, end, changed in segments[first:last + 1]:
            parts += [text[position:start], changed]
            position = end
        parts.append(text[position:finish])
        out.append("".join(parts))
    return out


def text_pairs(text: str, out: Candidates) -> None:
    """Adjacent number pairs in free text (GeoJSON, JS arrays, CSV rows, WKT): those
    :data:`NUMBER_PAIR` finds (found faster by :func:`number_pairs`). Each is a number
    directly followed by a separator and a number; as separators hold no digit or minus sign,
    that second number is the next :data:`NUMBER` in the text, so a chain `a, b, c` gives
    (a, b) and (b, c)."""
    first, second, first_decimals, second_decimals = number_pairs(text)
    if first:
        # numpy parses the matched decimals as float() does (the same doubles), 7x faster.
        out.add(np.array(first, dtype=float), np.array(second, dtype=float),
                np.minimum(first_decimals, second_decimals))


#: Bytes of a text searched for numbers at once by :func:`number_pairs` (bounds its arrays).
NUMBER_BLOCK_BYTES = 1 << 20
#: Byte classes: 1 a word character or a dot (no number starts after one, nor ends before
#: one), 2 a byte of a non-ASCII character (its character decides), 0 any other byte.
_BYTE_CLASS = np.full(256, 2, np.uint8)
_BYTE_CLASS[:128] = [1 if chr(i).isalnum() or chr(i) in "_." else 0 for i in range(128)]
_DIGIT_BYTE = np.zeros(256, bool)
_DIGIT_BYTE[ord("0"):ord("9") + 1] = True
#: Bytes a separator can start with, and end with (a non-ASCII character may be a space).
_SEPARATOR_FIRST = np.ones(256, bool)
_SEPARATOR_FIRST[:128] = [chr(i).isspace() or chr(i) in "\"',;" for i in range(128)]
_SEPARATOR_LAST = np.ones(256, bool)
_SEPARATOR_LAST[:128] = [chr(i).isspace() or chr(i) in "\"',;:=" for i in range(128)]
_WHOLE_SEPARATOR = re.compile(rf"(?:{PAIR_SEPARATOR.pattern})\Z")
#: Bytes a number can hold: a block never ends before one, so no number is cut in two.
_NUMBER_BYTES = frozenset(b"0123456789.-")
#: Separators this long at most are matched once per text (a table repeats a few).
_REMEMBERED_SEPARATOR_CHARS = 64


def number_pairs(text: str) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """``NUMBER_PAIR.findall(text)`` as the pairs' first numbers, their second numbers (both as
    written) and the decimals of each; 2-7 times as fast on a large text.

    The numbers are found in the text's UTF-8 bytes with numpy (:func:`_number_spans`), and a
    pair is two numbers in a row with a :data:`PAIR_SEPARATOR` between them. A text holding
    digits of another script (``\\d`` matches them) is read by the regex itself."""
    if not text.isascii() and any(char.isdecimal() for char in set(_NON_ASCII.findall(text))):
        found = NUMBER_PAIR.findall(text)
        return ([f[0] for f in found], [f[2] for f in found],
                np.array([len(f[1]) for f in found], int),
                np.array([len(f[3]) for f in found], int))
    data = text.encode("utf-8", "surrogatepass")
    byte_start, byte_end, start, end, decimals = _number_spans(text, data)
    raw = np.frombuffer(data, np.uint8)
    # What lies between a number and the next must start and end as a separator can...
    maybe = np.flatnonzero(_SEPARATOR_FIRST[raw[byte_end[:-1]]]
                           & _SEPARATOR_LAST[raw[byte_start[1:] - 1]])
    # ...and be one.
    known: dict[str, bool] = {}
    pairs = []
    for index, gap_start, gap_end in zip(maybe.tolist(), end[maybe].tolist(),
                                         start[maybe + 1].tolist(), strict=True):
        gap = text[gap_start:gap_end]
        is_separator = known.get(gap)
        if is_separator is None:
            is_separator = _WHOLE_SEPARATOR.match(gap) is not None
            if len(gap) <= _REMEMBERED_SEPARATOR_CHARS:
                known[gap] = is_separator
        if is_separator:
            pairs.append(index)
    first = np.array(pairs, np.int64)
    second = first + 1
    return ([text[a:b] for a, b in zip(start[first].tolist(), end[first].tolist(), strict=True)],
            [text[a:b] for a, b in zip(start[second].tolist(), end[second].tolist(),
                                       strict=True)],
            decimals[first], decimals[second])


def _number_spans(text: str, data: bytes) -> tuple[np.ndarray, ...]:
    """Where the :data:`NUMBER` matches of `text` (`data`: its UTF-8) start and end, in bytes
    and in characters, and their decimals; :data:`NUMBER_BLOCK_BYTES` at a time, each block
    ending before a byte no number holds."""
    raw = np.frombuffer(data, np.uint8)
    # The bytes that continue a character: a byte's character is its position minus those.
    continuation = None if text.isascii() else np.flatnonzero((raw & 0xC0) == 0x80)
    blocks = []
    low = 0
    while low < len(data):
        high = min(low + NUMBER_BLOCK_BYTES, len(data))
        while high < len(data) and data[high] in _NUMBER_BYTES:
            high += 1
        blocks.append(_block_numbers(text, raw, low, high, continuation))
        low = high
    empty = np.zeros(0, np.int64)
    byte_start, byte_end, decimals = (np.concatenate([empty, *column]) for column in
                                      zip(*blocks, strict=True)) if blocks else (empty,) * 3
    if continuation is None:
        return byte_start, byte_end, byte_start, byte_end, decimals
    return (byte_start, byte_end, byte_start - np.searchsorted(continuation, byte_start),
            byte_end - np.searchsorted(continuation, byte_end), decimals)


#: Bytes of a block's window before the block (a blank, then two of the text: a number's
#: minus sign and the character before it), and after it (one of the text, a blank).
_BEFORE, _AFTER = 3, 2


def _block_numbers(text: str, raw: np.ndarray, low: int, high: int,
                   continuation: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numbers starting in bytes `low`..`high` of the text: start and end bytes, decimals.

    A number (:data:`NUMBER`) is a run of digits not after a word character or a dot (after a
    minus sign not after one, it starts at the sign), then a dot and a run of decimals if
    there are, not followed by a word character or a dot."""
    window = np.full(high - low + _BEFORE + _AFTER, ord(" "), np.uint8)
    first, last = max(0, low - _BEFORE + 1), min(len(raw), high + _AFTER - 1)
    window[first - low + _BEFORE:last - low + _BEFORE] = raw[first:last]
    digit = _DIGIT_BYTE[window]
    edges = np.flatnonzero(digit[1:] != digit[:-1]) + 1
    runs, run_ends = edges[0::2], edges[1::2]

    def word_or_dot(at: np.ndarray) -> np.ndarray:
        """Whether the character at each window position is a word character or a dot."""
        byte_class = _BYTE_CLASS[window[at]]
        out = byte_class == 1
        other = np.flatnonzero(byte_class == 2)
        if len(other):  # in a non-ASCII character: back to its first byte, then the character
            position = at[other] + (low - _BEFORE)
            while (inside := (raw[position] & 0xC0) == 0x80).any():
                position = position - inside
            chars = (position - np.searchsorted(continuation, position)).tolist()
            out[other] = [text[i].isalnum() or text[i] == "_" for i in chars]
        return out

    has_decimals = np.zeros(len(runs), bool)
    has_decimals[:-1] = (window[run_ends[:-1]] == ord(".")) & (runs[1:] == run_ends[:-1] + 1)
    end = run_ends.copy()
    end[:-1][has_decimals[:-1]] = run_ends[1:][has_decimals[:-1]]
    decimals = np.where(has_decimals, end - run_ends - 1, 0)
    number = ((runs >= _BEFORE) & (runs < high - low + _BEFORE)
              & ~word_or_dot(runs - 1) & ~word_or_dot(end))
    minus = window[runs - 1] == ord("-")
    minus[minus] = ~word_or_dot(runs[minus] - 2)
    start = runs - minus
    return start[number] + (low - _BEFORE), end[number] + (low - _BEFORE), decimals[number]


def _column_bytes(values: Sequence[str], pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column's values as one text, a line break after each (`pad` after the last), in UTF-8
    bytes: the bytes, where each value starts and how many bytes it has."""
    raw = np.frombuffer("\n".join(values).encode("utf-8", "surrogatepass") + b"\n" * pad,
                        np.uint8)
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    if len(raw) - pad != int(lengths.sum()) + len(values) - 1:  # non-ASCII: bytes, not chars
        lengths = np.fromiter((len(v.encode("utf-8", "surrogatepass")) for v in values),
                              np.int64, len(values))
    starts = np.zeros(len(values), np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    return raw, starts, lengths


def _decimals(text: pd.Series) -> np.ndarray:
    """The digits after each text's first dot followed by a digit (0 without one): those of
    ``str.extract(r"\\.(\\d+)")``, found in the texts' bytes (an ASCII number's) at once."""
    values = text.fillna("").tolist()
    raw, starts, _ = _column_bytes(values, 1)
    if (raw >= 0x80).any():  # \d holds other scripts' digits
        return text.str.extract(r"\.(\d+)", expand=False).str.len().fillna(0).to_numpy(
            dtype=int)
    digit = _DIGIT_BYTE[raw]
    dots = np.flatnonzero((raw[:-1] == ord(".")) & digit[1:])  # a dot, then a digit
    others = np.flatnonzero(~digit)  # where each run of digits ends
    first = np.searchsorted(dots, starts)  # each text's first such dot, if it is the text's
    ends = np.append(starts[1:] - 1, len(raw) - 1)[:len(values)]
    found = first < len(dots)
    found[found] = dots[first[found]] < ends[found]
    out = np.zeros(len(values), int)
    after = dots[first[found]] + 1
    out[found] = others[np.searchsorted(others, after)] - after
    return out


#: A superset of the texts `pd.to_numeric` reads as a finite number (an ASCII digit, or a dot
#: and a digit, after an optional sign; then only digits, dots, exponents and signs), as lines.
_MAYBE_FINITE = re.compile(r"^[-+]?\.?[0-9][0-9.eE+-]*$", re.MULTILINE)
_FINITE_BYTE = np.zeros(256, bool)
_FINITE_BYTE[list(b"0123456789.eE+-")] = True
_FINITE_SIGN = np.zeros(256, bool)
_FINITE_SIGN[list(b"+-")] = True


def _maybe_finite(text: pd.Series) -> np.ndarray:
    """Which texts may be finite numbers (a superset): those :data:`_MAYBE_FINITE` matches, a
    value per line (one holding a line break, where a match of any of its lines only adds a
    candidate, is searched by the regex). The others are checked byte by byte, as one text:
    an optional sign, an optional dot and a digit, then only the bytes the regex allows."""
    values = text.fillna("").tolist()
    raw, starts, lengths = _column_bytes(values, 3)
    sign, dot, digit = (_FINITE_SIGN[raw], raw == ord("."), _DIGIT_BYTE[raw])
    at = [starts, starts + 1, starts + 2]
    leads = (digit[at[0]] | ((sign[at[0]] | dot[at[0]]) & digit[at[1]])
             | (sign[at[0]] & dot[at[1]] & digit[at[2]]))
    # Bytes the regex does not allow, per value and the line break after it (three at the end).
    refused = np.add.reduceat(~_FINITE_BYTE[raw], starts, dtype=np.int64) if len(values) else 0
    after = np.ones(len(values), np.int64)
    after[-1:] = 3
    maybe = leads & (lengths > 0) & (refused == after)
    if np.count_nonzero(raw == ord("\n")) > len(values) + 2:  # a value holds a line break
        for index in (i for i, value in enumerate(values) if "\n" in value):
            maybe[index] = _MAYBE_FINITE.search(values[index]) is not None
    return maybe


def finite_numbers(text: pd.Series) -> np.ndarray:
    """The finite numbers `pd.to_numeric(text, errors="coerce")` reads (stripped text), NaN
    elsewhere (its inf and NaN too). Only the texts that may be numbers are parsed: parsing a
    name or an id fails slowly, and published tables hold millions of them."""
    maybe = _maybe_finite(text)
    out = np.full(len(text), np.nan)
    if maybe.any():
        values = pd.to_numeric(text[maybe], errors="coerce").to_numpy(dtype=float,
                                                                     na_value=np.nan)
        out[maybe] = np.where(np.isfinite(values), values, np.nan)
    return out


def table_pairs(table: pd.DataFrame, out: Candidates) -> None:
    """Every ordered pair of numeric columns, row by row (a CSV may keep lat and lon apart).
    Only finite numbers make pairs."""
    numeric: list[tuple[np.ndarray, np.ndarray]] = []
    for column in table.columns:
        text = table[column].astype("string").str.strip()
        values = finite_numbers(text)
        keep = ~np.isnan(values)
        if keep.any():
            decimals = np.zeros(len(text), int)
            decimals[keep] = _decimals(text[keep])
            numeric.append((values, decimals))
    column_pairs(numeric, out)


def column_pairs(numeric: Sequence[tuple[np.ndarray, np.ndarray]], out: Candidates) -> None:
    """Every ordered pair of the (values, decimals) columns, row by row, where both are finite."""
    for i, (va, da) in enumerate(numeric):
        for j, (vb, db) in enumerate(numeric):
            if i != j:
                ok = np.isfinite(va) & np.isfinite(vb)
                if ok.any():
                    out.add(va[ok], vb[ok], np.minimum(da, db)[ok])


#: Modules whose string constants end up in outputs (labels, definitions, notices).
_TEXT_MODULES = ("maps", "method/classify.py", "stages/maps.py")


def tool_texts() -> list[str]:
    """Text the tool itself writes into outputs: the map's templates, scripts and styles, and
    the string constants of the modules that word the map, the figure and the classes."""
    import ast

    package = Path(__file__).resolve().parents[1]
    texts: list[str] = []
    for entry in _TEXT_MODULES:
        root = package / entry
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in (f for f in files if f.is_file()):
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".py":
                texts += [node.value for node in ast.walk(ast.parse(text))
                          if isinstance(node, ast.Constant) and isinstance(node.value, str)]
            else:
                texts.append(text)
    return texts


def drop_public_values(secrets: Secrets, public_texts: Sequence[str]) -> None:
    """Remove from `secrets` the survey values that occur in `public_texts`: a respondent who
    answers with a phrase the map always holds ("report unmet need") or with the name of a
    listed public asset cannot block publication, and nothing private is published by it."""
    survey_kinds = [k for k in secrets.values if k.startswith("personal value from survey")
                    or k == "story without consent"]
    by_value = {v: [v] for kind in survey_kinds for v in secrets.values[kind]}
    public = set(find_values_by_kind(public_texts, by_value)) if by_value else set()
    for kind in survey_kinds:
        kept = [v for v in secrets.values[kind] if v not in public]
        secrets.in_public_text += len(secrets.values[kind]) - len(kept)
        if kept:
            secrets.values[kind] = kept
        else:
            del secrets.values[kind]


def find_values(texts: Sequence[str], values: Sequence[str]) -> int:
    """How many of `values` occur in any of `texts` as the same sequence of words (separators
    may differ, so `555-0101` also matches `555 0101`). Case-insensitive, except one-word
    alphabetic values (a lone surname like "White" must not match the colour "white")."""
    return find_values_by_kind(texts, {"values": values}).get("values", 0)


def find_values_by_kind(texts: Sequence[str], values_by_kind: Mapping[str, Sequence[str]]
                        ) -> dict[str, int]:
    """:func:`find_values` for several kinds of value at once: each text is tokenised and
    scanned once, whatever the number of kinds. Returns the kinds found with their counts."""
    return ValueMatcher(values_by_kind).count(texts)


#: Characters a :data:`TOKEN` can hold; any other character ends every token, so tokenising
#: may restart after it with the same result as tokenising from the start of the text.
_TOKEN_CHAR = re.compile(r"[\w.+@-]")
_TOKEN_RUN = re.compile(r"[\w.+@-]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: The ASCII characters no word holds (all but letters, digits and "_"), as spaces.
_ASCII_SEPARATORS = "".join(c for c in map(chr, range(128)) if not (c.isalnum() or c == "_"))
_SEPARATORS_AS_SPACES = str.maketrans(_ASCII_SEPARATORS, " " * len(_ASCII_SEPARATORS))
_SEPARATOR_BYTES_AS_SPACES = bytes.maketrans(_ASCII_SEPARATORS.encode(),
                                             b" " * len(_ASCII_SEPARATORS))


def words(text: str) -> list[str]:
    """``re.findall(r"\\w+", text)``, 2-4 times as fast: every character no word holds (a
    word character is alphanumeric or "_", as for :mod:`re`) becomes a space, and the text is
    split at spaces (`str.split` splits at every whitespace, and no word holds one)."""
    if text.isascii():
        return text.translate(_SEPARATORS_AS_SPACES).split()
    data = text.encode("utf-8", "surrogatepass").translate(_SEPARATOR_BYTES_AS_SPACES)
    for char in set(_NON_ASCII.findall(text)):
        if not (char.isalnum() or char.isspace()):  # UTF-8: its bytes are no part of another's
            data = data.replace(char.encode("utf-8", "surrogatepass"), b" ")
    return data.decode("utf-8", "surrogatepass").split()


def tokens(text: str) -> list[str]:
    """``TOKEN.findall(text)``, 3-5 times as fast: only a run of token characters holding an
    ``@`` can hold an e-mail token, so the rest of the text is split into plain
    :func:`words`."""
    if "@" not in text:
        return words(text)
    out: list[str] = []
    done = 0  # text[:done] is tokenised, and text[done - 1] (if any) ends every token
    at = text.find("@")
    while at >= 0:
        start = at
        while start > done and _TOKEN_CHAR.match(text, start - 1):
            start -= 1
        end = _TOKEN_RUN.match(text, at).end()
        out += words(text[done:start])
        out += TOKEN.findall(text, start, end)
        done = end
        at = text.find("@", end)
    out += words(text[done:])
    return out


class ValueMatcher:
    """Personal values prepared once (tokenised, grouped by first word) to scan many texts.

    A value matches a text holding the same sequence of :data:`TOKEN` words; case-insensitive,
    except one-word alphabetic values, which must match exactly."""

    def __init__(self, values_by_kind: Mapping[str, Sequence[str]]) -> None:
        self.exact: dict[str, set[str]] = {}
        self.folded: dict[str, dict[int, dict[tuple[str, ...], set[str]]]] = {}
        for kind, values in values_by_kind.items():
            for value in values:
                words = tuple(TOKEN.findall(value))
                if len(words) == 1 and words[0].isalpha():
                    self.exact.setdefault(words[0], set()).add(kind)
                elif words:
                    low = tuple(t.lower() for t in words)
                    self.folded.setdefault(low[0], {}).setdefault(len(low), {}).setdefault(
                        low, set()).add(kind)

    def __bool__(self) -> bool:
        return bool(self.exact or self.folded)

    @property
    def context(self) -> int:
        """How many tokens a match spans beyond its first."""
        return max((n for lengths in self.folded.values() for n in lengths), default=1) - 1

    def count(self, texts: Iterable[str | EscapedText]) -> dict[str, int]:
        """The kinds whose values occur in `texts`, with how many distinct values of each
        (an :class:`EscapedText` counts with its variants)."""
        found: dict[str, set[tuple[str, ...]]] = {}
        if not self:  # nothing to look for: no need to tokenise the texts
            return {}
        for text in self._scanned(texts):
            sequence = tokens(text)
            unique = set(sequence)
            # Set intersections find the few tokens that can start a match; only their
            # positions are then examined (outputs hold millions of tokens).
            for token in self.exact.keys() & unique:
                for kind in self.exact[token]:
                    found.setdefault(kind, set()).add(("=", token))
            if not self.folded:
                continue
            starts = {token for token in unique if token.lower() in self.folded}
            if not starts:
                continue
            for i in itertools.compress(itertools.count(), map(starts.__contains__, sequence)):
                for n, wanted in self.folded[sequence[i].lower()].items():
                    window = tuple(token.lower() for token in sequence[i:i + n])
                    for kind in wanted.get(window, ()):
                        found.setdefault(kind, set()).add(window)
        return {kind: len(hits) for kind, hits in found.items()}

    def _scanned(self, texts: Iterable[str | EscapedText]) -> Iterator[str]:
        """The texts to tokenise: each text, and of an escaped text its variants, whole or
        (where they differ from it in a few places) the stretches that differ."""
        for text in texts:
            if not isinstance(text, EscapedText):
                yield text
                continue
            raw = text.text
            yield raw
            whole = [raw]
            for variant, starts in VARIANTS:
                if sum(map(raw.count, starts)) * STRETCH_SPACING > len(raw):
                    full = variant(raw)
                    if full not in whole:
                        whole.append(full)
                        yield full
                else:
                    yield from changed_stretches(raw, changed_segments(raw, variant, starts),
                                                 self.context)


def pdf_text(path: Path) -> str:
    """The text a reader sees in a PDF (every page, then the document information), as PDFium
    extracts it from the fonts' Unicode maps (pypdfium2)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        pages = []
        for page in document:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_bounded())
            text_page.close()
            page.close()
        info = [str(v) for v in document.get_metadata_dict().values() if v]
    finally:
        document.close()
    return "\n".join(pages + info)


def binary_text(path: Path) -> str:
    """A PDF's or PNG's bytes as text, as `Path.read_text` reads them (UTF-8, bad bytes
    replaced, newlines translated), without their compressed data: a PDF's filtered streams
    (page drawings, fonts, images, whose words :func:`pdf_text` extracts) and a PNG's pixels
    (IDAT). Compressed bytes hold no copy of a value or a coordinate, only random look-alikes;
    every dictionary, uncompressed stream (XMP metadata) and PNG text chunk is kept."""
    data = path.read_bytes()
    if data.startswith(PNG_SIGNATURE):
        kept, position = [data[:8]], 8
        while position + 8 <= len(data):
            length = int.from_bytes(data[position:position + 4], "big")
            end = min(position + 12 + length, len(data))
            if data[position + 4:position + 8] != b"IDAT":
                kept.append(data[position:end])
            position = end
        data = b"".join([*kept, data[position:]])
    elif data.startswith(b"%PDF"):
        data = COMPRESSED_STREAM.sub(rb"\1\2", data)
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def file_contents(path: Path, with_texts: bool = True
                  ) -> tuple[list[str | EscapedText], Candidates, list[tuple[np.ndarray, CRS]]]:
    """Texts to search for values, number pairs, and vector vertices with their layer's CRS.

    `with_texts=False` (no personal value to look for) returns no texts and skips making them
    (unescaped variants of each text file, attribute tables as CSV); pairs and vertices are
    the same."""
    suffix = path.suffix.lower()
    pairs = Candidates()
    texts: list[str | EscapedText] = []
    vertices: list[tuple[np.ndarray, CRS]] = []
    if suffix in VECTOR_SUFFIXES:
        for layer, _ in pyogrio.list_layers(path):
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
            attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)
                                 if isinstance(frame, gpd.GeoDataFrame) else frame)
            as_text = attrs.astype(str)
            if with_texts:
                texts.append(as_text.to_csv(index=False))
            table_pairs(as_text, pairs)
            if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
                vertices.append((shapely.get_coordinates(frame.geometry.to_numpy()),
                                 CRS(frame.crs)))
    elif suffix in RASTER_SUFFIXES:
        with rasterio.open(path) as src:
            meta = {"tags": src.tags(), "band": [src.tags(b) for b in src.indexes],
                    "descriptions": src.descriptions, "units": src.units}
        text = json.dumps(meta, default=str)
        if with_texts:
            texts.append(EscapedText(DATA_URI.sub(" ", text)))
        text_pairs(text, pairs)
    else:
        if suffix in PDF_SUFFIXES or suffix == ".png":
            text = binary_text(path)
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        if suffix in PDF_SUFFIXES:
            # The drawn words (compressed, font-encoded in the raw bytes) and the metadata.
            text = pdf_text(path) + "\n" + text
        if suffix in {".html", ".htm"}:  # a multilingual map packs its popups (gzip, base64)
            from aiddeserts.maps.packing import unpacked_texts

            text += "\n" + unpacked_texts(text)
        # Values are looked for in the text and its variants, pairs in the text as written,
        # images removed.
        written = DATA_URI.sub(" ", text)
        if with_texts:
            texts.append(EscapedText(written))
        text_pairs(written, pairs)
        if suffix == ".csv":
            with contextlib.suppress(pd.errors.ParserError, pd.errors.EmptyDataError):
                table_pairs(pd.read_csv(path, dtype=str, keep_default_na=False), pairs)
    return texts, pairs, vertices


# ------------------------------------------------------------------------------- geometry
#: k-d trees of the audit's target arrays by id, with the array itself (an id is reused only
#: once its array is gone, so a cached tree is used only for the very same array object).
_TREES: dict[int, tuple[np.ndarray, cKDTree]] = {}


def _tree(targets: np.ndarray) -> cKDTree:
    """The k-d tree of `targets`, built once per array: every file is checked against the
    same respondents and public coordinates (163,000 tract vertices on the NYC demo)."""
    cached = _TREES.get(id(targets))
    if cached is None or cached[0] is not targets:
        if len(_TREES) >= 8:
            _TREES.clear()
        cached = _TREES[id(targets)] = (targets, cKDTree(targets))
    return cached[1]


def _near(points: np.ndarray, tolerance: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Whether each point's nearest target is within its tolerance."""
    if len(points) == 0 or len(targets) == 0:
        return np.zeros(len(points), bool)
    widest = float(np.max(tolerance))
    # The search stops beyond the widest tolerance (a point farther off gets inf): the same
    # answer, without walking the tree to the far nearest target of every pair in a table.
    bound = widest * (1 + 1e-9) + 1e-9 if np.isfinite(widest) else np.inf
    dist, _ = _tree(targets).query(points, k=1, distance_upper_bound=bound)
    return dist <= tolerance


def candidate_points(pairs: Candidates, crs: CRS, min_decimals: int, slack_m: float,
                     bounds: tuple[float, float, float, float]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every reading of every pair as a point in the working CRS: (lat, lon), (lon, lat) when
    fine enough (≥ min_decimals), and (x, y), (y, x) as metres. Returns points, the leak
    tolerance (cell diagonal + slack) and the public-match tolerance (cell diagonal + 0.5 m)."""
    a, b, dec = pairs.arrays()
    to_working = Transformer.from_crs(4326, crs, always_xy=True)
    pts, cells = [], []
    fine = dec >= min_decimals
    for lat, lon in ((a, b), (b, a)):
        ok = fine & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if ok.any():
            x, y = to_working.transform(lon[ok], lat[ok])
            pts.append(np.column_stack([x, y]))
            cells.append(M_PER_DEGREE * np.sqrt(2) * 10.0 ** -dec[ok])
    for x, y in ((a, b), (b, a)):
        ok = (np.abs(x) >= 1000) & (np.abs(y) >= 1000)
        if ok.any():
            pts.append(np.column_stack([x[ok], y[ok]]))
            cells.append(np.sqrt(2) * 10.0 ** -dec[ok])
    if not pts:
        return np.empty((0, 2)), np.empty(0), np.empty(0)
    points, cell = np.concatenate(pts), np.concatenate(cells)
    minx, miny, maxx, maxy = bounds
    inside = ((points[:, 0] >= minx) & (points[:, 0] <= maxx) & (points[:, 1] >= miny)
              & (points[:, 1] <= maxy) & np.isfinite(points).all(axis=1))
    return points[inside], cell[inside] + slack_m, cell[inside] + 0.5


def coordinate_leaks(points: np.ndarray, tolerance: np.ndarray, public_tolerance: np.ndarray,
                     secrets: Secrets) -> dict[str, int]:
    """Counts of points near a respondent / a protected asset that are not public."""
    near_respondent = _near(points, tolerance, secrets.respondents)
    near_private = _near(points, tolerance, secrets.private_assets)
    # Whether a point is public matters only where it is near one of those.
    suspect = np.flatnonzero(near_respondent | near_private)
    public = np.zeros(len(points), bool)
    pin = np.zeros(len(points), bool)
    public[suspect] = _near(points[suspect], public_tolerance[suspect], secrets.public)
    pin[suspect] = _near(points[suspect], public_tolerance[suspect], secrets.public_assets)
    out = {}
    for kind, near, allowed in (
            ("coordinates near a survey respondent", near_respondent, public | pin),
            ("exact location of a hidden or approximate asset", near_private, public)):
        hits = int((near & ~allowed).sum())
        if hits:
            out[kind] = hits
    return out


# ---------------------------------------------------------------------------------- audit
def audit_files(files: Iterable[str | Path], secrets: Secrets, settings: Mapping[str, Any]
                ) -> dict[str, Any]:
    """Audit every file; return the report, or raise :class:`PrivacyLeakError` naming each
    file and kind of leak (never the value)."""
    return finish_audit([scan_files(files, secrets, settings)])


def scan_files(files: Iterable[str | Path], secrets: Secrets, settings: Mapping[str, Any]
               ) -> dict[str, Any]:
    """One part of the audit: what each file holds (``files``), the leaks found in them by
    file, kind and count (``leaks``, never a value) and what was checked (``checked``).
    :func:`finish_audit` turns the parts into the report, or the error."""
    min_decimals = int(settings["audit_min_decimals"])
    slack = float(settings["audit_slack_m"])
    targets = [t for t in (secrets.respondents, secrets.private_assets) if len(t)]
    if targets:
        allpts = np.concatenate(targets)
        margin = 1000.0
        bounds = (allpts[:, 0].min() - margin, allpts[:, 1].min() - margin,
                  allpts[:, 0].max() + margin, allpts[:, 1].max() + margin)
    else:
        bounds = (np.inf, np.inf, -np.inf, -np.inf)
    leaks: list[tuple[str, str, int]] = []
    checked: dict[str, dict[str, int]] = {}
    matcher = ValueMatcher(secrets.values)  # the values are tokenised once, not per file
    for path in map(Path, files):
        texts, pairs, vertices = file_contents(path, with_texts=bool(secrets.values))
        points, tol, public_tol = candidate_points(pairs, secrets.crs, min_decimals, slack,
                                                   bounds)
        found = coordinate_leaks(points, tol, public_tol, secrets)
        n_vertices = 0
        for coords, crs in vertices:
            if len(coords) == 0:
                continue
            x, y = Transformer.from_crs(crs, secrets.crs, always_xy=True).transform(
                coords[:, 0], coords[:, 1])
            xy = np.column_stack([x, y])
            n_vertices += len(xy)
            for kind, hits in coordinate_leaks(xy, np.full(len(xy), slack),
                                               np.full(len(xy), 0.5), secrets).items():
                found[f"{kind} (vector geometry)"] = hits
        found.update(matcher.count(texts))
        leaks += [(path.name, kind, n) for kind, n in sorted(found.items())]
        checked[path.name] = {"number_pairs": int(len(pairs.arrays()[0])),
                              "vector_vertices": int(n_vertices)}
    return {
        "files": checked,
        "leaks": [list(leak) for leak in leaks],
        "checked": {
            "respondents_checked": int(len(secrets.respondents)),
            "public_asset_pins_near_respondents": int(
                _near(secrets.public_assets, np.full(len(secrets.public_assets), slack),
                      secrets.respondents).sum()),
            "protected_asset_locations_checked": int(len(secrets.private_assets)),
            "personal_values_checked": {k: len(v) for k, v in sorted(secrets.values.items())},
            "personal_values_in_public_text": int(secrets.in_public_text),
            "rules": {"audit_min_decimals": min_decimals, "audit_slack_m": slack,
                      "public_coordinates": int(len(secrets.public))},
        },
    }


def finish_audit(parts: Sequence[Mapping[str, Any]], order: Sequence[str] | None = None
                 ) -> dict[str, Any]:
    """The report of the audit's parts (:func:`scan_files` of the same secrets), files in
    `order` (their names; default: as the parts list them); or :class:`PrivacyLeakError`
    naming every file and kind of leak of every part (never the value)."""
    rank = {name: i for i, name in enumerate(order or ())}

    def position(name: str) -> int:
        return rank.get(name, len(rank))

    files = sorted(((name, counts) for part in parts for name, counts in part["files"].items()),
                   key=lambda item: position(item[0]))
    leaks = sorted((tuple(leak) for part in parts for leak in part["leaks"]),
                   key=lambda leak: position(leak[0]))
    if leaks:
        lines = "; ".join(f"{name}: {kind} ({n} found)" for name, kind, n in leaks)
        raise PrivacyLeakError(
            f"privacy audit failed, nothing was published (outputs/ is unchanged): {lines}.",
            fix="mark the asset approximate or hidden, or remove the personal data from the "
            "input that carried it into the output (a survey value is never looked for when it "
            "also appears in public text: the tool's own words, a public asset list, tract "
            "and place names or the config); if a value is not personal (e.g. a categorical "
            "answer), list its column in privacy.audit_ignore_columns; see docs/privacy.md.")
    checked = parts[0]["checked"] if parts else {}
    return {"passed": True, "files": dict(files), **checked}


def collect_secrets(survey: Mapping[str, Any] | None, tract_id: str, tracts: gpd.GeoDataFrame,
                    assets: gpd.GeoDataFrame, displayed: gpd.GeoDataFrame,
                    min_respondents: int, ignore_columns: Sequence[str],
                    density_cell_m: float | None = None) -> Secrets:
    """What the outputs must not hold, read from the raw survey (every row, every column) and
    the assets; and the public coordinates (tract vertices, representative points, centroids,
    the web map's bounds and centre, and with `density_cell_m` the corners of its density
    picture: the density grid's, `density.cell_size_m`).

    `displayed` are the assets the map draws (names of displayed assets are not secret).
    """
    from aiddeserts.io.columns import parse_yes_no
    from aiddeserts.io.points import read_points
    from aiddeserts.io.survey import survey_allow_list
    from aiddeserts.maps.shapes import map_view
    from aiddeserts.privacy import rules as privacy

    crs = CRS(tracts.crs)
    geoms = tracts.geometry.to_numpy()
    # The map's view and its density picture's corners too: they come from the tracts alone,
    # and the centre, inside the region, may fall near a home by chance.
    (minx, miny, maxx, maxy), (lat, lon) = map_view(tracts)
    lons, lats = [minx, minx, maxx, maxx, lon], [miny, maxy, miny, maxy, lat]
    if density_cell_m:
        from aiddeserts.maps.raster import density_image_bounds
        from aiddeserts.method.density import grid_for_bounds

        grid = grid_for_bounds(tuple(tracts.total_bounds), density_cell_m)
        (south, west), (north, east) = density_image_bounds(grid, crs)
        lons += [west, west, east, east]
        lats += [south, north, south, north]
    view = np.column_stack(Transformer.from_crs(4326, crs, always_xy=True).transform(lons, lats))
    public = np.concatenate([shapely.get_coordinates(geoms),
                             shapely.get_coordinates(shapely.point_on_surface(geoms)),
                             shapely.get_coordinates(shapely.centroid(geoms)), view])
    secrets = Secrets(crs=crs, public=public)
    if "visibility" in assets.columns:
        protected = assets.loc[assets["visibility"] != "public"]
        secrets.private_assets = shapely.get_coordinates(protected.geometry.to_numpy())
    secrets.public_assets = shapely.get_coordinates(displayed.geometry.to_numpy())
    if "visibility" in assets.columns:
        shown = set(displayed["name"].astype(str))
        hidden = assets.loc[assets["visibility"] == "hidden", "name"].astype(str)
        names = sorted({n.strip() for n in hidden if n not in shown
                        and privacy.is_distinctive(n)})
        if names:
            secrets.values["name of a hidden asset"] = names
    if not survey:
        return secrets
    points, table, _ = read_points(survey, "survey", personal=True)
    secrets.respondents = shapely.get_coordinates(points.to_crs(crs).geometry.to_numpy())
    allowed = [*survey_allow_list(survey), *ignore_columns]
    # Tract ids are public (a survey may carry its geocoded tract); asset names are not
    # exempt: a respondent's name pasted into the asset list is exactly a leak to catch.
    public_values = {str(v).strip().lower() for v in tracts[tract_id]}
    for column, values in privacy.personal_values_by_column(table, allowed,
                                                             min_respondents).items():
        values = [v for v in values if v.lower() not in public_values]
        if values:
            secrets.values[f"personal value from survey column '{column}'"] = values
    if survey.get("story") and survey["story"] in table.columns:
        stories = table[survey["story"]].astype(str).str.strip()
        consented = (parse_yes_no(table[survey["consent"]]).fillna(False).to_numpy(bool)
                     if survey.get("consent") in table.columns else np.zeros(len(table), bool))
        published = set(stories[consented])
        private = sorted({s for s in stories[~consented]
                          if s not in published and privacy.is_distinctive(s)})
        if private:
            secrets.values["story without consent"] = private
    return secrets
