"""Worker requests, one builder per worker method: the only place the plugin spells a method's parameters.

The backend parses every request with its typed schema (``backend/service/requests.py``) and refuses
unknown, missing or mistyped fields by name; ``tests/stefaland_plugin/test_worker_requests.py`` checks every builder
here against that schema. Optional text fields (paths, ids) are left out when empty, so the backend's
default applies (for ``adapter`` and ``model``: the bundled model). No torch, no backend import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Request:
    """One worker request: the method's name and its JSON parameters."""

    method: str
    params: dict[str, Any]


def _given(**optional: Any) -> dict[str, Any]:
    """The optional fields that are set (not ``""``, ``None`` or an empty container)."""
    return {key: value for key, value in optional.items() if value not in ("", None, {}, [])}


def ping(delay_s: float = 0.0, echo: Any = None) -> Request:
    """Is the worker alive (versions, paths, methods); ``delay_s`` > 0 answers after that many seconds."""
    return Request("ping", _given(delay_s=float(delay_s) if delay_s else None, echo=echo))


def data_summary(root: str = "") -> Request:
    """What the data root holds (default: the backend's data root)."""
    return Request("data_summary", _given(root=root))


def attribute_names(model: str = "") -> Request:
    """The static attributes the base model takes, to match layer fields to them."""
    return Request("attribute_names", _given(model=model))


def example_gauges(out_dir: str, n: int = 10, overwrite: bool = False) -> Request:
    """Write (or reuse) the example user dataset of ``n`` real basins in ``out_dir``."""
    return Request("example_gauges", {"out_dir": str(out_dir), "n": int(n), "overwrite": bool(overwrite)})


def demo_layers(out_dir: str = "", root: str = "") -> Request:
    """The CAMELS demo layers: the gauges GeoJSON written into ``out_dir``, the basin outlines' file."""
    return Request("demo_layers", _given(out_dir=str(out_dir) if out_dir else "", root=root))


def predict_streamflow(gauge_id: str, start: str, end: str, out_csv: str, adapter: str = "", model: str = "",
                       gauges_csv: str = "", streamflow_csv: str = "", forcings_dir: str = "") -> Request:
    """Daily flow of one gauge for ``start``..``end`` (ISO dates) into ``out_csv``.

    A CAMELS basin by default; with ``gauges_csv`` and ``forcings_dir`` a gauge of the user's own dataset.
    """
    params = {"gauge_id": str(gauge_id), "start": start, "end": end, "out_csv": str(out_csv)}
    params.update(_given(adapter=adapter, model=model, gauges_csv=gauges_csv, streamflow_csv=streamflow_csv,
                         forcings_dir=forcings_dir))
    return Request("predict_streamflow", params)


def predict_location(lat: float, lon: float, start: str, end: str, out_csv: str,
                     attributes: dict[str, Any] | None = None, forcings_csv: str = "", location_id: str = "",
                     adapter: str = "", model: str = "") -> Request:
    """Daily flow at any point (WGS84 degrees) with the attributes it has (the rest imputed)."""
    params: dict[str, Any] = {"lat": float(lat), "lon": float(lon), "start": start, "end": end,
                              "out_csv": str(out_csv)}
    if attributes is not None:
        params["attributes"] = dict(attributes)
    params.update(_given(forcings_csv=forcings_csv, id=location_id, adapter=adapter, model=model))
    return Request("predict_location", params)


def validate_gauges(gauges_csv: str, forcings_dir: str, streamflow_csv: str = "", model: str = "") -> Request:
    """Every problem of a user dataset (gauges CSV, forcings folder, observed flows)."""
    params = {"gauges_csv": str(gauges_csv), "forcings_dir": str(forcings_dir)}
    params.update(_given(streamflow_csv=streamflow_csv, model=model))
    return Request("validate_gauges", params)


def finetune_streamflow(gauges_csv: str, streamflow_csv: str, forcings_dir: str, out_dir: str, adapter: str = "",
                        model: str = "", steps: int = 0, overwrite: bool = False) -> Request:
    """Fine-tune the streamflow adapter on the user's gauges into ``out_dir`` (``adapter``: start from it)."""
    params: dict[str, Any] = {"gauges_csv": str(gauges_csv), "streamflow_csv": str(streamflow_csv),
                              "forcings_dir": str(forcings_dir), "out_dir": str(out_dir)}
    params.update(_given(adapter=adapter, model=model, steps=int(steps) if steps else None))
    if overwrite:
        params["overwrite"] = True
    return Request("finetune_streamflow", params)


def hazard_map(raster: str, out_tif: str, adapter: str = "", model: str = "") -> Request:
    """Landslide susceptibility GeoTIFF ``out_tif`` of the covariate raster ``raster``."""
    return Request("hazard_map", {"raster": str(raster), "out_tif": str(out_tif), **_given(adapter=adapter,
                                                                                            model=model)})


def soil_composition(points: list[dict[str, Any]], adapter: str = "", model: str = "") -> Request:
    """Sand/silt/clay at points ``[{"id", "lat", "lon", "attributes"?}]``."""
    return Request("soil_composition", {"points": list(points), **_given(adapter=adapter, model=model)})


def soil_moisture(points: list[dict[str, Any]], start: str, end: str, out_csv: str, adapter: str = "",
                  model: str = "") -> Request:
    """Daily soil moisture at points ``[{"id", "lat", "lon"}]`` for ``start``..``end`` into one CSV."""
    params = {"points": list(points), "start": start, "end": end, "out_csv": str(out_csv)}
    return Request("soil_moisture", {**params, **_given(adapter=adapter, model=model)})


def impute_attributes(lat: float, lon: float, attributes: dict[str, Any] | None = None,
                      model: str = "") -> Request:
    """The base model's reconstruction of the attributes a location at (lat, lon) lacks."""
    params: dict[str, Any] = {"lat": float(lat), "lon": float(lon), "attributes": dict(attributes or {})}
    return Request("impute_attributes", {**params, **_given(model=model)})


#: worker method -> its builder (one per method the backend registers)
BUILDERS: dict[str, Callable[..., Request]] = {
    "ping": ping,
    "data_summary": data_summary,
    "attribute_names": attribute_names,
    "example_gauges": example_gauges,
    "demo_layers": demo_layers,
    "predict_streamflow": predict_streamflow,
    "predict_location": predict_location,
    "validate_gauges": validate_gauges,
    "finetune_streamflow": finetune_streamflow,
    "hazard_map": hazard_map,
    "soil_composition": soil_composition,
    "soil_moisture": soil_moisture,
    "impute_attributes": impute_attributes,
}
