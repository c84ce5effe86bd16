"""The reconstruction loss: hidden entries only, per-variable averages, weights, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mae_fixtures import (
    CATEGORICAL,
    N_VARS,
    NUMERIC,
    make_model,
    random_batch,
    visibility,
)

from backend.model.batch import Batch, Visibility
from backend.model.config import MaskingConfig
from backend.model.losses import LossWeights, reconstruction_loss
from backend.model.mae import Reconstruction


# --- loss -----------------------------------------------------------------------------------------------
def perfect(batch: Batch) -> Reconstruction:
    logits = [torch.nn.functional.one_hot(batch.categories[:, j], 4).float() * 1e4
              for j in range(batch.categories.shape[1])]
    return Reconstruction(batch.forcings.clone(), batch.statics.clone(), logits)


def test_loss_is_zero_for_perfect_hidden_entries_whatever_the_visible_ones():
    batch = random_batch(6, 4, 0, missing=0.2)
    vis = visibility(batch, MaskingConfig(), 0)
    out = perfect(batch)
    # visible entries wildly wrong, unobserved entries wrong too: neither may count
    shown_days = vis.forcing_tokens.unsqueeze(-1).expand_as(out.forcings)
    out.forcings[shown_days | ~batch.forcings_observed] = 1e6
    out.statics[vis.statics | ~batch.statics_observed] = -1e6
    for j, logits in enumerate(out.category_logits):
        skip = vis.categories[:, j] | (batch.categories[:, j] == 0)
        logits[skip] = torch.tensor([0.0, 1e4, -1e4, 1e4])  # confidently wrong
    assert (~shown_days & batch.forcings_observed).any() and (~vis.statics & batch.statics_observed).any()
    loss = reconstruction_loss(out, batch, vis)
    assert float(loss.forcings) == 0.0 and float(loss.statics) == 0.0
    assert float(loss.categories) < 1e-6
    assert float(loss.total) < 1e-6


def test_loss_counts_a_wrong_hidden_entry():
    batch = random_batch(6, 4, 1)
    vis = visibility(batch, MaskingConfig(all_forcings_probability=0.0, all_statics_probability=0.0), 1)
    base = float(reconstruction_loss(perfect(batch), batch, vis).total)
    hidden_token = (~vis.forcing_tokens).nonzero()[0].tolist()
    out = perfect(batch)
    out.forcings[tuple(hidden_token)][0] += 1.0
    assert float(reconstruction_loss(out, batch, vis).forcings) > 0
    hidden_static = (~vis.statics & batch.statics_observed).nonzero()[0].tolist()
    out = perfect(batch)
    out.statics[tuple(hidden_static)] += 1.0
    assert float(reconstruction_loss(out, batch, vis).statics) > 0
    assert float(reconstruction_loss(out, batch, vis).total) > base


def _two_variable_case() -> tuple[Reconstruction, Batch, Visibility]:
    """Forcing variable 0: 20 hidden days off by 1; variable 1: one hidden day off by 3; others shown."""
    batch = random_batch(1, 4, 2)
    batch.statics_observed[:] = False
    batch.categories[:] = 0
    vis = Visibility(torch.ones(1, 4, N_VARS, dtype=torch.bool), torch.zeros(1, len(NUMERIC), dtype=torch.bool),
                     torch.zeros(1, len(CATEGORICAL), dtype=torch.bool))
    vis.forcing_tokens[0, :3, 0] = False  # 21 hidden days of variable 0
    vis.forcing_tokens[0, 0, 1] = False   # 7 hidden days of variable 1 ...
    batch.forcings_observed[0, 0, 1, 1:] = False  # ... of which one is observed
    out = perfect(batch)
    out.forcings[0, :3, 0] += 1.0
    out.forcings[0, 0, 1, 0] += 3.0
    out.forcings[0, 0, 1, 1:] += 100.0  # unobserved: never counts
    batch.forcings_observed[0, 2, 0, 6] = False  # 20 observed hidden days of variable 0
    out.forcings[0, 2, 0, 6] += 100.0
    return out, batch, vis


def test_loss_averages_per_variable():
    out, batch, vis = _two_variable_case()
    loss = reconstruction_loss(out, batch, vis)
    # per variable: (1 + 9) / 2 = 5; pooled over the 21 entries it would be (20 + 9) / 21
    assert float(loss.forcings) == pytest.approx(5.0, rel=1e-6)
    assert float(loss.statics) == 0.0 and float(loss.categories) == 0.0


def test_loss_per_variable_for_statics_and_weights():
    batch = random_batch(10, 4, 3)
    vis = Visibility.everything_observed(batch)
    vis.statics[:, 0] = False   # attribute 0 hidden in 10 samples, off by 1
    vis.statics[0, 1] = False   # attribute 1 hidden in one sample, off by 2
    vis.forcing_tokens[0, 0, 0] = False
    vis.categories[:, 0] = False
    out = perfect(batch)
    out.statics[:, 0] += 1.0
    out.statics[0, 1] += 2.0
    out.forcings[0, 0, 0] += 0.5
    out.category_logits[0] = torch.zeros(10, 4)  # uniform over 4 classes: cross-entropy log 4
    parts = reconstruction_loss(out, batch, vis, LossWeights(1.0, 0.0, 0.0))
    assert float(parts.statics) == pytest.approx((1 + 4) / 2, rel=1e-6)
    assert float(parts.forcings) == pytest.approx(0.25, rel=1e-6)
    assert float(parts.categories) == pytest.approx(np.log(4), rel=1e-5)
    for weights in (LossWeights(), LossWeights(2.0, 0.0, 0.0), LossWeights(0.0, 3.0, 0.5)):
        total = float(reconstruction_loss(out, batch, vis, weights).total)
        expected = weights.forcings * 0.25 + weights.statics * 2.5 + weights.categories * np.log(4)
        assert total == pytest.approx(expected, rel=1e-5)
    default = float(reconstruction_loss(out, batch, vis).total)
    assert default == pytest.approx(1.0 * 0.25 + 0.5 * 2.5 + 0.1 * np.log(4), rel=1e-5)


def test_loss_with_nothing_hidden_is_zero_and_differentiable():
    model = make_model()
    batch = random_batch(2, 4, 4)
    vis = Visibility.everything_observed(batch)
    loss = reconstruction_loss(model(batch, vis), batch, vis)
    assert float(loss.total) == 0.0


def test_loss_trains_the_model():
    model = make_model().train()
    batch = random_batch(4, 4, 5)
    vis = visibility(batch, MaskingConfig(), 5)
    loss = reconstruction_loss(model(batch, vis), batch, vis)
    loss.total.backward()
    assert torch.isfinite(loss.total)
    assert model.forcing_head.weight.grad is not None and model.forcing_head.weight.grad.abs().sum() > 0

