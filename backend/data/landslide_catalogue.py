"""The NASA Global Landslide Catalog (Latin-1 CSV, quoted fields): events with dates and coordinates."""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.tabular import parse_float

#: GLC field -> accepted column names, first found wins (the 2007-2016 export, then the newer COOLR one).
GLC_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "event_id"),
    "date": ("date", "event_date"),
    "latitude": ("latitude",),
    "longitude": ("longitude",),
    "country": ("country", "countryname", "country_name"),
    "trigger": ("trigger", "landslide_trigger"),
    "landslide_type": ("landslide_type", "landslide_category"),
    "size": ("landslide_size",),
    "location_accuracy": ("location_accuracy",),
}
#: Date spellings of the GLC exports (the date part only; a time after it is ignored).
GLC_DATE_FORMATS: tuple[str, ...] = ("%m/%d/%Y", "%Y-%m-%d", "%Y/%m/%d")
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")


@dataclass
class GlcEvents:
    """NASA Global Landslide Catalog events (arrays/lists aligned by event).

    ``dates`` is ``datetime64[D]`` (NaT where the date is empty or unparseable); ``latitude``/``longitude``
    are degrees (NaN if missing); text fields are stripped strings ("" if empty), spelled as in the file.
    """

    ids: np.ndarray
    dates: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    country: list[str]
    trigger: list[str]
    landslide_type: list[str]
    size: list[str]
    location_accuracy: list[str]
    path: Path

    def __len__(self) -> int:
        return int(self.ids.size)


def _glc_columns(path: Path, header: list[str]) -> dict[str, str | None]:
    """GLC field -> the file's column (None for optional text fields that are absent)."""
    found = {key: next((c for c in names if c in header), None) for key, names in GLC_COLUMNS.items()}
    missing = [GLC_COLUMNS[k][0] for k in ("id", "date", "latitude", "longitude") if found[k] is None]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                              line=1)
    return found


def parse_glc_date(text: str) -> np.datetime64:
    """A GLC date (``1/2/2007``, ``2007-01-02``, ``2007/01/02 00:00:00``...) or NaT."""
    token = text.strip().split(" ")[0].split("T")[0]
    for fmt in GLC_DATE_FORMATS:
        try:
            return np.datetime64(dt.datetime.strptime(token, fmt).date(), "D")
        except ValueError:
            continue
    return np.datetime64("NaT", "D")


def _glc_coordinate(token: str, path: Path, line: int, column: str, limit: float) -> float:
    value = parse_float(token, path, line, column)
    if not math.isnan(value) and abs(value) > limit:
        raise DataFormatError(path, f"{column} {value} outside [-{limit:g}, {limit:g}]", line, column)
    return value


def _glc_id(token: str, path: Path, line: int, column: str) -> int:
    """An event id; the export writes ids over 999 with a thousands separator (``3,833``)."""
    digits = token.strip()
    if _THOUSANDS.fullmatch(digits):
        digits = digits.replace(",", "")
    try:
        return int(digits)
    except ValueError:
        raise DataFormatError(path, f"event id is not an integer: {token!r}", line, column) from None


def read_glc_catalogue(path: Path) -> GlcEvents:
    """Read the NASA Global Landslide Catalog export (Latin-1 CSV with quoted fields).

    Raises :class:`DataNotFoundError` if absent and :class:`DataFormatError` (file, line, column) for a
    missing id/date/latitude/longitude column, a row with the wrong number of fields, a non-integer id or
    a bad coordinate. An unparseable date becomes NaT.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise DataFormatError(path, "empty file (no header line)", line=1)
        cols = _glc_columns(path, header)
        index = {c: i for i, c in enumerate(header)}
        fields: dict[str, list] = {key: [] for key in GLC_COLUMNS}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) != len(header):
                raise DataFormatError(path, f"expected {len(header)} fields, found {len(row)} (truncated or "
                                      "malformed row)", line=line)
            _glc_row(path, line, row, cols, index, fields)
    return GlcEvents(
        ids=np.asarray(fields["id"], dtype=np.int64), dates=np.asarray(fields["date"], dtype="datetime64[D]"),
        latitude=np.asarray(fields["latitude"], dtype=np.float64),
        longitude=np.asarray(fields["longitude"], dtype=np.float64), country=fields["country"],
        trigger=fields["trigger"], landslide_type=fields["landslide_type"], size=fields["size"],
        location_accuracy=fields["location_accuracy"], path=path)


def _glc_row(path: Path, line: int, row: list[str], cols: dict[str, str | None], index: dict[str, int],
             fields: dict[str, list]) -> None:
    """Append one catalogue row to ``fields``."""
    def cell(key: str) -> str:
        column = cols[key]
        return row[index[column]].strip() if column is not None else ""

    fields["id"].append(_glc_id(cell("id"), path, line, str(cols["id"])))
    fields["date"].append(parse_glc_date(cell("date")))
    fields["latitude"].append(_glc_coordinate(cell("latitude"), path, line, "latitude", 90.0))
    fields["longitude"].append(_glc_coordinate(cell("longitude"), path, line, "longitude", 180.0))
    for key in ("country", "trigger", "landslide_type", "size", "location_accuracy"):
        fields[key].append(cell(key))


