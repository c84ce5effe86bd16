"""A catchment polygon from a GeoJSON file: its centroid, its area and the properties it carries."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import shape
from shapely.ops import transform

EARTH_RADIUS_KM = 6371.0088
WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "CRS84"}


@dataclass
class PolygonLocation:
    """What a prediction needs from a polygon (degrees WGS84, km²)."""

    name: str
    lat: float
    lon: float
    area_km2: float
    properties: dict[str, Any] = field(default_factory=dict)


def read_polygon(path: Path) -> PolygonLocation:
    """The single (Multi)Polygon of a GeoJSON file (a Feature, a one-feature FeatureCollection or a geometry).

    Raises:
        ValueError: naming the file, when it is not GeoJSON, is not in WGS84 longitude/latitude, or holds no
            polygon or more than one feature.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable GeoJSON file ({exc})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a GeoJSON object was expected")
    crs = ((document.get("crs") or {}).get("properties") or {}).get("name")
    if crs and crs not in WGS84_NAMES:
        raise ValueError(f"{path}: coordinates are in {crs}; GeoJSON must be WGS84 longitude/latitude (reproject it)")
    feature = _single_feature(document, path)
    geometry = feature.get("geometry") or {}
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"{path}: the feature's geometry is {geometry.get('type')!r}, not a Polygon or MultiPolygon")
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path}: the polygon's coordinates are malformed ({exc})") from None
    if polygon.is_empty:
        raise ValueError(f"{path}: the polygon is empty")
    centroid = polygon.centroid
    lon, lat = centroid.x, centroid.y
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{path}: centroid {lat:.3f}, {lon:.3f} is not a WGS84 latitude/longitude")
    properties = dict(feature.get("properties") or {})
    name = str(properties.get("name") or properties.get("id") or path.stem)
    return PolygonLocation(name, float(lat), float(lon), equal_area_km2(polygon), properties)


def _single_feature(document: dict[str, Any], path: Path) -> dict[str, Any]:
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features") or []
        if len(features) != 1:
            raise ValueError(f"{path}: {len(features)} features; give one catchment polygon per file")
        return features[0]
    if kind == "Feature":
        return document
    return {"geometry": document, "properties": {}}


def equal_area_km2(polygon: Any) -> float:
    """Area of a lon/lat polygon in km² on a sphere (the sinusoidal projection is equal-area)."""
    scale = math.pi / 180 * EARTH_RADIUS_KM

    def project(x: Any, y: Any) -> tuple[Any, Any]:
        return np.asarray(x) * scale * np.cos(np.radians(np.asarray(y))), np.asarray(y) * scale

    return float(transform(project, polygon).area)
