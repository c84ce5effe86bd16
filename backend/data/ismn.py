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
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root
from backend.data.tabular import parse_dates, parse_float

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

SOIL_MOISTURE = "soil_moisture"

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
