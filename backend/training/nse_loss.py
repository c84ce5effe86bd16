"""The NSE* loss (Kratzert et al. 2019): squared error weighted per basin by 1 / (flow std + eps)², masked.

Every streamflow trainer (the benchmark/bundled heads and the user fine-tune) uses this one definition, so a
basin's weight and the days that count are computed the same way everywhere.
"""

from __future__ import annotations

import numpy as np
import torch

#: eps of the NSE* weight, in mm/day: keeps nearly constant basins from dominating the loss
NSE_EPSILON = 0.1


def nse_weights(flow_std_mm_per_day: np.ndarray, epsilon: float = NSE_EPSILON) -> torch.Tensor:
    """Per-basin NSE* weights ``1 / (std + eps)²`` (float32); a basin without a std (NaN) is weighted as std 1."""
    return torch.from_numpy(1.0 / (np.nan_to_num(flow_std_mm_per_day, nan=1.0) + epsilon) ** 2).float()


def masked_nse_loss(prediction: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                    counts: torch.Tensor) -> torch.Tensor:
    """Mean weighted squared error over the days that count.

    Args:
        prediction: (B, T) simulated flow, mm/day.
        target: (B, T) observed flow, mm/day, NaN where missing (missing days never count).
        weights: (B,) NSE* weight of each sequence's basin (:func:`nse_weights`).
        counts: (B, T) bool, the days that may count (e.g. inside the training period).

    Returns:
        A scalar: the sum of weighted squared errors over the counted days divided by their number (at least 1).
    """
    mask = ~torch.isnan(target) & counts
    error = (prediction - torch.nan_to_num(target)) ** 2 * weights.unsqueeze(1)
    return (error * mask).sum() / mask.sum().clamp(min=1)
