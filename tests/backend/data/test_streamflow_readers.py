"""USGS and Caravan streamflow files: units, agreement with each other, located errors."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from real_series import CARAVAN, USGS, overlap

from backend.core.errors import DataFormatError
from backend.data.caravan import index_caravan_files, read_caravan_csv
from backend.data.usgs import read_usgs_streamflow


# --- USGS streamflow ------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_usgs_file_converted_to_mm_per_day(usgs, real_file):
    assert usgs.location_id == "01022500"
    assert len(usgs.dates) == 12784
    assert usgs.start == dt.date(1980, 1, 1) and usgs.end == dt.date(2014, 12, 31)
    assert usgs.units == {"streamflow": "mm/day"}
    # first row: 395 ft3/s over 573.6 km2
    assert float(usgs.values["streamflow"][0]) == pytest.approx(395 * 0.0283168 * 86400 / 573.6e6 * 1000,
                                                               rel=1e-6)
    # -999 in the file -> NaN, and nothing else is missing
    raw = [line.split() for line in real_file(USGS).read_text().splitlines()]
    missing = np.array([float(r[4]) == -999 for r in raw])
    assert missing.sum() > 0
    assert np.array_equal(np.isnan(usgs.values["streamflow"]), missing)
    assert np.nanmin(usgs.values["streamflow"]) >= 0
    assert "A" in usgs.meta["flags"].split(",") and "M" in usgs.meta["flags"].split(",")


@pytest.mark.real_data
def test_usgs_agrees_with_caravan(usgs, caravan):
    ours, theirs = overlap(usgs, caravan)
    ok = ~np.isnan(ours) & ~np.isnan(theirs)
    assert ok.sum() > 12000
    assert np.corrcoef(ours[ok], theirs[ok])[0, 1] > 0.999
    ratio = ours[ok].mean() / theirs[ok].mean()
    # Caravan normalised with the Daymet-header area (587.68 km2), CAMELS area_gages2 is 573.6 km2
    assert ratio == pytest.approx(1.0, abs=0.05)
    # the same days are missing in both records
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))


@pytest.mark.real_data
def test_usgs_with_daymet_header_area_reproduces_caravan(real_file, daymet, caravan):
    series = read_usgs_streamflow(real_file(USGS), daymet.meta["area_m2"] / 1e6)
    ours, theirs = overlap(series, caravan)
    ok = ~np.isnan(ours)
    # Caravan stores two decimals
    assert np.abs(ours[ok] - theirs[ok]).max() < 0.0051
    assert ours[ok].mean() / theirs[ok].mean() == pytest.approx(1.0, abs=1e-4)


USGS_ROWS = ["01022500 1980 01 01   395.00 A", "01022500 1980 01 02   350.00 A",
             "01022500 1980 01 03  -999.00 M", "01022500 1980 01 04   310.00 A"]


def _usgs_file(make_file, rows: list[str]):
    return make_file("01022500_streamflow_qc.txt", "\n".join(rows) + "\n")


def test_small_usgs_file(make_file):
    series = read_usgs_streamflow(_usgs_file(make_file, USGS_ROWS), 86.4 * 0.0283168)
    # 1 ft3/s over 86.4*0.0283168 km2 is 1 mm/day
    assert series.values["streamflow"][[0, 1, 3]].tolist() == pytest.approx([395.0, 350.0, 310.0], rel=1e-6)
    assert math.isnan(series.values["streamflow"][2])
    assert series.meta["flags"] == "A,M"


def test_usgs_errors_name_file_and_line(make_file):
    rows = list(USGS_ROWS)
    rows[1] = "01022500 1980 01 02   3x0.00 A"
    with pytest.raises(DataFormatError) as info:
        read_usgs_streamflow(_usgs_file(make_file, rows), 100.0)
    message = str(info.value)
    assert "01022500_streamflow_qc.txt" in message and "line 2" in message and "'discharge'" in message

    rows = list(USGS_ROWS)
    rows[2] = "01022500 1980 01 03"
    with pytest.raises(DataFormatError, match=r"line 3"):
        read_usgs_streamflow(_usgs_file(make_file, rows), 100.0)

    rows = list(USGS_ROWS)
    rows[3] = rows[3].replace("1980 01 04", "1980 02 31")
    with pytest.raises(DataFormatError, match=r"streamflow_qc\.txt, line 4"):
        read_usgs_streamflow(_usgs_file(make_file, rows), 100.0)

    rows = [USGS_ROWS[0], "", USGS_ROWS[1], USGS_ROWS[3]]  # a blank line and a missing day
    with pytest.raises(DataFormatError, match=r"line 4.*consecutive"):
        read_usgs_streamflow(_usgs_file(make_file, rows), 100.0)


# --- Caravan --------------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_caravan_csv(caravan):
    assert caravan.location_id == "01022500"
    assert caravan.start == dt.date(1981, 1, 1) and caravan.end == dt.date(2014, 12, 31)
    assert len(caravan.dates) == 12418
    assert (np.diff(caravan.dates).astype(int) == 1).all()
    assert set(caravan.values) == {"total_precipitation_sum", "temperature_2m_mean",
                                   "potential_evaporation_sum", "streamflow"}
    assert caravan.units["streamflow"] == "mm/day"
    assert float(caravan.values["streamflow"][0]) == pytest.approx(1.27)
    assert float(caravan.values["temperature_2m_mean"][0]) == pytest.approx(-16.5)
    assert math.isnan(caravan.values["streamflow"][-1])  # empty cell on 2014-12-31
    assert 0 < np.isnan(caravan.values["streamflow"]).sum() < 200


@pytest.mark.real_data
def test_caravan_variable_selection_and_index(real_file, real_root):
    only = read_caravan_csv(real_file(CARAVAN), ("streamflow",))
    assert list(only.values) == ["streamflow"]
    index = index_caravan_files(real_root)
    assert len(index) == 434
    assert index["01022500"].name == "camels_01022500.csv"


CARAVAN_TEXT = ("date,total_precipitation_sum,temperature_2m_mean,potential_evaporation_sum,streamflow\n"
                "1981-01-01,0,-16.5,1.6,1.27\n"
                "1981-01-02,7.69,-7.92,2.45,1.2\n"
                "1981-01-03,0.5,-5.0,2.0,\n"
                "1981-01-04,0.1,-4.0,2.1,1.1\n")


def test_small_caravan_csv(make_file):
    series = read_caravan_csv(make_file("camels_01022500.csv", CARAVAN_TEXT))
    assert series.location_id == "01022500"
    assert len(series.dates) == 4
    assert math.isnan(series.values["streamflow"][2])
    assert series.values["total_precipitation_sum"][1] == pytest.approx(7.69)


def test_caravan_truncated_row_names_file_and_line(make_file):
    text = CARAVAN_TEXT.replace("1981-01-02,7.69,-7.92,2.45,1.2", "1981-01-02,7.69,-7.92")
    with pytest.raises(DataFormatError) as info:
        read_caravan_csv(make_file("camels_01022500.csv", text))
    assert "camels_01022500.csv" in str(info.value) and "line 3" in str(info.value)
    assert info.value.line == 3


def test_caravan_non_numeric_cell_names_line_and_column(make_file):
    text = CARAVAN_TEXT.replace("-5.0", "cold")
    with pytest.raises(DataFormatError) as info:
        read_caravan_csv(make_file("camels_01022500.csv", text))
    message = str(info.value)
    assert "camels_01022500.csv" in message and "line 4" in message
    assert "'temperature_2m_mean'" in message and "'cold'" in message


def test_caravan_missing_column_is_named(make_file):
    text = CARAVAN_TEXT.replace(",streamflow\n", ",discharge\n", 1)
    with pytest.raises(DataFormatError) as info:
        read_caravan_csv(make_file("camels_01022500.csv", text), ("streamflow",))
    assert "streamflow" in str(info.value) and "camels_01022500.csv" in str(info.value)
    assert "line 1" in str(info.value)


def test_caravan_non_consecutive_dates(make_file):
    text = CARAVAN_TEXT.replace("1981-01-03", "1981-01-05")
    with pytest.raises(DataFormatError, match="consecutive") as info:
        read_caravan_csv(make_file("camels_01022500.csv", text))
    assert "camels_01022500.csv" in str(info.value) and "line 4" in str(info.value)

    duplicated = CARAVAN_TEXT.replace("1981-01-04", "1981-01-03")
    with pytest.raises(DataFormatError, match="line 5"):
        read_caravan_csv(make_file("camels_01022500.csv", duplicated))

    # a blank line must not shift the reported line number
    blank = CARAVAN_TEXT.replace("1981-01-02,", "\n1981-01-02,").replace("1981-01-03", "1981-01-05")
    with pytest.raises(DataFormatError, match="line 5"):
        read_caravan_csv(make_file("camels_01022500.csv", blank))


def test_caravan_bad_date(make_file):
    text = CARAVAN_TEXT.replace("1981-01-03", "1981-02-30")
    with pytest.raises(DataFormatError) as info:
        read_caravan_csv(make_file("camels_01022500.csv", text))
    assert "line 4" in str(info.value) and "'date'" in str(info.value)


def test_caravan_header_only(make_file):
    with pytest.raises(DataFormatError, match="no data rows"):
        read_caravan_csv(make_file("camels_x.csv", "date,streamflow\n"))


