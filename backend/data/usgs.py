"""USGS daily streamflow in the original CAMELS format (``<gauge_id>_streamflow_qc.txt``).

Columns: ``gauge_id year month day discharge(ft³/s) flag``; ``-999`` is missing. Converted to mm/day
with the basin area.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError
from backend.core.paths import data_root
from backend.data.tabular import open_text
from backend.data.timeseries import DailySeries, InvalidDateError, dates_from_ymd
from backend.data.units import to_mm_per_day


def usgs_dir(root: Path | None = None) -> Path:
    """``camels_us/usgs_streamflow`` under the data root."""
    return (root or data_root()) / "camels_us" / "usgs_streamflow"


def index_usgs_files(root: Path | None = None) -> dict[str, Path]:
    """Map gauge id -> streamflow file (empty if the folder is absent)."""
    return {p.name[:8]: p for p in sorted(usgs_dir(root).glob("*/*_streamflow_qc.txt"))}


def read_usgs_streamflow(path: Path, area_km2: float) -> DailySeries:
    """Parse a CAMELS USGS streamflow file; discharge in ft³/s becomes ``streamflow`` in mm/day.

    Missing values (``-999``) and negative discharges become NaN. ``flag`` keeps the quality codes.
    """
    numbered = [(n, line.split()) for n, line in enumerate(open_text(path).splitlines(), start=1)
                if line.strip()]
    if not numbered:
        raise DataFormatError(path, "empty streamflow file")
    line_of = [n for n, _ in numbered]
    rows = [cells for _, cells in numbered]
    for number, cells in numbered:
        if len(cells) not in (5, 6):
            raise DataFormatError(path, f"expected 6 columns (gauge_id year month day discharge flag), "
                                  f"found {len(cells)}", line=number)
    try:
        numbers = np.array([[float(c) for c in r[1:5]] for r in rows])
    except ValueError:
        for number, cells in numbered:
            for name, cell in zip(("year", "month", "day", "discharge"), cells[1:5], strict=True):
                try:
                    float(cell)
                except ValueError:
                    raise DataFormatError(path, f"not a number: {cell!r}", number, name) from None
        raise
    try:
        dates = dates_from_ymd(numbers[:, 0], numbers[:, 1], numbers[:, 2])
    except InvalidDateError as exc:
        raise DataFormatError(path, str(exc), line=line_of[exc.row]) from None
    steps = np.diff(dates).astype(int)
    if (steps != 1).any():
        bad = int(np.flatnonzero(steps != 1)[0]) + 1
        raise DataFormatError(path, f"dates not consecutive at {dates[bad]}", line=line_of[bad])
    cfs = numbers[:, 3]
    cfs = np.where(cfs < 0, np.nan, cfs)
    flow = to_mm_per_day(cfs, "ft3/s", area_km2).astype(np.float32)
    flags = np.array([r[5] if len(r) > 5 else "" for r in rows])
    return DailySeries(rows[0][0], dates, {"streamflow": flow}, {"streamflow": "mm/day"},
                       {"area_km2": area_km2, "flags": ",".join(sorted(set(flags.tolist())))})
