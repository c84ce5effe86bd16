"""Per-variable normalisation statistics, computed on training locations only, saved as JSON.

Missing values are never filled with zeros here: :meth:`Normalizer.statics` returns values *and* a mask
(True = observed), and callers decide what a missing value means (the model treats it as masked).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from backend.core.atomic_io import write_text_atomic
from backend.data.camels import AttributeTable
from backend.data.variables import FORCING_VARIABLES, STATIC_BY_NAME, STATIC_GROUPS, Kind, input_static_names

_LOG_OFFSET = 1e-3


@dataclass
class Normalizer:
    """Means and standard deviations (after the variable's transform) and categorical vocabularies.

    Attributes:
        forcing_mean, forcing_std: per forcing variable, in :data:`FORCING_VARIABLES` order.
        static_mean, static_std: per numeric static input attribute (log-transformed ones in log10).
        vocabularies: categorical attribute -> categories (index 0 is reserved for unknown/masked).
        n_locations: how many training locations the statistics came from.
    """

    forcing_names: list[str]
    forcing_mean: list[float]
    forcing_std: list[float]
    static_names: list[str]
    static_mean: list[float]
    static_std: list[float]
    vocabularies: dict[str, list[str]] = field(default_factory=dict)
    n_locations: int = 0

    # --- fitting -------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, attributes: AttributeTable, forcings: np.ndarray | None,
            train_ids: Sequence[str]) -> Normalizer:
        """Statistics from the training locations only.

        Args:
            attributes: the attribute table (all locations; only ``train_ids`` rows are used).
            forcings: float array (train location, day, variable) of training locations, or None.
            train_ids: the training gauge ids.
        """
        rows = np.array([attributes.index(g) for g in train_ids])
        names = input_static_names(Kind.NUMERIC)
        means, stds = [], []
        for name in names:
            values = transform_static(name, attributes.numeric[name][rows])
            means.append(float(np.nanmean(values)))
            stds.append(float(max(np.nanstd(values), 1e-6)))
        vocab = {}
        for name in input_static_names(Kind.CATEGORICAL):
            column = attributes.categorical[name]
            vocab[name] = sorted({column[i] for i in rows if column[i] is not None})
        if forcings is not None:
            flat = forcings.reshape(-1, forcings.shape[-1]).astype(np.float64)
            f_mean = np.nanmean(flat, axis=0).tolist()
            f_std = np.maximum(np.nanstd(flat, axis=0), 1e-6).tolist()
        else:
            f_mean = [0.0] * len(FORCING_VARIABLES)
            f_std = [1.0] * len(FORCING_VARIABLES)
        return cls(list(FORCING_VARIABLES), f_mean, f_std, names, means, stds, vocab, len(train_ids))

    # --- applying ------------------------------------------------------------------------------------
    def forcings(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """z-scored forcings (NaN replaced by 0) and the observed mask, for (..., day, variable) input."""
        z = (raw - np.asarray(self.forcing_mean, dtype=np.float32)) / np.asarray(self.forcing_std,
                                                                                   dtype=np.float32)
        observed = ~np.isnan(z)
        return np.where(observed, z, 0.0).astype(np.float32), observed

    def forcings_inverse(self, z: np.ndarray) -> np.ndarray:
        """Back from z-scores to physical units."""
        return z * np.asarray(self.forcing_std, dtype=np.float32) + np.asarray(self.forcing_mean,
                                                                                dtype=np.float32)

    def statics(self, attributes: AttributeTable, gauge_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """z-scored numeric statics (location, attribute) with NaN -> 0 and the observed mask."""
        rows = np.array([attributes.index(g) for g in gauge_ids])
        raw = np.stack([attributes.numeric[n][rows] for n in self.static_names], axis=1)
        return self.statics_from_raw(raw)

    def statics_from_raw(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """z-score a raw (location, attribute) array in :attr:`static_names` order."""
        cols = [transform_static(n, raw[:, i]) for i, n in enumerate(self.static_names)]
        values = np.stack(cols, axis=1) if cols else np.zeros((raw.shape[0], 0))
        z = (values - np.asarray(self.static_mean)) / np.asarray(self.static_std)
        observed = ~np.isnan(z)
        return np.where(observed, z, 0.0).astype(np.float32), observed

    def statics_inverse(self, z: np.ndarray) -> np.ndarray:
        """Back from z-scores to physical units (undoing the log transform where used)."""
        values = z * np.asarray(self.static_std) + np.asarray(self.static_mean)
        for i, name in enumerate(self.static_names):
            if STATIC_BY_NAME[name].log:
                values[..., i] = 10.0 ** values[..., i] - _LOG_OFFSET
        return values

    def categories(self, attributes: AttributeTable, gauge_ids: Sequence[str]) -> np.ndarray:
        """Category indices (location, categorical attribute); 0 = unknown or missing."""
        rows = [attributes.index(g) for g in gauge_ids]
        out = np.zeros((len(rows), len(self.vocabularies)), dtype=np.int64)
        for j, (name, vocab) in enumerate(self.vocabularies.items()):
            lookup = {c: k + 1 for k, c in enumerate(vocab)}
            column = attributes.categorical[name]
            out[:, j] = [lookup.get(column[i], 0) if column[i] is not None else 0 for i in rows]
        return out

    def static_groups(self) -> dict[str, list[int]]:
        """Static group -> indices into :attr:`static_names`."""
        return {g: [i for i, n in enumerate(self.static_names) if STATIC_BY_NAME[n].group == g]
                for g in STATIC_GROUPS}

    def categorical_groups(self) -> dict[str, list[int]]:
        """Static group -> indices into the categorical attributes."""
        names = list(self.vocabularies)
        return {g: [i for i, n in enumerate(names) if STATIC_BY_NAME[n].group == g] for g in STATIC_GROUPS}

    # --- persistence ---------------------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        """Write as plain JSON (atomically)."""
        return write_text_atomic(path, json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Normalizer:
        """Read statistics saved by :meth:`save`."""
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict:
        return asdict(self)


def transform_static(name: str, values: np.ndarray) -> np.ndarray:
    """Apply an attribute's transform (log10 for heavy-tailed ones) before z-scoring."""
    values = np.asarray(values, dtype=np.float64)
    if STATIC_BY_NAME[name].log:
        return np.log10(np.maximum(values, 0.0) + _LOG_OFFSET)
    return values
