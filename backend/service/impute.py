"""Worker method ``impute_attributes``: the base model fills in the attributes a location lacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.model.imputation import impute_attributes
from backend.model.loading import get_base_model
from backend.service.requests import ImputeAttributesParams, optional_path


def impute_request(params: ImputeAttributesParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Worker method ``impute_attributes``: the given attributes kept, the missing ones reconstructed."""
    base = get_base_model(optional_path(params.model))
    attributes = dict(params.attributes)
    numeric = {k: float(v) for k, v in attributes.items() if k in base.normalizer.static_names and v is not None}
    categorical = {k: str(v) for k, v in attributes.items() if k in base.normalizer.vocabularies and v}
    ignored = sorted(set(attributes) - set(numeric) - set(categorical))
    report(0.5, "reconstructing missing attributes")
    result = impute_attributes(base, (params.lat, params.lon), numeric, categorical)
    return {"attributes": result.values, "imputed": result.imputed, "given": result.given, "ignored": ignored}
