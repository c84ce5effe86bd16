"""Caravan time series CSVs (``timeseries/csv/<source>/<source>_<id>.csv``).

Columns: ``date`` then any number of variables (e.g. ``streamflow`` in mm/d); an empty cell is missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError
from backend.core.paths import data_root
from backend.data.tabular import parse_dates, parse_float, read_delimited
from backend.data.timeseries import DailySeries


def caravan_csv_dir(root: Path | None = None, source: str = "camels") -> Path:
    """``caravan/timeseries/csv/<source>`` under the data root."""
    return (root or data_root()) / "caravan" / "timeseries" / "csv" / source


def index_caravan_files(root: Path | None = None, source: str = "camels") -> dict[str, Path]:
    """Map location id (the part after ``<source>_``) -> CSV file (empty if the folder is absent)."""
    prefix = f"{source}_"
    return {p.stem[len(prefix):]: p for p in sorted(caravan_csv_dir(root, source).glob(f"{prefix}*.csv"))}


def read_caravan_csv(path: Path, variables: tuple[str, ...] | None = None) -> DailySeries:
    """Read a Caravan CSV into a :class:`DailySeries`; ``variables`` limits the columns kept."""
    header, rows = read_delimited(path, ",", required=("date",) + tuple(variables or ()))
    keep = [c for c in header if c != "date" and (variables is None or c in variables)]
    dates: list[str] = []
    line_of: list[int] = []
    columns: dict[str, list[float]] = {c: [] for c in keep}
    for row in rows:
        dates.append(row.cells["date"])
        line_of.append(row.line)
        for c in keep:
            columns[c].append(parse_float(row.cells[c], path, row.line, c))
    if not dates:
        raise DataFormatError(path, "no data rows")
    day = parse_dates(path, dates, line_of)
    steps = np.diff(day).astype(int)
    if (steps != 1).any():
        bad = int(np.flatnonzero(steps != 1)[0]) + 1
        raise DataFormatError(path, f"dates not consecutive daily at {day[bad]}", line_of[bad], "date")
    source_id = path.stem.split("_", 1)[-1]
    return DailySeries(source_id, day, {c: np.asarray(v, dtype=np.float32) for c, v in columns.items()},
                       {c: "mm/day" if c in ("streamflow", "total_precipitation_sum") else "" for c in keep})
