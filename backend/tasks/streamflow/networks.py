"""The four streamflow networks compared in the benchmark, built by name from one registry.

- ``stefaland``: frozen pretrained encoder states -> residual adapter (with daily forcings and statics)
  -> LSTM -> daily flow. Only adapter and head train.
- ``scratch``: the same network with its encoder randomly initialised and trained end to end.
- ``lstm``: a supervised LSTM on forcings + statics (Kratzert et al. 2019 style), no encoder.
- ``linear_probe``: frozen encoder states -> one linear layer (no adapter, no LSTM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from backend.training.adapter import ResidualAdapter


@dataclass
class HeadConfig:
    """Sizes of the streamflow head."""

    lstm_hidden: int = 64
    adapter_hidden: int = 64
    dropout: float = 0.2
    state_width: int = 0          # > 0: project the encoder states to this width before the adapter
    state_dropout: float = 0.0    # dropout on the encoder states (against memorising training basins)
    statics_to_lstm: bool = False  # feed the statics to the LSTM too, not only to the adapter


@dataclass
class DailyInputs:
    """One batch of daily sequences: states (B, S, d) or None, forcings (B, S, V), statics (B, A)."""

    states: torch.Tensor | None
    forcings: torch.Tensor
    statics: torch.Tensor


class AdapterLSTM(nn.Module):
    """Encoder states + residual adapter + LSTM head (``stefaland`` and ``scratch``)."""

    uses_states = True

    def __init__(self, d_state: int, n_forcings: int, n_statics: int, cfg: HeadConfig) -> None:
        super().__init__()
        width = cfg.state_width or d_state
        self.state_dropout = nn.Dropout(cfg.state_dropout)
        self.project = nn.Linear(d_state, width) if cfg.state_width else nn.Identity()
        self.statics_to_lstm = cfg.statics_to_lstm
        self.adapter = ResidualAdapter(width, n_forcings + n_statics, cfg.adapter_hidden, cfg.dropout)
        lstm_inputs = width + n_forcings + (n_statics if cfg.statics_to_lstm else 0)
        self.lstm = nn.LSTM(lstm_inputs, cfg.lstm_hidden, batch_first=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.lstm_hidden, 1)

    def forward(self, x: DailyInputs) -> torch.Tensor:
        """(B, S) daily flow in standardised units (``StreamflowModel`` rescales it to mm/day)."""
        statics = x.statics.unsqueeze(1).expand(-1, x.forcings.shape[1], -1)
        states = self.project(self.state_dropout(x.states))
        adapted = self.adapter(states, torch.cat([x.forcings, statics], dim=-1))
        raw = [x.forcings, statics] if self.statics_to_lstm else [x.forcings]
        hidden, _ = self.lstm(torch.cat([adapted, *raw], dim=-1))
        return self.out(self.dropout(hidden)).squeeze(-1)


class LSTMBaseline(nn.Module):
    """Forcings and statics into an LSTM, a linear layer out (no pretrained features)."""

    uses_states = False

    def __init__(self, d_state: int, n_forcings: int, n_statics: int, cfg: HeadConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_forcings + n_statics, cfg.lstm_hidden, batch_first=True)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.lstm_hidden, 1)

    def forward(self, x: DailyInputs) -> torch.Tensor:
        """(B, S) daily flow in standardised units, from forcings and statics only."""
        statics = x.statics.unsqueeze(1).expand(-1, x.forcings.shape[1], -1)
        hidden, _ = self.lstm(torch.cat([x.forcings, statics], dim=-1))
        return self.out(self.dropout(hidden)).squeeze(-1)


class LinearProbe(nn.Module):
    """One linear layer on the frozen encoder states."""

    uses_states = True

    def __init__(self, d_state: int, n_forcings: int, n_statics: int, cfg: HeadConfig) -> None:
        super().__init__()
        self.out = nn.Linear(d_state, 1)

    def forward(self, x: DailyInputs) -> torch.Tensor:
        """(B, S) daily flow in standardised units, a linear function of each day's encoder state."""
        return self.out(x.states).squeeze(-1)


#: model name -> (head class, whether the encoder is pretrained and frozen, whether it trains)
NETWORKS: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "stefaland": (AdapterLSTM, "frozen_pretrained"),
    "scratch": (AdapterLSTM, "trainable_random"),
    "lstm": (LSTMBaseline, "none"),
    "linear_probe": (LinearProbe, "frozen_pretrained"),
    # ablation: the stefaland head with the encoder states replaced by zeros (what do the states add?)
    "adapter_without_encoder": (AdapterLSTM, "zeros"),
}


def build_head(name: str, d_state: int, n_forcings: int, n_statics: int, cfg: HeadConfig) -> nn.Module:
    """The head of a named network (see :data:`NETWORKS`)."""
    if name not in NETWORKS:
        raise ValueError(f"unknown streamflow network {name!r}; choose from {sorted(NETWORKS)}")
    return NETWORKS[name][0](d_state, n_forcings, n_statics, cfg)
