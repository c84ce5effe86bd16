"""Training and evaluation of a streamflow network on CAMELS-style data.

Loss: NSE* (Kratzert et al. 2019): squared error per day divided by (sigma_b + 0.1)², sigma_b the basin's
flow standard deviation in the training period, so basins of very different size count alike.
Early stopping: median NSE on validation basins (a seeded part of the training basins) in the training
period. Test basins are never touched during training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from backend.core.metrics import kge, nse
from backend.model.checkpoint import BaseModel
from backend.tasks.streamflow.data import StreamflowData, basin_flow_scale
from backend.tasks.streamflow.model import StreamflowModel, assemble_inputs, loc_statics, predict_days
from backend.tasks.streamflow.networks import HeadConfig
from backend.training.fit import FitConfig, FitResult, fit
from backend.training.nse_loss import masked_nse_loss, nse_weights


@dataclass
class StreamflowTrainConfig:
    """Sequence and optimisation settings of a streamflow fit."""

    warmup_days: int = 180
    loss_days: int = 270
    batch_size: int = 32
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=300, learning_rate=2e-3, validate_every=50,
                                                              patience=3))
    head: HeadConfig = field(default_factory=HeadConfig)
    validation_fraction: float = 0.1
    scratch_learning_rate: float = 5e-4
    scratch_steps: int = 0  # 0 = ``fit.steps``; the scratch encoder trains too, so a step costs far more


def _sample(data: StreamflowData, rows: np.ndarray, period: tuple[int, int], cfg: StreamflowTrainConfig,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random sequences whose loss days lie in ``period`` (warm-up days may precede it)."""
    lo, hi = period
    picks = rows[rng.integers(0, len(rows), cfg.batch_size)]
    first_loss = rng.integers(lo, hi - cfg.loss_days + 1, cfg.batch_size)
    starts = np.maximum(first_loss - cfg.warmup_days, 0)
    length = cfg.warmup_days + cfg.loss_days
    starts = np.minimum(starts, len(data.dates) - length)
    return picks, starts[:, None] + np.arange(length)[None, :]


def train_streamflow(name: str, base: BaseModel, data: StreamflowData, train_ids: list[str],
                     period: tuple[str, str], cfg: StreamflowTrainConfig, seed: int = 0,
                     should_stop: Callable[[], bool] | None = None
                     ) -> tuple[StreamflowModel, FitResult, list[str]]:
    """Fit a named network on ``train_ids`` in ``period``; early stopping on a seeded validation subset."""
    lo, hi = data.day_index(period[0]), data.day_index(period[1]) + 1
    rng = np.random.default_rng(seed)
    order = rng.permutation(sorted(train_ids))
    n_val = max(1, int(round(cfg.validation_fraction * len(order))))
    val_ids, fit_ids = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
    fit_rows = data.rows(fit_ids)
    flow = data.streamflow_mm_per_day
    scale = basin_flow_scale(flow, lo, hi)
    fit_rows = fit_rows[~np.isnan(scale[fit_rows])]
    observed = flow[fit_rows, lo:hi]
    torch.manual_seed(seed)
    model = StreamflowModel(name, base, loc_statics(data), cfg.head, float(np.nanmean(observed)),
                            float(np.nanstd(observed)))
    weights = nse_weights(scale)

    def loss_on_batch(batch_rng: np.random.Generator) -> torch.Tensor:
        rows, days = _sample(data, fit_rows, (lo, hi), cfg, batch_rng)
        prediction = model(assemble_inputs(model, data, base, rows, days))[:, cfg.warmup_days :]
        target_days = days[:, cfg.warmup_days :]
        target = torch.from_numpy(flow[rows[:, None], target_days])
        in_period = torch.from_numpy((target_days >= lo) & (target_days < hi))
        return masked_nse_loss(prediction, target, weights[rows], in_period)

    val_rows = data.rows(val_ids)

    def validation_score() -> float:
        sim = predict_days(model, data, base, val_rows, lo, hi, cfg.warmup_days)
        scores = [nse(flow[r, lo:hi], sim[k]) for k, r in enumerate(val_rows)]
        return float(np.nanmedian(scores))

    fit_cfg = cfg.fit
    if model.encoder_mode == "trainable_random":
        fit_cfg = dataclasses.replace(fit_cfg, learning_rate=cfg.scratch_learning_rate,
                                      steps=cfg.scratch_steps or fit_cfg.steps)
    result = fit(model, loss_on_batch, validation_score, fit_cfg, label=f"train {name}", should_stop=should_stop)
    return model, result, val_ids


def evaluate(model: StreamflowModel, data: StreamflowData, base: BaseModel, gauge_ids: list[str],
             period: tuple[str, str], warmup_days: int) -> list[dict[str, float | str]]:
    """Per-basin NSE and KGE in ``period``."""
    lo, hi = data.day_index(period[0]), data.day_index(period[1]) + 1
    sim = predict_days(model, data, base, data.rows(gauge_ids), lo, hi, warmup_days)
    return score_predictions(sim, data, gauge_ids, period)


def score_predictions(sim: np.ndarray, data: StreamflowData, gauge_ids: list[str],
                      period: tuple[str, str]) -> list[dict[str, float | str]]:
    """Per-basin NSE and KGE of daily flow ``sim`` (len(gauge_ids), days of ``period``) against observations."""
    lo, hi = data.day_index(period[0]), data.day_index(period[1]) + 1
    flow = data.streamflow_mm_per_day
    return [{"gauge_id": g, "nse": nse(flow[r, lo:hi], sim[k]), "kge": kge(flow[r, lo:hi], sim[k])}
            for k, (g, r) in enumerate(zip(gauge_ids, data.rows(gauge_ids), strict=True))]
