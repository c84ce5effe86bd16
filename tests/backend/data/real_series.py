"""What the forcing and streamflow reader tests read: the real files of basin 01022500, small Daymet rows."""

from __future__ import annotations

import numpy as np

from backend.data.timeseries import DailySeries

DAYMET = "camels_us/basin_mean_forcing/daymet/01/01022500_lump_cida_forcing_leap.txt"
USGS = "camels_us/usgs_streamflow/01/01022500_streamflow_qc.txt"
CARAVAN = "caravan/timeseries/csv/camels/camels_01022500.csv"
AREA_GAGES2_01022500 = 573.6


def overlap(a: DailySeries, b: DailySeries, name: str = "streamflow") -> tuple[np.ndarray, np.ndarray]:
    lo, hi = max(a.dates[0], b.dates[0]), min(a.dates[-1], b.dates[-1])
    x, y = a.slice(lo, hi), b.slice(lo, hi)
    assert np.array_equal(x.dates, y.dates)
    return x.values[name], y.values[name]


#: a small Daymet file (header and rows in the CAMELS layout) for the tests that write their own
DAYMET_HEADER = ("  44.82\n 133.00\n 587675987\n"
                 "Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)\n")
DAYMET_ROWS = ["1980 01 01 12\t31185.97\t0.00\t178.46\t0.00\t-0.72\t-10.59\t271.45",
               "1980 01 02 12\t31302.05\t0.00\t186.36\t0.00\t0.74\t-9.82\t291.32",
               "1980 01 03 12\t31422.80\t1.50\t160.00\t0.00\t1.10\t-8.00\t300.00",
               "1980 01 04 12\t31545.00\t2.00\t150.00\t0.00\t2.00\t-7.00\t310.00"]
