"""Read tracts, assets and survey points; validate them; join points to tracts.

Every reader returns the rows it kept and a rejects table (`source`, `row`, `reason`): a row is
either kept or listed there, never silently dropped. Row numbers are 1-based data rows (the
header is not counted). Rejects never carry a row's content, which may be personal.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from aiddeserts.config import asset_sources, need_variables
from aiddeserts.errors import InputError
from aiddeserts.pointjoin import containing_polygon

REJECT_COLUMNS = ["source", "row", "reason"]
#: ACS "annotation" values that stand for a missing estimate.
ACS_SENTINELS = (-666666666, -999999999, -888888888, -555555555, -333333333, -222222222)
YES = {"yes", "y", "true", "t", "1", "si", "sí", "oui", "x"}
NO = {"no", "n", "false", "f", "0", "non"}
VECTOR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".zip", ".kml", ".fgb"}


def empty_rejects() -> pd.DataFrame:
    """A rejects table with no rows."""
    return pd.DataFrame({"source": pd.Series(dtype=str), "row": pd.Series(dtype="Int64"),
                         "reason": pd.Series(dtype=str)})


def make_rejects(source: str, rows: Sequence[int], reason: str | Sequence[str]) -> pd.DataFrame:
    """Rejects rows for `rows` (1-based) of `source`, all with one reason or one reason each."""
    reasons = [reason] * len(rows) if isinstance(reason, str) else list(reason)
    return pd.DataFrame({"source": source, "row": pd.array(list(rows), dtype="Int64"),
                         "reason": reasons})


def require_columns(columns: Sequence[str], wanted: Mapping[str, str | None]
                    | Sequence[tuple[str, str | None]], path: str | Path) -> None:
    """Raise if a configured column (given as role → column) is missing; suggest the closest."""
    pairs = wanted.items() if isinstance(wanted, Mapping) else wanted
    for role, column in pairs:
        if column is None or column in columns:
            continue
        close = difflib.get_close_matches(column, [str(c) for c in columns], n=1, cutoff=0.5)
        listing = ", ".join(map(str, columns))
        hint = f"did you mean '{close[0]}'?" if close else f"columns are: {listing}."
        raise InputError(f"the configured {role} column is missing; {hint}", path=path,
                         column=column, fix=f"name an existing column in the config's '{role}' key.")


def _check_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found.", path=path, fix="check the path in the config.")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("file is empty.", path=path, fix="export the data again.")
    return path


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns (ids keep their leading zeros), UTF-8 with or without BOM."""
    path = _check_exists(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
        frame.attrs["encoding"] = "latin-1"
    except pd.errors.EmptyDataError as exc:
        raise InputError("file has no header and no rows.", path=path,
                         fix="export the data again with a header row.") from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"not a readable CSV ({exc}).", path=path,
                         fix="check the delimiter and quoting.") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, turning failures into an actionable :class:`InputError`."""
    path = _check_exists(path)
    try:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for corrupt/unknown files
        raise InputError(f"cannot be read as a vector file ({type(exc).__name__}: {exc}).",
                         path=path, fix="check the file opens in QGIS, or re-export it.") from exc


def to_number(values: pd.Series) -> pd.Series:
    """Text to float: blanks and ACS sentinel values become NaN; other text raises ValueError."""
    text = values.astype("string").str.strip().replace("", pd.NA)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & text.notna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(first)
    numbers = numbers.astype(float)
    return numbers.mask(numbers.isin(ACS_SENTINELS))


def parse_yes_no(values: pd.Series) -> pd.Series:
    """Yes/no answers in their usual forms (yes/Y/true/1/sí) to a nullable boolean."""
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(YES)] = True
    out[text.isin(NO)] = False
    return out


def _numeric_column(frame: pd.DataFrame, column: str, path: str | Path) -> pd.Series:
    try:
        return to_number(frame[column])
    except ValueError as exc:
        row = int(exc.args[0]) + 1
        raise InputError(f"value {frame[column].iloc[row - 1]!r} is not a number.", path=path,
                         row=row, column=column,
                         fix="use numbers only (blank for missing).") from exc


# --------------------------------------------------------------------------------------- tracts
def working_crs(tracts: gpd.GeoDataFrame, configured: str | None = None) -> CRS:
    """The projected CRS for distances: the configured one, else pyproj's UTM estimate."""
    if configured:
        crs = CRS.from_user_input(configured)
        if not crs.is_projected:
            raise InputError(f"working_crs {configured} is not a projected CRS.",
                             fix="use a metric projected CRS such as a UTM zone.")
        return crs
    return tracts.estimate_utm_crs()


