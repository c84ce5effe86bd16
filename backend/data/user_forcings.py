"""Daily forcings of user gauges: ``<id>.csv`` files or CAMELS-layout Daymet files, found per gauge.

``<id>.csv``: ``date,prcp,srad,tmax,tmin,vp,dayl`` (Daymet units: mm/day, W/m2, degC, degC, Pa, s), one row
per day, consecutive dates; an empty cell is a missing value (the model treats it as unobserved).
``<id>_lump_cida_forcing_leap.txt`` anywhere under the folder: the CAMELS layout, read by
:func:`backend.data.daymet.read_daymet`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError
from backend.data.daymet import read_daymet
from backend.data.user_problems import Problems, Table, parse_date, parse_number, read_table
from backend.data.variables import FORCING_VARIABLES

FORCING_COLUMNS: tuple[str, ...] = ("date", *FORCING_VARIABLES)
CAMELS_SUFFIX = "_lump_cida_forcing_leap.txt"


@dataclass
class GaugeForcings:
    """Consecutive daily forcings of one gauge: ``values`` (T, 6) float32 in FORCING_VARIABLES order."""

    dates: np.ndarray
    values: np.ndarray
    source: str


def _read_csv(path: Path, problems: Problems) -> GaugeForcings | None:
    """``date,prcp,srad,tmax,tmin,vp,dayl``; every bad cell, negative precipitation and gap is a problem."""
    table = read_table(path, FORCING_COLUMNS, problems)
    if table is None:
        return None
    before = len(problems)
    dates: list[dt.date] = []
    values: list[list[float]] = []
    previous: tuple[int, dt.date] | None = None
    for line, cells in table.rows:
        day = parse_date(table, line, "date", cells["date"], problems)
        row = [parse_number(table, line, name, cells[name], problems) for name in FORCING_VARIABLES]
        if row[0] is not None and row[0] < 0:
            problems.add(path, f"negative precipitation {row[0]:g}", line, "prcp", kind="negative precipitation")
        if day is None:
            continue
        if previous is not None:  # a row with a bad value still counts for the continuity of the dates
            _check_step(table, previous, line, day, problems)
        previous = (line, day)
        dates.append(day)
        values.append([np.nan if v is None else v for v in row])
    if not dates and len(problems) == before:
        problems.add(path, "no data rows")
    if len(problems) > before:
        return None
    return GaugeForcings(np.array(dates, dtype="datetime64[D]"), np.asarray(values, dtype=np.float32),
                         f"{path.name} (forcings CSV)")


def _check_step(table: Table, previous: tuple[int, dt.date], line: int, day: dt.date, problems: Problems) -> None:
    step = (day - previous[1]).days
    if step == 1:
        return
    if step > 1:
        message = f"gap in the daily dates: {day} follows {previous[1]} (line {previous[0]}), {step - 1} day(s) missing"
        problems.add(table.path, message, line, "date", kind="forcings gap")
    else:
        message = f"dates not increasing: {day} follows {previous[1]} (line {previous[0]})"
        problems.add(table.path, message, line, "date", kind="dates not increasing")


def _read_camels(path: Path, problems: Problems) -> GaugeForcings | None:
    try:
        series = read_daymet(path)
    except DataFormatError as exc:
        problems.add_error(exc)
        return None
    values = np.stack([series.values[name] for name in FORCING_VARIABLES], axis=1).astype(np.float32)
    return GaugeForcings(series.dates, values, f"{path.name} (CAMELS Daymet layout)")


#: layout name -> (how its file is named for a gauge id, its reader)
LAYOUTS: dict[str, tuple[Callable[[str], str], Callable[[Path, Problems], GaugeForcings | None]]] = {
    "csv": (lambda gauge_id: f"{gauge_id}.csv", _read_csv),
    "camels": (lambda gauge_id: f"{gauge_id}{CAMELS_SUFFIX}", _read_camels),
}


def index_forcing_files(folder: Path) -> dict[str, list[Path]]:
    """File name -> paths of every file under ``folder`` (CAMELS files sit in ``<huc_02>/`` sub-folders)."""
    index: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            index.setdefault(path.name, []).append(path)
    return index


def find_forcing_file(folder: Path, gauge_id: str, index: dict[str, list[Path]]) -> tuple[str, Path] | str:
    """(layout, path) of a gauge's forcing file, or a sentence saying why there is none."""
    found = [(layout, path) for layout, (name, _) in LAYOUTS.items()
             for path in index.get(name(gauge_id), []) if layout != "csv" or path.parent == Path(folder)]
    if len(found) == 1:
        return found[0]
    if found:
        return f"several forcing files for this gauge ({', '.join(str(p) for _, p in found)}); keep one"
    expected = " or ".join(f"{name(gauge_id)}" for name, _ in LAYOUTS.values())
    caravan = [p for name, paths in index.items() if name.endswith(f"_{gauge_id}.csv") for p in paths]
    hint = (f"; {caravan[0].name} looks like a Caravan file: its ERA5-Land variables lack srad, vp and dayl, "
            f"convert it to {gauge_id}.csv with the columns {','.join(FORCING_COLUMNS)}") if caravan else ""
    return f"no forcings for this gauge in {folder} (expected {expected}){hint}"


def read_gauge_forcings(layout: str, path: Path, problems: Problems) -> GaugeForcings | None:
    """Read one gauge's forcing file with its layout's reader (problems recorded, None if unusable)."""
    return LAYOUTS[layout][1](path, problems)
