"""File formats people actually have: CSV in any common encoding and delimiter, vector files
(GeoPackage, GeoJSON, Shapefile, zipped Shapefile, KML/KMZ), survey geopoints, ACS tables.

Every reader turns a failure into an :class:`InputError` naming the file and the fix. Nothing here
decides which rows to keep: that is the ingest modules of :mod:`aiddeserts.io`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from aiddeserts.errors import InputError

#: Column names recognised as latitude/longitude when the config names none (case-insensitive).
#: Survey tools prefix them: KoboToolbox `_location_latitude`, ODK Central `location-Latitude`.
LAT_NAMES = ("latitude", "lat", "y", "lat_dd", "point_y")
LON_NAMES = ("longitude", "lon", "lng", "long", "x", "lon_dd", "point_x")
#: Columns holding a whole geopoint: KoboToolbox's `_geolocation` ([lat, lon]).
GEOPOINT_NAMES = ("_geolocation", "geopoint", "location", "gps", "coordinates", "geolocation")
#: data.census.gov / Census annotation values that stand for a missing estimate.
ACS_MISSING_TOKENS = {"-", "(x)", "n", "**", "***", "*****", "null", "n/a"}
#: ACS summary-level prefix of a GEO_ID such as 1400000US36061000100.
GEOID_PREFIX = re.compile(r"^\d{7}US")
_GEOPOINT = re.compile(
    r"^\s*\[?\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)(?:\s+-?\d+(?:\.\d+)?){0,2}\s*\]?\s*$")


def check_exists(path: str | Path) -> Path:
    """The path, if it names a non-empty file; else an InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found.", path=path, fix="check the path in the config.")
    if path.is_dir() and path.suffix.lower() in {".csv", ".txt", ".json", ".geojson", ".kml",
                                                 ".kmz", ".zip", ".gpkg", ".shp"}:
        raise InputError("this is a directory, not a file.", path=path,
                         fix="give the path of the file inside it.")
    if not os.access(path, os.R_OK):
        raise InputError("the file cannot be read (permission denied).", path=path,
                         fix="let the user running aiddeserts read it (chmod / chown).")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("file is empty (0 bytes).", path=path, fix="export the data again.")
    return path


def _sniff_delimiter(sample: str) -> str:
    """`,`, `;` (KoboToolbox's default) or tab, sniffed from the header line."""
    header = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


#: Bytes 0x80-0x9F: control characters in Latin-1, letters and punctuation (€ ‘ ’ “ ” – —) in
#: Windows-1252, the encoding Excel on Windows writes.
_CP1252_ONLY = re.compile(rb"[\x80-\x9f]")


def decode_text(raw: bytes, path: str | Path) -> tuple[str, str]:
    """The text of a CSV's bytes and its encoding: UTF-8 (BOM or not), UTF-16 with a BOM (Excel's
    "Unicode text"), else Windows-1252 when it uses that code page's extra characters, else
    Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError("starts like UTF-16 text but does not decode as UTF-16.", path=path,
                             fix="export the sheet again as CSV UTF-8.") from exc
    if b"\x00" in raw[:4096]:
        raise InputError("is not a text CSV (it contains binary data).", path=path,
                         fix="export the sheet as CSV (comma separated values).")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _CP1252_ONLY.search(raw):
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1"), "latin-1"


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns (ids keep their leading zeros).

    UTF-8 with or without BOM, UTF-16 with BOM; else Windows-1252 or Latin-1 (Excel on
    Windows), recorded in ``frame.attrs["encoding"]`` so callers can report it. The delimiter
    (`,`, `;`, tab) is sniffed.
    """
    path = check_exists(path)
    text, encoding = decode_text(path.read_bytes(), path)
    delimiter = _sniff_delimiter(text[:4096])
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            sep=delimiter)
    except pd.errors.EmptyDataError as exc:
        raise InputError("file has no header and no rows.", path=path,
                         fix="export the data again with a header row.") from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV ({exc}).", path=path,
                         fix="check the delimiter and quoting.") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    # data.census.gov ends every line with a comma: drop the empty trailing column.
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:") and (frame[c] == "").all()]
    frame = frame.drop(columns=unnamed)
    frame.attrs["encoding"] = encoding
    return frame


