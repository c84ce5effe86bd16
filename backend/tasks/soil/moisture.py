"""Daily soil moisture at probes from the frozen encoder's weekly time tokens plus daily forcings.

Features: the encoder sees the probe's own latitude/longitude (location token), the statics and Daymet
forcings of the nearest CAMELS basin (everything visible). Its weekly time-token states (one per 7-day
patch) are repeated to the patch's 7 days; the day's normalised forcings are the adapter's ``extra``.

Head: :class:`ResidualAdapter` per day, then a one-layer GRU over days and a linear read-out (m³/m³).
A GRU rather than a linear head because soil moisture is a store: a rain day raises it on that day and
the rise decays over days to weeks, a daily-resolution memory that neither the weekly token (7 days share
one state) nor same-day forcings give a per-day linear map. The GRU is small (32 units) because there are
only a handful of probes. Windows are non-causal: a day's token also sees the rest of its 364-day window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.data.basin_arrays import BasinArrays
from backend.data.camels import AttributeTable
from backend.data.nearest_basin import NearestBasin, nearest_basin
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.inputs import LocationData, camels_location_data, make_batch
from backend.tasks.soil.probes import Probe
from backend.training.adapter import ResidualAdapter
from backend.training.adapter_file import load_weights, read_adapter, save_adapter
from backend.training.fit import FitConfig, FitResult, fit

TASK = "soil_moisture"
#: Days of forcing run through the GRU before the first day that is predicted or scored.
WARMUP_DAYS = 365


@dataclass
class ProbeInputs:
    """A point's frozen features on a span of the Daymet calendar, and its target where observed.

    Attributes:
        probe_id, lat, lon: the point (its own coordinates feed the location token).
        basin: the CAMELS basin lending forcings and statics, and its distance.
        dates: (T,) consecutive days; states: (T, d) daily-repeated token states; forcings: (T, V)
        normalised daily forcings; target: (T,) m³/m³, NaN where not observed.
    """

    probe_id: str
    lat: float
    lon: float
    basin: NearestBasin
    dates: np.ndarray
    states: np.ndarray
    forcings: np.ndarray
    target: np.ndarray


@torch.no_grad()
def daily_states(base: BaseModel, data: LocationData, first: int, last: int, batch_windows: int = 16) -> np.ndarray:
    """(last - first + 1, d) token states of location 0 for days ``first..last`` of ``data.dates``.

    Windows of ``window_days`` tile the span (the last one aligned to ``last``); a day's state is its
    7-day patch's token state, from the last window covering it.
    """
    cfg = base.config
    w = cfg.window_days
    n_days = len(data.dates)
    if n_days < w:
        raise ValueError(f"the forcings cover {n_days} days; the model needs at least {w}")
    lo = min(max(first, 0), n_days - w)
    starts = list(range(lo, max(last - w + 1, lo) + 1, w))
    if starts[-1] + w - 1 < last:
        starts.append(min(last, n_days - 1) - w + 1)
    out = np.zeros((last - first + 1, cfg.d_model), np.float32)
    for i in range(0, len(starts), batch_windows):
        chunk = np.array(starts[i:i + batch_windows])
        batch = make_batch(data, np.zeros(len(chunk), np.int64), chunk, cfg.patch_days, cfg.window_patches)
        time_states = base.model.encode(batch, Visibility.everything_observed(batch)).time
        daily = time_states.repeat_interleave(cfg.patch_days, dim=1).numpy()  # (B, w, d)
        for start, states in zip(chunk, daily, strict=True):
            a, b = max(start, first), min(start + w - 1, last)
            if b >= a:
                out[a - first:b - first + 1] = states[a - start:b - start + 1]
    return out


def point_inputs(base: BaseModel, probe_id: str, lat: float, lon: float, attributes: AttributeTable,
                 arrays: BasinArrays, first_day: str | np.datetime64, last_day: str | np.datetime64,
                 target: Probe | None = None) -> ProbeInputs:
    """Features of a point for ``first_day..last_day`` (inside Daymet), borrowing the nearest basin's data."""
    basin = nearest_basin(lat, lon, attributes, list(arrays.gauge_ids))
    span = arrays.day_range(str(np.datetime64(first_day, "D")), str(np.datetime64(last_day, "D")))
    data = camels_location_data(base.normalizer, attributes, arrays, [basin.gauge_id])
    data.latlon = np.array([[lat, lon]], dtype=np.float32)
    states = daily_states(base, data, span.start, span.stop - 1)
    dates = arrays.dates[span]
    values = np.full(len(dates), np.nan, np.float32)
    if target is not None:
        offset = (target.dates - dates[0]).astype(int)
        keep = (offset >= 0) & (offset < len(dates))
        values[offset[keep]] = target.values[keep]
    return ProbeInputs(probe_id, lat, lon, basin, dates, states, data.forcings[0, span], values)


def probe_inputs(base: BaseModel, probe: Probe, attributes: AttributeTable, arrays: BasinArrays) -> ProbeInputs:
    """Features of a probe from ``WARMUP_DAYS`` before its first observed day to its last one."""
    observed = probe.dates[np.isfinite(probe.values)]
    first = max(observed[0] - np.timedelta64(WARMUP_DAYS, "D"), arrays.dates[0])
    return point_inputs(base, probe.probe_id, probe.lat, probe.lon, attributes, arrays, first, observed[-1], probe)


