"""A daily time series structure shared by the forcing and streamflow readers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np


@dataclass
class DailySeries:
    """Daily values of one location.

    Attributes:
        location_id: gauge id or station name.
        dates: consecutive days, ``datetime64[D]``.
        values: variable name -> float32 array aligned with ``dates`` (NaN = missing).
        units: variable name -> unit string.
        meta: anything else the file header said (latitude, elevation, area...).
    """

    location_id: str
    dates: np.ndarray
    values: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    meta: dict[str, float | str] = field(default_factory=dict)

    @property
    def start(self) -> dt.date:
        return self.dates[0].astype(dt.date)

    @property
    def end(self) -> dt.date:
        return self.dates[-1].astype(dt.date)

    def slice(self, start: dt.date | str, end: dt.date | str) -> DailySeries:
        """The days from ``start`` to ``end`` inclusive."""
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        keep = (self.dates >= lo) & (self.dates <= hi)
        return DailySeries(self.location_id, self.dates[keep], {k: v[keep] for k, v in self.values.items()},
                           dict(self.units), dict(self.meta))


class InvalidDateError(ValueError):
    """A year/month/day triple that is not a calendar date; ``row`` is its 0-based position."""

    def __init__(self, row: int, message: str) -> None:
        self.row = row
        super().__init__(message)


def dates_from_ymd(years: np.ndarray, months: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Vectorised year/month/day integer arrays to ``datetime64[D]``.

    Raises :class:`InvalidDateError` (a ValueError) naming the 0-based row of the first bad date.
    """
    y = years.astype(int) - 1970
    m = months.astype(int)
    d = days.astype(int)
    if ((m < 1) | (m > 12) | (d < 1) | (d > 31)).any():
        bad = int(np.flatnonzero((m < 1) | (m > 12) | (d < 1) | (d > 31))[0])
        raise InvalidDateError(bad, f"invalid date {years[bad]:g}-{months[bad]:g}-{days[bad]:g}")
    month_start = (y.astype("datetime64[Y]").astype("datetime64[M]") + (m - 1))
    dates = month_start.astype("datetime64[D]") + (d - 1)
    back = dates.astype("datetime64[M]")
    wrong = back != month_start
    if wrong.any():
        bad = int(np.flatnonzero(wrong)[0])
        raise InvalidDateError(bad, f"invalid date {years[bad]:g}-{months[bad]:g}-{days[bad]:g}")
    return dates