def _kml_layers(path: Path) -> list[str]:
    return [str(name) for name, _ in pyogrio.list_layers(path)]


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio: GeoPackage, GeoJSON, Shapefile (also zipped, as the
    Census Bureau ships TIGER/Line), KML/KMZ. A KML's folders (Google My Maps layers) are read
    together unless `layer` names one; the folder goes to column ``kml_layer``."""
    path = check_exists(path)
    try:
        if path.suffix.lower() in {".kml", ".kmz"} and layer is None:
            frames = []
            for name in _kml_layers(path):
                part = gpd.read_file(path, layer=name, engine="pyogrio")
                frames.append(part.assign(kml_layer=name))
            frame = pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame()
            return gpd.GeoDataFrame(frame, geometry="geometry", crs=frames[0].crs if frames
                                    else None)
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # pyogrio raises several types for corrupt/unknown files
        raise InputError(f"cannot be read as a vector file ({type(exc).__name__}: {exc}).",
                         path=path, fix="check the file opens in QGIS, or re-export it.") from exc


def _simple(name: str) -> str:
    """Lower-case column name without a group prefix (`grp/location` → `location`)."""
    return re.split(r"[/]", name.strip().lower())[-1]


def find_column(columns: Sequence[str], names: Sequence[str]) -> str | None:
    """The first column whose name (or name after a survey tool's prefix) is one of `names`."""
    simple = {c: _simple(c) for c in columns}
    for wanted in names:
        for column, s in simple.items():
            if s == wanted:
                return column
    for wanted in names:  # Kobo `_location_latitude`, ODK `location-Latitude`
        if len(wanted) < 4:
            continue
        for column, s in simple.items():
            if s.endswith((f"_{wanted}", f"-{wanted}")):
                return column
    return None


def parse_geopoint(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Latitude and longitude from one text column: ODK/Kobo ``"lat lon alt accuracy"``,
    Google Forms ``"lat, lon"``, Kobo ``_geolocation`` ``"[lat, lon]"``. Unparsed → NaN."""
    parts = values.astype("string").str.extract(_GEOPOINT)
    return (pd.to_numeric(parts[0], errors="coerce").astype(float),
            pd.to_numeric(parts[1], errors="coerce").astype(float))


def looks_like_geopoint(values: pd.Series) -> bool:
    """Whether most non-blank values parse as geopoints."""
    text = values.astype("string").str.strip()
    text = text[text.fillna("") != ""]
    if text.empty:
        return False
    lat, _ = parse_geopoint(text)
    return bool(lat.notna().mean() > 0.5)


# ------------------------------------------------------------------------------------------ ACS
def is_census_download(frame: pd.DataFrame) -> bool:
    """A data.census.gov table: `GEO_ID` column and a second header row of labels."""
    return "GEO_ID" in frame.columns and len(frame) > 0 and frame["GEO_ID"].iloc[0] in {
        "Geography", "id", "Geographic Identifier"}


def read_census_api_json(path: str | Path) -> pd.DataFrame:
    """A Census Data API response (a JSON list of rows, the first one the header) as text.

    A ``GEOID`` column is added from ``state``+``county``+``tract`` when those are present.
    """
    path = check_exists(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"is not valid JSON ({exc}).", path=path,
                         fix="download the Census API response again.") from exc
    if (not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows)
            or len({len(r) for r in rows}) != 1):
        raise InputError("is not a Census API table (a list of equally long rows, header first).",
                         path=path, fix="save the API response unchanged.")
    frame = pd.DataFrame(rows[1:], columns=[str(c) for c in rows[0]], dtype=object)
    frame = frame.map(lambda v: "" if v is None else str(v))
    if {"state", "county", "tract"} <= set(frame.columns) and "GEOID" not in frame.columns:
        frame["GEOID"] = frame["state"] + frame["county"] + frame["tract"]
    return frame


def read_table(path: str | Path) -> pd.DataFrame:
    """An attribute table: CSV (data.census.gov's second label row dropped) or Census API JSON."""
    if Path(path).suffix.lower() == ".json":
        return read_census_api_json(path)
    frame = read_csv_text(path)
    if is_census_download(frame):
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.attrs["header_rows"] = 2
    return frame


def acs_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ACS cells to floats, with a note per changed cell (else ``<NA>``).

    Blank and annotation cells (``-``, ``(X)``, ``N``, ``*****``) and the API's negative sentinel
    values (-666666666 etc.) become NaN; top/bottom-coded ``250,000+`` / ``2,500-`` become their
    number; thousands separators are dropped, and so are the currency signs, percent signs and
    digit-group spaces people type ($1,234, 12%, 1 234), a column written with decimal commas
    (1.234,5; 12,5) is read as such, and typographic minus signs (−5) count. Scientific notation
    (1.2E+03) is a number. Other text raises
    ``ValueError(first_bad_index)``. A column that is already numeric (a GeoPackage's or
    Shapefile's number field) is taken as it is: only missing values and sentinels are noted
    (read as text, a field whose values all had three decimals, 1.234, looked like digit
    groups).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        notes = pd.Series(pd.NA, index=values.index, dtype="string")
        sentinel = numbers <= -111111111
        notes[numbers.isna().to_numpy()] = "blank"
        notes[sentinel.to_numpy()] = "sentinel"
        return numbers.mask(sentinel), notes
    text = values.astype("string").fillna("").map(lambda v: v.translate(_TYPOGRAPHIC)).astype(
        "string").str.strip()
    # A column written with decimal commas (1.234,5; 12,5): dots group digits, commas are decimal.
    european = text.str.fullmatch(r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?|-?\d+,(?:\d{1,2}|\d{4,})")
    us_only = text.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+\.\d+|-?\d+\.(?:\d{1,2}|\d{4,})")
    comma_column = bool(european.fillna(False).any()) and not bool(us_only.fillna(False).any())
    decimal_comma = text.str.fullmatch(r"-?[\d.]+,\d+|-?\d{1,3}(?:\.\d{3})+").fillna(False) & \
        comma_column
    text = text.where(~decimal_comma, text.str.replace(".", "", regex=False).str.replace(
        ",", ".", regex=False))
    # Numbers as people type them in spreadsheets: $1,234, 12%, 1 234 (space or no-break space).
    typed = text.str.match(r"^[$€£]?\s*-?\d[\d,.\s\u00a0\u202f]*%?$") & text.str.contains(
        r"[$€£%\s\u00a0\u202f]", regex=True)
    text = text.where(~typed, text.str.replace(r"[$€£%\s\u00a0\u202f]", "", regex=True))
    notes = pd.Series(pd.NA, index=values.index, dtype="string")
    token = text.str.lower().isin(ACS_MISSING_TOKENS)
    coded = text.str.match(r"^[\d,.]+[+-]$")
    cleaned = text.where(~token, "").str.replace(",", "", regex=False)
    cleaned = cleaned.where(~coded, cleaned.str.rstrip("+-"))
    numbers = pd.to_numeric(cleaned.replace("", pd.NA), errors="coerce")
    bad = numbers.isna() & (cleaned != "")
    if bad.any():
        raise ValueError(int(np.flatnonzero(bad.to_numpy())[0]))
    numbers = numbers.astype(float)
    sentinel = numbers <= -111111111
    notes[text == ""] = "blank"
    notes[token] = "annotation"
    notes[coded] = "top/bottom-coded"
    notes[typed | decimal_comma] = "formatted number"
    notes[sentinel] = "sentinel"
    return numbers.mask(sentinel), notes


def strip_geoid_prefix(values: pd.Series) -> pd.Series:
    """`1400000US36061000100` → `36061000100` (other ids unchanged)."""
    return values.astype("string").str.replace(GEOID_PREFIX, "", regex=True)


def clean_ids(values: pd.Series) -> pd.Series:
    """Ids as text: stripped, with a float artefact `.0` removed (`36061000100.0`)."""
    text = values.astype("string").str.strip()
    return text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


def pad_width(*columns: pd.Series) -> int:
    """The width digit-only GEOIDs should have: the longest digit-only id among `columns`."""
    widths = [strip_geoid_prefix(c).str.len()[strip_geoid_prefix(c).str.fullmatch(r"\d+")
                                              .fillna(False)] for c in columns]
    joined = pd.concat(widths) if widths else pd.Series(dtype=int)
    return int(joined.max()) if len(joined) and pd.notna(joined.max()) else 0


def pad_ids(values: pd.Series, width: int) -> tuple[pd.Series, np.ndarray]:
    """Restore leading zeros lost by spreadsheets: digit-only ids shorter than `width` are
    zero-padded. Returns the ids and a mask of the changed rows."""
    digits = values.str.fullmatch(r"\d+").fillna(False) & (values.str.len() < width)
    return values.where(~digits, values.str.zfill(width)), digits.to_numpy()


# ---------------------------------------------------------------------------------- coordinates
#: Minus signs and spaces that spreadsheets and word processors type (U+2212 minus, dashes,
#: no-break and thin spaces) and what they stand for.
_TYPOGRAPHIC = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00a0": " ",
                              "\u202f": " ", "\u2009": " ", "\ufeff": ""})
#: A number: optional sign, digits, an optional decimal point or comma; or scientific notation.
_NUMBER = r"\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?"
#: Degrees, minutes, seconds with their usual marks (° º d : ' ′ ’ " ″ ”), or the same numbers
#: separated by spaces, with a hemisphere letter before or after: 40°42′46″N, N 40 42 46,
#: 73°59'08.5"W, 40° 42.767' N, -73:59:08.
_DMS = re.compile(
    r"^\s*(?P<pre>[NSEWnsew])?\s*(?P<sign>-)?\s*(?P<d>\d+(?:[.,]\d+)?)\s*(?:°|º|d|:|\s)\s*"
    r"(?:(?P<m>\d+(?:[.,]\d+)?)\s*(?:'|′|’|m|:|\s)?\s*)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)\s*(?:\"|″|”|''|′′|s)?\s*)?(?P<post>[NSEWnsew])?\s*$")
_SIGNED_HEMISPHERE = re.compile(rf"^\s*(?P<pre>[NSEWnsew])?\s*(?P<v>{_NUMBER})\s*°?\s*"
                                r"(?P<post>[NSEWnsew])?\s*$")


def _dms_value(text: str) -> float:
    """Decimal degrees of one DMS or hemisphere-lettered text, NaN when it is neither."""
    match = _DMS.match(text) if any(ch in text for ch in "°º'′’\"″”:dNSEWnsew ") else None
    if match is None or (match["pre"] and match["post"]):
        return np.nan
    parts = [float(p.replace(",", ".")) if p else 0.0 for p in (match["d"], match["m"],
                                                                match["s"])]
    if parts[1] >= 60 or parts[2] >= 60:
        return np.nan
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    hemisphere = (match["pre"] or match["post"] or "").upper()
    return -value if hemisphere in {"S", "W"} or match["sign"] else value


def parse_coordinates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Coordinates as people type them, to floats, with the notation of each cell that needed
    reading (else ``<NA>``): ``decimal comma`` (40,7128), ``typographic minus`` (−73.98, a
    no-break space), ``degrees-minutes-seconds`` (40°42′46″N, 40 42 46 N, 40°42.767′N) and
    ``hemisphere letter`` (73.98 W). Scientific notation (4.07128E+01) is a plain number.
    Anything else is NaN (the caller reports it as not a number)."""
    raw = values.astype("string").fillna("")
    text = raw.map(lambda v: v.translate(_TYPOGRAPHIC)).astype("string").str.strip()
    notes = pd.Series(pd.NA, index=values.index, dtype="string")
    numbers = pd.to_numeric(text.replace("", pd.NA), errors="coerce").astype(float)
    notes[numbers.notna() & (text != raw.str.strip())] = "typographic minus"
    comma = numbers.isna() & text.str.fullmatch(r"-?\d+,\d+(?:[eE][+-]?\d+)?").fillna(False)
    numbers[comma] = pd.to_numeric(text[comma].str.replace(",", ".", regex=False),
                                   errors="coerce")
    notes[comma] = "decimal comma"
    rest = numbers.isna() & (text != "")
    for index in rest[rest].index:
        lettered = _SIGNED_HEMISPHERE.match(text[index])
        if lettered and not (lettered["pre"] and lettered["post"]) and (
                lettered["pre"] or lettered["post"]):
            value = float(lettered["v"].replace(",", "."))
            sign = -1 if (lettered["pre"] or lettered["post"]).upper() in {"S", "W"} else 1
            numbers[index], notes[index] = sign * value, "hemisphere letter"
            continue
        value = _dms_value(text[index])
        if np.isfinite(value):
            numbers[index], notes[index] = value, "degrees-minutes-seconds"
    return numbers, notes
