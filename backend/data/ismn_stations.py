"""ISMN stations in a folder, their daily top-layer soil moisture (quality-flag filtered) and the summary.

The ``.stm`` files themselves are read by :mod:`backend.data.ismn`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.ismn import SOIL_MOISTURE, IsmnFileInfo, IsmnSeries, IsmnStation, read_ismn_file, read_ismn_metadata
from backend.data.timeseries import DailySeries

LOG = logging.getLogger(__name__)

#: Physically possible range per variable; values outside are dropped by :func:`daily_mean`.
VALID_RANGE: dict[str, tuple[float, float]] = {"soil_moisture": (0.0, 1.0)}

#: ISMN quality flags accepted by :func:`daily_mean`: ``G`` (good) and ``U`` (undefined: the record was
#: not rejected by any ISMN check). ``C..`` (outside the plausible range), ``D..`` (dubious) and ``M``
#: (missing) are rejected. A record with several codes (``D03,D05``) is kept only if all are accepted.
ACCEPTED_FLAGS: frozenset[str] = frozenset({"G", "U"})
#: Sub-folders never searched for station files.
SKIPPED_FOLDERS: frozenset[str] = frozenset({"malformed"})


# --------------------------------------------------------------------------------------------- stations

def _is_skipped(path: Path, folder: Path) -> bool:
    return any(part in SKIPPED_FOLDERS for part in path.relative_to(folder).parts[:-1])


def find_ismn_stations(folder: Path) -> list[IsmnStation]:
    """All stations with readable ``.stm`` files under ``folder`` (recursive), sorted by network/station.

    The ``malformed`` folder is skipped and zip archives are not opened. Stations are keyed by
    (network, station) and each ISMN file name is kept once, so copies of the same data in several folders
    (e.g. the CEOP and header+values exports) are not double counted; the first copy in path order wins.
    A ``.stm`` file whose first line is in neither ISMN format is skipped with a logged warning.
    Raises :class:`DataNotFoundError` (a FileNotFoundError) if ``folder`` is absent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: ISMN folder not found")
    stations: dict[tuple[str, str], IsmnStation] = {}
    seen_names: set[str] = set()
    for path in sorted(folder.rglob("*.stm")):
        if _is_skipped(path, folder) or path.name in seen_names or not path.is_file():
            continue
        try:
            info = read_ismn_metadata(path)
        except DataFormatError as exc:
            LOG.warning("skipping unreadable ISMN file: %s", exc)
            continue
        seen_names.add(path.name)
        key = (info.network, info.station)
        station = stations.setdefault(key, IsmnStation(info.network, info.station, info.latitude,
                                                       info.longitude, info.elevation_m))
        station.files.append(path)
    return [stations[key] for key in sorted(stations)]


# --------------------------------------------------------------------------------------------- daily

def _accepted(flags: np.ndarray, accepted: Collection[str]) -> np.ndarray:
    """Boolean mask: every code of the record's flag (``D03,D05`` has two) is accepted."""
    if flags.size == 0:
        return np.zeros(0, dtype=bool)
    unique, inverse = np.unique(flags, return_inverse=True)
    ok = np.array([all(code.strip() in accepted for code in str(flag).split(",")) for flag in unique])
    return ok[inverse]


def _valid_mask(series: IsmnSeries, accepted_flags: Collection[str]) -> np.ndarray:
    values = np.asarray(series.values, dtype=np.float64)
    valid = np.isfinite(values)
    if len(series.flags):
        valid &= _accepted(np.asarray(series.flags, dtype=str), accepted_flags)
    lo, hi = VALID_RANGE.get(series.variable, (-np.inf, np.inf))
    with np.errstate(invalid="ignore"):
        valid &= (values >= lo) & (values <= hi)
    return valid


