"""CAMELS Daymet basin-mean forcings (``<gauge_id>_lump_cida_forcing_leap.txt``).

Three header lines (gauge latitude, mean elevation in m, area in m²), a column header, then
``Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root
from backend.data.tabular import open_text
from backend.data.timeseries import DailySeries, InvalidDateError, dates_from_ymd
from backend.data.variables import FORCING_VARIABLES

DAYMET_COLUMNS: tuple[str, ...] = ("Year", "Mnth", "Day", "Hr", "dayl", "prcp", "srad", "swe", "tmax",
                                   "tmin", "vp")
_HEADER_LINES = 4


def daymet_dir(root: Path | None = None) -> Path:
    """``camels_us/basin_mean_forcing/daymet`` under the data root."""
    return (root or data_root()) / "camels_us" / "basin_mean_forcing" / "daymet"


def index_daymet_files(root: Path | None = None) -> dict[str, Path]:
    """Map gauge id -> forcing file, for every file under the Daymet folder."""
    folder = daymet_dir(root)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: Daymet forcing folder not found (run `make data`)")
    return {p.name[:8]: p for p in sorted(folder.glob("*/*_lump_cida_forcing_leap.txt"))}


def read_daymet(path: Path) -> DailySeries:
    """Parse one Daymet basin-mean forcing file into a :class:`DailySeries` (``swe`` kept for reference)."""
    text = open_text(path)
    lines = text.split("\n", _HEADER_LINES)
    if len(lines) <= _HEADER_LINES:
        raise DataFormatError(path, "fewer than 4 header lines: not a CAMELS forcing file")
    meta: dict[str, float | str] = {}
    for number, key in enumerate(("latitude", "elevation_m", "area_m2"), start=1):
        try:
            meta[key] = float(lines[number - 1])
        except ValueError:
            raise DataFormatError(path, f"header {key} is not a number: {lines[number - 1]!r}",
                                  line=number) from None
    tokens = lines[_HEADER_LINES].split()
    width = len(DAYMET_COLUMNS)
    if len(tokens) % width:
        _locate_bad_row(path, lines[_HEADER_LINES], width)
    try:
        table = np.array(tokens, dtype=np.float64).reshape(-1, width)
    except ValueError:
        _locate_bad_row(path, lines[_HEADER_LINES], width)
        raise
    try:
        dates = dates_from_ymd(table[:, 0], table[:, 1], table[:, 2])
    except InvalidDateError as exc:
        raise DataFormatError(path, str(exc), line=_body_line(lines[_HEADER_LINES], exc.row)) from None
    steps = np.diff(dates).astype(int)
    if (steps != 1).any():
        bad = int(np.flatnonzero(steps != 1)[0]) + 1
        raise DataFormatError(path, f"dates not consecutive at {dates[bad]}",
                              line=_body_line(lines[_HEADER_LINES], bad))
    values = {name: table[:, DAYMET_COLUMNS.index(name)].astype(np.float32)
              for name in (*FORCING_VARIABLES, "swe")}
    units = dict(FORCING_VARIABLES, swe="mm")
    return DailySeries(path.name[:8], dates, values, units, meta)


def _body_line(body: str, row: int) -> int:
    """1-based file line of the ``row``-th (0-based) non-blank line of the table body."""
    seen = -1
    for offset, line in enumerate(body.splitlines()):
        if line.strip():
            seen += 1
            if seen == row:
                return offset + _HEADER_LINES + 1
    return row + _HEADER_LINES + 1


def _locate_bad_row(path: Path, body: str, width: int) -> None:
    for offset, line in enumerate(body.splitlines()):
        cells = line.split()
        if not cells:
            continue
        if len(cells) != width:
            raise DataFormatError(path, f"expected {width} columns, found {len(cells)}",
                                  line=offset + _HEADER_LINES + 1)
        for name, cell in zip(DAYMET_COLUMNS, cells, strict=True):
            try:
                float(cell)
            except ValueError:
                raise DataFormatError(path, f"not a number: {cell!r}", line=offset + _HEADER_LINES + 1,
                                      column=name) from None
    raise DataFormatError(path, "unreadable forcing table")
