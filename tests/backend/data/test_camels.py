"""CAMELS-US static attributes, the variable vocabulary and the basin catalogue."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.camels import basin_area_km2, load_attributes, read_attribute_file
from backend.data.variables import (
    STATIC_BY_NAME,
    Kind,
    Role,
    input_static_names,
    target_names,
)

HYDRO_COLUMNS = ("q_mean", "runoff_ratio", "slope_fdc", "baseflow_index", "stream_elas", "q5", "q95",
                 "high_q_freq", "high_q_dur", "low_q_freq", "low_q_dur", "zero_q_freq", "hfd_mean")


# --- the real attribute table ---------------------------------------------------------------------------
@pytest.mark.real_data
def test_attributes_have_671_basins_with_string_ids(attributes):
    ids = attributes.gauge_ids
    assert len(ids) == 671
    assert len(set(ids)) == 671
    assert ids == sorted(ids)
    assert all(isinstance(g, str) and len(g) == 8 and g.isdigit() for g in ids)
    assert ids[0] == "01013500"  # the leading zero is kept
    assert "01022500" in ids
    assert sum(g.startswith("0") for g in ids) > 300
    for column, values in attributes.numeric.items():
        assert values.shape == (671,), column
    for column, values in attributes.categorical.items():
        assert len(values) == 671, column


@pytest.mark.real_data
def test_values_of_01022500_match_the_text_files(attributes):
    row = attributes.row("01022500")
    assert row["area_gages2"] == pytest.approx(573.6)
    assert row["p_mean"] == pytest.approx(3.60812594113621, rel=1e-12)
    assert row["gauge_lat"] == pytest.approx(44.60797)
    assert row["gauge_lon"] == pytest.approx(-67.93524)
    assert row["sand_frac"] == pytest.approx(59.3901561620653)
    assert row["geol_permeability"] == pytest.approx(-14.2138)
    assert row["carbonate_rocks_frac"] == 0.0
    assert row["q_mean"] == pytest.approx(2.17306214800791)
    # categorical values: padded cells are stripped, region codes keep their leading zero
    assert row["dom_land_cover"] == "Mixed Forests"
    assert row["huc_02"] == "01"
    assert row["gauge_name"] == "Narraguagus River at Cherryfield, Maine"
    assert row["high_prec_timing"] == "son"
    assert row["geol_1st_class"] == "Acid plutonic rocks"
    assert basin_area_km2(attributes, "01022500") == pytest.approx(573.6)


@pytest.mark.real_data
def test_na_cells_become_missing(attributes):
    # camels_vege.txt: 01013500 has root_depth_50 = NA
    assert math.isnan(attributes.row("01013500")["root_depth_50"])
    assert attributes.row("01022500")["root_depth_50"] == pytest.approx(0.237434541158062)


@pytest.mark.real_data
def test_every_file_column_is_known_and_typed(attributes):
    columns = set(attributes.numeric) | set(attributes.categorical)
    assert columns == set(STATIC_BY_NAME)
    for name in attributes.numeric:
        assert STATIC_BY_NAME[name].kind is Kind.NUMERIC, name
    for name in attributes.categorical:
        assert STATIC_BY_NAME[name].kind is Kind.CATEGORICAL, name
    assert attributes.source["q_mean"].name == "camels_hydro.txt"
    assert attributes.source["area_gages2"].name == "camels_topo.txt"


@pytest.mark.real_data
def test_hydro_signatures_are_targets_and_never_inputs(attributes):
    hydro = [c for c, p in attributes.source.items() if p.name == "camels_hydro.txt"]
    assert sorted(hydro) == sorted(HYDRO_COLUMNS)
    inputs = set(input_static_names())
    for column in hydro:
        assert attributes.role(column) is Role.TARGET
        assert column not in inputs
    assert set(target_names()) == set(HYDRO_COLUMNS)
    for kind in (None, Kind.NUMERIC, Kind.CATEGORICAL):
        for group in (None, "clim", "topo", "soil", "geol", "vege", "hydro", "name"):
            names = input_static_names(kind, group)
            assert not set(names) & set(HYDRO_COLUMNS)
            assert "gauge_lat" not in names and "gauge_lon" not in names
    assert input_static_names(group="hydro") == []
    # location and metadata never enter as plain inputs either
    assert attributes.role("gauge_lat") is Role.LOCATION
    assert attributes.role("huc_02") is Role.METADATA
    assert attributes.role("not_a_column") is Role.METADATA
    assert {"area_geospa_fabric", "huc_02", "gauge_name"}.isdisjoint(inputs)
    # every input exists in the table
    assert inputs <= set(attributes.numeric) | set(attributes.categorical)


@pytest.mark.real_data
def test_hydro_rows_of_the_holdout_basins_are_missing(attributes):
    observed = ~np.isnan(attributes.numeric["q_mean"])
    assert 0 < observed.sum() < 671
    # other attribute files cover every basin
    assert not np.isnan(attributes.numeric["area_gages2"]).any()
    assert not np.isnan(attributes.numeric["p_mean"]).any()


@pytest.mark.real_data
def test_unknown_gauge_id_is_named(attributes):
    with pytest.raises(KeyError, match="1022500"):
        attributes.index("1022500")


# --- the catalogue --------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_catalogue_counts(catalogue):
    assert len(catalogue.with_attributes) == 671
    assert len(catalogue.daymet_files) == 671
    assert len(catalogue.with_forcings_and_attributes) == 671
    assert len(catalogue.caravan_files) == 434
    assert len(catalogue.with_streamflow) == 434
    assert len(catalogue.usgs_files) == 25
    assert set(catalogue.with_streamflow) <= set(catalogue.with_forcings_and_attributes)
    assert all(len(g) == 8 and g.isdigit() for g in catalogue.caravan_files)
    assert catalogue.daymet_files["01022500"].parent.name == "01"
    assert catalogue.huc_02("01022500") == "01"
    # each Daymet file sits in the folder of its basin's HUC-02 region
    for gid, path in list(catalogue.daymet_files.items())[::37]:
        assert path.parent.name == catalogue.huc_02(gid)


def test_catalogue_of_an_empty_root(tmp_path):
    from backend.data.catalogue import BasinCatalogue

    cat = BasinCatalogue.open(tmp_path)
    assert cat.caravan_files == {}
    assert cat.usgs_files == {}
    with pytest.raises(DataNotFoundError, match="Daymet"):
        _ = cat.daymet_files
    with pytest.raises(DataNotFoundError, match="camels_attributes_v2.0"):
        _ = cat.attributes


# --- attribute files with errors ------------------------------------------------------------------------
TOPO = ("gauge_id;gauge_lat;gauge_lon;elev_mean;slope_mean;area_gages2;area_geospa_fabric\n"
        "01013500;47.23739;-68.58264;250.31;21.64152;2252.7;2303.95\n"
        "01022500;44.60797;-67.93524;92.68;17.79072;573.6;620.38\n")


def _attr_root(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "camels_us" / "camels_attributes_v2.0"
    folder.mkdir(parents=True)
    for group, text in files.items():
        (folder / f"camels_{group}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_small_attribute_files_join_and_keep_zeros(tmp_path):
    hydro = "gauge_id;q_mean\n01022500;2.17\n"
    name = "gauge_id;huc_02;gauge_name\n01013500;01;Fish River\n01022500;01;  Narraguagus  \n"
    root = _attr_root(tmp_path, topo=TOPO, hydro=hydro, name=name)
    table = load_attributes(root, groups=("topo", "hydro", "name"))
    assert table.gauge_ids == ["01013500", "01022500"]
    assert math.isnan(table.row("01013500")["q_mean"])  # absent from camels_hydro -> missing
    assert table.row("01022500")["q_mean"] == pytest.approx(2.17)
    assert table.row("01022500")["gauge_name"] == "Narraguagus"
    assert table.categorical["huc_02"] == ["01", "01"]


def test_duplicate_gauge_id_names_file_and_line(tmp_path):
    root = _attr_root(tmp_path, topo=TOPO + "01022500;44.6;-67.9;92.68;17.79;573.6;620.38\n")
    with pytest.raises(DataFormatError) as info:
        load_attributes(root, groups=("topo",))
    message = str(info.value)
    assert "camels_topo.txt" in message
    assert "line 4" in message
    assert "duplicate" in message and "01022500" in message
    assert "line 3" in message  # where it was first seen
    assert info.value.line == 4


def test_seven_digit_gauge_id_is_rejected(tmp_path):
    # an id that lost its leading zero (read as an integer somewhere) must not be silently accepted
    path = tmp_path / "camels_topo.txt"
    path.write_text(TOPO.replace("01022500", "1022500"), encoding="utf-8")
    with pytest.raises(DataFormatError) as info:
        read_attribute_file(path)
    message = str(info.value)
    assert "camels_topo.txt" in message and "line 3" in message and "gauge_id" in message
    assert "'1022500'" in message


def test_non_numeric_attribute_names_line_and_column(tmp_path):
    root = _attr_root(tmp_path, topo=TOPO.replace("573.6", "big"))
    with pytest.raises(DataFormatError) as info:
        load_attributes(root, groups=("topo",))
    message = str(info.value)
    assert "camels_topo.txt" in message and "line 3" in message and "area_gages2" in message
    assert "'big'" in message


def test_truncated_attribute_row_names_line(tmp_path):
    root = _attr_root(tmp_path, topo=TOPO + "01030500;46.7;-68.1\n")
    with pytest.raises(DataFormatError, match=r"camels_topo\.txt, line 4"):
        load_attributes(root, groups=("topo",))


def test_missing_gauge_id_column(tmp_path):
    path = tmp_path / "camels_clim.txt"
    path.write_text("basin;p_mean\n01013500;3.1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="gauge_id") as info:
        read_attribute_file(path)
    assert "camels_clim.txt" in str(info.value)


def test_missing_attribute_file_is_named(tmp_path):
    root = _attr_root(tmp_path, topo=TOPO)
    with pytest.raises(DataNotFoundError, match="camels_clim.txt"):
        load_attributes(root, groups=("topo", "clim"))


def test_basin_without_area_raises(tmp_path):
    root = _attr_root(tmp_path, topo=TOPO.replace("573.6", "NA"))
    table = load_attributes(root, groups=("topo",))
    with pytest.raises(ValueError, match="01022500"):
        basin_area_km2(table, "01022500")


# --- the command line -----------------------------------------------------------------------------------
@pytest.mark.real_data
def test_data_summary_core_lines(catalogue, monkeypatch):
    from backend.data import summary as cli_data

    monkeypatch.setattr(cli_data, "_EXTRA_SUMMARIES", {})  # ISMN/landslides are tested elsewhere
    text = "\n".join(cli_data.data_summary(catalogue.root))
    assert "CAMELS attributes: 671 basins" in text
    assert "Daymet forcings: 671 basins (671 also with attributes)" in text
    assert "1980-01-01..2014-12-31 (12784 days" in text
    assert "Caravan streamflow: 434 basins, 1981-01-01..2014-12-31 (434 usable" in text
    assert "USGS streamflow (CAMELS format): 25 basins" in text


@pytest.mark.real_data
def test_cli_data_summary(real_root):
    import os
    import subprocess
    import sys

    project = Path(__file__).resolve().parents[3]
    python = project / ".venv" / "bin" / "python"
    env = dict(os.environ, STEFALAND_DATA=str(real_root))
    done = subprocess.run([str(python if python.exists() else sys.executable), "-m", "backend", "data",
                           "summary"], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Daymet forcings: 671 basins" in out
    assert "Caravan streamflow: 434 basins" in out
    assert "USGS streamflow (CAMELS format): 25 basins" in out
    assert "Traceback" not in done.stderr
