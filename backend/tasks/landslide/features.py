"""Frozen-encoder features of static-only locations (landslide points and raster cells).

A landslide point or a raster cell has terrain covariates and no forcings. The base model sees it as a
location with every forcing token masked, its location token (lat/lon in WGS84) and the CAMELS attributes
that match a covariate (:data:`VOCABULARY_COVARIATES`: elevation -> ``elev_mean``, slope -> ``slope_mean``);
every other CAMELS attribute is unknown, hence masked. Covariates the vocabulary lacks (curvatures,
catchment area, distances) reach the model only through the task adapter.

Two ways to get the encoder's location vector:

* :func:`encode_static` runs the encoder on every location (exact; about 2-4 ms per location on 2 CPU
  cores, which is what training points use).
* :class:`EncoderLattice` runs it once on a regular lattice of the matched covariates (8 elevations x 32
  slopes spanning a raster's range, at the raster centre's lat/lon) and interpolates
  multilinearly per cell. A raster spans a few km, so with one lat/lon for the whole raster the encoder's
  output is a smooth function of (elevation, slope) alone; the lattice makes a 159k-cell map take a few
  hundred encoder passes instead of 159k. ``tests/backend/tasks/landslide/test_landslide_task.py`` checks on
  the 350 Ecuador points that lattice features give the same probabilities as exact encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from osgeo import osr

from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.inputs import LocationData, make_batch

#: Largest slope (degrees) converted to a gradient; tan(90°) is infinite.
MAX_SLOPE_DEGREES = 89.0


def _metres(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def degrees_to_m_per_km(values: np.ndarray) -> np.ndarray:
    """Slope in degrees -> gradient in m/km (the unit of CAMELS ``slope_mean``): tan(deg) * 1000."""
    degrees = np.clip(np.asarray(values, dtype=np.float64), 0.0, MAX_SLOPE_DEGREES)
    return np.tan(np.radians(degrees)) * 1000.0


@dataclass(frozen=True)
class VocabularyMatch:
    """How covariates map onto one CAMELS attribute.

    Attributes:
        aliases: the covariate names accepted (first found wins).
        to_camels: conversion from the covariate's unit to the CAMELS unit.
    """

    aliases: tuple[str, ...]
    to_camels: Callable[[np.ndarray], np.ndarray]


#: CAMELS attribute -> the covariates that carry it (terrain covariates of the landslide data sets).
VOCABULARY_COVARIATES: dict[str, VocabularyMatch] = {
    "elev_mean": VocabularyMatch(("elev", "dem", "elevation"), _metres),
    "slope_mean": VocabularyMatch(("slope",), degrees_to_m_per_km),
}


def match_vocabulary(covariates: Sequence[str]) -> dict[str, str]:
    """CAMELS attribute -> the covariate name that provides it (only attributes that have one)."""
    found: dict[str, str] = {}
    for attribute, match in VOCABULARY_COVARIATES.items():
        name = next((a for a in match.aliases if a in covariates), None)
        if name is not None:
            found[attribute] = name
    return found


def to_latlon(x: np.ndarray, y: np.ndarray, crs: str) -> np.ndarray:
    """(n, 2) latitude, longitude in degrees (WGS84) of map coordinates in ``crs`` (``EPSG:..`` or WKT)."""
    source = osr.SpatialReference()
    if source.SetFromUserInput(crs) != 0:
        raise ValueError(f"unknown coordinate reference system {crs!r}")
    target = osr.SpatialReference()
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)  # x = easting/longitude first
    transform = osr.CoordinateTransformation(source, target)
    xy = np.stack([np.atleast_1d(x), np.atleast_1d(y)], axis=1).astype(np.float64)
    lonlat = np.asarray(transform.TransformPoints(xy), dtype=np.float64)[:, :2]
    return lonlat[:, ::-1].copy()


@torch.no_grad()
def encode_static(base: BaseModel, attributes: dict[str, np.ndarray], latlon: np.ndarray,
                  chunk: int = 256) -> np.ndarray:
    """The encoder's location vector (n, d) of static-only locations, in batches.

    The same vector as :func:`backend.model.imputation.location_embeddings` for locations without forcings
    (all forcing tokens masked), computed for many locations per encoder call.

    Args:
        base: the pretrained base model whose normaliser and encoder are used.
        attributes: CAMELS attribute -> raw values in CAMELS units (n,); NaN = unknown (masked).
        latlon: (n, 2) or (2,) degrees; one pair is used for every location.
        chunk: locations per encoder call.
    """
    norm = base.normalizer
    n = len(next(iter(attributes.values()))) if attributes else len(np.atleast_2d(latlon))
    unknown = [a for a in attributes if a not in norm.static_names]
    if unknown:
        raise KeyError(f"base model has no attribute(s) {', '.join(unknown)}")
    raw = np.full((n, len(norm.static_names)), np.nan)
    for name, values in attributes.items():
        raw[:, norm.static_names.index(name)] = values
    statics, observed = norm.statics_from_raw(raw)
    coords = np.broadcast_to(np.asarray(latlon, dtype=np.float32).reshape(-1, 2), (n, 2)).copy()
    data = LocationData([""] * n, statics, observed, np.zeros((n, len(norm.vocabularies)), np.int64), coords)
    cfg = base.config
    out = []
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        batch = make_batch(data, rows, None, cfg.patch_days, cfg.window_patches)
        out.append(base.model.encode(batch, Visibility.everything_observed(batch)).location_vector().numpy())
    return np.concatenate(out) if out else np.zeros((0, cfg.d_model), np.float32)


def camels_attributes(vocabulary: dict[str, str], covariates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """CAMELS attribute -> values converted to CAMELS units, from covariate columns by name."""
    return {attr: VOCABULARY_COVARIATES[attr].to_camels(covariates[name]) for attr, name in vocabulary.items()}


#: Lattice nodes per axis (CAMELS attribute -> count). Chosen on the 350 Ecuador points (exact vs lattice
#: probabilities of a trained adapter): the encoder's output bends with slope (strongly below ~15°, the
#: CAMELS range) and less with elevation; 8 x 32 = 256 nodes gave a mean absolute difference of 0.002
#: (max 0.02), where 16 x 16 gave 0.004 (max 0.05) and 4 x 48 0.005 (max 0.06).
LATTICE_NODES: dict[str, int] = {"elev_mean": 8, "slope_mean": 32}
#: nodes for an attribute not in LATTICE_NODES
DEFAULT_NODES = 16


@dataclass
class EncoderLattice:
    """Encoder location vectors on a regular lattice of the matched covariates, interpolated per location.

    Attributes:
        vocabulary: CAMELS attribute -> covariate name, one lattice axis each (in this order).
        axes: the evenly spaced node values of each axis, in the covariate's own unit (metres, degrees).
        vectors: float32 (len(axes[0]), len(axes[1]), ..., d).
        latlon: the one location (degrees) every node was encoded at.
    """

    vocabulary: dict[str, str]
    axes: list[np.ndarray]
    vectors: np.ndarray
    latlon: tuple[float, float]

    @classmethod
    def build(cls, base: BaseModel, vocabulary: dict[str, str], ranges: dict[str, tuple[float, float]],
              latlon: tuple[float, float], nodes: dict[str, int] | None = None) -> EncoderLattice:
        """Encode every lattice node over ``ranges`` at ``latlon``.

        ``ranges`` maps covariate name -> (min, max) in the covariate's unit; ``nodes`` (CAMELS attribute ->
        count, default :data:`LATTICE_NODES`) sets the lattice size.
        """
        nodes = {**LATTICE_NODES, **(nodes or {})}
        axes = []
        for attribute, name in vocabulary.items():
            low, high = ranges[name]
            count = nodes.get(attribute, DEFAULT_NODES)
            if count < 2:
                raise ValueError(f"lattice axis {attribute} needs at least 2 nodes, got {count}")
            axes.append(np.linspace(low, high, count) if high > low else np.array([low], dtype=np.float64))
        grids = np.meshgrid(*axes, indexing="ij")
        columns = {name: g.ravel() for name, g in zip(vocabulary.values(), grids, strict=True)}
        vectors = encode_static(base, camels_attributes(vocabulary, columns), np.array([latlon]))
        shape = tuple(len(a) for a in axes) + (vectors.shape[-1],)
        return cls(dict(vocabulary), axes, vectors.reshape(shape).astype(np.float32), tuple(latlon))

    @property
    def points(self) -> int:
        """How many lattice nodes there are."""
        return int(np.prod(self.vectors.shape[:-1]))

    def interpolate(self, covariates: dict[str, np.ndarray]) -> np.ndarray:
        """Multilinear interpolation (n, d) of the lattice vectors at the locations' covariates.

        Values outside the lattice are clamped to its edge.
        """
        names = list(self.vocabulary.values())
        if not names:
            n = len(next(iter(covariates.values())))
            return np.broadcast_to(self.vectors, (n, self.vectors.shape[-1])).copy()
        lower, weight = [], []
        for axis, name in zip(self.axes, names, strict=True):
            values = np.asarray(covariates[name], dtype=np.float64)
            if len(axis) == 1:
                lower.append(np.zeros(values.shape, np.int64))
                weight.append(np.zeros(values.shape, np.float32))
                continue
            index = np.clip(np.searchsorted(axis, values, side="right") - 1, 0, len(axis) - 2)
            fraction = (values - axis[index]) / (axis[index + 1] - axis[index])
            lower.append(index)
            weight.append(np.clip(fraction, 0.0, 1.0).astype(np.float32))
        out = np.zeros((lower[0].size, self.vectors.shape[-1]), np.float32)
        for corner in np.ndindex(*(2,) * len(names)):
            w = np.ones(lower[0].size, np.float32)
            index = []
            for k, bit in enumerate(corner):
                index.append(lower[k] + min(bit, len(self.axes[k]) - 1))
                w *= weight[k] if bit else 1.0 - weight[k]
            out += w[:, None] * self.vectors[tuple(index)]
        return out
