"""Landslide data: labelled points with covariates (CSV), covariate rasters (GDAL), the NASA catalogue.

* ``ecuador_lsl/lsl.csv`` and ``ecuador_sperrorest/ecuador.csv``: points in EPSG:32717 with a boolean
  landslide label (``lslpts`` or ``slides``) and numeric terrain covariates.
* ``ecuador_lsl/ta.tif``: the covariates of ``lsl.csv`` as a 5-band raster; its band descriptions are
  ``slope, cplan, cprof, elev, log10_carea`` (the same names and order as the CSV columns).
* ``nasa_glc/Global_Landslide_Catalog_Export.csv``: NASA Global Landslide Catalog (Latin-1, quoted fields).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from backend.data.tabular import MISSING_TOKENS, parse_float, read_delimited
from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root

LOG = logging.getLogger(__name__)

#: Label columns tried, in order, when ``read_landslide_points(label=None)``.
LABEL_CANDIDATES: tuple[str, ...] = ("lslpts", "slides")
#: Accepted label spellings (upper-cased before lookup).
BOOLEANS: dict[str, bool] = {"TRUE": True, "FALSE": False, "1": True, "0": False}

#: Known files under ``landslides/`` (relative path -> what it is), read by :func:`summarize_landslides`.
POINT_FILES: tuple[str, ...] = ("ecuador_lsl/lsl.csv", "ecuador_sperrorest/ecuador.csv")
RASTER_FILES: tuple[str, ...] = ("ecuador_lsl/ta.tif",)
GLC_FILES: tuple[str, ...] = ("nasa_glc/Global_Landslide_Catalog_Export.csv",)

#: GLC field -> accepted column names, first found wins (the 2007-2016 export, then the newer COOLR one).
GLC_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "event_id"),
    "date": ("date", "event_date"),
    "latitude": ("latitude",),
    "longitude": ("longitude",),
    "country": ("country", "countryname", "country_name"),
    "trigger": ("trigger", "landslide_trigger"),
    "landslide_type": ("landslide_type", "landslide_category"),
    "size": ("landslide_size",),
    "location_accuracy": ("location_accuracy",),
}
#: Date spellings of the GLC exports (the date part only; a time after it is ignored).
GLC_DATE_FORMATS: tuple[str, ...] = ("%m/%d/%Y", "%Y-%m-%d", "%Y/%m/%d")
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")


def landslides_dir(root: Path | None = None) -> Path:
    """``landslides`` under the data root."""
    return (root or data_root()) / "landslides"


# --------------------------------------------------------------------------------------------- points

@dataclass
class LandslidePoints:
    """Labelled points.

    Attributes:
        x, y: coordinates (float64) in ``crs``.
        crs: e.g. ``EPSG:32717``.
        label: True = landslide.
        covariates: column name -> float32 array aligned with the points (NaN = missing), in file order.
        path: the CSV; label_column: the column the labels came from.
        text_columns: non-numeric columns that were not used.
    """

    x: np.ndarray
    y: np.ndarray
    crs: str
    label: np.ndarray
    covariates: dict[str, np.ndarray]
    path: Path
    label_column: str = ""
    text_columns: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.x.size)

    @property
    def n_landslides(self) -> int:
        """Number of landslide points."""
        return int(self.label.sum())


def _pick_label(path: Path, header: list[str], label: str | None) -> str:
    if label is not None:
        return label
    for candidate in LABEL_CANDIDATES:
        if candidate in header:
            return candidate
    raise DataFormatError(path, f"no label column: expected one of {', '.join(LABEL_CANDIDATES)} "
                          f"(or pass label=...); found {', '.join(header)}", line=1)


def _parse_bool(token: str, path: Path, line: int, column: str) -> bool:
    try:
        return BOOLEANS[token.strip().upper()]
    except KeyError:
        raise DataFormatError(path, f"not a boolean: {token!r} (expected TRUE/FALSE/1/0)", line,
                              column) from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _numeric_columns(path: Path, cells: dict[str, list[str]], lines: list[int]
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Columns with at least one number become float32 arrays (a non-numeric cell there is an error);
    columns with no number at all are returned by name as text columns."""
    numeric: dict[str, np.ndarray] = {}
    text: list[str] = []
    for name, column in cells.items():
        present = [c for c in column if c.strip() not in MISSING_TOKENS]
        if present and not any(_is_number(c) for c in present):
            text.append(name)
            continue
        numeric[name] = np.array([parse_float(c, path, n, name) for c, n in zip(column, lines, strict=True)],
                                 dtype=np.float32)
    return numeric, text


