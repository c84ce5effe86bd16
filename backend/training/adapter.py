"""The residual adapter (published design).

A small network maps the frozen encoder states together with the raw inputs to a correction that is added back
to the states, then normalised.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualAdapter(nn.Module):
    """``h' = LayerNorm(h + MLP([h, extra]))``.

    Args:
        d_state: width of the encoder states ``h``.
        d_extra: width of the raw inputs concatenated to the states (forcings, statics, new covariates).
        hidden: width of the adapter's hidden layer.
    """

    def __init__(self, d_state: int, d_extra: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.correction = nn.Sequential(nn.Linear(d_state + d_extra, hidden), nn.GELU(), nn.Dropout(dropout),
                                        nn.Linear(hidden, d_state))
        nn.init.zeros_(self.correction[-1].weight)  # starts as the identity on the states
        nn.init.zeros_(self.correction[-1].bias)
        self.norm = nn.LayerNorm(d_state)

    def forward(self, states: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """States (..., d_state), extra (..., d_extra) -> adapted states (..., d_state)."""
        return self.norm(states + self.correction(torch.cat([states, extra], dim=-1)))
