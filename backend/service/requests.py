"""The worker's request schema: one typed dataclass of parameters per worker method.

The worker parses every request's ``params`` with :func:`parse_params` before calling the handler, so an
unknown field, a missing required field or a value of the wrong type is refused with the field's name, and
the handler reads typed attributes. Paths travel as strings; an empty string means "not given" (for
``adapter`` and ``model``: the bundled model). The plugin builds these requests in
``stefaland_plugin/worker_requests.py``, one builder per method, tested against this schema.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.errors import StefaLandError


class RequestError(StefaLandError, ValueError):
    """A request's parameters do not fit its method's schema (names the method and the field)."""


@dataclass(frozen=True)
class PingParams:
    """``ping``: is the worker alive; ``delay_s`` (at most 60 s) lets tests exercise cancelling."""

    delay_s: float = 0.0
    echo: Any = None


@dataclass(frozen=True)
class DataSummaryParams:
    """``data_summary``: what the data root holds (``root``: default ``$STEFALAND_DATA`` or ``data/``)."""

    root: str = ""


@dataclass(frozen=True)
class AttributeNamesParams:
    """``attribute_names``: the static attributes the base model knows (``model``: default the bundled one)."""

    model: str = ""


@dataclass(frozen=True)
class ExampleGaugesParams:
    """``example_gauges``: write the example user dataset of ``n`` real basins into ``out_dir``."""

    out_dir: str
    n: int = 10
    overwrite: bool = False


@dataclass(frozen=True)
class DemoLayersParams:
    """``demo_layers``: the CAMELS demo layers (gauges GeoJSON into ``out_dir``, basin outlines)."""

    out_dir: str = ""
    root: str = ""


@dataclass(frozen=True)
class PredictStreamflowParams:
    """``predict_streamflow``: daily flow of one gauge, ``start``..``end`` (ISO dates), written to ``out_csv``.

    A CAMELS basin by default; with ``gauges_csv`` and ``forcings_dir`` (and optionally ``streamflow_csv``) a
    gauge of the user's own dataset.
    """

    gauge_id: str
    start: str
    end: str
    out_csv: str
    adapter: str = ""
    model: str = ""
    overwrite: bool = True
    gauges_csv: str = ""
    streamflow_csv: str = ""
    forcings_dir: str = ""


@dataclass(frozen=True)
class PredictLocationParams:
    """``predict_location``: daily flow at any point (degrees WGS84), with the attributes it is given.

    ``attributes`` maps model attribute names (``area_km2`` accepted) to values; ``forcings_csv`` gives the
    forcings, else the nearest CAMELS basin's are borrowed and the answer says which.
    """

    lat: float
    lon: float
    start: str
    end: str
    out_csv: str
    attributes: dict[str, Any] = field(default_factory=dict)
    forcings_csv: str = ""
    id: str = ""
    adapter: str = ""
    model: str = ""
    overwrite: bool = True


@dataclass(frozen=True)
class ValidateGaugesParams:
    """``validate_gauges``: every problem of a user dataset (gauges CSV, forcings folder, optional flows)."""

    gauges_csv: str
    forcings_dir: str
    streamflow_csv: str = ""
    model: str = ""


@dataclass(frozen=True)
class FinetuneStreamflowParams:
    """``finetune_streamflow``: fine-tune the streamflow adapter on user gauges into ``out_dir``.

    ``steps`` 0 means the default budget; ``adapter`` is the adapter to start from (default: bundled).
    """

    gauges_csv: str
    streamflow_csv: str
    forcings_dir: str
    out_dir: str
    model: str = ""
    adapter: str = ""
    steps: int = 0
    overwrite: bool = False


@dataclass(frozen=True)
class HazardMapParams:
    """``hazard_map``: landslide susceptibility GeoTIFF ``out_tif`` from the covariate raster ``raster``."""

    raster: str
    out_tif: str
    adapter: str = ""
    model: str = ""


@dataclass(frozen=True)
class SoilCompositionParams:
    """``soil_composition``: sand/silt/clay at points, each ``{"id", "lat", "lon", "attributes"?}``."""

    points: list[dict[str, Any]]
    model: str = ""
    adapter: str = ""


@dataclass(frozen=True)
class SoilMoistureParams:
    """``soil_moisture``: daily soil moisture at points for ``start``..``end``, one CSV ``out_csv``."""

    points: list[dict[str, Any]]
    start: str
    end: str
    out_csv: str
    model: str = ""
    adapter: str = ""


@dataclass(frozen=True)
class ImputeAttributesParams:
    """``impute_attributes``: the base model fills in the attributes a location at (lat, lon) lacks."""

    lat: float
    lon: float
    attributes: dict[str, Any] = field(default_factory=dict)
    model: str = ""


#: worker method -> its parameter schema (every method of :data:`backend.service.methods.METHODS` has one)
PARAMS: dict[str, type] = {
    "ping": PingParams,
    "data_summary": DataSummaryParams,
    "attribute_names": AttributeNamesParams,
    "example_gauges": ExampleGaugesParams,
    "demo_layers": DemoLayersParams,
    "predict_streamflow": PredictStreamflowParams,
    "predict_location": PredictLocationParams,
    "validate_gauges": ValidateGaugesParams,
    "finetune_streamflow": FinetuneStreamflowParams,
    "hazard_map": HazardMapParams,
    "soil_composition": SoilCompositionParams,
    "soil_moisture": SoilMoistureParams,
    "impute_attributes": ImputeAttributesParams,
}


def optional_path(text: str) -> Path | None:
    """A path field's value as a Path, or None for the empty string ("not given")."""
    return Path(text) if text else None


def _accepts(kind: Any, value: Any) -> bool:
    """Whether ``value`` (decoded JSON) fits the annotation ``kind``; bools are not numbers here."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(k, value) for k in typing.get_args(kind))
    if kind is type(None):
        return value is None
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (dict, list):
        return isinstance(value, origin)
    return isinstance(value, kind)


def _type_name(kind: Any) -> str:
    """A readable name of an annotation for error messages."""
    origin = typing.get_origin(kind)
    if origin in (dict, list):
        return "an object" if origin is dict else "a list"
    return {str: "text", float: "a finite number", int: "a whole number", bool: "true/false"}.get(kind, str(kind))


def parse_params(method: str, params: dict[str, Any]) -> Any:
    """The typed parameters of a request to ``method``.

    Raises:
        RequestError: ``method`` has no schema, ``params`` is not an object, or a field is unknown, missing
            or of the wrong type (the message names the method and the field).
    """
    schema = PARAMS.get(method)
    if schema is None:
        raise RequestError(f"{method}: no parameter schema (known methods: {', '.join(sorted(PARAMS))})")
    if not isinstance(params, dict):
        raise RequestError(f"{method}: params must be an object, got {type(params).__name__}")
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise RequestError(f"{method}: unknown field(s) {', '.join(map(repr, unknown))} "
                           f"(known: {', '.join(fields)})")
    missing = [name for name, f in fields.items() if name not in params
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RequestError(f"{method}: missing required field(s) {', '.join(map(repr, missing))}")
    for name, value in params.items():
        if not _accepts(hints[name], value):
            raise RequestError(f"{method}: field {name!r} must be {_type_name(hints[name])}, "
                               f"got {type(value).__name__} {value!r:.60}")
    return schema(**params)
