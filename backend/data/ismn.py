"""International Soil Moisture Network (ISMN) readers: ``.stm`` files of in-situ soil moisture.

Two ISMN layouts are read, detected from the content (not the folder name):

* **header+values** -- line 1 is the header
  ``CSE network station latitude longitude elevation depth_from depth_to sensor``, then one record a
  line: ``YYYY/MM/DD HH:MM value ismn_flag [provider_flag]``.
* **CEOP separate** -- no header; every line is a full record ``YYYY/MM/DD HH:MM YYYY/MM/DD HH:MM
  CSE network station latitude longitude elevation depth_from depth_to value ismn_flag [provider_flag]``
  (the first date is the nominal time, used here; the second is the actual measurement time).

The variable, the sensor and precise depths come from the ISMN file name
``<CSE>_<network>_<station>_<variable>_<depth_from>_<depth_to>_<sensor>_<start>_<end>.stm``; the station
name is taken from the file name too (the header spells some differently: ``AdamsRanch#1`` is
``Adams_Ranch_#1`` in its header), falling back to the header when the name does not follow the pattern.

Line breaks in the real files are ``\\r`` (old Mac), ``\\r\\n``, or a stray ``\\n\\r`` after the header;
each of ``\\r\\n``, ``\\n\\r``, ``\\r`` and ``\\n`` counts as one line break, and line numbers in errors are
1-based in that sense. Times are UTC.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root
from backend.data.tabular import parse_dates, parse_float
from backend.data.timeseries import DailySeries

LOG = logging.getLogger(__name__)

#: ISMN variable codes in file names -> (variable name, unit).
VARIABLES: dict[str, tuple[str, str]] = {
    "sm": ("soil_moisture", "m3/m3"),
    "ts": ("soil_temperature", "degC"),
    "su": ("soil_suction", "kPa"),
    "ta": ("air_temperature", "degC"),
    "p": ("precipitation", "mm"),
    "sd": ("snow_depth", "mm"),
    "sweq": ("snow_water_equivalent", "mm"),
    "tsf": ("surface_temperature", "degC"),
}

#: Physically possible range per variable; values outside are dropped by :func:`daily_mean`.
VALID_RANGE: dict[str, tuple[float, float]] = {"soil_moisture": (0.0, 1.0)}

#: ISMN quality flags accepted by :func:`daily_mean`: ``G`` (good) and ``U`` (undefined: the record was
#: not rejected by any ISMN check). ``C..`` (outside the plausible range), ``D..`` (dubious) and ``M``
#: (missing) are rejected. A record with several codes (``D03,D05``) is kept only if all are accepted.
ACCEPTED_FLAGS: frozenset[str] = frozenset({"G", "U"})

SOIL_MOISTURE = "soil_moisture"
SKIPPED_FOLDERS: frozenset[str] = frozenset({"malformed"})

_BREAKS = re.compile(r"\r\n|\n\r|\r|\n")
_DATE = re.compile(r"\d{4}/\d{2}/\d{2}$")
_TIME = re.compile(r"\d{2}:\d{2}$")
_CEOP_START = re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2} \d{4}/\d{2}/\d{2} \d{2}:\d{2}\s")
_FILE_NAME = re.compile(
    r"(?P<cse>[^_]+)_(?P<network>[^_]+)_(?P<station>.+)_(?P<code>[a-z]+)_(?P<depth_from>-?\d+\.\d+)_"
    r"(?P<depth_to>-?\d+\.\d+)_(?P<sensor>.+)_(?P<start>\d{8})_(?P<end>\d{8})\.stm$")
_META_COLUMNS = ("cse", "network", "station", "latitude", "longitude", "elevation", "depth_from",
                 "depth_to")
_NUMERIC_META = ("latitude", "longitude", "elevation", "depth_from", "depth_to")
_META_RANGE: dict[str, tuple[float, float]] = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}


@dataclass(frozen=True)
class _Layout:
    """Where the fields of one data record are in one ISMN format (0-based token indexes)."""

    name: str
    header_lines: int
    meta_start: int | None  # index of CSE in each record (CEOP), None if the metadata is a header line
    value: int
    flag: int
    min_tokens: int
    max_tokens: int
    record_text: str


HEADER_VALUES = _Layout("header+values", 1, None, 2, 3, 4, 5, "date time value ismn_flag [provider_flag]")
CEOP_SEPARATE = _Layout("ceop_separate", 0, 4, 12, 13, 14, 15,
                        "date time date time CSE network station lat lon elevation depth_from depth_to "
                        "value ismn_flag [provider_flag]")


@dataclass
class _IsmnSensor:
    """The sensor fields that :class:`IsmnFileInfo` and :class:`IsmnSeries` share (first, in this order)."""

    network: str
    station: str
    latitude: float
    longitude: float
    elevation_m: float
    depth_from_m: float
    depth_to_m: float
    sensor: str
    variable: str


@dataclass
class IsmnFileInfo(_IsmnSensor):
    """What an ISMN file says about its sensor, from its first line and its file name."""

    units: str
    file_format: str
    path: Path


@dataclass
class IsmnSeries(_IsmnSensor):
    """One ISMN sensor time series.

    Attributes:
        network, station: ISMN network and station name (station as spelled in the file name).
        latitude, longitude: degrees (WGS84); elevation_m: metres above sea level.
        depth_from_m, depth_to_m: sensor depth below the surface in metres (equal for point sensors).
        sensor: instrument name; variable: e.g. ``soil_moisture`` (unit in ``units``, m3/m3 for it).
        times: ``datetime64[m]`` UTC record times; values: float32, NaN missing; flags: ISMN quality flag
            string per record (``G``, ``U``, ``D03,D05``...).
        path: the file; file_format: ``header+values`` or ``ceop_separate``.
    """

    times: np.ndarray
    values: np.ndarray
    flags: np.ndarray
    path: Path
    units: str = ""
    file_format: str = ""

    @property
    def location_id(self) -> str:
        """``network/station``."""
        return f"{self.network}/{self.station}"


@dataclass
class IsmnStation:
    """One ISMN station and its sensor files (each ISMN file name counted once across copies)."""

    network: str
    station: str
    latitude: float
    longitude: float
    elevation_m: float
    files: list[Path] = field(default_factory=list)

    @property
    def location_id(self) -> str:
        """``network/station``."""
        return f"{self.network}/{self.station}"


def ismn_dir(root: Path | None = None) -> Path:
    """``ismn`` under the data root."""
    return (root or data_root()) / "ismn"


# --------------------------------------------------------------------------------------------- reading

def _decode(raw: bytes) -> str:
    """UTF-8 text, or Latin-1 for the odd station name with an accent (Latin-1 never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_lines(path: Path, max_bytes: int | None = None) -> list[str]:
    """The lines of a file, any of ``\\r\\n``, ``\\n\\r``, ``\\r``, ``\\n`` counting as one break."""
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    with path.open("rb") as handle:
        raw = handle.read() if max_bytes is None else handle.read(max_bytes)
    lines = _BREAKS.split(_decode(raw))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _detect_layout(path: Path, lines: list[str]) -> _Layout:
    """The format of a file from its first line."""
    if not lines or not lines[0].strip():
        raise DataFormatError(path, "empty file: not an ISMN file", line=1)
    first = lines[0]
    for layout, looks_like in _DETECTORS.items():
        if looks_like(first):
            return layout
    shown = first.strip()[:80]
    raise DataFormatError(path, "not an ISMN file: expected a header line 'CSE network station latitude "
                          "longitude elevation depth_from depth_to sensor' or a CEOP record starting "
                          f"'YYYY/MM/DD HH:MM YYYY/MM/DD HH:MM', found {shown!r}", line=1)


def _looks_like_ceop(line: str) -> bool:
    return _CEOP_START.match(line.strip() + " ") is not None


def _looks_like_header(line: str) -> bool:
    tokens = line.split()
    if len(tokens) < len(_META_COLUMNS) or _DATE.match(tokens[0]):
        return False
    try:
        [float(t) for t in tokens[3:8]]
    except ValueError:
        return False
    return True


_DETECTORS: dict[_Layout, Callable[[str], bool]] = {
    CEOP_SEPARATE: _looks_like_ceop,
    HEADER_VALUES: _looks_like_header,
}


def _parse_meta(path: Path, tokens: list[str], line: int) -> dict[str, str | float]:
    """Network, station, coordinates and depths from the 8 metadata tokens."""
    if len(tokens) < len(_META_COLUMNS):
        raise DataFormatError(path, f"expected {len(_META_COLUMNS)} metadata fields "
                              f"({' '.join(_META_COLUMNS)}), found {len(tokens)}", line=line)
    meta: dict[str, str | float] = dict(zip(_META_COLUMNS[:3], tokens[:3], strict=True))
    for name, token in zip(_NUMERIC_META, tokens[3:8], strict=True):
        number = parse_float(token, path, line, name, allow_missing=False)
        lo, hi = _META_RANGE.get(name, (-math.inf, math.inf))
        if not lo <= number <= hi:
            raise DataFormatError(path, f"{name} {number} outside [{lo}, {hi}]", line=line, column=name)
        meta[name] = number
    return meta


def _refine_from_name(path: Path, meta: dict[str, str | float], sensor: str) -> dict[str, str | float]:
    """Station, variable, sensor and precise depths from the ISMN file name, when it has the pattern."""
    match = _FILE_NAME.match(path.name)
    out = dict(meta, sensor=sensor, variable="unknown", units="")
    if match is None:
        return out
    out.update(station=match["station"], network=match["network"])
    variable, units = VARIABLES.get(match["code"], (match["code"], ""))
    out.update(variable=variable, units=units, sensor=sensor or match["sensor"])
    for name in ("depth_from", "depth_to"):
        precise = float(match[name])
        if abs(precise - float(meta[name])) <= 0.005 + 1e-9:  # the header rounds depths to 2 decimals
            out[name] = precise
    return out


def _info_from_lines(path: Path, lines: list[str]) -> tuple[IsmnFileInfo, _Layout]:
    layout = _detect_layout(path, lines)
    tokens = lines[0].split()
    if layout.meta_start is None:
        meta = _parse_meta(path, tokens, 1)
        sensor = " ".join(tokens[len(_META_COLUMNS):])
    else:
        meta = _parse_meta(path, tokens[layout.meta_start:], 1)
        sensor = ""
    meta = _refine_from_name(path, meta, sensor)
    info = IsmnFileInfo(
        network=str(meta["network"]), station=str(meta["station"]), latitude=float(meta["latitude"]),
        longitude=float(meta["longitude"]), elevation_m=float(meta["elevation"]),
        depth_from_m=float(meta["depth_from"]), depth_to_m=float(meta["depth_to"]),
        sensor=str(meta["sensor"]), variable=str(meta["variable"]), units=str(meta["units"]),
        file_format=layout.name, path=path)
    return info, layout


def read_ismn_metadata(path: Path) -> IsmnFileInfo:
    """Sensor metadata of an ISMN file from its first line and file name, without reading the records.

    Raises :class:`DataFormatError` (file, line 1) if the file is in neither ISMN format.
    """
    path = Path(path)
    lines = _read_lines(path, max_bytes=4096)
    return _info_from_lines(path, lines[:1])[0]


def _parse_records(path: Path, lines: list[str], layout: _Layout
                   ) -> tuple[list[str], list[float], list[str], list[int]]:
    """ISO times, values, flags and line numbers of the data records."""
    stamps: list[str] = []
    values: list[float] = []
    flags: list[str] = []
    line_of: list[int] = []
    for number, line in enumerate(lines[layout.header_lines:], start=layout.header_lines + 1):
        tokens = line.split()
        if not tokens:
            continue
        if not layout.min_tokens <= len(tokens) <= layout.max_tokens:
            raise DataFormatError(path, f"expected {layout.min_tokens}-{layout.max_tokens} fields "
                                  f"({layout.record_text}), found {len(tokens)}", line=number)
        date, time = tokens[0], tokens[1]
        if not _DATE.match(date):
            raise DataFormatError(path, f"bad date {date!r} (expected YYYY/MM/DD)", number, "date")
        if not _TIME.match(time):
            raise DataFormatError(path, f"bad time {time!r} (expected HH:MM)", number, "time")
        stamps.append(f"{date.replace('/', '-')}T{time}")
        values.append(parse_float(tokens[layout.value], path, number, "value"))
        flags.append(tokens[layout.flag])
        line_of.append(number)
    if not stamps:
        raise DataFormatError(path, "no data records", line=layout.header_lines + 1)
    return stamps, values, flags, line_of


def read_ismn_file(path: Path) -> IsmnSeries:
    """Read one ISMN ``.stm`` file (header+values or CEOP separate format, detected from the content).

    Records are sorted by time. Raises :class:`DataNotFoundError` if the file is absent and
    :class:`DataFormatError` naming the file and the 1-based line for malformed content.
    """
    path = Path(path)
    lines = _read_lines(path)
    info, layout = _info_from_lines(path, lines)
    stamps, values, flags, line_of = _parse_records(path, lines, layout)
    # an impossible date (2010-02-30) raises naming its line
    times = parse_dates(path, stamps, line_of, "m", "invalid date/time {!r}")
    order = np.argsort(times, kind="stable")
    return IsmnSeries(
        **{f.name: getattr(info, f.name) for f in fields(_IsmnSensor)}, times=times[order],
        values=np.asarray(values, dtype=np.float32)[order], flags=np.asarray(flags, dtype=str)[order],
        path=path, units=info.units, file_format=info.file_format)


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
