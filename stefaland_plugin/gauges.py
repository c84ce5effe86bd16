"""Gauge ids on features: ``gauge_id`` (8-digit string) or ``hru_id`` (integer, official CAMELS outlines)."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsFields, QgsVectorLayer

GAUGE_FIELDS = ("gauge_id", "hru_id")


def normalize_gauge_id(value: Any) -> str | None:
    """An 8-digit gauge id from a field value (``1013500`` -> ``"01013500"``); None if not one."""
    if value is None:
        return None
    if hasattr(value, "isNull") and value.isNull():  # QVariant NULL
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if not text.isdigit() or len(text) > 8:
        return None
    return text.zfill(8)


def gauge_field(fields: QgsFields | QgsVectorLayer) -> str | None:
    """Name of the field holding the gauge id (``gauge_id`` preferred, then ``hru_id``), or None.

    ``fields`` is a QgsFields (or a layer, whose fields are used).
    """
    if hasattr(fields, "fields") and callable(fields.fields):
        fields = fields.fields()
    names = {field.name().lower(): field.name() for field in fields}
    for wanted in GAUGE_FIELDS:
        if wanted in names:
            return names[wanted]
    return None
