"""The user gauge format (``docs/user_format.md``): ``gauges.csv``, ``streamflow.csv`` and a forcings folder.

``gauges.csv``: ``id, latitude, longitude, area_km2`` and optionally any CAMELS input attribute by name
(empty cell = unknown, imputed by the base model). Other columns are reported as ignored.
``streamflow.csv``: ``date, id, value, unit``; unit m3/s, ft3/s or mm/day (aliases m³/s, cms, cfs, mm/d);
converted to mm/day with the gauge's area. An empty value is a missing day.
Forcings: see :mod:`backend.data.user_forcings`.

Every problem of every file is collected with its file, line and column (:func:`validate_user_dataset`);
:func:`load_user_dataset` raises the first one as a :class:`DataFormatError`, with the count of the rest.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.data.units import to_mm_per_day
from backend.data.user_forcings import GaugeForcings, find_forcing_file, index_forcing_files, read_gauge_forcings
from backend.data.user_problems import Problems, Table, parse_date, parse_number, read_table
from backend.data.variables import STATIC_BY_NAME, Kind, Role, input_static_names

GAUGE_COLUMNS: tuple[str, ...] = ("id", "latitude", "longitude", "area_km2")
STREAMFLOW_COLUMNS: tuple[str, ...] = ("date", "id", "value", "unit")
#: the model attribute that ``area_km2`` gives (so a separate column of it is ignored)
AREA_ATTRIBUTE = "area_gages2"
_ROLE_REASONS = {
    Role.TARGET: "a streamflow signature: computed from the target, never a model input",
    Role.LOCATION: "the location comes from the latitude and longitude columns",
    Role.METADATA: "metadata, not a model input",
}


@dataclass
class UserGauge:
    """One row of ``gauges.csv``: location, area and the attributes given (numeric and categorical)."""

    gauge_id: str
    line: int
    latitude: float
    longitude: float
    area_km2: float
    numeric: dict[str, float] = field(default_factory=dict)
    categorical: dict[str, str] = field(default_factory=dict)

    @property
    def given_numeric(self) -> dict[str, float]:
        """The numeric inputs known for this gauge, the area included (as ``area_gages2``)."""
        return {**self.numeric, AREA_ATTRIBUTE: self.area_km2}


@dataclass
class UserDataset:
    """A validated user dataset: gauges, their forcings and their observed flow (mm/day, sorted by day)."""

    gauges: list[UserGauge]
    forcings: dict[str, GaugeForcings]
    flow: dict[str, tuple[np.ndarray, np.ndarray]]
    notes: list[str] = field(default_factory=list)

    def gauge(self, gauge_id: str) -> UserGauge:
        for gauge in self.gauges:
            if gauge.gauge_id == gauge_id:
                return gauge
        raise KeyError(f"gauge {gauge_id!r} is not in the gauges file (known: "
                       f"{', '.join(g.gauge_id for g in self.gauges)})")

    def observed_on(self, gauge_id: str, dates: np.ndarray) -> np.ndarray | None:
        """Observed flow (mm/day) on ``dates``, NaN where not observed; None without any observation."""
        if gauge_id not in self.flow:
            return None
        days, values = self.flow[gauge_id]
        out = np.full(len(dates), np.nan, dtype=np.float32)
        index = (days - dates[0]).astype(np.int64)
        inside = (index >= 0) & (index < len(dates))
        out[index[inside]] = values[inside]
        return out


def _attribute_columns(table: Table, notes: list[str]) -> tuple[list[str], list[str]]:
    """Numeric and categorical attribute columns; every other extra column is noted as ignored."""
    numeric_inputs = set(input_static_names(Kind.NUMERIC)) - {AREA_ATTRIBUTE}
    categorical_inputs = set(input_static_names(Kind.CATEGORICAL))
    numeric, categorical = [], []
    for name in table.header:
        if name in GAUGE_COLUMNS:
            continue
        if name in numeric_inputs:
            numeric.append(name)
        elif name in categorical_inputs:
            categorical.append(name)
        else:
            variable = STATIC_BY_NAME.get(name)
            reason = ("given by the area_km2 column" if name == AREA_ATTRIBUTE else
                      _ROLE_REASONS.get(variable.role, "not a model attribute") if variable else
                      "not a model attribute")
            notes.append(f"{table.path}: column '{name}' ignored ({reason})")
    return numeric, categorical


def read_gauges(path: Path, problems: Problems, notes: list[str],
                vocabularies: dict[str, list[str]] | None = None) -> tuple[list[UserGauge], dict[str, int]]:
    """Rows of ``gauges.csv`` that have no problem (problems recorded for the others), and the line of every
    usable gauge id (also of rows with problems in other cells, so their flow and forcings are checked too)."""
    table = read_table(path, GAUGE_COLUMNS, problems)
    if table is None:
        return [], {}
    numeric_columns, categorical_columns = _attribute_columns(table, notes)
    gauges: list[UserGauge] = []
    first_line: dict[str, int] = {}
    for line, cells in table.rows:
        before = len(problems)
        gauge_id = cells["id"]
        if not gauge_id:
            problems.add(path, "empty gauge id", line, "id")
        elif gauge_id in (".", "..") or any(c in gauge_id for c in '/\\:*?"<>|'):
            problems.add(path, f"gauge id {gauge_id!r} cannot be part of a file name", line, "id")
        elif gauge_id in first_line:
            problems.add(path, f"duplicate gauge id {gauge_id!r} (first on line {first_line[gauge_id]})", line, "id")
        else:
            first_line[gauge_id] = line
        coords = {}
        for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
            value = parse_number(table, line, column, cells[column], problems, required=True)
            if value is not None and not -limit <= value <= limit:
                problems.add(path, f"{column} {value:g} outside -{limit:g}..{limit:g} (WGS84 degrees)", line, column)
            coords[column] = value
        area = parse_number(table, line, "area_km2", cells["area_km2"], problems, required=True)
        if area is not None and area <= 0:
            problems.add(path, f"area must be positive, got {area:g} km²", line, "area_km2")
        numeric = {}
        for column in numeric_columns:
            value = parse_number(table, line, column, cells[column], problems)
            if value is not None and not math.isnan(value):
                numeric[column] = value
        categorical = {c: cells[c] for c in categorical_columns if cells[c]}
        for column, value in categorical.items():
            known = (vocabularies or {}).get(column)
            if known is not None and value not in known:
                problems.add(path, f"unknown category {value!r}; known: {', '.join(known)}", line, column)
        if len(problems) == before:
            gauges.append(UserGauge(gauge_id, line, float(coords["latitude"]), float(coords["longitude"]),
                                    float(area), numeric, categorical))
    if not table.rows:
        problems.add(path, "no gauge rows")
    return gauges, first_line


def read_streamflow(path: Path, gauges: dict[str, UserGauge], problems: Problems,
                    known_ids: set[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Observed flow per gauge in mm/day, sorted by date; ``known_ids`` are all ids of gauges.csv."""
    table = read_table(path, STREAMFLOW_COLUMNS, problems)
    if table is None:
        return {}
    seen: dict[tuple[str, dt.date], int] = {}
    per_gauge: dict[str, dict[dt.date, float]] = {}
    for line, cells in table.rows:
        day = parse_date(table, line, "date", cells["date"], problems)
        gauge_id, unit = cells["id"], cells["unit"]
        if gauge_id not in known_ids:
            problems.add(path, f"unknown gauge id {gauge_id!r} (not in the gauges file)", line, "id",
                         kind=f"unknown gauge id {gauge_id!r}")
        value = parse_number(table, line, "value", cells["value"], problems)
        if value is not None and value < 0:
            problems.add(path, f"negative flow {value:g} (leave the cell empty for a missing day)", line, "value",
                         kind="negative flow")
            value = None
        try:
            factor = float(to_mm_per_day(1.0, unit, 1.0))
        except ValueError:
            problems.add(path, f"unknown unit {unit!r}; use m3/s, ft3/s or mm/day", line, "unit",
                         kind=f"unknown unit {unit!r}")
            factor = None
        if day is not None and gauge_id in known_ids:
            key = (gauge_id, day)
            if key in seen:
                problems.add(path, f"duplicate day {day} for gauge {gauge_id!r} (first on line {seen[key]})",
                             line, "date", kind="duplicate day")
                continue
            seen[key] = line
        gauge = gauges.get(gauge_id)
        if day is None or value is None or factor is None or gauge is None or math.isnan(value):
            continue
        per_gauge.setdefault(gauge_id, {})[day] = float(to_mm_per_day(value, unit, gauge.area_km2))
    if not table.rows:
        problems.add(path, "no streamflow rows")
    flow = {}
    for gauge_id, days in per_gauge.items():
        order = sorted(days)
        flow[gauge_id] = (np.array(order, dtype="datetime64[D]"),
                          np.array([days[d] for d in order], dtype=np.float32))
    return flow