def read_landslide_points(path: Path, x: str = "x", y: str = "y", label: str | None = None,
                          crs: str = "EPSG:32717") -> LandslidePoints:
    """Read a CSV of labelled points: coordinates ``x``/``y`` in ``crs`` and a boolean label.

    The label column is ``label``, or the first of :data:`LABEL_CANDIDATES` present; labels are TRUE/FALSE
    (any case) or 1/0. Every other column holding numbers is a covariate (empty/NA cells become NaN);
    columns without any number are listed in ``text_columns``. Raises :class:`DataNotFoundError` if the
    file is absent and :class:`DataFormatError` (file, line, column) for a missing column, a truncated row,
    a missing coordinate or label, or a non-numeric cell in a numeric column.
    """
    path = Path(path)
    header, rows = read_delimited(path, ",", required=(x, y))
    label_column = _pick_label(path, header, label)
    if label_column not in header:
        raise DataFormatError(path, f"missing label column {label_column}; found {', '.join(header)}", line=1)
    others = [c for c in header if c not in (x, y, label_column)]
    xs: list[float] = []
    ys: list[float] = []
    labels: list[bool] = []
    lines: list[int] = []
    cells: dict[str, list[str]] = {c: [] for c in others}
    for row in rows:
        xs.append(parse_float(row.cells[x], path, row.line, x, allow_missing=False))
        ys.append(parse_float(row.cells[y], path, row.line, y, allow_missing=False))
        labels.append(_parse_bool(row.cells[label_column], path, row.line, label_column))
        lines.append(row.line)
        for c in others:
            cells[c].append(row.cells[c])
    if not xs:
        raise DataFormatError(path, "no data rows", line=2)
    covariates, text = _numeric_columns(path, cells, lines)
    return LandslidePoints(np.asarray(xs), np.asarray(ys), crs.strip().upper(),
                           np.asarray(labels, dtype=bool), covariates, path, label_column, text)


# --------------------------------------------------------------------------------------------- rasters

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


# --------------------------------------------------------------------------------------------- catalogue

@dataclass
class GlcEvents:
    """NASA Global Landslide Catalog events (arrays/lists aligned by event).

    ``dates`` is ``datetime64[D]`` (NaT where the date is empty or unparseable); ``latitude``/``longitude``
    are degrees (NaN if missing); text fields are stripped strings ("" if empty), spelled as in the file.
    """

    ids: np.ndarray
    dates: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    country: list[str]
    trigger: list[str]
    landslide_type: list[str]
    size: list[str]
    location_accuracy: list[str]
    path: Path

    def __len__(self) -> int:
        return int(self.ids.size)


def _glc_columns(path: Path, header: list[str]) -> dict[str, str | None]:
    """GLC field -> the file's column (None for optional text fields that are absent)."""
    found = {key: next((c for c in names if c in header), None) for key, names in GLC_COLUMNS.items()}
    missing = [GLC_COLUMNS[k][0] for k in ("id", "date", "latitude", "longitude") if found[k] is None]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                              line=1)
    return found


def parse_glc_date(text: str) -> np.datetime64:
    """A GLC date (``1/2/2007``, ``2007-01-02``, ``2007/01/02 00:00:00``...) or NaT."""
    token = text.strip().split(" ")[0].split("T")[0]
    for fmt in GLC_DATE_FORMATS:
        try:
            return np.datetime64(dt.datetime.strptime(token, fmt).date(), "D")
        except ValueError:
            continue
    return np.datetime64("NaT", "D")


def _glc_coordinate(token: str, path: Path, line: int, column: str, limit: float) -> float:
    value = parse_float(token, path, line, column)
    if not math.isnan(value) and abs(value) > limit:
        raise DataFormatError(path, f"{column} {value} outside [-{limit:g}, {limit:g}]", line, column)
    return value


def _glc_id(token: str, path: Path, line: int, column: str) -> int:
    """An event id; the export writes ids over 999 with a thousands separator (``3,833``)."""
    digits = token.strip()
    if _THOUSANDS.fullmatch(digits):
        digits = digits.replace(",", "")
    try:
        return int(digits)
    except ValueError:
        raise DataFormatError(path, f"event id is not an integer: {token!r}", line, column) from None


