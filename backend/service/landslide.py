"""Worker method ``hazard_map``: a covariate raster -> susceptibility GeoTIFF (for the QGIS plugin)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backend.model.loading import get_base_model
from backend.tasks.landslide.hazard import write_hazard_map
from backend.tasks.landslide.model import load_landslide_model


def hazard_request(params: dict, report: Callable[[float, str], None]) -> dict:
    """Params: ``raster`` (covariate GeoTIFF), ``out_tif``, optional ``adapter`` (default: the bundled
    landslide adapter) and ``model`` (base model file). Result: out_tif, breaks (6 class edges), classes,
    n_valid, n_cells, crs, seconds.
    """
    for key in ("raster", "out_tif"):
        if not params.get(key):
            raise ValueError(f"hazard_map needs the parameter {key!r}")
    base_path = Path(params["model"]) if params.get("model") else None
    report(0.0, "loading the landslide model")
    model = load_landslide_model(Path(params["adapter"]) if params.get("adapter") else None,
                                 lambda: get_base_model(base_path))
    result = write_hazard_map(Path(params["raster"]), Path(params["out_tif"]), model)
    report(1.0, f"wrote {result.out_tif} ({result.n_valid:,} cells)")
    return result.to_dict()
