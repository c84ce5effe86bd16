"""The methods the StefaLand worker answers: name -> ``"module:function"``, imported only when called.

Every target has the signature ``fn(params: dict, report: Callable[[float, str], None]) -> dict``.
A target whose module or function does not exist (yet) is answered with a clear "not available"
error by :mod:`backend.service.worker`; nothing here is ever faked.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

Report = Callable[[float, str], None]
Method = Callable[[dict[str, Any], Report], dict[str, Any]]

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


class MethodNotAvailableError(LookupError):
    """The method is registered, but its module or function does not exist in this backend version."""


def _module_is_missing(exc: ModuleNotFoundError, module: str) -> bool:
    """True if ``exc`` says ``module`` itself (or one of its parent packages) does not exist.

    A module that exists but fails to import one of *its* dependencies is a real error, not "missing".
    """
    missing = exc.name or ""
    return module == missing or module.startswith(missing + ".")


def resolve(name: str) -> Method:
    """The function behind method ``name``.

    Raises:
        UnknownMethodError: ``name`` is not registered.
        MethodNotAvailableError: the registered module or function does not exist (yet).
    """
    try:
        target = METHODS[name]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise UnknownMethodError(f"unknown method {name!r} (known methods: {known})") from None
    module_name, _, func_name = target.partition(":")
    not_available = MethodNotAvailableError(f"method {name} is not available in this backend version "
                                            f"({target} does not exist)")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _module_is_missing(exc, module_name):
            raise not_available from None
        raise
    func = getattr(module, func_name, None)
    if not callable(func):
        raise not_available
    return func


def installed() -> dict[str, bool]:
    """Which registered methods have their module installed (found without importing it).

    A cheap check for diagnostics: calling the method is the only way to be sure its function exists.
    """
    out: dict[str, bool] = {}
    for name, target in METHODS.items():
        module_name = target.partition(":")[0]
        try:
            out[name] = importlib.util.find_spec(module_name) is not None
        except ModuleNotFoundError:  # a parent package is missing
            out[name] = False
    return out
