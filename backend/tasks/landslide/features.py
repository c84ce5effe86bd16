"""Frozen-encoder features of static-only locations (landslide points and raster cells).

A landslide point or a raster cell has terrain covariates and no forcings. The base model sees it as a
location with every forcing token masked, its location token (lat/lon in WGS84) and the CAMELS attributes
that match a covariate (:data:`VOCABULARY_COVARIATES`: elevation -> ``elev_mean``, slope -> ``slope_mean``);
every other CAMELS attribute is unknown, hence masked. Covariates the vocabulary lacks (curvatures,
catchment area, distances) reach the model only through the task adapter.

Two ways to get the encoder's location vector:

* :func:`encode_static` runs the encoder on every location (exact; about 2-4 ms per location on 2 CPU
  cores, which is what training points use).
* :class:`EncoderGrid` runs it on fixed global nodes of (latitude, longitude, elevation, slope): every
  1/96 degree of lat/lon, every 400 m of elevation, every 4 degrees of slope (:data:`LATITUDE_AXIS`,
  :data:`COVARIATE_AXES`), only the nodes around the cells present, and interpolates multilinearly in all
  four dimensions per cell. The nodes do not depend on the raster, so a cell's vector (and probability)
  depends on its own location and covariates only, never on the raster's size or where its edges fall; a
  159k-cell map takes a few thousand encoder passes instead of 159k.
  ``tests/backend/tasks/landslide/test_landslide_task.py`` checks on the 350 Ecuador points that grid
  features give the same probabilities as exact encoding at the same locations.
"""

from __future__ import annotations

import itertools
import math
import time
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


