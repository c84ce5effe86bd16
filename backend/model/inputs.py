"""From the real data to model batches: normalised arrays per location and window slicing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from backend.data.basin_arrays import BasinArrays
from backend.data.camels import AttributeTable
from backend.data.normalization import Normalizer
from backend.model.batch import Batch
from backend.model.mae import Vocabulary


def vocabulary_from(normalizer: Normalizer) -> Vocabulary:
    """The model vocabulary fixed by a set of normalisation statistics."""
    groups = normalizer.static_groups()
    cat_groups = normalizer.categorical_groups()
    return Vocabulary(
        forcing_names=list(normalizer.forcing_names),
        static_names=list(normalizer.static_names),
        numeric_groups=[groups[g] for g in groups],
        categorical_names=list(normalizer.vocabularies),
        categorical_groups=[cat_groups[g] for g in groups],
        vocab_sizes=[len(v) for v in normalizer.vocabularies.values()],
        group_names=list(groups),
    )


@dataclass
class LocationData:
    """Normalised inputs of L locations.

    Attributes:
        ids: location ids.
        statics, statics_observed: (L, A) z-scores and known-mask.
        categories: (L, C) category indices (0 unknown).
        latlon: (L, 2) degrees.
        forcings, forcings_observed: (L, T, V) z-scores and known-mask, or None for static-only locations.
        dates: (T,) days of the forcings.
    """

    ids: list[str]
    statics: np.ndarray
    statics_observed: np.ndarray
    categories: np.ndarray
    latlon: np.ndarray
    forcings: np.ndarray | None = None
    forcings_observed: np.ndarray | None = None
    dates: np.ndarray | None = None

    def subset(self, rows: Sequence[int]) -> LocationData:
        """The locations at ``rows``, in that order (the dates are shared)."""
        rows = list(rows)
        forcings = None if self.forcings is None else self.forcings[rows]
        observed = None if self.forcings_observed is None else self.forcings_observed[rows]
        return LocationData([self.ids[i] for i in rows], self.statics[rows], self.statics_observed[rows],
                            self.categories[rows], self.latlon[rows], forcings, observed, self.dates)


def camels_location_data(normalizer: Normalizer, attributes: AttributeTable, arrays: BasinArrays,
                         gauge_ids: Sequence[str]) -> LocationData:
    """Normalised statics and forcings of CAMELS basins."""
    statics, statics_observed = normalizer.statics(attributes, gauge_ids)
    rows = [arrays.index(g) for g in gauge_ids]
    forcings, observed = normalizer.forcings(arrays.forcings[rows])
    att_rows = [attributes.index(g) for g in gauge_ids]
    latlon = np.stack([attributes.numeric["gauge_lat"][att_rows], attributes.numeric["gauge_lon"][att_rows]], 1)
    return LocationData(list(gauge_ids), statics, statics_observed, normalizer.categories(attributes, gauge_ids),
                        latlon.astype(np.float32), forcings, observed, arrays.dates)


def make_batch(data: LocationData, rows: np.ndarray, starts: np.ndarray | None, patch_days: int,
               n_patches: int) -> Batch:
    """A batch of windows: location ``rows[i]`` from day ``starts[i]`` for ``n_patches * patch_days`` days.

    With ``starts=None`` or no forcings, the forcings are all missing (static-only locations).
    """
    days = patch_days * n_patches
    b = len(rows)
    v = len(data.forcings[0, 0]) if data.forcings is not None else 6
    if data.forcings is None or starts is None:
        f = np.zeros((b, days, v), np.float32)
        obs = np.zeros((b, days, v), bool)
        doy = np.zeros((b, n_patches), np.int64)
    else:
        offsets = starts[:, None] + np.arange(days)[None, :]
        f = data.forcings[rows[:, None], offsets]
        obs = data.forcings_observed[rows[:, None], offsets]
        first = data.dates[starts[:, None] + np.arange(n_patches)[None, :] * patch_days]
        doy = (first - first.astype("datetime64[Y]")).astype(np.int64)
    f = f.reshape(b, n_patches, patch_days, v).transpose(0, 1, 3, 2)
    obs = obs.reshape(b, n_patches, patch_days, v).transpose(0, 1, 3, 2)
    return Batch(
        forcings=torch.from_numpy(np.ascontiguousarray(f)),
        forcings_observed=torch.from_numpy(np.ascontiguousarray(obs)),
        patch_doy=torch.from_numpy(doy),
        statics=torch.from_numpy(data.statics[rows]),
        statics_observed=torch.from_numpy(data.statics_observed[rows]),
        categories=torch.from_numpy(data.categories[rows]),
        latlon=torch.from_numpy(data.latlon[rows]),
    )
