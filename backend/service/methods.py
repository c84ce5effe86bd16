"""The methods the StefaLand worker answers: name -> ``"module:function"``, imported only when called.

Every target has the signature ``fn(params, report: Callable[[float, str], None]) -> dict``, where
``params`` is the method's typed parameters (:data:`backend.service.requests.PARAMS`). Every registered
target exists (a test resolves them all); a target that fails to import is a real error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Report = Callable[[float, str], None]
Method = Callable[[Any, Report], dict[str, Any]]

METHODS: dict[str, str] = {
    # provided by the worker itself
    "ping": "backend.service.worker:ping",
    "data_summary": "backend.service.worker:data_summary",
    "attribute_names": "backend.service.worker:attribute_names",
    "example_gauges": "backend.service.worker:example_gauges",
    "demo_layers": "backend.service.demo:demo_layers",
    # provided by the backend tasks
    "predict_streamflow": "backend.service.streamflow:predict_request",
    "finetune_streamflow": "backend.service.streamflow:finetune_request",
    "validate_gauges": "backend.service.streamflow:validate_request",
    "predict_location": "backend.service.streamflow:predict_location_request",
    "hazard_map": "backend.service.landslide:hazard_request",
    "soil_composition": "backend.service.soil:soil_request",
    "soil_moisture": "backend.service.soil_moisture:soil_moisture_request",
    "impute_attributes": "backend.service.impute:impute_request",
}


class UnknownMethodError(LookupError):
    """The request names a method that is not in :data:`METHODS`."""


def resolve(name: str) -> Method:
    """The function behind method ``name`` (its module is imported on first use).

    Raises:
        UnknownMethodError: ``name`` is not registered.
        ImportError, AttributeError: the registered target cannot be loaded (a broken installation).
    """
    try:
        target = METHODS[name]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise UnknownMethodError(f"unknown method {name!r} (known methods: {known})") from None
    module_name, _, func_name = target.partition(":")
    return getattr(importlib.import_module(module_name), func_name)
