"""Soil composition (static attributes at a location) and soil moisture (daily, at ISMN-like probes)."""