def read_glc_catalogue(path: Path) -> GlcEvents:
    """Read the NASA Global Landslide Catalog export (Latin-1 CSV with quoted fields).

    Raises :class:`DataNotFoundError` if absent and :class:`DataFormatError` (file, line, column) for a
    missing id/date/latitude/longitude column, a row with the wrong number of fields, a non-integer id or
    a bad coordinate. An unparseable date becomes NaT.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise DataFormatError(path, "empty file (no header line)", line=1)
        cols = _glc_columns(path, header)
        index = {c: i for i, c in enumerate(header)}
        fields: dict[str, list] = {key: [] for key in GLC_COLUMNS}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) != len(header):
                raise DataFormatError(path, f"expected {len(header)} fields, found {len(row)} (truncated or "
                                      "malformed row)", line=line)
            _glc_row(path, line, row, cols, index, fields)
    return GlcEvents(
        ids=np.asarray(fields["id"], dtype=np.int64), dates=np.asarray(fields["date"], dtype="datetime64[D]"),
        latitude=np.asarray(fields["latitude"], dtype=np.float64),
        longitude=np.asarray(fields["longitude"], dtype=np.float64), country=fields["country"],
        trigger=fields["trigger"], landslide_type=fields["landslide_type"], size=fields["size"],
        location_accuracy=fields["location_accuracy"], path=path)


def _glc_row(path: Path, line: int, row: list[str], cols: dict[str, str | None], index: dict[str, int],
             fields: dict[str, list]) -> None:
    """Append one catalogue row to ``fields``."""
    def cell(key: str) -> str:
        column = cols[key]
        return row[index[column]].strip() if column is not None else ""

    fields["id"].append(_glc_id(cell("id"), path, line, str(cols["id"])))
    fields["date"].append(parse_glc_date(cell("date")))
    fields["latitude"].append(_glc_coordinate(cell("latitude"), path, line, "latitude", 90.0))
    fields["longitude"].append(_glc_coordinate(cell("longitude"), path, line, "longitude", 180.0))
    for key in ("country", "trigger", "landslide_type", "size", "location_accuracy"):
        fields[key].append(cell(key))


# --------------------------------------------------------------------------------------------- summary

def _points_line(path: Path, relative: str) -> str:
    points = read_landslide_points(path)
    n, slides = len(points), points.n_landslides
    names = ", ".join(points.covariates)
    return (f"{relative}: {n:,} points, {slides:,} landslides, {n - slides:,} without; "
            f"{len(points.covariates)} covariates ({names}); x/y taken as {points.crs}")


def _raster_line(path: Path, relative: str) -> str:
    raster = read_covariate_raster(path)
    bands, rows, cols = raster.shape
    epsg = raster.epsg
    crs = f"EPSG:{epsg}" if epsg else "unknown CRS"
    dx, dy = raster.geotransform[1], abs(raster.geotransform[5])
    nodata = int(np.isnan(raster.values).any(axis=0).sum())
    names = ", ".join(raster.band_names)
    return (f"{relative}: raster {cols} columns x {rows} rows, {bands} bands ({names}), "
            f"{dx:g} x {dy:g} m cells, {crs}, {nodata:,} cells without data")


def _glc_line(path: Path, relative: str) -> str:
    events = read_glc_catalogue(path)
    dated = events.dates[~np.isnat(events.dates)]
    span = f"{dated.min()} to {dated.max()}" if dated.size else "no dates"
    undated = len(events) - dated.size
    return f"{relative}: {len(events):,} events, {span} ({undated:,} without a readable date)"


_SUMMARIZERS = {POINT_FILES: _points_line, RASTER_FILES: _raster_line, GLC_FILES: _glc_line}


def summarize_landslides(folder: Path) -> list[str]:
    """Human-readable lines about the landslide data under ``folder``: point counts and labels, the raster's
    size, bands and CRS, the catalogue's event count; every number is read from the files. A known file
    that is absent gets a line saying so. Raises FileNotFoundError if ``folder`` is absent."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: landslide folder not found")
    lines = [f"Landslide data {folder}:"]
    for relatives, summarize in _SUMMARIZERS.items():
        for relative in relatives:
            path = folder / relative
            lines.append(f"  {summarize(path, relative)}" if path.is_file() else f"  {relative}: not found")
    return lines
