"""Worker method ``soil_composition``: sand/silt/clay % at points with the bundled soil-composition adapter.

Each point borrows the Daymet forcings of its nearest CAMELS basin (its gauge point; the answer says which
basin and how far). Attributes the user gives (non-soil groups) are used as they are; the other non-soil
attributes are imputed by the base model from location, forcings and the given ones, and listed as
imputed. Soil-group attributes are never inputs (the task predicts them) and are reported as ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.core.paths import MODELS_DIR
from backend.data.basin_arrays import BasinArrays, load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.nearest_basin import nearest_basin
from backend.data.variables import STATIC_BY_NAME
from backend.model.checkpoint import BaseModel
from backend.model.imputation import impute_attributes, location_from_values
from backend.model.loading import get_base_model
from backend.model.locations import split_attributes
from backend.service.requests import SoilCompositionParams, optional_path
from backend.tasks.soil.composition import (
    COMPONENTS,
    HIDDEN_GROUP,
    SoilCompositionHead,
    load_head,
    predict_composition,
    soil_features,
)

ADAPTER_PATH = MODELS_DIR / "soil_composition_adapter.pt"
#: Beyond this distance the borrowed forcings describe another climate: the row carries a warning.
FAR_KM = 150.0


def predict_point(base: BaseModel, head: SoilCompositionHead, point: dict[str, Any], catalogue: BasinCatalogue,
                  arrays: BasinArrays) -> dict[str, Any]:
    """One output row: the composition, the borrowed basin, and which inputs were given/imputed/ignored."""
    lat, lon = float(point["lat"]), float(point["lon"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"point {point.get('id')}: lat/lon {lat}, {lon} out of range")
    numeric, categorical, ignored = split_attributes(
        base, dict(point.get("attributes") or {}),
        refused_groups={HIDDEN_GROUP: "soil group: predicted, never an input"})
    basin = nearest_basin(lat, lon, catalogue.attributes, list(arrays.gauge_ids))
    forcings = arrays.forcings[arrays.index(basin.gauge_id)]
    filled = impute_attributes(base, (lat, lon), numeric, categorical, forcings, arrays.dates)
    inputs = [n for n in filled.values if STATIC_BY_NAME[n].group != HIDDEN_GROUP]
    num_in = {n: float(filled.values[n]) for n in inputs if n in base.normalizer.static_names}
    cat_in = {n: str(filled.values[n]) for n in inputs if n in base.normalizer.vocabularies}
    data = location_from_values(base, (lat, lon), num_in, cat_in, forcings, arrays.dates)
    percent = predict_composition(head, soil_features(base, data, label=f"point {point.get('id')}"))[0]
    row: dict[str, Any] = {"id": point.get("id"), "lat": lat, "lon": lon}
    row.update({f"{c.replace('_frac', '')}_pct": round(float(v), 3) for c, v in zip(COMPONENTS, percent,
                                                                                       strict=True)})
    row.update({"forcing_basin": basin.gauge_id, "forcing_basin_km": round(basin.distance_km, 1),
                "given": sorted(set(numeric) | set(categorical)),
                "imputed": sorted(n for n in filled.imputed if n in inputs), "ignored": ignored})
    if basin.distance_km > FAR_KM:
        row["warning"] = (f"nearest CAMELS basin {basin.gauge_id} is {basin.distance_km:.0f} km away: its Daymet "
                          "forcings may not describe this point's climate")
    return row


def soil_request(params: SoilCompositionParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Worker method ``soil_composition``: sand/silt/clay at points [{id, lat, lon, attributes}]."""
    points = list(params.points)
    if not points:
        raise ValueError("no points given")
    base = get_base_model(optional_path(params.model))
    adapter = Path(params.adapter or ADAPTER_PATH)
    head, meta = load_head(adapter, base)
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    rows = []
    for i, point in enumerate(points):
        report(i / len(points), f"soil composition {i + 1}/{len(points)}")
        rows.append(predict_point(base, head, point, catalogue, arrays))
    report(1.0, "done")
    return {"rows": rows, "unit": "%", "adapter": str(adapter),
            "note": "sand, silt and clay of the mineral fine earth, summing to 100 %"}
