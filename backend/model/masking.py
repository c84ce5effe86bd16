"""Pretraining masks: whole static attribute groups and contiguous windows of each forcing.

Missing values count as hidden and never enter the loss. The encoder is never left with nothing to see.
"""

from __future__ import annotations

import numpy as np
import torch

from backend.model.batch import Batch, Visibility
from backend.model.config import MaskingConfig


def sample_visibility(batch: Batch, numeric_groups: list[list[int]], categorical_groups: list[list[int]],
                      cfg: MaskingConfig, patch_days: int, rng: np.random.Generator) -> Visibility:
    """Draw what the encoder sees for each sample of a batch.

    Static groups are hidden whole (each with ``static_group_probability``); each forcing variable has
    contiguous windows of ``min_window_days..max_window_days`` hidden until about ``forcing_ratio`` of
    its patches are hidden. Some samples hide every forcing or every static group, so the model learns
    to work for locations that have only one of the two. Inputs that are missing stay hidden.
    """
    b, n, v, _ = batch.forcings.shape
    n_groups = len(numeric_groups)
    hide_group = rng.random((b, n_groups)) < cfg.static_group_probability
    hide_forcing = np.zeros((b, n, v), dtype=bool)
    lo = max(1, cfg.min_window_days // patch_days)
    hi = max(lo, cfg.max_window_days // patch_days)
    target = int(round(cfg.forcing_ratio * n))
    for i in range(b):
        for j in range(v):
            while hide_forcing[i, :, j].sum() < target:
                length = int(rng.integers(lo, hi + 1))
                start = int(rng.integers(0, max(1, n - length + 1)))
                hide_forcing[i, start : start + length, j] = True
    scenario = rng.random(b)
    all_forcings = scenario < cfg.all_forcings_probability
    all_statics = (scenario >= cfg.all_forcings_probability) & (
        scenario < cfg.all_forcings_probability + cfg.all_statics_probability)
    hide_forcing[all_forcings] = True
    hide_group[all_statics] = True
    # never hide every static group unless the sample shows forcings, and vice versa
    every_group = hide_group.all(axis=1)
    keep = rng.integers(0, n_groups, size=b)
    hide_group[every_group & all_forcings, keep[every_group & all_forcings]] = False

    hide_static = np.zeros(tuple(batch.statics.shape), dtype=bool)
    hide_category = np.zeros(tuple(batch.categories.shape), dtype=bool)
    for g in range(n_groups):
        hide_static[:, numeric_groups[g]] |= hide_group[:, [g]]
        if categorical_groups[g]:
            hide_category[:, categorical_groups[g]] |= hide_group[:, [g]]
    observed_tokens = batch.forcings_observed.all(dim=-1)
    visible = Visibility(
        forcing_tokens=observed_tokens & ~torch.from_numpy(hide_forcing),
        statics=batch.statics_observed & ~torch.from_numpy(hide_static),
        categories=(batch.categories > 0) & ~torch.from_numpy(hide_category),
    )
    return ensure_something_visible(batch, visible)


def ensure_something_visible(batch: Batch, visible: Visibility) -> Visibility:
    """If a sample would show nothing at all, reveal its observed statics (or, failing that, forcings)."""
    shown = (visible.forcing_tokens.flatten(1).any(1) | visible.statics.any(1) | visible.categories.any(1))
    blind = ~shown
    if blind.any():
        visible.statics[blind] = batch.statics_observed[blind]
        visible.categories[blind] = batch.categories[blind] > 0
        still = ~(visible.statics.any(1) | visible.categories.any(1)) & blind
        visible.forcing_tokens[still] = batch.forcings_observed[still].all(dim=-1)
    return visible