def daily_mean(series: IsmnSeries, min_hours: int = 12,
               accepted_flags: Collection[str] = ACCEPTED_FLAGS) -> DailySeries:
    """Daily (UTC) means of an ISMN series as a :class:`DailySeries` keyed ``network/station``.

    A record is used when its value is finite, inside the variable's physical range (0-1 m3/m3 for soil
    moisture) and, when the file has flags, every code of its ISMN flag is in ``accepted_flags``. The
    default accepts ``G`` (good) and ``U`` (undefined: no ISMN check rejected it) and drops ``C..``
    (implausible), ``D..`` (dubious) and ``M`` (missing). ``U`` is accepted because the older records of
    the SCAN, SOILSCAPE and MAQU files carry ``U`` instead of ``G`` throughout: accepting only ``G`` would
    leave those stations empty; pass ``accepted_flags={"G"}`` to be stricter.

    Records are first averaged within each hour, then the hours within each day; a day with fewer than
    ``min_hours`` valid hours is NaN. Dates run without gaps from the first to the last record's day.
    """
    values = np.asarray(series.values, dtype=np.float64)
    times = np.asarray(series.times).astype("datetime64[m]")
    unit = {series.variable: series.units}
    meta: dict[str, float | str] = {
        "network": series.network, "station": series.station, "latitude": series.latitude,
        "longitude": series.longitude, "elevation_m": series.elevation_m,
        "depth_from_m": series.depth_from_m, "depth_to_m": series.depth_to_m, "sensor": series.sensor,
        "source": str(series.path), "min_hours": float(min_hours)}
    if times.size == 0:
        empty = np.zeros(0, dtype="datetime64[D]")
        return DailySeries(series.location_id, empty, {series.variable: np.zeros(0, np.float32)}, unit, meta)
    dates = np.arange(times.min().astype("datetime64[D]"), times.max().astype("datetime64[D]") + 1)
    valid = _valid_mask(series, accepted_flags)
    hours, hour_index = np.unique(times[valid].astype("datetime64[h]"), return_inverse=True)
    hourly = (np.bincount(hour_index, weights=values[valid], minlength=hours.size)
              / np.maximum(np.bincount(hour_index, minlength=hours.size), 1))
    day_index = (hours.astype("datetime64[D]") - dates[0]).astype(np.int64)
    sums = np.bincount(day_index, weights=hourly, minlength=dates.size)
    counts = np.bincount(day_index, minlength=dates.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = np.where(counts >= max(min_hours, 1), sums / counts, np.nan)
    return DailySeries(series.location_id, dates, {series.variable: daily.astype(np.float32)}, unit, meta)


def _merge(parts: list[IsmnSeries]) -> IsmnSeries:
    """Several series of the same station and depth as one (records concatenated and sorted by time)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    times = np.concatenate([p.times for p in parts])
    order = np.argsort(times, kind="stable")
    return IsmnSeries(
        first.network, first.station, first.latitude, first.longitude, first.elevation_m,
        first.depth_from_m, first.depth_to_m, "+".join(sorted({p.sensor for p in parts})), first.variable,
        times[order], np.concatenate([p.values for p in parts])[order],
        np.concatenate([np.asarray(p.flags, dtype=str) for p in parts])[order], first.path, first.units,
        first.file_format)


def soil_moisture_files(station: IsmnStation) -> list[IsmnFileInfo]:
    """Metadata of a station's soil moisture files, shallowest first."""
    infos = [read_ismn_metadata(p) for p in station.files]
    sm = [i for i in infos if i.variable == SOIL_MOISTURE]
    return sorted(sm, key=lambda i: (i.depth_from_m, i.depth_to_m, str(i.path)))


def top_layer_soil_moisture(station: IsmnStation, min_hours: int = 12,
                            accepted_flags: Collection[str] = ACCEPTED_FLAGS) -> DailySeries:
    """Daily soil moisture (m3/m3) of the station's shallowest sensor depth.

    The shallowest depth is the smallest ``depth_from`` (then ``depth_to``). Several files at that depth
    (other sensors or other periods) are merged and averaged hour by hour before the daily mean; see
    :func:`daily_mean` for the flags and ``min_hours``. Raises :class:`DataNotFoundError` if the station
    has no soil moisture file.
    """
    infos = soil_moisture_files(station)
    if not infos:
        raise DataNotFoundError(f"{station.location_id}: no soil moisture file among "
                                f"{', '.join(p.name for p in station.files) or 'no files'}")
    top = (infos[0].depth_from_m, infos[0].depth_to_m)
    parts = [read_ismn_file(i.path) for i in infos if (i.depth_from_m, i.depth_to_m) == top]
    daily = daily_mean(_merge(parts), min_hours, accepted_flags)
    daily.meta["files"] = "; ".join(str(p.path) for p in parts)
    return daily


# --------------------------------------------------------------------------------------------- summary

def _depth_text(lo: float, hi: float) -> str:
    return f"{lo:g} m" if lo == hi else f"{lo:g}-{hi:g} m"


def _station_line(station: IsmnStation) -> str:
    series = [read_ismn_file(i.path) for i in soil_moisture_files(station)]
    where = (f"{station.location_id}: lat {station.latitude:.4f}, lon {station.longitude:.4f}, "
             f"elevation {station.elevation_m:g} m")
    if not series:
        return f"{where}, no soil moisture file ({len(station.files)} other file(s))"
    depths = sorted({(s.depth_from_m, s.depth_to_m) for s in series})
    start = min(s.times[0] for s in series).astype("datetime64[D]")
    end = max(s.times[-1] for s in series).astype("datetime64[D]")
    records = sum(int(s.values.size) for s in series)
    return (f"{where}, depths {', '.join(_depth_text(*d) for d in depths)}, {start} to {end}, "
            f"{len(series)} soil moisture file(s), {records:,} hourly records")


def summarize_ismn(folder: Path) -> list[str]:
    """Human-readable lines: the number of stations, then one line per station (location, depths, dates,
    soil moisture files). Raises FileNotFoundError (:class:`DataNotFoundError`) if ``folder`` is absent.
    """
    stations = find_ismn_stations(Path(folder))
    files = sum(len(s.files) for s in stations)
    lines = [f"ISMN {folder}: {len(stations)} station(s), {files} sensor file(s)"]
    lines.extend(f"  {_station_line(s)}" for s in stations)
    return lines
