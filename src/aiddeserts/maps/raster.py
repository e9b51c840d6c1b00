"""The density overlay: the density grid reprojected to Web Mercator, as a palette PNG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from branca.colormap import LinearColormap
from PIL import Image
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

from aiddeserts.maps.styles import DENSITY_COLOURS

if TYPE_CHECKING:  # only for annotations
    from affine import Affine

    from aiddeserts.method.density import Grid


#: The web map's projection, into which the density grid is reprojected.
WEB_MERCATOR = "EPSG:3857"


def density_image(values: np.ndarray, grid: Grid, crs: Any) -> tuple[np.ndarray, list, float]:
    """Density reprojected to Web Mercator as palette indices (0 = transparent, 1–255 = colour
    ramp), its lat/lon bounds and the ramp's top (the 99th percentile, assets per km²)."""
    transform, width, height = _web_mercator_grid(grid, crs)
    out = np.full((height, width), np.nan)
    reproject(values, out, src_transform=grid.transform, src_crs=crs, dst_transform=transform,
              dst_crs=WEB_MERCATOR, resampling=Resampling.bilinear, src_nodata=np.nan,
              dst_nodata=np.nan)
    positive = out[np.isfinite(out) & (out > 0)]
    vmax = float(np.quantile(positive, 0.99)) if positive.size else 1.0
    index = 1 + np.clip(np.nan_to_num(out) / vmax * 254, 0, 254).astype(np.uint8)
    index[~(np.isfinite(out) & (out > 0))] = 0
    return index, _lonlat_bounds(transform, width, height), vmax


def density_image_bounds(grid: Grid, crs: Any) -> list[list[float]]:
    """The lat/lon bounds [[south, west], [north, east]] of :func:`density_image`'s picture of
    `grid`, without drawing it (they come from the grid alone: the privacy audit counts them
    as public coordinates)."""
    return _lonlat_bounds(*_web_mercator_grid(grid, crs))


def _web_mercator_grid(grid: Grid, crs: Any) -> tuple[Affine, int, int]:
    """The transform and size of `grid` reprojected to Web Mercator (rasterio's default)."""
    left, top = grid.x_min, grid.y_max
    right = left + grid.width * grid.cell_size
    bottom = top - grid.height * grid.cell_size
    return calculate_default_transform(crs, WEB_MERCATOR, grid.width, grid.height, left=left,
                                       bottom=bottom, right=right, top=top)


def _lonlat_bounds(transform: Affine, width: int, height: int) -> list[list[float]]:
    west, north = _apply(transform, 0, 0)
    east, south = _apply(transform, width, height)
    to_ll = Transformer.from_crs(WEB_MERCATOR, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([west, east], [south, north])
    return [[lat0, lon0], [lat1, lon1]]


def _apply(transform: Affine, col: float, row: float) -> tuple[float, float]:
    """Where `transform` puts pixel corner (`col`, `row`): ``transform * (col, row)`` as affine
    computes it, without the ``*`` that affine 3 deprecates."""
    a, b, c, d, e, f = transform[:6]
    return col * a + row * b + c, col * d + row * e + f


def palette_png(index: np.ndarray, colours: Sequence[str] = DENSITY_COLOURS, alpha: int = 170
                ) -> bytes:
    """A palette (8-bit indexed) PNG: index 0 transparent, 1–255 along the colour ramp."""
    cmap = LinearColormap(list(colours), vmin=0, vmax=1)
    palette = [0, 0, 0] + [c for v in np.linspace(0, 1, 255) for c in cmap.rgb_bytes_tuple(v)]
    image = Image.fromarray(index.astype(np.uint8), mode="P")
    image.putpalette(palette)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True,
               transparency=bytes([0] + [alpha] * 255))
    return buffer.getvalue()
