"""Geodesy on the sphere: great-circle distances and nearest locations (pure numpy)."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (numpy broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return EARTH_RADIUS_KM * 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def nearest_location(lat_train: np.ndarray, lon_train: np.ndarray, lat_test: np.ndarray,
                     lon_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest training location (great circle) and its distance in km, per test location."""
    dist = haversine_km(np.asarray(lat_test)[:, None], np.asarray(lon_test)[:, None],
                        np.asarray(lat_train)[None, :], np.asarray(lon_train)[None, :])
    idx = dist.argmin(axis=1)
    return idx, dist[np.arange(len(idx)), idx]
