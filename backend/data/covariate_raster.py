"""Covariate rasters (GDAL): whole rasters, windows and tiles, with band names and NaN for nodata."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from backend.core.errors import DataFormatError, DataNotFoundError

LOG = logging.getLogger(__name__)


@dataclass
class CovariateRaster:
    """A multi-band raster (or a window of one).

    Attributes:
        values: float32 ``(bands, rows, cols)``, NaN where the band's nodata value was.
        band_names: one name per band.
        nodata: the file's nodata value per band (None if unset).
        geotransform: GDAL's 6 numbers (x0, dx, rx, y0, ry, dy) of this array's top-left corner.
        crs_wkt: the coordinate reference system as WKT ("" if the file has none).
        path: the file.
    """

    values: np.ndarray
    band_names: list[str]
    nodata: list[float | None]
    geotransform: tuple[float, float, float, float, float, float]
    crs_wkt: str
    path: Path

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(bands, rows, cols)``."""
        bands, rows, cols = self.values.shape
        return bands, rows, cols

    @property
    def epsg(self) -> int | None:
        """EPSG code of the CRS, if it has one."""
        return epsg_of(self.crs_wkt)

    def band(self, name: str) -> np.ndarray:
        """The ``(rows, cols)`` array of a band by name; KeyError naming the known bands otherwise."""
        if name not in self.band_names:
            raise KeyError(f"{self.path}: no band {name!r}; bands are {', '.join(self.band_names)}")
        return self.values[self.band_names.index(name)]

    def xy_to_rowcol(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Row and column (int arrays) of the cells holding map coordinates ``x, y``; -1 for both where the
        point is outside this array."""
        inverse = gdal.InvGeoTransform(self.geotransform)
        if inverse is None:
            raise ValueError(f"{self.path}: geotransform {self.geotransform} cannot be inverted")
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
        ys = np.atleast_1d(np.asarray(y, dtype=np.float64))
        cols = np.floor(inverse[0] + inverse[1] * xs + inverse[2] * ys).astype(np.int64)
        rows = np.floor(inverse[3] + inverse[4] * xs + inverse[5] * ys).astype(np.int64)
        _, nrows, ncols = self.shape
        outside = (rows < 0) | (rows >= nrows) | (cols < 0) | (cols >= ncols)
        rows[outside] = -1
        cols[outside] = -1
        return rows, cols

    def sample(self, x: np.ndarray | float, y: np.ndarray | float) -> dict[str, np.ndarray]:
        """Band name -> values at the points (NaN outside the raster)."""
        rows, cols = self.xy_to_rowcol(x, y)
        inside = rows >= 0
        out: dict[str, np.ndarray] = {}
        for b, name in enumerate(self.band_names):
            column = np.full(rows.size, np.nan, dtype=np.float32)
            column[inside] = self.values[b, rows[inside], cols[inside]]
            out[name] = column
        return out


def epsg_of(wkt: str) -> int | None:
    """The EPSG code of a WKT CRS (identified by GDAL if not written in it), or None."""
    if not wkt:
        return None
    srs = osr.SpatialReference()
    try:
        srs.ImportFromWkt(wkt)
        code = srs.GetAuthorityCode(None)
        if code is None and srs.AutoIdentifyEPSG() == 0:
            code = srs.GetAuthorityCode(None)
    except RuntimeError:
        return None
    return int(code) if code and code.isdigit() else None


def _open_raster(path: Path) -> gdal.Dataset:
    """Open a raster with GDAL exceptions on; clear errors for a missing file or a non-raster."""
    gdal.UseExceptions()
    if not path.is_file():
        raise DataNotFoundError(f"{path}: raster file not found")
    try:
        dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise DataFormatError(path, f"not a raster GDAL can read ({str(exc).strip()})") from None
    if dataset is None or dataset.RasterCount == 0:
        raise DataFormatError(path, "not a raster GDAL can read (no raster bands)")
    return dataset


def _band_names(path: Path, dataset: gdal.Dataset, names: Sequence[str] | None) -> list[str]:
    count = dataset.RasterCount
    described = [dataset.GetRasterBand(b).GetDescription().strip() for b in range(1, count + 1)]
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != count:
            raise ValueError(f"{path}: {len(names)} band names given for {count} bands")
        if all(described) and described != names:
            LOG.warning("%s: band names %s given, the file describes its bands as %s", path, names, described)
        return names
    return [d or f"band_{b}" for b, d in enumerate(described, start=1)]


def _read_bands(dataset: gdal.Dataset, window: tuple[int, int, int, int]
                ) -> tuple[np.ndarray, list[float | None]]:
    """Float32 ``(bands, rows, cols)`` of the window ``(row0, col0, nrows, ncols)``, nodata -> NaN."""
    row0, col0, nrows, ncols = window
    out = np.empty((dataset.RasterCount, nrows, ncols), dtype=np.float32)
    nodata: list[float | None] = []
    for b in range(dataset.RasterCount):
        band = dataset.GetRasterBand(b + 1)
        out[b] = band.ReadAsArray(col0, row0, ncols, nrows).astype(np.float32, copy=False)
        value = band.GetNoDataValue()
        nodata.append(value)
        if value is not None and not math.isnan(value):
            out[b][out[b] == np.float32(value)] = np.nan
    return out, nodata


def read_raster_window(path: Path, row0: int, col0: int, nrows: int, ncols: int,
                       band_names: Sequence[str] | None = None) -> CovariateRaster:
    """Read the window of ``nrows x ncols`` cells from ``(row0, col0)`` only (bounded memory).

    The returned geotransform is the window's. Raises ValueError if the window leaves the raster.
    """
    path = Path(path)
    dataset = _open_raster(path)
    rows, cols = dataset.RasterYSize, dataset.RasterXSize
    if min(row0, col0) < 0 or nrows < 1 or ncols < 1 or row0 + nrows > rows or col0 + ncols > cols:
        raise ValueError(f"{path}: window rows {row0}..{row0 + nrows - 1}, cols {col0}..{col0 + ncols - 1} "
                         f"is outside the raster ({rows} rows x {cols} cols)")
    values, nodata = _read_bands(dataset, (row0, col0, nrows, ncols))
    x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()
    transform = (x0 + col0 * dx + row0 * rx, dx, rx, y0 + col0 * ry + row0 * dy, ry, dy)
    return CovariateRaster(values, _band_names(path, dataset, band_names), nodata, transform,
                           dataset.GetProjection() or "", path)


def raster_size(path: Path) -> tuple[int, int, int]:
    """``(bands, rows, cols)`` of a raster without reading its values."""
    dataset = _open_raster(Path(path))
    return dataset.RasterCount, dataset.RasterYSize, dataset.RasterXSize


def read_covariate_raster(path: Path, band_names: Sequence[str] | None = None) -> CovariateRaster:
    """Read a whole raster. Band names: ``band_names`` if given (one per band), else the file's band
    descriptions, else ``band_1, band_2...``. Raises :class:`DataNotFoundError` if the file is absent and
    :class:`DataFormatError` if GDAL cannot read it as a raster."""
    _, rows, cols = raster_size(Path(path))
    return read_raster_window(Path(path), 0, 0, rows, cols, band_names)


def iter_raster_tiles(path: Path, tile: int = 256, band_names: Sequence[str] | None = None
                      ) -> Iterator[tuple[int, int, CovariateRaster]]:
    """Yield ``(row0, col0, window)`` tiles of at most ``tile x tile`` cells covering the raster."""
    if tile < 1:
        raise ValueError(f"tile size must be positive, got {tile}")
    _, rows, cols = raster_size(Path(path))
    for row0 in range(0, rows, tile):
        for col0 in range(0, cols, tile):
            yield row0, col0, read_raster_window(Path(path), row0, col0, min(tile, rows - row0),
                                                 min(tile, cols - col0), band_names)


