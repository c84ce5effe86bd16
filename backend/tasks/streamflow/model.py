"""A streamflow network ready to run: target scaling, inputs assembled from the data, daily prediction.

Training (:mod:`.train`), prediction (:mod:`.predict`) and the user fine-tune build and run their networks
through this module; the networks themselves are defined in :mod:`.networks`.

A shipped model is a :class:`StreamflowEnsemble`: members trained alike but with different seeds, sharing the
frozen encoder (its states are computed once and every member's head runs on them). Its flow is the members'
daily mean; the 10th-90th percentile across members is the "member spread", a sign of how much the members
disagree, not a calibrated uncertainty interval. A single model is an ensemble of one.
"""

from __future__ import annotations

from collections.abc import Sequence

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


class StreamflowEnsemble(nn.Module):
    """Members of one network (each a :class:`StreamflowModel` with its own head and flow scaling).

    The state_dict holds one head per member (``members.<m>.head...``); members share the frozen encoder's
    states, so :meth:`member_flows` takes one set of inputs and runs every member's head on it.
    """

    def __init__(self, members: Sequence[StreamflowModel]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if len({(m.name, m.encoder_mode) for m in members}) != 1:
            raise ValueError("the members of an ensemble must be the same network")
        self.members = nn.ModuleList(members)

    @property
    def name(self) -> str:
        """The network's name (see :data:`~backend.tasks.streamflow.networks.NETWORKS`)."""
        return self.members[0].name

    @property
    def encoder_mode(self) -> str:
        """How the members use the encoder (the same for every member)."""
        return self.members[0].encoder_mode

    def __len__(self) -> int:
        return len(self.members)

    def member_flows(self, x: DailyInputs) -> torch.Tensor:
        """Every member's daily flow (M, B, S) in mm/day (not clipped)."""
        return torch.stack([member(x) for member in self.members])

    def forward(self, x: DailyInputs) -> torch.Tensor:
        """The members' mean daily flow (B, S) in mm/day (not clipped)."""
        return self.member_flows(x).mean(0)


def as_ensemble(model: StreamflowModel | StreamflowEnsemble) -> StreamflowEnsemble:
    """``model`` itself if it is an ensemble, else an ensemble of that one model (sharing its weights)."""
    return model if isinstance(model, StreamflowEnsemble) else StreamflowEnsemble([model])


def member_spread(flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members' daily mean and their 10th and 90th percentiles over the first axis of ``flows`` (M, ...).

    With one member all three equal its flow. The percentiles interpolate linearly between members.
    """
    flows = np.asarray(flows)
    low, high = np.percentile(flows, [10.0, 90.0], axis=0)
    return flows.mean(0), low.astype(flows.dtype), high.astype(flows.dtype)


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
def predict_member_days(model: StreamflowModel | StreamflowEnsemble, data: StreamflowData, base: BaseModel,
                        rows: np.ndarray, lo: int, hi: int, warmup_days: int, chunk: int = 64) -> np.ndarray:
    """Every member's daily flow (M, len(rows), hi - lo) in mm/day, each clipped at 0 (a model: M = 1).

    The inputs (frozen encoder states included) are assembled once per chunk and shared by the members.
    """
    ensemble = as_ensemble(model)
    ensemble.eval()
    start = max(0, lo - warmup_days)
    days = np.arange(start, hi)
    out = []
    for k in range(0, len(rows), chunk):
        part = rows[k : k + chunk]
        part_days = np.broadcast_to(days, (len(part), len(days)))
        if ensemble.encoder_mode == "trainable_random":  # each member has its own encoder
            sim = torch.stack([m(assemble_inputs(m, data, base, part, part_days)) for m in ensemble.members])
        else:
            sim = ensemble.member_flows(assemble_inputs(ensemble.members[0], data, base, part, part_days))
        out.append(sim[:, :, lo - start :].clamp(min=0).numpy())
    return np.concatenate(out, axis=1) if out else np.zeros((len(ensemble), 0, hi - lo))


def predict_days(model: StreamflowModel | StreamflowEnsemble, data: StreamflowData, base: BaseModel,
                 rows: np.ndarray, lo: int, hi: int, warmup_days: int, chunk: int = 64) -> np.ndarray:
    """Daily flow (len(rows), hi - lo) in mm/day: the members' mean of their flows clipped at 0.

    The LSTM warms up on the preceding days. A single model gives its own clipped flow.
    """
    return predict_member_days(model, data, base, rows, lo, hi, warmup_days, chunk).mean(0)
