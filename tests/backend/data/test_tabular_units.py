"""Delimited text, number parsing and streamflow unit conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.core.errors import DataFormatError
from backend.data.tabular import parse_float, read_delimited
from backend.data.units import to_mm_per_day


# --- generic delimited text -----------------------------------------------------------------------------
def test_read_delimited_errors(make_file):
    path = make_file("table.csv", "a,b,c\n1,2,3\n4,5\n")
    header, rows = read_delimited(path, ",", required=("a", "c"))
    assert header == ["a", "b", "c"]
    first = next(rows)
    assert first.line == 2 and first.cells == {"a": "1", "b": "2", "c": "3"}
    with pytest.raises(DataFormatError, match=r"table\.csv, line 3"):
        next(rows)
    with pytest.raises(DataFormatError, match="missing column.*'?d'?"):
        read_delimited(path, ",", required=("d",))
    with pytest.raises(DataFormatError, match="empty"):
        read_delimited(make_file("empty.csv", ""), ",")


def test_parse_float():
    from pathlib import Path

    p = Path("f.csv")
    assert parse_float(" 2.5 ", p, 3, "x") == 2.5
    for token in ("", "NA", "-999", "nan"):
        assert math.isnan(parse_float(token, p, 3, "x"))
    with pytest.raises(DataFormatError, match="line 3, column 'x'"):
        parse_float("", p, 3, "x", allow_missing=False)
    with pytest.raises(DataFormatError, match="infinite"):
        parse_float("inf", p, 3, "x")


# --- units ----------------------------------------------------------------------------------------------
def test_to_mm_per_day_hand_computed():
    # 1 m3/s for a day = 86,400 m3; over 86.4 km2 that is 1 mm
    assert to_mm_per_day(1.0, "m3/s", 86.4) == pytest.approx(1.0)
    assert to_mm_per_day(np.array([2.0, 0.5]), "m³/s", 43.2).tolist() == pytest.approx([4.0, 1.0])
    # 1 ft3/s over 1 km2: 0.0283168 * 86400 / 1e6 * 1000 = 2.44657152 mm/day
    assert to_mm_per_day(1.0, "ft3/s", 1.0) == pytest.approx(2.44657152)
    assert to_mm_per_day(100.0, "cfs", 10.0) == pytest.approx(24.4657152)
    assert to_mm_per_day(3.5, "mm/day", 1234.0) == pytest.approx(3.5)
    assert to_mm_per_day(3.5, " MM/DAY ", 1.0) == pytest.approx(3.5)
    out = to_mm_per_day(np.array([1.0, np.nan]), "m3/s", 86.4)
    assert out.dtype == np.float64 and math.isnan(out[1])


@pytest.mark.parametrize("unit", ["l/s", "m3/day", "", "acre-ft"])
def test_unknown_unit_raises(unit):
    with pytest.raises(ValueError, match="unknown flow unit"):
        to_mm_per_day(1.0, unit, 10.0)


@pytest.mark.parametrize("area", [0.0, -5.0, float("nan")])
def test_non_positive_area_raises(area):
    with pytest.raises(ValueError, match="area"):
        to_mm_per_day(1.0, "m3/s", area)


