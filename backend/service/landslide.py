"""Worker method ``hazard_map``: a covariate raster -> susceptibility GeoTIFF (for the QGIS plugin)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.model.loading import get_base_model
from backend.service.requests import HazardMapParams, optional_path
from backend.tasks.landslide.hazard import write_hazard_map
from backend.tasks.landslide.model import load_landslide_model


def hazard_request(params: HazardMapParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Worker method ``hazard_map``: write the susceptibility GeoTIFF of a covariate raster.

    ``adapter`` defaults to the bundled landslide adapter and ``model`` to the bundled base model.
    Result: out_tif, breaks (6 class edges), classes, n_valid, n_cells, crs, seconds.
    """
    for key in ("raster", "out_tif"):
        if not getattr(params, key):
            raise ValueError(f"hazard_map needs the parameter {key!r}")
    report(0.0, "loading the landslide model")
    model = load_landslide_model(optional_path(params.adapter), lambda: get_base_model(optional_path(params.model)))
    result = write_hazard_map(Path(params.raster), Path(params.out_tif), model)
    report(1.0, f"wrote {result.out_tif} ({result.n_valid:,} cells)")
    return result.to_dict()
