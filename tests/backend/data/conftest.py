"""Fixtures of the data-reader tests: the real series of basin 01022500 (real-data tests only)."""

from __future__ import annotations

import pytest
from real_series import AREA_GAGES2_01022500, CARAVAN, DAYMET, USGS

from backend.data.caravan import read_caravan_csv
from backend.data.daymet import read_daymet
from backend.data.timeseries import DailySeries
from backend.data.usgs import read_usgs_streamflow


@pytest.fixture(scope="module")
def daymet(real_file) -> DailySeries:
    return read_daymet(real_file(DAYMET))


@pytest.fixture(scope="module")
def usgs(real_file) -> DailySeries:
    return read_usgs_streamflow(real_file(USGS), AREA_GAGES2_01022500)


@pytest.fixture(scope="module")
def caravan(real_file) -> DailySeries:
    return read_caravan_csv(real_file(CARAVAN))