def read_tracts(tracts_config: Mapping[str, Any]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Tract polygons with id (text), population and need columns, attributes joined if given."""
    path = tracts_config["path"]
    tracts = read_vector(path, tracts_config.get("layer"))
    if tracts.empty:
        raise InputError("the tract file has no features.", path=path, fix="check the layer.")
    if tracts.crs is None:
        if not tracts_config.get("crs"):
            raise InputError("the tract file has no CRS and the config gives none.", path=path,
                             fix="add tracts.crs (e.g. EPSG:2263) to the region's config.")
        tracts = tracts.set_crs(tracts_config["crs"])
    elif tracts_config.get("crs") and CRS(tracts_config["crs"]) != tracts.crs:
        raise InputError(f"the file's CRS ({tracts.crs.to_string()}) differs from tracts.crs "
                         f"({tracts_config['crs']}).", path=path,
                         fix="remove tracts.crs: it is only for files without a CRS.")
    id_col = tracts_config["id"]
    require_columns(list(tracts.columns), {"id": id_col}, path)
    tracts[id_col] = tracts[id_col].astype("string").str.strip()
    duplicated = tracts[id_col].duplicated(keep=False)
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[1]) + 1
        raise InputError(f"tract id {tracts[id_col].iloc[row - 1]!r} appears more than once.",
                         path=path, row=row, column=id_col, fix="give every tract a unique id.")

    attributes = tracts_config.get("attributes")
    value_columns = [tracts_config["population"]] + [
        c for spec in need_variables(tracts_config) for c in (spec["column"], spec.get("moe")) if c
    ]
    if attributes:
        table = read_csv_text(attributes["path"])
        require_columns(list(table.columns), {"attributes.id": attributes["id"]}, attributes["path"])
        require_columns(list(table.columns), [("need/population", c) for c in value_columns],
                        attributes["path"])
        table = table[[attributes["id"], *value_columns]].copy()
        table[attributes["id"]] = table[attributes["id"]].str.strip()
        for column in value_columns:
            table[column] = _numeric_column(table, column, attributes["path"])
        if table[attributes["id"]].duplicated().any():
            row = int(np.flatnonzero(table[attributes["id"]].duplicated().to_numpy())[0]) + 1
            raise InputError("attribute id appears more than once.", path=attributes["path"],
                             row=row, column=attributes["id"], fix="keep one row per tract.")
        tracts = tracts.drop(columns=[c for c in value_columns if c in tracts.columns])
        tracts = tracts.merge(table, how="left", left_on=id_col, right_on=attributes["id"])
        if attributes["id"] != id_col:
            tracts = tracts.drop(columns=attributes["id"])
    else:
        require_columns(list(tracts.columns), [("need/population", c) for c in value_columns], path)
        for column in value_columns:
            tracts[column] = _numeric_column(tracts, column, path)

    rejects = [empty_rejects()]
    geometry = tracts.geometry
    empty = geometry.isna() | geometry.is_empty
    if empty.any():
        rejects.append(make_rejects(f"tracts:{path}", np.flatnonzero(empty.to_numpy()) + 1,
                                    "empty geometry: tract dropped"))
    invalid = ~empty & ~geometry.is_valid
    if invalid.any():
        tracts.loc[invalid, tracts.geometry.name] = shapely.make_valid(
            geometry[invalid].to_numpy())
        rejects.append(make_rejects(f"tracts:{path}", np.flatnonzero(invalid.to_numpy()) + 1,
                                    "invalid geometry repaired with make_valid (tract kept)"))
    tracts = tracts.loc[~empty.to_numpy()].reset_index(drop=True)
    keep = [id_col, *dict.fromkeys(value_columns), tracts.geometry.name]
    return tracts[keep], pd.concat(rejects, ignore_index=True)


# --------------------------------------------------------------------------------------- points
def read_points(source: Mapping[str, Any], source_name: str
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Points of one source in EPSG:4326, their attribute rows, and rejects.

    A CSV needs `lat`/`lon` columns; a vector file gives its own point geometry.
    Returns (points with column `row`, the full attribute table, rejects).
    """
    path = source["path"]
    if Path(path).suffix.lower() in VECTOR_SUFFIXES:
        frame = read_vector(path, source.get("layer"))
        if frame.crs is None:
            raise InputError("the point file has no CRS.", path=path,
                             fix="save it with a CRS (e.g. EPSG:4326).")
        frame = frame.to_crs(4326)
        frame["row"] = np.arange(1, len(frame) + 1)
        geometry = frame.geometry
        bad = geometry.isna() | geometry.is_empty | (geometry.geom_type != "Point")
        rejects = make_rejects(source_name, frame.loc[bad, "row"].tolist(),
                               "missing or non-point geometry")
        points = frame.loc[~bad, ["row", frame.geometry.name]]
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        return gpd.GeoDataFrame(points, crs=4326), table, rejects

    frame = read_csv_text(path)
    lat, lon = source.get("lat", "lat"), source.get("lon", "lon")
    require_columns(list(frame.columns), {"lat": lat, "lon": lon}, path)
    frame["row"] = np.arange(1, len(frame) + 1)
    lat_v = pd.to_numeric(frame[lat].str.strip(), errors="coerce")
    lon_v = pd.to_numeric(frame[lon].str.strip(), errors="coerce")
    missing = lat_v.isna() | lon_v.isna()
    out_of_range = ~missing & ((lat_v.abs() > 90) | (lon_v.abs() > 180))
    reasons = np.where(missing, f"latitude/longitude ({lat}/{lon}) blank or not a number",
                       "latitude/longitude out of range")
    bad = missing | out_of_range
    rejects = make_rejects(source_name, frame.loc[bad, "row"].tolist(), list(reasons[bad.to_numpy()]))
    good = ~bad
    points = gpd.GeoDataFrame({"row": frame.loc[good, "row"].to_numpy()},
                              geometry=gpd.points_from_xy(lon_v[good], lat_v[good]), crs=4326)
    return points, frame, rejects


def assign_tracts(points: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, id_col: str,
                  source_name: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Join points to the tract containing them; points in no tract become rejects."""
    points = points.to_crs(tracts.crs)
    # Same answer as gpd.sjoin(predicate="within"), first tract on overlaps; see pointjoin.
    xy = shapely.get_coordinates(points.geometry.values)
    position = containing_polygon(xy[:, 0], xy[:, 1], tracts.geometry.values)
    outside = position < 0
    ids = np.full(len(position), np.nan, dtype=object)
    ids[~outside] = tracts[id_col].to_numpy()[position[~outside]]
    joined = points.copy()
    joined[id_col] = ids
    rejects = make_rejects(source_name, joined.loc[outside, "row"].tolist(),
                           "outside the study area (in no tract)")
    return joined.loc[~outside], rejects


def read_assets(region_config: Mapping[str, Any], tracts: gpd.GeoDataFrame
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, int]]:
    """All asset sources of a region in the tracts' CRS with `asset_id`, `name`, `type`, `source`."""
    id_col = region_config["tracts"]["id"]
    kept, rejects, read = [], [empty_rejects()], {}
    for index, source in enumerate(asset_sources(region_config), start=1):
        name = f"assets[{index}]:{source['path']}"
        points, table, bad = read_points(source, name)
        read[name] = len(table)
        require_columns(list(table.columns), {"name": source.get("name"),
                                              "type": source.get("type")}, source["path"])
        points, outside = assign_tracts(points, tracts, id_col, name)
        attrs = table.set_index("row").loc[points["row"]]
        points["asset_id"] = [f"{index}-{r}" for r in points["row"]]
        points["name"] = (attrs[source["name"]].astype("string").fillna("").to_numpy()
                          if source.get("name") else "")
        if source.get("type"):
            types = attrs[source["type"]].astype("string").str.strip().fillna("")
            points["type"] = types.where(types != "", "unspecified").to_numpy()
        else:
            points["type"] = source.get("type_value", "asset")
        points["source"] = source.get("label", Path(source["path"]).name)
        kept.append(points)
        rejects += [bad, outside]
    assets = pd.concat(kept, ignore_index=True)
    assets = gpd.GeoDataFrame(assets, geometry="geometry", crs=tracts.crs)
    columns = ["asset_id", "name", "type", "source", id_col, "geometry"]
    return assets[columns], pd.concat(rejects, ignore_index=True), read


def read_survey(survey_config: Mapping[str, Any], tracts: gpd.GeoDataFrame, id_col: str
                ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Survey responses reduced to an allow-list: location, unmet need, consented story.

    Names, phones, emails and every other column are dropped here and never written.
    A story is kept only when the consent column says yes.
    """
    name = f"survey:{survey_config['path']}"
    points, table, rejects = read_points(survey_config, name)
    need, story, consent = (survey_config.get(k) for k in ("need", "story", "consent"))
    require_columns(list(table.columns), {"need": need, "story": story, "consent": consent},
                    survey_config["path"])
    points, outside = assign_tracts(points, tracts, id_col, name)
    attrs = table.set_index("row").loc[points["row"]]
    unmet = parse_yes_no(attrs[need]).to_numpy()
    consented = (parse_yes_no(attrs[consent]).fillna(False).to_numpy()
                 if consent else np.zeros(len(points), bool))
    stories = (attrs[story].astype("string").fillna("").str.strip().to_numpy()
               if story else np.full(len(points), ""))
    survey = gpd.GeoDataFrame({
        id_col: points[id_col].to_numpy(),
        "unmet_need": pd.array(unmet, dtype="boolean"),
        "story_consented": consented,
        "story": np.where(consented, stories, ""),
    }, geometry=points.geometry.to_numpy(), crs=tracts.crs)
    unparsed = survey["unmet_need"].isna().to_numpy()
    bad_need = make_rejects(name, points.loc[unparsed, "row"].tolist(),
                            f"unmet-need answer in '{need}' is not yes/no")
    survey = survey.loc[~unparsed].reset_index(drop=True)
    survey["unmet_need"] = survey["unmet_need"].astype(bool)
    return survey, pd.concat([rejects, outside, bad_need], ignore_index=True), len(table)