@dataclass(frozen=True)
class NodeAxis:
    """A fixed, global set of interpolation nodes on one axis: ``origin + k * spacing`` for every integer k.

    The nodes never depend on the data being interpolated: a value always falls between the same two nodes.

    Attributes:
        spacing: distance between neighbouring nodes, in the axis unit (degrees, metres).
        origin: where node 0 lies.
        low, high: values are clamped to this range first (the range the encoder gets to see).
    """

    spacing: float
    origin: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    def bracket(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lower node index (int64) of each value and its fraction 0 <= f < 1 of the way to the next node."""
        position = (np.clip(np.asarray(values, dtype=np.float64), self.low, self.high) - self.origin) / self.spacing
        lower = np.floor(position)
        return lower.astype(np.int64), position - lower

    def value(self, index: np.ndarray) -> np.ndarray:
        """The value (float64) of the nodes with these indices."""
        return self.origin + np.asarray(index, dtype=np.float64) * self.spacing


#: Location nodes: every 1/96 degree (about 1.2 km) of latitude and of longitude from 0. Measured on the 350
#: Ecuador points (exact encoding at each point's own lat/lon vs interpolation): with the bundled adapter and
#: only lat/lon interpolated, spacing 0.01 deg gave |dp| mean 0.0018 (max 0.010), 0.025 deg 0.011 (0.077),
#: 0.05 deg 0.055 (0.26), 0.25 deg 0.34 (0.72): the error grows with the square of the spacing, and the
#: adapter, trained with one location for all points, is very sensitive to location (moving every point by
#: 0.01 deg changes p by 0.13 on average). All four dimensions interpolated, with the model the real-data test
#: trains: 1/64 deg x 300 m x 3 deg gave mean 0.0041 (max 0.051), 1/80 deg 0.0023 (0.018), 1/96 deg x 300 m x
#: 3 deg 0.0016 (0.010), 1/96 deg x 400 m x 4 deg 0.0019 (0.011), 1/128 deg x 400 m x 4 deg 0.0021 (0.016).
LOCATION_SPACING_DEGREES = 1.0 / 96.0
LATITUDE_AXIS = NodeAxis(LOCATION_SPACING_DEGREES, 0.0, -90.0, 90.0)
LONGITUDE_AXIS = NodeAxis(LOCATION_SPACING_DEGREES, 0.0, -180.0, 180.0)
#: Covariate nodes (CAMELS attribute -> nodes in the covariate's own unit): elevation every 400 m from 0 m,
#: slope every 4 degrees from 0 to 89 (the node slopes are then converted to a gradient). For ta.tif (4 x 4 km,
#: 158k cells) 1/96 deg x 400 m x 4 deg needs 1,689 nodes, 1/96 deg x 300 m x 3 deg 2,546 (errors above).
COVARIATE_AXES: dict[str, NodeAxis] = {
    "elev_mean": NodeAxis(400.0, 0.0),
    "slope_mean": NodeAxis(4.0, 0.0, 0.0, MAX_SLOPE_DEGREES),
}
#: Bits of a node key per axis (latitude, longitude, then each covariate): node indices are packed into one
#: int64, each with an offset of half its range. Latitude needs 90 * 96 = 8640 either side, longitude 17,280;
#: a covariate index outside +-16,383 (elevations beyond 6,500 km) is clamped.
_KEY_BITS = (15, 16)
_COVARIATE_BITS = 15


class EncoderGrid:
    """The encoder's location vector on fixed global nodes of (lat, lon, matched covariates), interpolated.

    A cell's vector is the multilinear interpolation (in all 2 + k dimensions) of the vectors of the 2^(2+k)
    nodes around its own latitude, longitude and covariates (:data:`LATITUDE_AXIS`, :data:`LONGITUDE_AXIS`,
    :data:`COVARIATE_AXES`). The nodes are global, so a cell gets the same vector whichever raster it is in,
    however large the raster and wherever its edges fall. Only nodes around the cells actually interpolated are
    encoded, on first use, in batches, and kept for the life of the grid (one map run).

    Attributes:
        vocabulary: CAMELS attribute -> covariate name, one node axis each (after latitude and longitude).
        axes: the node axes (latitude, longitude, then one per vocabulary attribute).
        encode_seconds: time spent in the encoder so far.
    """

    def __init__(self, encode: Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray], vocabulary: dict[str, str],
                 covariate_axes: dict[str, NodeAxis] | None = None) -> None:
        """``encode(latlon (m, 2), {covariate name: values (m,)})`` -> vectors (m, d) of the nodes."""
        axes = {**COVARIATE_AXES, **(covariate_axes or {})}
        missing = [a for a in vocabulary if a not in axes]
        if missing:
            raise KeyError(f"no interpolation nodes defined for {', '.join(missing)}")
        bits = (*_KEY_BITS, *(_COVARIATE_BITS,) * len(vocabulary))
        if sum(bits) > 62:
            raise ValueError(f"too many covariate axes ({len(vocabulary)}) for one int64 node key")
        self.vocabulary = dict(vocabulary)
        self.axes: list[NodeAxis] = [LATITUDE_AXIS, LONGITUDE_AXIS, *(axes[a] for a in vocabulary)]
        self._encode = encode
        self._bits = np.array(bits, np.int64)
        self._shift = np.concatenate([[0], np.cumsum(self._bits)[:-1]]).astype(np.int64)
        self._offset = (np.int64(1) << (self._bits - 1)).astype(np.int64)
        self._keys = np.zeros(0, np.int64)  # sorted node keys
        self._vectors = np.zeros((0, 0), np.float32)  # their vectors, same order
        self.encode_seconds = 0.0

    @classmethod
    def for_base(cls, base: BaseModel, vocabulary: dict[str, str], chunk: int = 256) -> EncoderGrid:
        """A grid whose nodes are encoded by ``base`` (:func:`encode_static`, ``chunk`` nodes per call)."""
        def encode(latlon: np.ndarray, covariates: dict[str, np.ndarray]) -> np.ndarray:
            return encode_static(base, camels_attributes(vocabulary, covariates), latlon, chunk)
        return cls(encode, vocabulary)

    @property
    def nodes(self) -> int:
        """How many nodes have been encoded."""
        return int(self._keys.size)

    @property
    def location_nodes(self) -> int:
        """How many distinct (lat, lon) nodes have been encoded."""
        location_bits = int(self._bits[0] + self._bits[1])
        return int(np.unique(self._keys & ((np.int64(1) << location_bits) - 1)).size)

    def _pack(self, index: np.ndarray) -> np.ndarray:
        limit = (np.int64(1) << self._bits) - 2  # so that the upper neighbour (index + 1) still fits its field
        shifted = np.clip(index + self._offset, 0, limit)
        return (shifted << self._shift).sum(axis=1)

    def _unpack(self, keys: np.ndarray) -> np.ndarray:
        fields = (keys[:, None] >> self._shift) & ((np.int64(1) << self._bits) - 1)
        return fields - self._offset

    def _rows(self, keys: np.ndarray) -> np.ndarray:
        """Rows of ``self._vectors`` of these node keys, encoding the nodes not seen yet."""
        position = np.searchsorted(self._keys, keys)
        known = position < self._keys.size
        known[known] = self._keys[position[known]] == keys[known]
        if not known.all():
            new = np.unique(keys[~known])
            index = self._unpack(new)
            values = [axis.value(index[:, k]) for k, axis in enumerate(self.axes)]
            start = time.perf_counter()
            vectors = np.asarray(self._encode(np.stack(values[:2], axis=1),
                                              dict(zip(self.vocabulary.values(), values[2:], strict=True))),
                                 dtype=np.float32)
            self.encode_seconds += time.perf_counter() - start
            merged = np.concatenate([self._keys, new])
            order = np.argsort(merged, kind="stable")
            stacked = vectors if self._keys.size == 0 else np.concatenate([self._vectors, vectors])
            self._keys, self._vectors = merged[order], stacked[order]
            position = np.searchsorted(self._keys, keys)
        return position

    def interpolate(self, latlon: np.ndarray, covariates: dict[str, np.ndarray]) -> np.ndarray:
        """Vectors (n, d) float32 at these locations: ``latlon`` (n, 2) degrees, covariates by name (n,).

        Each location's vector depends on its own values only (the same corners, weights and summation order
        whatever else is interpolated with it). Values outside an axis' range are clamped to it.
        """
        latlon = np.asarray(latlon, dtype=np.float64).reshape(-1, 2)
        columns = [latlon[:, 0], latlon[:, 1], *(covariates[name] for name in self.vocabulary.values())]
        brackets = [axis.bracket(values) for axis, values in zip(self.axes, columns, strict=True)]
        lower = np.stack([index for index, _ in brackets], axis=1)
        unique, inverse = np.unique(self._pack(lower), return_inverse=True)
        corners = list(itertools.product((0, 1), repeat=len(self.axes)))
        steps = np.array([(np.asarray(c, np.int64) << self._shift).sum() for c in corners], np.int64)
        rows = self._rows((unique[:, None] + steps[None, :]).ravel()).reshape(unique.size, len(corners))
        out = np.zeros((latlon.shape[0], self._vectors.shape[1]), np.float32)
        for c, corner in enumerate(corners):
            weight = np.ones(latlon.shape[0], np.float64)
            for (_, fraction), bit in zip(brackets, corner, strict=True):
                weight *= fraction if bit else 1.0 - fraction
            out += weight.astype(np.float32)[:, None] * self._vectors[rows[inverse.ravel(), c]]
        return out
