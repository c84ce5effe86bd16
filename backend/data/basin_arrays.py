"""All basins' daily forcings and streamflow as aligned arrays, cached as one binary file.

Parsing 671 Daymet text files takes a while; the parsed arrays are cached under
``<data root>/cache/basin_arrays.npz`` and rebuilt when the list of files changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.core.atomic_io import write_atomic
from backend.core.progress import progress
from backend.data.caravan import read_caravan_csv
from backend.data.catalogue import BasinCatalogue
from backend.data.daymet import read_daymet
from backend.data.variables import FORCING_VARIABLES

CACHE_VERSION = 1
_IN_MEMORY: dict[tuple[str, str], BasinArrays] = {}


@dataclass
class BasinArrays:
    """Aligned daily arrays for many basins.

    Attributes:
        gauge_ids: basins, sorted.
        dates: the common days (``datetime64[D]``), Daymet's 1980-01-01..2014-12-31.
        forcings: float32 (basin, day, variable) in :data:`FORCING_VARIABLES` order, NaN = missing.
        streamflow_mm_per_day: float32 (basin, day), Caravan's observed streamflow, NaN = missing.
    """

    gauge_ids: list[str]
    dates: np.ndarray
    forcings: np.ndarray
    streamflow_mm_per_day: np.ndarray

    def index(self, gauge_id: str) -> int:
        return self.gauge_ids.index(gauge_id)

    def day_range(self, start: str, end: str) -> slice:
        """Slice of days from ``start`` to ``end`` inclusive."""
        lo = int((np.datetime64(start, "D") - self.dates[0]).astype(int))
        hi = int((np.datetime64(end, "D") - self.dates[0]).astype(int)) + 1
        if lo < 0 or hi > len(self.dates):
            raise ValueError(f"period {start}..{end} outside {self.dates[0]}..{self.dates[-1]}")
        return slice(lo, hi)


def _cache_key(catalogue: BasinCatalogue) -> str:
    ids = catalogue.with_forcings_and_attributes
    flows = [g for g in ids if g in catalogue.caravan_files]
    return f"v{CACHE_VERSION}:{len(ids)}:{','.join(ids)}:{','.join(flows)}"


def load_basin_arrays(catalogue: BasinCatalogue | None = None, rebuild: bool = False) -> BasinArrays:
    """Load (building if needed) the aligned arrays of every basin with forcings and attributes."""
    catalogue = catalogue or BasinCatalogue.open()
    path = catalogue.root / "cache" / "basin_arrays.npz"
    key = _cache_key(catalogue)
    memo_key = (str(path.resolve()), key)
    if memo_key in _IN_MEMORY and not rebuild:
        return _IN_MEMORY[memo_key]
    arrays = _load_or_build(catalogue, path, key, rebuild)
    _IN_MEMORY.clear()  # keep one data root's arrays in memory at most
    _IN_MEMORY[memo_key] = arrays
    return arrays


def _load_or_build(catalogue: BasinCatalogue, path: Path, key: str, rebuild: bool) -> BasinArrays:
    if path.is_file() and not rebuild:
        with np.load(path, allow_pickle=False) as cached:
            if str(cached["key"]) == key:
                return BasinArrays(cached["gauge_ids"].tolist(), cached["dates"], cached["forcings"],
                                   cached["streamflow"])
    arrays = build_basin_arrays(catalogue)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, key=np.array(key), gauge_ids=np.array(arrays.gauge_ids),
                     dates=arrays.dates, forcings=arrays.forcings, streamflow=arrays.streamflow_mm_per_day)

    write_atomic(path, write)
    return arrays


def build_basin_arrays(catalogue: BasinCatalogue) -> BasinArrays:
    """Parse every Daymet file and Caravan streamflow file into aligned arrays."""
    ids = catalogue.with_forcings_and_attributes
    first = read_daymet(catalogue.daymet_files[ids[0]])
    dates = first.dates
    forcings = np.full((len(ids), len(dates), len(FORCING_VARIABLES)), np.nan, dtype=np.float32)
    flow = np.full((len(ids), len(dates)), np.nan, dtype=np.float32)
    for i, gid in enumerate(progress(ids, "parsing forcings and streamflow")):
        series = first if i == 0 else read_daymet(catalogue.daymet_files[gid])
        _place(dates, series.dates, np.stack([series.values[v] for v in FORCING_VARIABLES], axis=1),
               forcings[i])
        if gid in catalogue.caravan_files:
            observed = read_caravan_csv(catalogue.caravan_files[gid], ("streamflow",))
            _place(dates, observed.dates, observed.values["streamflow"], flow[i])
    return BasinArrays(ids, dates, forcings, flow)


def _place(target_dates: np.ndarray, dates: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """Copy ``values`` (on ``dates``) into ``out`` (on ``target_dates``) where the days overlap."""
    offset = int((dates[0] - target_dates[0]).astype(int))
    lo, hi = max(offset, 0), min(offset + len(dates), len(target_dates))
    if hi > lo:
        out[lo:hi] = values[lo - offset:hi - offset]
