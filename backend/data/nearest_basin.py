"""The nearest CAMELS basin of a point: whose forcings and statics an ungauged point borrows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.core.geo import nearest_location
from backend.data.camels import AttributeTable


@dataclass
class NearestBasin:
    """The CAMELS basin whose forcings and statics a point borrows, and how far its gauge is (km)."""

    gauge_id: str
    distance_km: float


def nearest_basin(lat: float, lon: float, attributes: AttributeTable, candidates: list[str]) -> NearestBasin:
    """The nearest CAMELS gauge among ``candidates`` (great-circle distance to the gauge point)."""
    rows = [attributes.index(g) for g in candidates]
    idx, km = nearest_location(attributes.numeric["gauge_lat"][rows], attributes.numeric["gauge_lon"][rows],
                               np.array([lat]), np.array([lon]))
    return NearestBasin(candidates[int(idx[0])], float(km[0]))
