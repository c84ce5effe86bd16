"""Aligned all-basin arrays and their cache."""

from __future__ import annotations

import numpy as np
import pytest
from real_series import DAYMET_HEADER, DAYMET_ROWS

from backend.data.variables import FORCING_VARIABLES


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
