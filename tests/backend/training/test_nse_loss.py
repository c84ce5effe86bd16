"""The one NSE* loss: hand-computed values, missing and uncounted days ignored."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.training.nse_loss import NSE_EPSILON, masked_nse_loss, nse_weights


def test_weights_are_inverse_squared_std_plus_eps() -> None:
    w = nse_weights(np.array([0.9, np.nan]))
    assert w.dtype == torch.float32
    assert w[0].item() == pytest.approx(1.0 / (0.9 + NSE_EPSILON) ** 2)
    assert w[1].item() == pytest.approx(1.0 / (1.0 + NSE_EPSILON) ** 2)  # no std: weighted as std 1


def test_loss_by_hand_ignores_missing_and_uncounted_days() -> None:
    prediction = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([[2.0, float("nan"), 1.0], [1.0, 1.0, 1.0]])
    counts = torch.tensor([[True, True, True], [True, False, False]])
    weights = torch.tensor([1.0, 4.0])
    # counted, observed days: (0,0) error 1 w1; (0,2) error 4 w1; (1,0) error 1 w4 -> (1 + 4 + 4) / 3
    assert masked_nse_loss(prediction, target, weights, counts).item() == pytest.approx(3.0)


def test_loss_with_nothing_counted_is_zero_not_nan() -> None:
    p = torch.ones(1, 2, requires_grad=True)
    loss = masked_nse_loss(p, torch.zeros(1, 2), torch.ones(1), torch.zeros(1, 2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(p.grad).all()
