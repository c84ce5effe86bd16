"""Soil composition (sand, silt, clay %) from the frozen base model with the soil group hidden.

Features are computed once per location and window with every attribute of the ``soil`` group hidden
(train and test alike), so the head never sees the basin's soil: the encoder's soil-group token state is
adapted with a :class:`~backend.training.adapter.ResidualAdapter` (extra input: the visible non-soil
attributes) and mapped to three logits; ``softmax x 100`` makes the output a composition that sums to 100.

The target is CAMELS' ``sand_frac``, ``silt_frac`` and ``clay_frac`` renormalised to sum to 100 (the raw
three sum to 31-100.5 %, mean 90 %: the rest is organic matter, water and "other" classes of STATSGO),
i.e. the mineral fine-earth texture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.core.metrics import r2
from backend.core.progress import progress
from backend.data.camels import AttributeTable
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.imputation import window_starts
from backend.model.inputs import LocationData, make_batch
from backend.training.adapter import ResidualAdapter
from backend.training.adapter_file import load_weights, read_adapter, save_adapter
from backend.training.fit import FitConfig, FitResult, fit

TASK = "soil_composition"
COMPONENTS: tuple[str, ...] = ("sand_frac", "silt_frac", "clay_frac")
HIDDEN_GROUP = "soil"


def compose(logits: torch.Tensor) -> torch.Tensor:
    """Logits (..., 3) -> percentages that sum to 100 (softmax x 100)."""
    return torch.softmax(logits, dim=-1) * 100.0


def renormalise(values: np.ndarray) -> np.ndarray:
    """Clip (..., 3) fractions at 0 and rescale them to sum to 100 (all-zero rows become equal thirds)."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, None)
    total = v.sum(axis=-1, keepdims=True)
    return np.where(total > 0, v / np.where(total > 0, total, 1.0) * 100.0, 100.0 / v.shape[-1])


def composition_targets(attributes: AttributeTable, gauge_ids: Sequence[str]) -> np.ndarray:
    """CAMELS sand/silt/clay of the basins, renormalised to sum to 100 (N, 3)."""
    rows = [attributes.index(g) for g in gauge_ids]
    raw = np.stack([attributes.numeric[c][rows] for c in COMPONENTS], axis=1)
    if np.isnan(raw).any():
        raise ValueError("some basins lack sand/silt/clay fractions")
    return renormalise(raw)


def hidden_masks(base: BaseModel) -> tuple[np.ndarray, np.ndarray, int]:
    """Visible-statics and visible-categories masks with the soil group hidden, and the soil group index."""
    norm = base.normalizer
    groups = list(norm.static_groups())
    soil = groups.index(HIDDEN_GROUP)
    statics = np.ones(len(norm.static_names), bool)
    statics[norm.static_groups()[HIDDEN_GROUP]] = False
    categories = np.ones(len(norm.vocabularies), bool)
    categories[norm.categorical_groups()[HIDDEN_GROUP]] = False
    return statics, categories, soil


@dataclass
class SoilFeatures:
    """Frozen-encoder features of L locations computed with the soil group hidden.

    Attributes:
        ids: location ids.
        states: (L, W, d) the soil-group token state per window (W windows; fewer are repeated).
        extra: (L, E) visible non-soil numeric attributes (z-scores, 0 where missing).
        zero_shot: (L, 3) the base model's own reconstruction of sand/silt/clay, renormalised to 100.
        latlon: (L, 2) degrees.
    """

    ids: list[str]
    states: np.ndarray
    extra: np.ndarray
    zero_shot: np.ndarray
    latlon: np.ndarray

    def subset(self, rows: Sequence[int]) -> SoilFeatures:
        """The locations at ``rows``, in that order."""
        rows = list(rows)
        return SoilFeatures([self.ids[i] for i in rows], self.states[rows], self.extra[rows],
                            self.zero_shot[rows], self.latlon[rows])


@torch.no_grad()
def soil_features(base: BaseModel, data: LocationData, max_windows: int = 8,
                  locations_per_batch: int = 8, label: str = "soil features") -> SoilFeatures:
    """Encode every location (all windows) with the soil group hidden; also decode the hidden soil group."""
    cfg, norm = base.config, base.normalizer
    vis_statics, vis_categories, soil = hidden_masks(base)
    component_idx = [norm.static_names.index(c) for c in COMPONENTS]
    starts = (window_starts(len(data.dates), cfg.window_days, max_windows)
              if data.forcings is not None else np.array([], dtype=np.int64))
    n_win = max(len(starts), 1)
    n = len(data.ids)
    states = np.zeros((n, n_win, cfg.d_model), np.float32)
    decoded = np.zeros((n, len(norm.static_names)), np.float64)
    chunks = [range(i, min(i + locations_per_batch, n)) for i in range(0, n, locations_per_batch)]
    for chunk in progress(chunks, label):
        rows = np.repeat(np.array(list(chunk)), n_win)
        batch = make_batch(data, rows, np.tile(starts, len(chunk)) if len(starts) else None, cfg.patch_days,
                           cfg.window_patches)
        b = batch.size
        visible = Visibility(
            forcing_tokens=batch.forcings_observed.all(dim=-1),
            statics=torch.from_numpy(np.broadcast_to(vis_statics, (b, len(vis_statics))).copy())
            & batch.statics_observed,
            categories=torch.from_numpy(np.broadcast_to(vis_categories, (b, len(vis_categories))).copy())
            & (batch.categories > 0))
        encoding = base.model.encode(batch, visible)
        recon = base.model.decode(encoding).statics
        states[list(chunk)] = encoding.static_groups[:, soil].reshape(len(chunk), n_win, -1).numpy()
        decoded[list(chunk)] = recon.reshape(len(chunk), n_win, -1).mean(dim=1).numpy()
    physical = norm.statics_inverse(decoded)[:, component_idx]
    extra = np.where(data.statics_observed & vis_statics, data.statics, 0.0)[:, vis_statics].astype(np.float32)
    return SoilFeatures(list(data.ids), states, extra, renormalise(physical), np.asarray(data.latlon))


