"""Unit conversion of discharge to basin-normalised runoff (mm/day)."""

from __future__ import annotations

import numpy as np

SECONDS_PER_DAY = 86400.0
CUBIC_METRES_PER_CUBIC_FOOT = 0.0283168


def _m3s_factor(area_km2: float) -> float:
    # m³/s over the basin -> mm/day: × 86400 s/day / (area m²) × 1000 mm/m
    return SECONDS_PER_DAY / (area_km2 * 1e6) * 1000.0


#: unit name -> factor to mm/day, given the basin area in km² (aliases included)
_FLOW_UNITS = {
    "mm/day": lambda area: 1.0,
    "mm/d": lambda area: 1.0,
    "m3/s": _m3s_factor,
    "m^3/s": _m3s_factor,
    "cms": _m3s_factor,
    "ft3/s": lambda area: CUBIC_METRES_PER_CUBIC_FOOT * _m3s_factor(area),
    "cfs": lambda area: CUBIC_METRES_PER_CUBIC_FOOT * _m3s_factor(area),
}

FLOW_UNITS: tuple[str, ...] = tuple(_FLOW_UNITS)


def to_mm_per_day(values: np.ndarray | float, unit: str, area_km2: float) -> np.ndarray:
    """Convert discharge in ``unit`` (m3/s, ft3/s or mm/day) to mm/day over a basin of ``area_km2``."""
    key = unit.strip().lower().replace("³", "3")
    if key not in _FLOW_UNITS:
        raise ValueError(f"unknown flow unit {unit!r}; use one of m3/s, ft3/s, mm/day")
    if not area_km2 > 0:
        raise ValueError(f"basin area must be positive to convert {unit} to mm/day, got {area_km2}")
    return np.asarray(values, dtype=np.float64) * _FLOW_UNITS[key](area_km2)
