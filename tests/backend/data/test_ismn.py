"""ISMN readers: the real files under data/ismn and small generated files for the error cases."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.ismn import IsmnSeries, IsmnStation, ismn_dir, read_ismn_file, read_ismn_metadata
from backend.data.ismn_stations import daily_mean, find_ismn_stations, summarize_ismn, top_layer_soil_moisture

ISMN = ismn_dir()
#: the real-file tests need data/ismn: they are marked real_data and fail (never skip) when it is missing
needs_ismn = pytest.mark.usefixtures("real_ismn")

US_STATIONS = {("SCAN", "AAMU-jtg"), ("SCAN", "Abrams"), ("SCAN", "AdamsRanch#1"),
               ("SOILSCAPE", "node414"), ("SOILSCAPE", "node505"), ("SOILSCAPE", "node703")}
NARBONNE = "SMOSMANIA_SMOSMANIA_Narbonne_sm_0.050000_0.050000_ThetaProbe-ML2X_20070101_20070131.stm"
HEADER = "SCAN   SCAN   Test_Site   34.78300   -86.55000  262.13    0.05    0.05 Hydraprobe\r"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


SCAN_NAME = "SCAN_SCAN_TestSite_sm_0.050800_0.050800_Hydraprobe_20070101_20071231.stm"


def header_values_file(folder: Path, records: list[str], name: str = SCAN_NAME, header: str = HEADER) -> Path:
    """A header+values file with old-Mac ``\\r`` line breaks, like the real SCAN files."""
    return write(folder / name, header + "".join(r + "\r" for r in records))


def hourly_series(times: list[str], values: list[float], flags: list[str] | None = None) -> IsmnSeries:
    return IsmnSeries("NET", "ST", 40.0, -100.0, 300.0, 0.05, 0.05, "probe", "soil_moisture",
                      np.array(times, dtype="datetime64[m]"), np.array(values, dtype=np.float32),
                      np.array(flags if flags is not None else ["G"] * len(times)), Path("synthetic.stm"),
                      "m3/m3", "header+values")


# --------------------------------------------------------------------------------------------- real files

@pytest.fixture
def real_ismn(real_file) -> Path:
    """The real ISMN folder (``make data``); a test using it fails naming the folder when it is missing."""
    return real_file("ismn")


@pytest.mark.real_data
@needs_ismn
def test_finds_the_six_us_stations_once_each() -> None:
    stations = find_ismn_stations(ISMN)
    keys = [(s.network, s.station) for s in stations]
    assert len(keys) == len(set(keys)), "a station was double counted"
    assert US_STATIONS <= set(keys)
    by_key = {(s.network, s.station): s for s in stations}
    for key in US_STATIONS:
        station = by_key[key]
        assert 24.0 < station.latitude < 50.0 and -125.0 < station.longitude < -66.0, key
        assert len(station.files) == 1
    # COSMOS ARM-1 exists in the CEOP and the header+values export: one station, one file
    assert len(by_key[("COSMOS", "ARM-1")].files) == 1
    assert not any("malformed" in str(p) for s in stations for p in s.files)


@pytest.mark.real_data
@needs_ismn
def test_us_soil_moisture_is_plausible_daily() -> None:
    by_key = {(s.network, s.station): s for s in find_ismn_stations(ISMN)}
    for key in sorted(US_STATIONS):
        daily = top_layer_soil_moisture(by_key[key])
        sm = daily.values["soil_moisture"]
        assert daily.location_id == f"{key[0]}/{key[1]}"
        assert daily.units["soil_moisture"] == "m3/m3"
        assert np.isfinite(sm).sum() > 100, key
        assert np.nanmin(sm) >= 0.0 and np.nanmax(sm) <= 1.0, key
        assert daily.dates.dtype == np.dtype("datetime64[D]")
        assert (np.diff(daily.dates).astype(int) == 1).all()
        assert np.datetime64("2007-01-01") <= daily.dates[0]
        assert daily.dates[-1] <= np.datetime64("2013-12-31")
        assert daily.meta["depth_from_m"] in (0.05, 0.0508)


@pytest.mark.real_data
@needs_ismn
def test_scan_file_details() -> None:
    path = ISMN / "multinetwork_header_values_unzipped/SCAN/AAMU-jtg" / (
        "SCAN_SCAN_AAMU-jtg_sm_0.050800_0.050800_Hydraprobe-Analog-(2.5-Volt)_20070101_20131231.stm")
    series = read_ismn_file(path)
    assert series.file_format == "header+values"
    assert (series.network, series.station) == ("SCAN", "AAMU-jtg")
    assert (series.latitude, series.longitude, series.elevation_m) == (34.783, -86.55, 262.13)
    assert series.depth_from_m == series.depth_to_m == 0.0508  # 2 inches; the header rounds it to 0.05
    assert series.sensor == "Hydraprobe-Analog-(2.5-Volt)"
    # 42,896 lines after the header, 125 of them without the provider flag, all read
    assert series.values.size == 42895 and series.values.dtype == np.float32
    assert series.times[0] == np.datetime64("2007-03-22T21:00")
    assert series.values[0] == np.float32(0.175)
    assert set(np.unique(series.flags)) >= {"U", "D02"}
    assert (np.diff(series.times).astype(int) > 0).all()


@pytest.mark.real_data
@needs_ismn
def test_ceop_and_header_copies_agree() -> None:
    ceop = read_ismn_file(ISMN / "format_ceop_sep/SMOSMANIA" / NARBONNE)
    header = read_ismn_file(ISMN / "format_header_values/SMOSMANIA" / NARBONNE)
    assert (ceop.file_format, header.file_format) == ("ceop_separate", "header+values")
    assert ceop.values.size == header.values.size == 741
    np.testing.assert_array_equal(ceop.times, header.times)
    np.testing.assert_array_equal(ceop.values, header.values)
    np.testing.assert_array_equal(ceop.flags, header.flags)
    assert (ceop.latitude, ceop.longitude) == (header.latitude, header.longitude) == (43.15, 2.9567)
    cosmos = "COSMOS_COSMOS_ARM-1_sm_0.000000_0.190000_Cosmic-ray-Probe_20170810_20180809.stm"
    a = read_ismn_file(ISMN / "Data_seperate_files_20170810_20180809/COSMOS/ARM-1" / cosmos)
    b = read_ismn_file(ISMN / "Data_seperate_files_header_20170810_20180809/COSMOS/ARM-1" / cosmos)
    assert (a.depth_from_m, a.depth_to_m) == (0.0, 0.19)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.flags[0] == "G"


@pytest.mark.real_data
@needs_ismn
def test_real_malformed_file_is_rejected() -> None:
    path = ISMN / "malformed" / "mal_formed_file.txt"
    with pytest.raises(DataFormatError) as info:
        read_ismn_file(path)
    assert info.value.line == 1
    assert "mal_formed_file.txt" in str(info.value) and "line 1" in str(info.value)


@pytest.mark.real_data
@needs_ismn
def test_summarize_real_ismn() -> None:
    lines = summarize_ismn(ISMN)
    assert lines[0].startswith("ISMN ") and "11 station(s)" in lines[0]
    assert len(lines) == 12
    scan = next(line for line in lines if "SCAN/Abrams" in line)
    assert "lat 37.1330" in scan and "2007-01-01 to 2013-12-31" in scan and "1 soil moisture file(s)" in scan
    assert "0.0508 m" in scan


# ------------------------------------------------------------------------------------------ generated files

def test_header_values_parsing_with_cr_breaks_and_missing_provider_flag(tmp_path: Path) -> None:
    path = header_values_file(tmp_path, ["2007/01/01 00:00   0.2000 G M", "2007/01/01 01:00   0.2500 U",
                                         "2007/01/01 02:00   -9999 M M"])
    series = read_ismn_file(path)
    assert series.station == "TestSite"  # from the file name; the header says Test_Site
    assert series.depth_from_m == 0.0508
    np.testing.assert_array_equal(series.values[:2], np.float32([0.2, 0.25]))
    assert np.isnan(series.values[2])
    assert list(series.flags) == ["G", "U", "M"]
    assert series.times[1] == np.datetime64("2007-01-01T01:00")


def test_ceop_line_and_lf_breaks(tmp_path: Path) -> None:
    record = ("2010/05/01 {h}:00 2010/05/01 {h}:00 CSE  NET  Site  45.5  7.25  100.0  0.10  0.10  {v} G M\n")
    path = write(tmp_path / "other_name.stm", record.format(h="01", v="0.3") + record.format(h="00", v="0.1"))
    series = read_ismn_file(path)
    assert series.file_format == "ceop_separate"
    assert (series.network, series.station, series.variable) == ("NET", "Site", "unknown")
    np.testing.assert_array_equal(series.values, np.float32([0.1, 0.3]))  # sorted by time
    assert read_ismn_metadata(path).depth_to_m == 0.1


def test_malformed_content_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "mal_formed_file.txt", "no good data here")
    with pytest.raises(DataFormatError, match=r"mal_formed_file\.txt, line 1: not an ISMN file"):
        read_ismn_file(path)


@pytest.mark.parametrize(("records", "line", "column", "message"), [
    (["2007/01/01 00:00 0.2 G M", "2007/01/01 01:00 abc G M"], 3, "value", "not a number"),
    (["2007/01/01 00:00 0.2 G M", "2007-01-01 01:00 0.2 G M"], 3, "date", "bad date"),
    (["2007/01/01 00:00 0.2 G M", "2007/01/01 1h 0.2 G M"], 3, "time", "bad time"),
    (["2007/01/01 00:00 0.2 G M", "2007/02/30 01:00 0.2 G M"], 3, "date", "invalid date"),
    (["2007/01/01 00:00 0.2 G M", "2007/01/01 01:00"], 3, None, "expected 4-5 fields"),
    ([], 2, None, "no data records"),
])
def test_bad_records_raise_located_errors(tmp_path: Path, records: list[str], line: int, column: str | None,
                                          message: str) -> None:
    path = header_values_file(tmp_path, records)
    with pytest.raises(DataFormatError, match=message) as info:
        read_ismn_file(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert path.name in str(info.value)


def test_bad_header_latitude(tmp_path: Path) -> None:
    header = HEADER.replace("34.78300", "134.7")
    path = header_values_file(tmp_path, ["2007/01/01 00:00 0.2 G M"], header=header)
    with pytest.raises(DataFormatError, match="latitude 134.7 outside") as info:
        read_ismn_file(path)
    assert (info.value.line, info.value.column) == (1, "latitude")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        read_ismn_file(tmp_path / "absent.stm")
    with pytest.raises(FileNotFoundError):
        summarize_ismn(tmp_path / "absent")


def test_daily_mean_exact() -> None:
    day1 = [f"2020-01-01T{h:02d}:00" for h in range(24)]
    values1 = [0.10 + 0.01 * h for h in range(24)]
    flags1 = ["G"] * 24
    flags1[5] = "D03"  # dropped
    flags1[6] = "G,D05"  # dropped: one code is not accepted
    day2 = [f"2020-01-02T{h:02d}:00" for h in range(11)]  # 11 hours < 12: NaN
    day4 = [f"2020-01-04T{h:02d}:{m:02d}" for h in range(12) for m in (0, 30)]  # half-hourly, 12 hours
    values4 = [0.2 if m == 0 else 0.4 for h in range(12) for m in (0, 30)]
    flags = flags1 + ["U"] * 11 + ["G"] * 24
    series = hourly_series(day1 + day2 + day4, values1 + [0.5] * 11 + values4, flags)
    daily = daily_mean(series, min_hours=12)
    np.testing.assert_array_equal(daily.dates, np.arange("2020-01-01", "2020-01-05", dtype="datetime64[D]"))
    sm = daily.values["soil_moisture"]
    kept = [v for h, v in enumerate(values1) if h not in (5, 6)]
    assert sm[0] == pytest.approx(sum(kept) / len(kept), abs=1e-6)
    assert np.isnan(sm[1]) and np.isnan(sm[2])
    assert sm[3] == pytest.approx(0.3, abs=1e-6)
    assert daily.location_id == "NET/ST"
    assert daily.meta["latitude"] == 40.0 and daily.meta["depth_from_m"] == 0.05
    # min_hours=11 keeps day 2 ('U' is accepted by default); a strict 'G' policy drops it again
    assert daily_mean(series, min_hours=11).values["soil_moisture"][1] == pytest.approx(0.5)
    assert np.isnan(daily_mean(series, min_hours=11, accepted_flags={"G"}).values["soil_moisture"][1])


def test_daily_mean_drops_impossible_and_missing_values() -> None:
    times = [f"2020-03-01T{h:02d}:00" for h in range(14)]
    values = [0.2] * 12 + [1.5, float("nan")]
    daily = daily_mean(hourly_series(times, values), min_hours=12)
    assert daily.values["soil_moisture"][0] == pytest.approx(0.2)
    assert daily_mean(hourly_series([], [])).dates.size == 0


def test_find_stations_skips_malformed_and_copies(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rec = ["2007/01/01 00:00 0.2 G M"]
    header_values_file(tmp_path / "copy_a" / "SCAN" / "TestSite", rec)
    header_values_file(tmp_path / "copy_b" / "SCAN" / "TestSite", rec)
    other = "SCAN_SCAN_Other_sm_0.05_0.05_X_20070101_20071231.stm"
    header_values_file(tmp_path / "malformed", rec, name=other)
    write(tmp_path / "junk" / "broken.stm", "no good data here")
    with caplog.at_level(logging.WARNING):
        stations = find_ismn_stations(tmp_path)
    assert [(s.network, s.station, len(s.files)) for s in stations] == [("SCAN", "TestSite", 1)]
    assert "broken.stm" in caplog.text


def test_top_layer_picks_the_shallowest_depth(tmp_path: Path) -> None:
    shallow = [f"2007/01/01 {h:02d}:00 0.1000 G M" for h in range(24)]
    deep = [f"2007/01/01 {h:02d}:00 0.3000 G M" for h in range(24)]
    deep_name = "SCAN_SCAN_TestSite_sm_0.200000_0.200000_X_20070101_20071231.stm"
    deep_header = HEADER.replace("0.05    0.05", "0.20    0.20")
    a = header_values_file(tmp_path, deep, name=deep_name, header=deep_header)
    b = header_values_file(tmp_path, shallow)
    station = IsmnStation("SCAN", "TestSite", 34.783, -86.55, 262.13, [a, b])
    daily = top_layer_soil_moisture(station)
    assert daily.values["soil_moisture"][0] == pytest.approx(0.1)
    assert daily.meta["depth_from_m"] == 0.0508
    with pytest.raises(DataNotFoundError, match="no soil moisture"):
        top_layer_soil_moisture(IsmnStation("SCAN", "Empty", 0.0, 0.0, 0.0, []))
