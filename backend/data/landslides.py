"""Landslide data: labelled points with covariates (CSV), and the summary of the landslide folder.

Rasters are read by :mod:`backend.data.covariate_raster`, the NASA catalogue by
:mod:`backend.data.landslide_catalogue`.

* ``ecuador_lsl/lsl.csv`` and ``ecuador_sperrorest/ecuador.csv``: points in EPSG:32717 with a boolean
  landslide label (``lslpts`` or ``slides``) and numeric terrain covariates.
* ``ecuador_lsl/ta.tif``: the covariates of ``lsl.csv`` as a 5-band raster; its band descriptions are
  ``slope, cplan, cprof, elev, log10_carea`` (the same names and order as the CSV columns).
* ``nasa_glc/Global_Landslide_Catalog_Export.csv``: NASA Global Landslide Catalog (Latin-1, quoted fields).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root
from backend.data.covariate_raster import read_covariate_raster
from backend.data.landslide_catalogue import read_glc_catalogue
from backend.data.tabular import MISSING_TOKENS, parse_float, read_delimited

LOG = logging.getLogger(__name__)

#: Label columns tried, in order, when ``read_landslide_points(label=None)``.
LABEL_CANDIDATES: tuple[str, ...] = ("lslpts", "slides")
#: Accepted label spellings (upper-cased before lookup).
BOOLEANS: dict[str, bool] = {"TRUE": True, "FALSE": False, "1": True, "0": False}

#: Known files under ``landslides/`` (relative path -> what it is), read by :func:`summarize_landslides`.
POINT_FILES: tuple[str, ...] = ("ecuador_lsl/lsl.csv", "ecuador_sperrorest/ecuador.csv")
RASTER_FILES: tuple[str, ...] = ("ecuador_lsl/ta.tif",)
GLC_FILES: tuple[str, ...] = ("nasa_glc/Global_Landslide_Catalog_Export.csv",)



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
