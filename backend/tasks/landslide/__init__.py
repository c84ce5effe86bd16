"""Landslide susceptibility: point features, the head, spatially blocked CV, training and hazard rasters."""