class SoilCompositionHead(nn.Module):
    """Residual adapter on the soil-group state, then a linear layer to 3 logits and ``softmax x 100``."""

    def __init__(self, d_state: int, d_extra: int, hidden: int = 64, dropout: float = 0.1,
                 prior: Sequence[float] | None = None) -> None:
        super().__init__()
        self.adapter = ResidualAdapter(d_state, d_extra, hidden, dropout)
        self.out = nn.Linear(d_state, len(COMPONENTS))
        nn.init.normal_(self.out.weight, std=0.01)
        with torch.no_grad():  # start at the training mean composition
            p = torch.tensor(prior if prior is not None else [1.0] * len(COMPONENTS), dtype=torch.float32)
            self.out.bias.copy_(torch.log(p / p.sum()))

    def forward(self, states: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """States (B, d), extra (B, E) -> percentages (B, 3) summing to 100."""
        return compose(self.out(self.adapter(states, extra)))


def head_config(features: SoilFeatures, hidden: int = 64, dropout: float = 0.1) -> dict:
    """The JSON config that rebuilds a head for these features (stored in the adapter file)."""
    return {"d_state": int(features.states.shape[-1]), "d_extra": int(features.extra.shape[-1]),
            "hidden": hidden, "dropout": dropout}


@torch.no_grad()
def predict_composition(head: SoilCompositionHead, features: SoilFeatures) -> np.ndarray:
    """Percentages (L, 3) averaged over windows (an average of compositions still sums to 100)."""
    head.eval()
    n, w, d = features.states.shape
    states = torch.from_numpy(features.states.reshape(n * w, d))
    extra = torch.from_numpy(np.repeat(features.extra, w, axis=0))
    return head(states, extra).reshape(n, w, -1).mean(dim=1).double().numpy()


def mean_r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean R² over the components (a constant component, whose R² is undefined, is left out)."""
    scores = [r2(truth[:, k], predicted[:, k]) for k in range(truth.shape[1])]
    finite = [s for s in scores if np.isfinite(s)]
    return float(np.mean(finite)) if finite else float("nan")


def train_head(features: SoilFeatures, targets: np.ndarray, train_rows: Sequence[int],
               val_rows: Sequence[int], cfg: FitConfig | None = None, batch_size: int = 64,
               hidden: int = 64, label: str = "soil head") -> tuple[SoilCompositionHead, FitResult]:
    """Fit a head on ``train_rows`` (a random window per sample), early-stopping on ``val_rows``' mean R²."""
    cfg = cfg or FitConfig(steps=800, learning_rate=3e-3, validate_every=40, patience=5)
    train_rows, val_rows = np.asarray(train_rows), np.asarray(val_rows)
    torch.manual_seed(cfg.seed)
    head = SoilCompositionHead(features.states.shape[-1], features.extra.shape[-1], hidden,
                               prior=targets[train_rows].mean(axis=0).tolist())
    states = torch.from_numpy(features.states)
    extra = torch.from_numpy(features.extra)
    y = torch.from_numpy(targets.astype(np.float32))
    val = features.subset(val_rows)

    def loss_on_batch(rng: np.random.Generator) -> torch.Tensor:
        rows = rng.choice(train_rows, size=min(batch_size, len(train_rows)), replace=False)
        windows = rng.integers(0, states.shape[1], size=len(rows))
        pred = head(states[rows, windows], extra[rows])
        return torch.mean(((pred - y[rows]) / 100.0) ** 2)

    result = fit(head, loss_on_batch, lambda: mean_r2(targets[val_rows], predict_composition(head, val)), cfg,
                 label)
    return head, result


def save_head(path: Path, head: SoilCompositionHead, base: BaseModel, config: dict, meta: dict) -> Path:
    """Write the head as an adapter file tied to ``base``."""
    return save_adapter(path, TASK, base.sha256, head, config, meta)


def load_head(path: Path, base: BaseModel) -> tuple[SoilCompositionHead, dict]:
    """Read a head written by :func:`save_head` (refused if made for another base model)."""
    adapter = read_adapter(path, TASK, base.sha256)
    cfg = adapter.config
    head = SoilCompositionHead(cfg["d_state"], cfg["d_extra"], cfg["hidden"], cfg["dropout"])
    load_weights(head, adapter, path)
    return head, adapter.meta
