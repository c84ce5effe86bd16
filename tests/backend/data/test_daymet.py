"""Daymet forcing files: dates, units, slices, and located errors for malformed files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from real_series import DAYMET_HEADER, DAYMET_ROWS

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.daymet import read_daymet


# --- Daymet ---------------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_daymet_dates(daymet):
    assert daymet.location_id == "01022500"
    assert len(daymet.dates) == 12784
    assert daymet.start == dt.date(1980, 1, 1)
    assert daymet.end == dt.date(2014, 12, 31)
    assert (np.diff(daymet.dates).astype(int) == 1).all()
    assert daymet.dates.dtype == np.dtype("datetime64[D]")


@pytest.mark.real_data
def test_daymet_first_and_last_rows(daymet):
    first = {k: float(v[0]) for k, v in daymet.values.items()}
    assert first == pytest.approx({"dayl": 31185.97, "prcp": 0.00, "srad": 178.46, "swe": 0.00,
                                   "tmax": -0.72, "tmin": -10.59, "vp": 271.45}, rel=1e-6)
    assert float(daymet.values["tmax"][1]) == pytest.approx(0.74)
    assert float(daymet.values["tmin"][-1]) == pytest.approx(-16.56)
    assert float(daymet.values["vp"][-1]) == pytest.approx(160.00)
    for name, values in daymet.values.items():
        assert values.dtype == np.float32 and values.shape == (12784,), name
        assert not np.isnan(values).any(), name


@pytest.mark.real_data
def test_daymet_header_and_units(daymet):
    # the forcing file's own header (not the camels_topo gauge coordinates: 44.60797)
    assert daymet.meta["latitude"] == pytest.approx(44.82)
    assert daymet.meta["elevation_m"] == pytest.approx(133.0)
    assert daymet.meta["area_m2"] == pytest.approx(587675987.0)
    assert daymet.units == {"prcp": "mm/day", "srad": "W/m2", "tmax": "degC", "tmin": "degC", "vp": "Pa",
                            "dayl": "s", "swe": "mm"}


@pytest.mark.real_data
def test_daymet_slice(daymet):
    part = daymet.slice("1999-10-01", "2008-09-30")
    assert part.start == dt.date(1999, 10, 1) and part.end == dt.date(2008, 9, 30)
    assert len(part.dates) == 3288
    offset = int((np.datetime64("1999-10-01") - daymet.dates[0]).astype(int))
    assert np.array_equal(part.values["prcp"], daymet.values["prcp"][offset:offset + 3288])


def _daymet_file(make_file, rows: list[str], header: str = DAYMET_HEADER):
    return make_file("01/01022500_lump_cida_forcing_leap.txt", header + "\n".join(rows) + "\n")


def test_small_daymet_file_parses(make_file):
    series = read_daymet(_daymet_file(make_file, DAYMET_ROWS))
    assert len(series.dates) == 4
    assert series.end == dt.date(1980, 1, 4)
    assert series.values["prcp"].tolist() == pytest.approx([0.0, 0.0, 1.5, 2.0])


def test_daymet_bad_date_names_file_and_line(make_file):
    rows = list(DAYMET_ROWS)
    rows[2] = rows[2].replace("1980 01 03", "1980 02 30")
    with pytest.raises(DataFormatError) as info:
        read_daymet(_daymet_file(make_file, rows))
    message = str(info.value)
    assert "01022500_lump_cida_forcing_leap.txt" in message
    assert "line 7" in message  # 4 header lines, third data row
    assert info.value.line == 7


def test_daymet_non_consecutive_dates_name_line(make_file):
    rows = [DAYMET_ROWS[0], DAYMET_ROWS[1], DAYMET_ROWS[3]]
    with pytest.raises(DataFormatError, match="consecutive") as info:
        read_daymet(_daymet_file(make_file, rows))
    assert "line 7" in str(info.value)


def test_daymet_non_numeric_value_names_line_and_column(make_file):
    rows = list(DAYMET_ROWS)
    rows[1] = rows[1].replace("0.74", "x0.74")
    with pytest.raises(DataFormatError) as info:
        read_daymet(_daymet_file(make_file, rows))
    message = str(info.value)
    assert "01022500_lump_cida_forcing_leap.txt" in message
    assert "line 6" in message and "'tmax'" in message and "x0.74" in message


def test_daymet_truncated_row_names_line(make_file):
    rows = list(DAYMET_ROWS)
    rows[3] = rows[3].rsplit("\t", 2)[0]  # cut off mid-row
    with pytest.raises(DataFormatError) as info:
        read_daymet(_daymet_file(make_file, rows))
    assert "line 8" in str(info.value) and "columns" in str(info.value)


def test_daymet_bad_header(make_file):
    with pytest.raises(DataFormatError) as info:
        read_daymet(_daymet_file(make_file, DAYMET_ROWS, DAYMET_HEADER.replace(" 133.00", "elev")))
    assert "line 2" in str(info.value) and "elevation" in str(info.value)
    with pytest.raises(DataFormatError, match="header lines"):
        read_daymet(make_file("short.txt", "44.8\n133\n"))


def test_daymet_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="nothing.txt"):
        read_daymet(tmp_path / "nothing.txt")


