"""Worker method ``impute_attributes``: the base model fills in the attributes a location lacks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backend.model.imputation import impute_attributes
from backend.model.loading import get_base_model


def impute_request(params: dict, report: Callable[[float, str], None]) -> dict:
    """Worker method ``impute_attributes``: params lat, lon, attributes {name: value}."""
    base = get_base_model(Path(params["model"]) if params.get("model") else None)
    attributes = dict(params.get("attributes") or {})
    numeric = {k: float(v) for k, v in attributes.items() if k in base.normalizer.static_names and v is not None}
    categorical = {k: str(v) for k, v in attributes.items() if k in base.normalizer.vocabularies and v}
    ignored = sorted(set(attributes) - set(numeric) - set(categorical))
    report(0.5, "reconstructing missing attributes")
    result = impute_attributes(base, (float(params["lat"]), float(params["lon"])), numeric, categorical)
    return {"attributes": result.values, "imputed": result.imputed, "given": result.given, "ignored": ignored}
