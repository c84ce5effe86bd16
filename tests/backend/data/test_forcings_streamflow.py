"""Daymet forcings, USGS and Caravan streamflow, delimited-text errors and unit conversion."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.caravan import index_caravan_files, read_caravan_csv
from backend.data.daymet import read_daymet
from backend.data.tabular import parse_float, read_delimited
from backend.data.timeseries import DailySeries
from backend.data.units import to_mm_per_day
from backend.data.usgs import read_usgs_streamflow
from backend.data.variables import FORCING_VARIABLES

DAYMET = "camels_us/basin_mean_forcing/daymet/01/01022500_lump_cida_forcing_leap.txt"
USGS = "camels_us/usgs_streamflow/01/01022500_streamflow_qc.txt"
CARAVAN = "caravan/timeseries/csv/camels/camels_01022500.csv"
AREA_GAGES2_01022500 = 573.6


@pytest.fixture(scope="module")
def daymet(real_file) -> DailySeries:
    return read_daymet(real_file(DAYMET))


@pytest.fixture(scope="module")
def usgs(real_file) -> DailySeries:
    return read_usgs_streamflow(real_file(USGS), AREA_GAGES2_01022500)


@pytest.fixture(scope="module")
def caravan(real_file) -> DailySeries:
    return read_caravan_csv(real_file(CARAVAN))


def _overlap(a: DailySeries, b: DailySeries, name: str = "streamflow") -> tuple[np.ndarray, np.ndarray]:
    lo, hi = max(a.dates[0], b.dates[0]), min(a.dates[-1], b.dates[-1])
    x, y = a.slice(lo, hi), b.slice(lo, hi)
    assert np.array_equal(x.dates, y.dates)
    return x.values[name], y.values[name]


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


DAYMET_HEADER = ("  44.82\n 133.00\n 587675987\n"
                 "Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)\n")
DAYMET_ROWS = ["1980 01 01 12\t31185.97\t0.00\t178.46\t0.00\t-0.72\t-10.59\t271.45",
               "1980 01 02 12\t31302.05\t0.00\t186.36\t0.00\t0.74\t-9.82\t291.32",
               "1980 01 03 12\t31422.80\t1.50\t160.00\t0.00\t1.10\t-8.00\t300.00",
               "1980 01 04 12\t31545.00\t2.00\t150.00\t0.00\t2.00\t-7.00\t310.00"]


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
    ours, theirs = _overlap(usgs, caravan)
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
    ours, theirs = _overlap(series, caravan)
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


# --- aligned arrays and their cache ---------------------------------------------------------------------
def _fake_root(tmp_path):
    attrs = tmp_path / "camels_us" / "camels_attributes_v2.0"
    attrs.mkdir(parents=True)
    for group in ("name", "clim", "soil", "geol", "vege", "hydro"):
        (attrs / f"camels_{group}.txt").write_text("gauge_id\n01022500\n01013500\n", encoding="utf-8")
    (attrs / "camels_topo.txt").write_text("gauge_id;area_gages2\n01022500;573.6\n01013500;2252.7\n",
                                           encoding="utf-8")
    for gid, shift in (("01022500", 0.0), ("01013500", 100.0)):
        rows = [r.replace("\t0.00\t1", f"\t{shift:.2f}\t1", 1) for r in DAYMET_ROWS]
        path = tmp_path / "camels_us/basin_mean_forcing/daymet/01" / f"{gid}_lump_cida_forcing_leap.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DAYMET_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    flow = tmp_path / "caravan/timeseries/csv/camels/camels_01022500.csv"
    flow.parent.mkdir(parents=True)
    # starts a day after the forcings and runs past their end
    flow.write_text("date,streamflow\n1980-01-02,1.5\n1980-01-03,\n1980-01-04,2.5\n1980-01-05,9.0\n",
                    encoding="utf-8")
    return tmp_path


def test_basin_arrays_align_and_cache(tmp_path):
    from backend.data.basin_arrays import load_basin_arrays
    from backend.data.catalogue import BasinCatalogue

    root = _fake_root(tmp_path)
    arrays = load_basin_arrays(BasinCatalogue.open(root))
    assert arrays.gauge_ids == ["01013500", "01022500"]
    assert arrays.forcings.shape == (2, 4, len(FORCING_VARIABLES))
    prcp = list(FORCING_VARIABLES).index("prcp")
    assert arrays.forcings[:, 0, prcp].tolist() == pytest.approx([100.0, 0.0])
    assert arrays.forcings[1, 2, prcp] == pytest.approx(1.5)
    flow = arrays.streamflow_mm_per_day
    assert np.isnan(flow[0]).all()  # no streamflow file
    assert np.isnan(flow[1, 0]) and flow[1, 1] == pytest.approx(1.5)
    assert np.isnan(flow[1, 2]) and flow[1, 3] == pytest.approx(2.5)
    assert arrays.day_range("1980-01-02", "1980-01-03") == slice(1, 3)
    with pytest.raises(ValueError, match="outside"):
        arrays.day_range("1979-12-31", "1980-01-02")
    cache = root / "cache" / "basin_arrays.npz"
    assert cache.is_file()

    # the cache is used while the file list is unchanged, and rebuilt on request or when it changes
    first = root / "camels_us/basin_mean_forcing/daymet/01/01013500_lump_cida_forcing_leap.txt"
    first.write_text(first.read_text().replace("\t100.00\t", "\t50.00\t"), encoding="utf-8")
    assert load_basin_arrays(BasinCatalogue.open(root)).forcings[0, 0, prcp] == pytest.approx(100.0)
    assert load_basin_arrays(BasinCatalogue.open(root), rebuild=True).forcings[0, 0, prcp] == \
        pytest.approx(50.0)
    other = root / "caravan/timeseries/csv/camels/camels_01013500.csv"
    other.write_text("date,streamflow\n1980-01-01,3.0\n", encoding="utf-8")
    again = load_basin_arrays(BasinCatalogue.open(root))
    assert again.streamflow_mm_per_day[0, 0] == pytest.approx(3.0)
