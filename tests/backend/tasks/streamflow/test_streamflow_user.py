"""The user gauge format: unit conversion, every located error, notes, forcing layouts, the example writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.core.errors import DataFormatError
from backend.core.paths import MODELS_DIR
from backend.data.catalogue import BasinCatalogue
from backend.data.units import to_mm_per_day
from backend.data.user_gauges import check_user_dataset, load_user_dataset, validate_user_dataset
from backend.tasks.streamflow.gauge_run import ADAPTER_NAME, check_out_dir

GAUGES = "id,latitude,longitude,area_km2,elev_mean\nA1,42.0,-74.0,86.4,600\nB2,36.5,-77.8,100,\n"
FLOW = ("date,id,value,unit\n"
        "2000-01-01,A1,1.0,m3/s\n"
        "2000-01-02,A1,1.0,ft3/s\n"
        "2000-01-03,A1,2.5,mm/day\n"
        "2000-01-01,B2,10,cms\n"
        "2000-01-02,B2,100,cfs\n"
        "2000-01-03,B2,,mm/d\n")


def forcing_csv(days: int = 5, start: str = "2000-01-01") -> str:
    dates = np.arange(np.datetime64(start), np.datetime64(start) + days)
    return "date,prcp,srad,tmax,tmin,vp,dayl\n" + "".join(f"{d},1.5,200,10,2,800,36000\n" for d in dates)


def write_dataset(root: Path, gauges: str = GAUGES, flow: str = FLOW,
                  forcings: dict[str, str] | None = None) -> tuple[Path, Path, Path]:
    """gauges.csv, streamflow.csv and forcings/<id>.csv under ``root``."""
    (root / "forcings").mkdir(parents=True, exist_ok=True)
    (root / "gauges.csv").write_text(gauges, encoding="utf-8")
    (root / "streamflow.csv").write_text(flow, encoding="utf-8")
    for gauge_id, text in (forcings if forcings is not None else {"A1": forcing_csv(), "B2": forcing_csv()}).items():
        (root / "forcings" / f"{gauge_id}.csv").write_text(text, encoding="utf-8")
    return root / "gauges.csv", root / "streamflow.csv", root / "forcings"


# ------------------------------------------------------------------------------------------ units

def test_three_units_to_mm_per_day_by_hand() -> None:
    # 1 m³/s for a day is 86,400 m³; over 86.4 km² (86.4e6 m²) that is 0.001 m = 1 mm
    assert to_mm_per_day(1.0, "m3/s", 86.4) == pytest.approx(1.0)
    assert to_mm_per_day(10.0, "m³/s", 100.0) == pytest.approx(8.64)  # 10 * 86400 / 1e8 * 1000
    # 1 ft³ = 0.0283168 m³
    assert to_mm_per_day(1.0, "ft3/s", 86.4) == pytest.approx(0.0283168)
    assert to_mm_per_day(100.0, "cfs", 100.0) == pytest.approx(2.44657152)  # 100 * 0.0283168 * 0.864
    assert to_mm_per_day(2.5, "mm/day", 1234.0) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="unknown flow unit"):
        to_mm_per_day(1.0, "l/s", 10.0)


def test_user_streamflow_is_converted_with_the_gauge_area(tmp_path: Path) -> None:
    dataset = load_user_dataset(*write_dataset(tmp_path))
    days, values = dataset.flow["A1"]
    assert [str(d) for d in days] == ["2000-01-01", "2000-01-02", "2000-01-03"]
    np.testing.assert_allclose(values, [1.0, 0.0283168, 2.5], rtol=1e-6)
    days, values = dataset.flow["B2"]  # the empty value on 2000-01-03 is a missing day
    assert len(days) == 2
    np.testing.assert_allclose(values, [8.64, 2.44657152], rtol=1e-6)
    assert dataset.gauge("A1").given_numeric == {"elev_mean": 600.0, "area_gages2": 86.4}
    assert dataset.gauge("B2").numeric == {}  # empty cell: to be imputed
    observed = dataset.observed_on("B2", np.arange(np.datetime64("1999-12-31"), np.datetime64("2000-01-05")))
    np.testing.assert_allclose(observed, [np.nan, 8.64, 2.44657152, np.nan, np.nan], rtol=1e-6)
    assert dataset.forcings["A1"].values.shape == (5, 6)


# ------------------------------------------------------------------------------------------ located errors

ERROR_CASES = {
    # name: (file to edit, old text, new text, file in the message, line, column, words in the message)
    "bad date": ("streamflow.csv", "2000-01-02,A1", "2000-02-30,A1", "streamflow.csv", 3, "date", "not a date"),
    "non-numeric value": ("streamflow.csv", "2000-01-03,A1,2.5", "2000-01-03,A1,2.5e", "streamflow.csv", 4,
                          "value", "not a number: '2.5e'"),
    "negative flow": ("streamflow.csv", "2000-01-03,A1,2.5", "2000-01-03,A1,-999", "streamflow.csv", 4, "value",
                      "negative flow"),
    "duplicate day": ("streamflow.csv", "2000-01-02,B2", "2000-01-01,B2", "streamflow.csv", 6, "date",
                      "duplicate day 2000-01-01"),
    "unknown unit": ("streamflow.csv", "10,cms", "10,l/s", "streamflow.csv", 5, "unit", "unknown unit 'l/s'"),
    "unknown gauge id": ("streamflow.csv", "2000-01-02,B2", "2000-01-02,C3", "streamflow.csv", 6, "id",
                         "unknown gauge id 'C3'"),
    "missing column": ("streamflow.csv", "date,id,value,unit", "date,id,value,units", "streamflow.csv", 1, "unit",
                       "missing column"),
    "latitude out of range": ("gauges.csv", "A1,42.0", "A1,142.0", "gauges.csv", 2, "latitude", "outside"),
    "longitude out of range": ("gauges.csv", "-77.8", "-277.8", "gauges.csv", 3, "longitude", "outside"),
    "non-positive area": ("gauges.csv", "-74.0,86.4", "-74.0,0", "gauges.csv", 2, "area_km2", "must be positive"),
    "non-numeric attribute": ("gauges.csv", "86.4,600", "86.4,high", "gauges.csv", 2, "elev_mean", "not a number"),
    "gauge without forcings": ("forcings/B2.csv", None, None, "gauges.csv", 3, "id", "no forcings for this gauge"),
    "forcings gap": ("forcings/A1.csv", "2000-01-05,", "2000-01-08,", "A1.csv", 6, "date",
                     "gap in the daily dates: 2000-01-08 follows 2000-01-04 (line 5), 3 day(s) missing"),
    "forcing not a number": ("forcings/A1.csv", "2000-01-02,1.5", "2000-01-02,lots", "A1.csv", 3, "prcp",
                             "not a number"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_each_error_names_file_line_and_column(tmp_path: Path, case: str) -> None:
    gauges, flow, forcings = write_dataset(tmp_path)
    target, old, new, name, line, column, words = ERROR_CASES[case]
    path = tmp_path / target
    if old is None:
        path.unlink()
    else:
        text = path.read_text(encoding="utf-8")
        assert old in text, case
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = validate_user_dataset(gauges, flow, forcings)
    assert len(problems) == 1, problems
    assert f"{name}, line {line}, column '{column}': " in problems[0]
    assert words in problems[0]
    with pytest.raises(DataFormatError) as raised:
        load_user_dataset(gauges, flow, forcings)
    assert str(raised.value) == problems[0]
    assert raised.value.line == line and raised.value.column == column


def test_every_problem_is_collected_and_the_first_raised_with_the_count(tmp_path: Path) -> None:
    flow = FLOW.replace("2000-01-02,A1,1.0", "2000-01-32,A1,1.0").replace("10,cms", "-10,furlongs")
    gauges = GAUGES.replace("-74.0,86.4", "-74.0,-1")
    paths = write_dataset(tmp_path, gauges, flow, {"A1": forcing_csv().replace("2000-01-05,", "2000-01-09,")})
    problems = validate_user_dataset(*paths)
    expected = [("gauges.csv, line 2, column 'area_km2'", "must be positive"),
                ("streamflow.csv, line 3, column 'date'", "not a date"),
                ("streamflow.csv, line 5, column 'value'", "negative flow"),
                ("streamflow.csv, line 5, column 'unit'", "unknown unit 'furlongs'"),
                ("gauges.csv, line 3, column 'id'", "no forcings for this gauge"),
                ("A1.csv, line 6, column 'date'", "gap in the daily dates")]  # A1's row has a problem too
    assert len(problems) == len(expected), problems
    for where, words in expected:
        assert any(where in p and words in p for p in problems), (where, problems)
    with pytest.raises(DataFormatError, match=r"and 5 more problem\(s\)"):
        load_user_dataset(*paths)


def test_many_repeated_row_problems_are_listed_then_counted(tmp_path: Path) -> None:
    rows = "".join(f"2000-02-{d:02d},A1,-1,mm/day\n" for d in range(1, 26))
    paths = write_dataset(tmp_path, flow="date,id,value,unit\n" + rows)
    problems = validate_user_dataset(*paths)
    assert sum("negative flow -1" in p for p in problems) == 20
    assert problems[-1].endswith("5 more row(s) with the problem 'negative flow' (only the first 20 are listed)")
    with pytest.raises(DataFormatError, match=r"and 24 more problem"):
        load_user_dataset(*paths)


def test_extra_columns_are_reported_as_ignored_not_dropped_silently(tmp_path: Path) -> None:
    gauges = GAUGES.replace("elev_mean\n", "elev_mean,q_mean,colour,area_gages2\n").replace(
        "600\n", "600,1.2,red,86\n").replace("100,\n", "100,,,,\n")
    problems, notes = check_user_dataset(*write_dataset(tmp_path, gauges))
    assert problems == []
    assert any("'q_mean' ignored (a streamflow signature" in n for n in notes)
    assert any("'colour' ignored (not a model attribute)" in n for n in notes)
    assert any("'area_gages2' ignored (given by the area_km2 column)" in n for n in notes)


def test_categories_are_checked_against_the_model_vocabulary(tmp_path: Path) -> None:
    gauges = GAUGES.replace("elev_mean\n", "elev_mean,dom_land_cover\n").replace("600\n", "600,Moon Forest\n") \
        .replace("100,\n", "100,,Mixed Forests\n")
    paths = write_dataset(tmp_path, gauges)
    assert validate_user_dataset(*paths) == []  # without a vocabulary any category passes
    problems = validate_user_dataset(*paths, vocabularies={"dom_land_cover": ["Mixed Forests"]})
    assert len(problems) == 1 and "gauges.csv, line 2, column 'dom_land_cover': unknown category" in problems[0]


def test_camels_layout_forcings_are_detected_per_gauge(tmp_path: Path) -> None:
    gauges, flow, forcings = write_dataset(tmp_path, forcings={"A1": forcing_csv()})
    header = "42.0\n500\n86400000\nYear Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)\n"
    body = "".join(f"2000 01 {d:02d} 12 36000 2.0 150 0 6 -1 700\n" for d in range(1, 6))
    (forcings / "05").mkdir()
    (forcings / "05" / "B2_lump_cida_forcing_leap.txt").write_text(header + body, encoding="utf-8")
    dataset = load_user_dataset(gauges, flow, forcings)
    assert "CAMELS Daymet layout" in dataset.forcings["B2"].source
    np.testing.assert_allclose(dataset.forcings["B2"].values[0], [2.0, 150, 6, -1, 700, 36000])
    assert "forcings CSV" in dataset.forcings["A1"].source


def test_a_caravan_file_is_pointed_out(tmp_path: Path) -> None:
    gauges, flow, forcings = write_dataset(tmp_path, forcings={"A1": forcing_csv()})
    (forcings / "camels_B2.csv").write_text("date,total_precipitation_sum\n2000-01-01,1\n", encoding="utf-8")
    problems = validate_user_dataset(gauges, flow, forcings)
    assert len(problems) == 1 and "camels_B2.csv looks like a Caravan file" in problems[0]


def test_out_dir_inside_the_bundled_models_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEFALAND_ALLOW_BUNDLE_WRITE", "1")  # even packaging may not put user adapters there
    with pytest.raises(PermissionError, match="bundled model folder"):
        check_out_dir(MODELS_DIR / "mine", overwrite=True)
    with pytest.raises(PermissionError):
        check_out_dir(MODELS_DIR, overwrite=True)
    (tmp_path / ADAPTER_NAME).write_bytes(b"x")
    (tmp_path / f".{ADAPTER_NAME}.abc123.partial").write_bytes(b"half")
    with pytest.raises(FileExistsError):
        check_out_dir(tmp_path, overwrite=False)
    assert check_out_dir(tmp_path, overwrite=True) == tmp_path / ADAPTER_NAME
    assert not (tmp_path / f".{ADAPTER_NAME}.abc123.partial").exists()  # a killed run's leftover is removed


def test_validate_gauges_command_lists_the_problems(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.cli import main

    monkeypatch.setenv("STEFALAND_BASE_MODEL", str(tmp_path / "no_model.pt"))  # categories then go unchecked
    gauges, flow, forcings = write_dataset(tmp_path, flow=FLOW.replace("10,cms", "10,gallons"))
    assert main(["validate-gauges", "--gauges", str(gauges), "--streamflow", str(flow),
                 "--forcings", str(forcings)]) == 2
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "line 5, column 'unit': unknown unit 'gallons'" in out


def test_example_dataset_round_trips_to_caravan_mm_per_day(tmp_path: Path, mini_catalogue: BasinCatalogue) -> None:
    from backend.data.caravan import read_caravan_csv
    from backend.tasks.streamflow.example_gauges import write_example_gauges

    catalogue = mini_catalogue  # three of the generated CAMELS basins with Caravan streamflow
    summary = write_example_gauges(tmp_path, n=3, catalogue=catalogue, flow_period=("1998-10-01", "1999-09-30"),
                                   forcing_start="1998-01-01")
    assert sorted(set(summary["units"].values())) == ["ft3/s", "m3/s", "mm/day"]
    dataset = load_user_dataset(tmp_path / "gauges.csv", tmp_path / "streamflow.csv", tmp_path / "forcings")
    for gauge_id in summary["basins"]:
        days, values = dataset.flow[gauge_id]
        truth = read_caravan_csv(catalogue.caravan_files[gauge_id], ("streamflow",)).slice(str(days[0]),
                                                                                            str(days[-1]))
        keep = np.isfinite(truth.values["streamflow"])
        np.testing.assert_allclose(values, truth.values["streamflow"][keep], rtol=1e-5, atol=1e-5)
        assert str(dataset.forcings[gauge_id].dates[0]) == "1998-01-01"
    with pytest.raises(FileExistsError):
        write_example_gauges(tmp_path, n=3, catalogue=catalogue)
