"""Reconstruction loss: mean squared error on hidden, observed entries only, per variable."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from backend.model.batch import Batch, Visibility
from backend.model.mae import Reconstruction


@dataclass
class LossWeights:
    """Weights of the three loss parts (the published design weighs forcings 1.0 and statics 0.5)."""

    forcings: float = 1.0
    statics: float = 0.5
    categories: float = 0.1


@dataclass
class LossParts:
    """The weighted total loss (with gradient) and its three unweighted parts (detached, for logging)."""

    total: torch.Tensor
    forcings: torch.Tensor
    statics: torch.Tensor
    categories: torch.Tensor


def _per_variable_mse(error: torch.Tensor, weight: torch.Tensor, variable_dim: int) -> torch.Tensor:
    """Mean over variables of each variable's mean squared error on weighted entries.

    Inputs are z-scored, so every variable has unit variance and this equals the variance-scaled MSE.
    Variables with no counted entry are left out.
    """
    dims = [d for d in range(error.dim()) if d != variable_dim]
    counts = weight.sum(dim=dims)
    sums = (error.square() * weight).sum(dim=dims)
    present = counts > 0
    if not present.any():
        return error.new_zeros(())
    return (sums[present] / counts[present]).mean()


def reconstruction_loss(out: Reconstruction, batch: Batch, visible: Visibility,
                        weights: LossWeights | None = None) -> LossParts:
    """Loss on entries that were hidden from the encoder and are observed (missing values never count)."""
    weights = weights or LossWeights()
    hidden_days = (~visible.forcing_tokens).unsqueeze(-1) & batch.forcings_observed
    forcing = _per_variable_mse(out.forcings - batch.forcings, hidden_days.float(), variable_dim=2)
    hidden_statics = ~visible.statics & batch.statics_observed
    static = _per_variable_mse(out.statics - batch.statics, hidden_statics.float(), variable_dim=1)
    hidden_categories = ~visible.categories & (batch.categories > 0)
    ce_terms = []
    for j, logits in enumerate(out.category_logits):
        rows = hidden_categories[:, j]
        if rows.any():
            ce_terms.append(F.cross_entropy(logits[rows], batch.categories[rows, j]))
    category = torch.stack(ce_terms).mean() if ce_terms else forcing.new_zeros(())
    total = weights.forcings * forcing + weights.statics * static + weights.categories * category
    return LossParts(total, forcing.detach(), static.detach(), category.detach())