def _read_all(gauges_csv: Path, streamflow_csv: Path | None, forcings_dir: Path,
              vocabularies: dict[str, list[str]] | None) -> tuple[UserDataset, Problems]:
    problems, notes = Problems(), []
    gauges, lines = read_gauges(Path(gauges_csv), problems, notes, vocabularies)
    by_id = {g.gauge_id: g for g in gauges}
    flow = read_streamflow(Path(streamflow_csv), by_id, problems, set(lines)) if streamflow_csv else {}
    forcings: dict[str, GaugeForcings] = {}
    folder = Path(forcings_dir)
    if not folder.is_dir():
        problems.add(folder, "forcings folder not found")
    else:
        index = index_forcing_files(folder)
        for gauge_id, line in lines.items():
            found = find_forcing_file(folder, gauge_id, index)
            if isinstance(found, str):
                problems.add(Path(gauges_csv), found, line, "id")
                continue
            series = read_gauge_forcings(*found, problems)
            if series is not None and gauge_id in by_id:
                forcings[gauge_id] = series
    for gauge in gauges:
        if streamflow_csv and gauge.gauge_id not in flow:
            notes.append(f"gauge {gauge.gauge_id}: no observed flow in {streamflow_csv}")
    return UserDataset(gauges, forcings, flow, notes), problems


def validate_user_dataset(gauges_csv: Path, streamflow_csv: Path | None, forcings_dir: Path,
                          vocabularies: dict[str, list[str]] | None = None) -> list[str]:
    """Every problem of the three inputs, one string each naming file, line and column (empty if fine).

    ``vocabularies`` (a base model's categorical vocabularies) also checks categorical attribute values.
    """
    return check_user_dataset(gauges_csv, streamflow_csv, forcings_dir, vocabularies)[0]


def check_user_dataset(gauges_csv: Path, streamflow_csv: Path | None, forcings_dir: Path,
                       vocabularies: dict[str, list[str]] | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes): :func:`validate_user_dataset` plus the notes (ignored columns, gauges without flow)."""
    dataset, problems = _read_all(gauges_csv, streamflow_csv, forcings_dir, vocabularies)
    return problems.strings(), dataset.notes


def load_user_dataset(gauges_csv: Path, streamflow_csv: Path | None, forcings_dir: Path,
                      vocabularies: dict[str, list[str]] | None = None) -> UserDataset:
    """The dataset, or a :class:`DataFormatError` with the first problem and how many others there are."""
    dataset, problems = _read_all(gauges_csv, streamflow_csv, forcings_dir, vocabularies)
    problems.raise_first()
    return dataset
