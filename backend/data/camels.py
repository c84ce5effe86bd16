"""CAMELS-US static attributes (``camels_attributes_v2.0/camels_*.txt``).

Files are ``;``-separated and keyed by the 8-digit ``gauge_id``, which stays a string (leading zeros).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.core.paths import data_root
from backend.data.tabular import parse_float, read_delimited
from backend.data.variables import STATIC_BY_NAME, Kind, Role

ATTRIBUTE_FILES: tuple[str, ...] = ("name", "topo", "clim", "soil", "geol", "vege", "hydro")


@dataclass
class AttributeTable:
    """Static attributes of many basins.

    Attributes:
        gauge_ids: 8-digit gauge ids (strings), sorted.
        numeric: column name -> float array aligned with ``gauge_ids`` (NaN = missing).
        categorical: column name -> list of strings aligned with ``gauge_ids`` (None = missing).
        source: column name -> the file it came from.
    """

    gauge_ids: list[str]
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, list[str | None]] = field(default_factory=dict)
    source: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._positions = {g: i for i, g in enumerate(self.gauge_ids)}

    def index(self, gauge_id: str) -> int:
        """Row of a gauge id; raises KeyError naming the id if unknown."""
        try:
            return self._positions[gauge_id]
        except KeyError:
            raise KeyError(f"gauge_id {gauge_id!r} has no CAMELS attributes") from None

    def row(self, gauge_id: str) -> dict[str, float | str | None]:
        """All attributes of one basin as a dict."""
        i = self.index(gauge_id)
        out: dict[str, float | str | None] = {k: float(v[i]) for k, v in self.numeric.items()}
        out.update({k: v[i] for k, v in self.categorical.items()})
        return out

    def role(self, column: str) -> Role:
        """Role of a column (input, location, target, metadata); unknown columns are metadata."""
        var = STATIC_BY_NAME.get(column)
        return var.role if var else Role.METADATA


def camels_attributes_dir(root: Path | None = None) -> Path:
    """Folder holding ``camels_*.txt`` under the data root."""
    return (root or data_root()) / "camels_us" / "camels_attributes_v2.0"


def read_attribute_file(path: Path) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
    """Read one ``camels_<group>.txt``: gauge ids, raw string columns, and each id's line number."""
    header, rows = read_delimited(path, ";", required=("gauge_id",))
    ids: list[str] = []
    lines: dict[str, int] = {}
    columns: dict[str, list[str]] = {c: [] for c in header if c != "gauge_id"}
    for row in rows:
        gid = row.cells["gauge_id"]
        if not (len(gid) == 8 and gid.isdigit()):
            raise DataFormatError(path, f"gauge_id must be 8 digits, got {gid!r}", row.line, "gauge_id")
        if gid in lines:
            raise DataFormatError(path, f"duplicate gauge_id {gid} (first on line {lines[gid]})",
                                  row.line, "gauge_id")
        ids.append(gid)
        lines[gid] = row.line
        for c in columns:
            columns[c].append(row.cells[c])
    return ids, columns, lines


def load_attributes(root: Path | None = None, groups: tuple[str, ...] = ATTRIBUTE_FILES) -> AttributeTable:
    """Load and join the CAMELS attribute files into one :class:`AttributeTable`.

    Basins present in ``camels_topo.txt`` define the table; files missing some basins (``camels_hydro``
    has the independent evaluation basins removed) give NaN/None for them.
    """
    folder = camels_attributes_dir(root)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: CAMELS attribute folder not found (run `make data` or set "
                                "STEFALAND_DATA)")
    parsed = {g: read_attribute_file(folder / f"camels_{g}.txt") for g in groups}
    base = "topo" if "topo" in parsed else groups[0]
    gauge_ids = sorted(parsed[base][0])
    table = AttributeTable(gauge_ids=gauge_ids)
    for group, (ids, columns, lines) in parsed.items():
        path = folder / f"camels_{group}.txt"
        pos = {g: i for i, g in enumerate(ids)}
        for column, raw in columns.items():
            var = STATIC_BY_NAME.get(column)
            is_numeric = var.kind is Kind.NUMERIC if var else _looks_numeric(raw)
            table.source[column] = path
            if is_numeric:
                values = np.full(len(gauge_ids), np.nan)
                for k, gid in enumerate(gauge_ids):
                    if gid in pos:
                        values[k] = parse_float(raw[pos[gid]], path, lines[gid], column)
                table.numeric[column] = values
            else:
                table.categorical[column] = [
                    (raw[pos[g]].strip() or None) if g in pos and raw[pos[g]].strip() != "NA" else None
                    for g in gauge_ids]
    return table


def _looks_numeric(values: list[str]) -> bool:
    for v in values:
        try:
            float(v)
        except ValueError:
            if v.strip() not in ("", "NA"):
                return False
    return True


def basin_area_km2(table: AttributeTable, gauge_id: str) -> float:
    """Basin area (``area_gages2``, km²); raises if unknown."""
    area = float(table.numeric["area_gages2"][table.index(gauge_id)])
    if math.isnan(area) or area <= 0:
        raise ValueError(f"gauge_id {gauge_id}: no valid area_gages2")
    return area
