"""A streamflow network ready to run: target scaling, inputs assembled from the data, daily prediction.

Training (:mod:`.train`), prediction (:mod:`.predict`) and the user fine-tune build and run their networks
through this module; the networks themselves are defined in :mod:`.networks`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import daily_states
from backend.model.inputs import make_batch
from backend.tasks.streamflow.data import StreamflowData
from backend.tasks.streamflow.networks import NETWORKS, DailyInputs, HeadConfig, build_head


class StreamflowModel(nn.Module):
    """A network plus what it needs to run: target scaling and, for ``scratch``, its own encoder."""

    def __init__(self, name: str, base: BaseModel, n_statics: int, cfg: HeadConfig,
                 flow_mean: float, flow_std: float) -> None:
        super().__init__()
        self.name = name
        self.encoder_mode = NETWORKS[name][1]
        d = base.config.d_model
        self.head = build_head(name, d, len(base.normalizer.forcing_names), n_statics, cfg)
        self.register_buffer("flow_mean", torch.tensor(float(flow_mean)))
        self.register_buffer("flow_std", torch.tensor(float(flow_std)))
        if self.encoder_mode == "trainable_random":
            from backend.model.mae import StefaLandMAE

            torch.manual_seed(0)
            self.encoder = StefaLandMAE(base.config, base.model.vocab)

    def forward(self, x: DailyInputs) -> torch.Tensor:
        """Daily flow in mm/day (not clipped, so the loss sees negative errors too)."""
        return self.head(x) * self.flow_std + self.flow_mean


def assemble_inputs(model: StreamflowModel, data: StreamflowData, base: BaseModel, rows: np.ndarray,
              days: np.ndarray) -> DailyInputs:
    """Inputs of sequences: basins ``rows`` (B,) on day indices ``days`` (B, S)."""
    loc = data.locations
    forcings = torch.from_numpy(loc.forcings[rows[:, None], days])
    statics = torch.from_numpy(loc.statics[rows])
    states = None
    if model.encoder_mode == "frozen_pretrained":
        states = torch.from_numpy(daily_states(data.states, data.grid, rows, days))
    elif model.encoder_mode == "trainable_random":
        states = _scratch_states(model, data, base, rows, days)
    elif model.encoder_mode == "zeros":
        states = torch.zeros(*days.shape, base.config.d_model)
    return DailyInputs(states, forcings, statics)


def _scratch_states(model: StreamflowModel, data: StreamflowData, base: BaseModel, rows: np.ndarray,
                    days: np.ndarray) -> torch.Tensor:
    """Run the trainable encoder once on every (basin, grid window) the sequences touch (with gradients)."""
    grid, cfg = data.grid, base.config
    windows = grid.day_window[days]  # (B, S)
    pairs = np.unique(np.stack([np.repeat(rows[:, None], days.shape[1], 1), windows], -1).reshape(-1, 2), axis=0)
    batch = make_batch(data.locations, pairs[:, 0], grid.starts[pairs[:, 1]], cfg.patch_days, cfg.window_patches)
    states = model.encoder.encode(batch, Visibility.everything_observed(batch)).time  # (P, N, d)
    lookup = {(int(r), int(w)): k for k, (r, w) in enumerate(pairs)}
    index = np.array([[lookup[(int(r), int(w))] for w in windows[b]] for b, r in enumerate(rows)])
    return states[torch.from_numpy(index), torch.from_numpy(grid.day_patch[days])]


def loc_statics(data: StreamflowData) -> int:
    """Number of static inputs A per basin."""
    return int(data.locations.statics.shape[1])


@torch.no_grad()
def predict_days(model: StreamflowModel, data: StreamflowData, base: BaseModel, rows: np.ndarray, lo: int,
                 hi: int, warmup_days: int, chunk: int = 64) -> np.ndarray:
    """Daily flow (len(rows), hi - lo) in mm/day, clipped at 0; the LSTM warms up on the preceding days."""
    model.eval()
    start = max(0, lo - warmup_days)
    days = np.arange(start, hi)
    out = []
    for k in range(0, len(rows), chunk):
        part = rows[k : k + chunk]
        sim = model(assemble_inputs(model, data, base, part, np.broadcast_to(days, (len(part), len(days)))))
        out.append(sim[:, lo - start :].clamp(min=0).numpy())
    return np.concatenate(out) if out else np.zeros((0, hi - lo))
