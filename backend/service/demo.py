"""The CAMELS demo layers: the 671 gauges as a GeoJSON point layer, plus the 63 western basin outlines."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.core.atomic_io import write_text_atomic
from backend.core.paths import PROJECT_ROOT, data_root
from backend.data.camels import load_attributes
from backend.data.catalogue import BasinCatalogue
from backend.service.requests import DemoLayersParams, optional_path

GAUGES_FILE = "camels_gauges.geojson"
BASINS_LAYER = "bagis_camels_basins"


def basins_gpkg(root: Path | None = None) -> Path:
    """The outlines of 63 western CAMELS basins shipped with the data (``basins/...gpkg``)."""
    return (root or data_root()) / "basins" / "camels_west_63_basins.gpkg"


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def gauges_geojson(root: Path | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) of every CAMELS gauge in ``camels_topo.txt``.

    Fields: gauge_id (8-digit string), gauge_name, huc_02, area_km2 (``area_gages2``), elev_mean (m),
    has_streamflow (observed streamflow in Caravan or the CAMELS USGS files).
    """
    catalogue = BasinCatalogue.open(root)
    table = load_attributes(catalogue.root, groups=("topo", "name"))
    observed = set(catalogue.caravan_files) | set(catalogue.usgs_files)
    names = table.categorical.get("gauge_name", [None] * len(table.gauge_ids))
    hucs = table.categorical.get("huc_02", [None] * len(table.gauge_ids))
    features = []
    for i, gauge_id in enumerate(table.gauge_ids):
        lat, lon = table.numeric["gauge_lat"][i], table.numeric["gauge_lon"][i]
        if math.isnan(lat) or math.isnan(lon):
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(lon), 6), round(float(lat), 6)]},
            "properties": {
                "gauge_id": gauge_id,
                "gauge_name": names[i],
                "huc_02": hucs[i],
                "area_km2": _number(table.numeric["area_gages2"][i]),
                "elev_mean": _number(table.numeric["elev_mean"][i]),
                "has_streamflow": gauge_id in observed,
            },
        })
    return {"type": "FeatureCollection", "name": "camels_gauges", "features": features}


def demo_layers(params: DemoLayersParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Worker method ``demo_layers``: write the gauges GeoJSON into ``params.out_dir``.

    Params:
        out_dir: folder for ``camels_gauges.geojson`` (default ``<project>/out/demo``).
        root: data root (default ``$STEFALAND_DATA`` or ``<project>/data``).

    Returns:
        gauges (path), n_gauges, n_with_streamflow, basins (gpkg path or None when absent),
        basins_layer (layer name in the GeoPackage), missing (what was not found).
    """
    root = optional_path(params.root)
    out_dir = Path(params.out_dir or PROJECT_ROOT / "out" / "demo")
    report(0.1, "reading CAMELS gauges")
    collection = gauges_geojson(root)
    report(0.7, f"writing {len(collection['features'])} gauges")
    gauges = write_text_atomic(out_dir / GAUGES_FILE, json.dumps(collection, ensure_ascii=False))
    gpkg = basins_gpkg(root)
    report(1.0, "done")
    return {
        "gauges": str(gauges),
        "n_gauges": len(collection["features"]),
        "n_with_streamflow": sum(f["properties"]["has_streamflow"] for f in collection["features"]),
        "basins": str(gpkg) if gpkg.is_file() else None,
        "basins_layer": BASINS_LAYER,
        "missing": [] if gpkg.is_file() else [f"{gpkg} (basin outlines)"],
    }
