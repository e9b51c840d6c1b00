"""Deterministic, atomic writers: the same data always gives the same bytes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only for annotations
    import geopandas as gpd
    import pandas as pd
    from pyproj import CRS

    from aiddeserts.method.density import Grid

# geopandas, pyogrio, rasterio and pyproj are imported by the functions that use them: a job
# that only writes JSON (the manifest) or never touches a raster does not pay for them.

#: GeoPackage writes a "last change" timestamp; fixing it keeps reruns byte-identical.
FIXED_GPKG_DATE = "2000-01-01T00:00:00Z"
NODATA = -9999.0


@contextmanager
def atomic_path(path: str | Path, suffix: str = "", commit: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it into place only if the block succeeds.

    With ``commit=False`` the caller moves it (``os.replace``) itself; a leftover is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix,
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield Path(tmp)
        if commit:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_private(*paths: str | Path) -> None:
    """Respondent-level files (and their folders) readable by their owner only: 0600 / 0700,
    whatever the umask (docs/privacy.md)."""
    for path in map(Path, paths):
        if path.is_dir():
            path.chmod(0o700)
        elif path.exists():
            path.chmod(0o600)


def copy_file(source: str | Path, path: str | Path) -> None:
    """Copy `source` to `path` (atomically, like every writer here)."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


def write_gpkg(frame: gpd.GeoDataFrame, path: str | Path, layer: str,
               intermediate: bool = False) -> None:
    """Write one layer to a new GeoPackage, with a fixed timestamp.

    `intermediate`: a file only the next jobs read, and always whole (data/processed/): no
    spatial index and no SQLite syncs, which take a third of the time of writing 100,000
    assets, and written through Arrow, 3x as fast (the same rows as read back; a lost
    intermediate is made again by the next run). Published files keep GDAL's own writer."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    options = {"SPATIAL_INDEX": "NO", "use_arrow": True} if intermediate else {}
    if intermediate:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        with atomic_path(path) as tmp:
            try:
                frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", **options)
            except Exception as exc:  # pyogrio's errors, in GDAL's words
                raise_if_disk_full(Path(tmp).parent, path, exc)
                raise
    finally:
        if intermediate:
            pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})


#: What a folder must still take for a failed write not to count as a full disk.
SPACE_PROBE_BYTES = 1 << 20


def raise_if_disk_full(folder: Path, path: str | Path, exc: BaseException) -> None:
    """Raise ENOSPC (or EDQUOT) for `path`, from `exc`, when `folder` cannot take
    :data:`SPACE_PROBE_BYTES` more. GDAL reports a full disk in its own words, or not at all
    (SQLite could not create a table, then "no such table"): call this before the failed
    write's partial file is removed, which would free the space again."""
    probe = folder / f".space-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * SPACE_PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as refused:
        if refused.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OSError(refused.errno, os.strerror(refused.errno), str(path)) from exc
    finally:
        probe.unlink(missing_ok=True)


def read_gpkg(path: str | Path, layer: str | None = None,
              columns: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Read a GeoPackage layer written by :func:`write_gpkg` (only `columns` and the geometry
    when given; ``[]`` reads the geometry alone), through Arrow, 3-4x as fast on 100,000
    assets. The frame is the one GDAL's row reader gives: a text column without any value
    (an empty layer's, for one) holds Python objects (None), as that reader infers it."""
    import geopandas as gpd
    import pandas as pd

    frame = gpd.read_file(path, layer=layer, engine="pyogrio", columns=columns, use_arrow=True)
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.StringDtype) and column.isna().all():
            frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(data: Any, path: str | Path) -> None:
    """Pretty, key-sorted JSON."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=True, ensure_ascii=False)
                       + "\n", encoding="utf-8")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def write_geotiff(values: np.ndarray, grid: Grid, crs: CRS, path: str | Path,
                  tags: dict[str, Any] | None = None) -> None:
    """Single-band float32 GeoTIFF, deflate-compressed, with nodata set."""
    import rasterio

    data = np.where(np.isnan(values), NODATA, values).astype("float32")
    profile = {
        "driver": "GTiff", "height": grid.height, "width": grid.width, "count": 1,
        "dtype": "float32", "crs": crs, "transform": grid.transform, "nodata": NODATA,
        "compress": "deflate", "predictor": 3, "tiled": True, "blockxsize": 256,
        "blockysize": 256,
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(**{k: str(v) for k, v in (tags or {}).items()})
        dst.set_band_description(1, "asset density (assets per km2)")


def read_geotiff(path: str | Path) -> tuple[np.ndarray, Grid, CRS]:
    """Band 1 as float64 with nodata as NaN, its grid and CRS."""
    import rasterio
    from pyproj import CRS

    from aiddeserts.method.density import Grid

    with rasterio.open(path) as src:
        data = src.read(1).astype(float)
        if src.nodata is not None:
            data[data == src.nodata] = np.nan
        t = src.transform
        grid = Grid(t.c, t.f, t.a, src.width, src.height)
        return data, grid, CRS(src.crs)


def write_zones(zones: np.ndarray, path: str) -> None:
    """The tract raster as a .npy file, in the smallest unsigned type that holds its ids."""
    kind = np.min_scalar_type(int(zones.max()) if zones.size else 0)
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, zones.astype(kind), allow_pickle=False)


def read_zones(path: str, shape: tuple[int, int], n_zones: int) -> np.ndarray | None:
    """:func:`write_zones`' raster as int32, or None when it does not fit the grid and tracts
    (then rasterise again)."""
    zones = np.load(path, allow_pickle=False)
    if zones.shape != tuple(shape) or zones.dtype.kind != "u" or (
            zones.size and int(zones.max()) > n_zones):
        return None
    return zones.astype(np.int32)


def read_density_tags(path: str | Path) -> tuple[str, float]:
    """Kernel and bandwidth (metres) the density stage recorded in its GeoTIFF's tags."""
    import rasterio

    with rasterio.open(path) as src:
        tags = src.tags()
    return tags["kernel"], float(tags["bandwidth_m"])