class SoilMoistureModel(nn.Module):
    """Residual adapter per day -> GRU over days -> m³/m³ (``mean + scale * linear``)."""

    def __init__(self, d_state: int, d_extra: int, hidden: int = 64, rnn: int = 32, dropout: float = 0.1,
                 mean: float = 0.2, scale: float = 0.1) -> None:
        super().__init__()
        self.adapter = ResidualAdapter(d_state, d_extra, hidden, dropout)
        self.gru = nn.GRU(d_state, rnn, batch_first=True)
        self.out = nn.Linear(rnn, 1)
        self.mean, self.scale = float(mean), float(scale)

    def forward(self, states: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """States (B, T, d), extra (B, T, E) -> soil moisture (B, T)."""
        hidden, _ = self.gru(self.adapter(states, extra))
        return self.mean + self.scale * self.out(hidden).squeeze(-1)


def model_config(inputs: Sequence[ProbeInputs], train_masks: Sequence[np.ndarray], hidden: int = 64,
                 rnn: int = 32, dropout: float = 0.1) -> dict:
    """Sizes and the output scaling (training mean and sd of the target) as a JSON-able dict."""
    values = np.concatenate([p.target[m] for p, m in zip(inputs, train_masks, strict=True)])
    return {"d_state": int(inputs[0].states.shape[1]), "d_extra": int(inputs[0].forcings.shape[1]),
            "hidden": hidden, "rnn": rnn, "dropout": dropout, "mean": float(np.mean(values)),
            "scale": float(max(np.std(values), 1e-3))}


def build_model(config: dict) -> SoilMoistureModel:
    """A model from :func:`model_config`'s dict."""
    return SoilMoistureModel(config["d_state"], config["d_extra"], config["hidden"], config["rnn"],
                             config["dropout"], config["mean"], config["scale"])


@torch.no_grad()
def predict_series(model: SoilMoistureModel, inputs: ProbeInputs) -> np.ndarray:
    """Soil moisture on every day of ``inputs`` (the GRU runs once through the whole span)."""
    model.eval()
    out = model(torch.from_numpy(inputs.states)[None], torch.from_numpy(inputs.forcings)[None])
    return out[0].double().numpy()


def time_block_masks(target: np.ndarray, fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) masks of observed days: validation is the last ``fraction`` of them."""
    observed = np.flatnonzero(np.isfinite(target))
    cut = observed[int(np.floor(len(observed) * (1 - fraction)))] if len(observed) else len(target)
    days = np.arange(len(target))
    return np.isfinite(target) & (days < cut), np.isfinite(target) & (days >= cut)


def train_model(inputs: Sequence[ProbeInputs], train_masks: Sequence[np.ndarray], val_masks: Sequence[np.ndarray],
                cfg: FitConfig | None = None, seq_days: int = 240, warmup: int = 60, batch_size: int = 8,
                label: str = "soil moisture") -> tuple[SoilMoistureModel, dict, FitResult]:
    """Fit on sequences drawn around training days (each probe equally often); early stop on validation RMSE."""
    cfg = cfg or FitConfig(steps=400, learning_rate=2e-3, validate_every=25, patience=4)
    torch.manual_seed(cfg.seed)
    config = model_config(inputs, train_masks)
    model = build_model(config)
    usable = [i for i, m in enumerate(train_masks) if m.any()]
    train_days = [np.flatnonzero(m) for m in train_masks]

    def loss_on_batch(rng: np.random.Generator) -> torch.Tensor:
        states, extra, target, mask = [], [], [], []
        for p in rng.choice(usable, size=batch_size):
            probe = inputs[p]
            length = min(seq_days, len(probe.target))
            day = int(rng.choice(train_days[p]))
            start = int(np.clip(day - warmup - rng.integers(0, max(length - warmup, 1)), 0,
                                len(probe.target) - length))
            sl = slice(start, start + length)
            m = train_masks[p][sl].copy()
            m[:min(warmup, day - start)] = False  # warm-up days carry no loss unless they are all there is
            states.append(probe.states[sl])
            extra.append(probe.forcings[sl])
            target.append(np.nan_to_num(probe.target[sl]))
            mask.append(m)
        pred = model(torch.from_numpy(np.stack(states)), torch.from_numpy(np.stack(extra)))
        mask_t = torch.from_numpy(np.stack(mask))
        err = ((pred - torch.from_numpy(np.stack(target))) / config["scale"]) ** 2
        return (err * mask_t).sum() / mask_t.sum().clamp(min=1)

    def validation_score() -> float:
        errors = [((predict_series(model, p) - p.target)[m]) ** 2 for p, m in zip(inputs, val_masks, strict=True)
                  if m.any()]
        return -float(np.sqrt(np.mean(np.concatenate(errors)))) if errors else 0.0

    result = fit(model, loss_on_batch, validation_score, cfg, label)
    return model, config, result


def save_model(path: Path, model: SoilMoistureModel, base: BaseModel, config: dict, meta: dict) -> Path:
    """Write the adapter + GRU head as an adapter file tied to ``base``."""
    return save_adapter(path, TASK, base.sha256, model, config, meta)


def load_model(path: Path, base: BaseModel) -> tuple[SoilMoistureModel, dict]:
    """Read a model written by :func:`save_model` (refused if made for another base model)."""
    adapter = read_adapter(path, TASK, base.sha256)
    model = build_model(adapter.config)
    load_weights(model, adapter, path)
    return model, adapter.meta
