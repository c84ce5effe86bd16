"""Generative and embedding APIs of the base model.

- :func:`impute_attributes`: given any subset of a location's attributes (and forcings if known),
  reconstruct the rest, saying which values were imputed.
- :func:`location_embeddings`: one vector per location (and per window) for task heads and export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from backend.data.variables import STATIC_BY_NAME
from backend.model.batch import Batch, Visibility
from backend.model.checkpoint import BaseModel
from backend.model.inputs import LocationData, make_batch


@dataclass
class Imputation:
    """Attributes of one location: every value, and which of them the model filled in."""

    values: dict[str, float | str]
    imputed: list[str]
    given: list[str]


def location_from_values(base: BaseModel, latlon: tuple[float, float], numeric: dict[str, float],
                         categorical: dict[str, str], forcings_raw: np.ndarray | None = None,
                         dates: np.ndarray | None = None) -> LocationData:
    """One location's normalised inputs from raw attribute values (unknown names are rejected)."""
    norm = base.normalizer
    unknown = [k for k in list(numeric) + list(categorical)
               if k not in norm.static_names and k not in norm.vocabularies]
    if unknown:
        raise KeyError(f"unknown attribute(s) {', '.join(unknown)}; known: {', '.join(norm.static_names)}, "
                       f"{', '.join(norm.vocabularies)}")
    raw = np.array([[numeric.get(n, np.nan) for n in norm.static_names]], dtype=np.float64)
    statics, observed = norm.statics_from_raw(raw)
    cats = np.zeros((1, len(norm.vocabularies)), dtype=np.int64)
    for j, (name, vocab) in enumerate(norm.vocabularies.items()):
        if name in categorical:
            if categorical[name] not in vocab:
                raise ValueError(f"attribute {name}: unknown category {categorical[name]!r}; known: {vocab}")
            cats[0, j] = vocab.index(categorical[name]) + 1
    data = LocationData(["location"], statics, observed, cats, np.array([latlon], dtype=np.float32))
    if forcings_raw is not None:
        f, f_obs = norm.forcings(forcings_raw[None].astype(np.float32))
        data.forcings, data.forcings_observed, data.dates = f, f_obs, dates
    return data


def window_starts(n_days: int, window_days: int, max_windows: int) -> np.ndarray:
    """Evenly spread window starts covering a record (at least one)."""
    if n_days < window_days:
        return np.array([], dtype=np.int64)
    count = min(max_windows, max(1, n_days // window_days))
    return np.linspace(0, n_days - window_days, count).round().astype(np.int64)


@torch.no_grad()
def reconstruct_statics(base: BaseModel, data: LocationData, row: int, visible_statics: np.ndarray,
                        visible_categories: np.ndarray, max_windows: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Decoded statics (z-scores, A) and category indices (C) of one location, averaged over windows.

    Only the attributes flagged visible are shown to the encoder; forcings (if any) are all shown.
    """
    batch = _window_batch(base, data, row, max_windows)
    visible = _visibility(batch, visible_statics, visible_categories)
    out = base.model(batch, visible)
    statics = out.statics.mean(dim=0).numpy()
    categories = np.array([int(logits[:, 1:].softmax(-1).mean(0).argmax()) + 1 for logits in out.category_logits])
    return statics, categories


def _window_batch(base: BaseModel, data: LocationData, row: int, max_windows: int) -> Batch:
    """Evenly spread windows of one location's record (one forcing-free sample if it has no forcings)."""
    cfg = base.config
    starts = (window_starts(len(data.dates), cfg.window_days, max_windows)
              if data.forcings is not None else np.array([], dtype=np.int64))
    rows = np.full(max(len(starts), 1), row)
    return make_batch(data, rows, starts if len(starts) else None, cfg.patch_days, cfg.window_patches)


def _visibility(batch: Batch, visible_statics: np.ndarray, visible_categories: np.ndarray) -> Visibility:
    b = batch.size
    return Visibility(
        forcing_tokens=batch.forcings_observed.all(dim=-1),
        statics=torch.from_numpy(np.broadcast_to(visible_statics, (b, len(visible_statics))).copy())
        & batch.statics_observed,
        categories=torch.from_numpy(np.broadcast_to(visible_categories, (b, len(visible_categories))).copy())
        & (batch.categories > 0),
    )


def impute_attributes(base: BaseModel, latlon: tuple[float, float], numeric: dict[str, float],
                      categorical: dict[str, str] | None = None, forcings_raw: np.ndarray | None = None,
                      dates: np.ndarray | None = None) -> Imputation:
    """Fill in every attribute the caller did not give (NaN counts as not given)."""
    categorical = categorical or {}
    given_numeric = {k: float(v) for k, v in numeric.items() if v is not None and not np.isnan(float(v))}
    norm = base.normalizer
    if set(norm.static_names) <= set(given_numeric) and set(norm.vocabularies) <= set(categorical):
        values = {n: given_numeric[n] for n in norm.static_names} | {n: categorical[n] for n in norm.vocabularies}
        return Imputation(values, [], list(values))
    data = location_from_values(base, latlon, given_numeric, categorical, forcings_raw, dates)
    z, cats = reconstruct_statics(base, data, 0, data.statics_observed[0], data.categories[0] > 0)
    physical = norm.statics_inverse(z[None].astype(np.float64))[0]
    values: dict[str, float | str] = {}
    imputed: list[str] = []
    for i, name in enumerate(norm.static_names):
        if name in given_numeric:
            values[name] = given_numeric[name]
        else:
            values[name] = float(_clip_physical(name, physical[i]))
            imputed.append(name)
    for j, (name, vocab) in enumerate(norm.vocabularies.items()):
        if name in categorical:
            values[name] = categorical[name]
        else:
            values[name] = vocab[cats[j] - 1]
            imputed.append(name)
    given = [n for n in values if n not in imputed]
    return Imputation(values, imputed, given)


def _clip_physical(name: str, value: float) -> float:
    """Keep reconstructions inside physical bounds (fractions 0-1 or 0-100 %, non-negative sizes)."""
    if name.endswith("_frac") and name in ("sand_frac", "silt_frac", "clay_frac", "water_frac", "organic_frac",
                                            "other_frac"):
        return float(np.clip(value, 0.0, 100.0))
    if name.endswith("_frac") or name in ("frac_snow", "frac_forest", "gvf_max", "gvf_diff"):
        return float(np.clip(value, 0.0, 1.0))
    if STATIC_BY_NAME[name].log or name in ("p_mean", "pet_mean", "lai_max", "elev_mean", "slope_mean"):
        return float(max(value, 0.0))
    return float(value)


@torch.no_grad()
def location_embeddings(base: BaseModel, data: LocationData, max_windows: int = 8) -> np.ndarray:
    """One vector per location (L, d): the location and static-group states averaged over windows."""
    vectors = []
    for row in range(len(data.ids)):
        batch = _window_batch(base, data, row, max_windows)
        enc = base.model.encode(batch, Visibility.everything_observed(batch))
        vectors.append(enc.location_vector().mean(dim=0).numpy())
    return np.stack(vectors)
