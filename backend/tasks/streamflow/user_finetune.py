"""Fine-tune the streamflow adapter on a user's own gauges (``python -m backend finetune``).

Warm start from the bundled (or given) streamflow adapter; the base model's encoder stays frozen (its states
are computed once, without gradients, and it is not part of the trained module). Loss NSE* as in
:mod:`backend.tasks.streamflow.train`; early stopping on the median NSE of each gauge's time-split
validation part (:mod:`backend.tasks.streamflow.user_data`). If no fine-tuned step beats the warm start on
validation, the warm-start weights are kept (and the report says so).

An ensemble adapter is fine-tuned member by member: member m warm-starts from the warm-start adapter's member
m and trains with seed ``seed + m`` (batches and dropout); each member keeps its warm-start weights on its own
if no step beat them. The scores before and after are those of the ensemble (the members' mean flow). The time
cap ``max_seconds`` is shared by the members (each gets an equal part), so a run takes no longer than before.

Outputs in the user's folder: ``streamflow_adapter.pt`` (written atomically, only once training is done: an
interrupted run leaves no adapter or the previous complete one), then ``config.yaml``, ``report.json`` and
``report.md``. The bundled model folder is never written to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from backend.core import progress as progress_module
from backend.core.metrics import kge, nse
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import encode_records
from backend.tasks.streamflow.model import (
    StreamflowEnsemble,
    StreamflowModel,
    as_ensemble,
    assemble_inputs,
    predict_days,
)
from backend.tasks.streamflow.user_data import PreparedGauges, sequence_start
from backend.training.fit import FitConfig, FitResult, fit
from backend.training.nse_loss import masked_nse_loss, nse_weights

Report = Callable[[float, str], None]


@dataclass
class GaugeFinetuneConfig:
    """Settings of a fine-tune on user gauges.

    Sized so ten gauges finish in well under 3 minutes on 2 CPU cores; ``max_seconds`` caps the fit (seconds,
    shared equally by an ensemble's members). ``seed`` is member 0's; member m uses ``seed + m``. The resolved
    values are saved as ``config.yaml`` next to the adapter.
    """

    steps: int = 400
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 16
    loss_days: int = 270
    validate_every: int = 25
    patience: int = 4
    validation_fraction: float = 0.2
    max_seconds: float = 120.0
    seed: int = 0
    threads: int = 1


@dataclass
class GaugeScore:
    """Skill of one gauge on its validation part."""

    nse: float
    kge: float
    observed_days: int


@dataclass
class MemberOutcome:
    """What the fine-tune did to one member: its seed, fit, median validation NSE before/after, and time."""

    seed: int
    fit: FitResult
    median_before: float
    median_after: float
    kept_warm_start: bool
    seconds: float


@dataclass
class FinetuneOutcome:
    """What a fine-tune did: the ensemble's scores before (warm start) and after, each member's fit, timings."""

    before: dict[str, GaugeScore]
    after: dict[str, GaugeScore]
    members: list[MemberOutcome]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def kept_warm_start(self) -> bool:
        """True when no member's fine-tuned step beat its warm start (every member kept its weights)."""
        return all(m.kept_warm_start for m in self.members)

    @staticmethod
    def median(scores: dict[str, GaugeScore]) -> float:
        """Median NSE over the gauges with a finite NSE (NaN when there is none)."""
        values = [s.nse for s in scores.values() if np.isfinite(s.nse)]
        return float(np.median(values)) if values else float("nan")


@contextlib.contextmanager
def progress_span(lo: float, hi: float) -> Iterator[None]:
    """While inside, progress bars report to the worker's callback (if one is set) within ``lo..hi``."""
    outer = progress_module.PROGRESS_CALLBACK
    if outer is None:
        yield
        return
    progress_module.PROGRESS_CALLBACK = lambda fraction, message: outer(lo + (hi - lo) * fraction, message)
    try:
        yield
    finally:
        progress_module.PROGRESS_CALLBACK = outer


def validation_scores(model: StreamflowModel | StreamflowEnsemble, prepared: PreparedGauges, base: BaseModel,
                      warmup_days: int) -> dict[str, GaugeScore]:
    """NSE/KGE of every gauge on its validation part (one pass over the span of all validation parts)."""
    data, ids = prepared.data, list(prepared.splits)
    splits = [prepared.splits[g] for g in ids]
    lo, hi = min(s.val_lo for s in splits), max(s.val_hi for s in splits)
    sim = predict_days(model, data, base, data.rows(ids), lo, hi, warmup_days)
    flow = data.streamflow_mm_per_day
    out = {}
    for k, (gauge_id, s) in enumerate(zip(ids, splits, strict=True)):
        obs = flow[data.rows([gauge_id])[0], s.val_lo:s.val_hi]
        pred = sim[k, s.val_lo - lo:s.val_hi - lo]
        out[gauge_id] = GaugeScore(nse(obs, pred), kge(obs, pred), int(np.isfinite(obs).sum()))
    return out


def finetune_on_gauges(base: BaseModel, model: StreamflowModel | StreamflowEnsemble, warmup_days: int,
                       prepared: PreparedGauges, cfg: GaugeFinetuneConfig,
                       should_stop: Callable[[], bool] | None = None,
                       report: Report | None = None) -> FinetuneOutcome:
    """Train ``model`` (a warm-started frozen-encoder network or ensemble) in place on the prepared gauges.

    Every member is fine-tuned in turn (member m with seed ``cfg.seed + m`` and ``cfg.max_seconds / M``); the
    encoder states are computed once for all of them. ``should_stop`` is polled every step (True stops early,
    keeping the best weights; raising, e.g. KeyboardInterrupt, aborts). The base model is only read.
    """
    ensemble = as_ensemble(model)
    if ensemble.encoder_mode != "frozen_pretrained":
        raise ValueError(f"only frozen-encoder networks can be fine-tuned on gauges, not {ensemble.name!r}")
    report = report or (lambda fraction, message: None)
    seconds: dict[str, float] = {}
    data = prepared.data
    start = time.monotonic()
    if data.states is None:
        report(0.03, "encoding the forcing records with the frozen encoder")
        with progress_span(0.03, 0.08):
            data.states = encode_records(base, data.locations, label="encoding gauges")
    seconds["encoding"] = time.monotonic() - start
    report(0.09, "scoring the warm start on the validation parts")
    before = validation_scores(ensemble, prepared, base, warmup_days)
    n = len(ensemble)
    members = []
    start = time.monotonic()
    for m, member in enumerate(ensemble.members):
        lo, hi = 0.1 + 0.85 * m / n, 0.1 + 0.85 * (m + 1) / n
        if n > 1:
            report(lo, f"fine-tuning member {m + 1} of {n}")
        member_cfg = dataclasses.replace(cfg, seed=cfg.seed + m, max_seconds=cfg.max_seconds / n)
        with progress_span(lo, hi):
            members.append(_finetune_member(base, member, warmup_days, prepared, member_cfg, should_stop))
    seconds["training"] = time.monotonic() - start
    after = validation_scores(ensemble, prepared, base, warmup_days)
    ensemble.eval()
    return FinetuneOutcome(before, after, members, seconds)


def _finetune_member(base: BaseModel, model: StreamflowModel, warmup_days: int, prepared: PreparedGauges,
                     cfg: GaugeFinetuneConfig, should_stop: Callable[[], bool] | None) -> MemberOutcome:
    """Fine-tune one member in place (encoder states already computed); keeps its warm start if nothing beat it."""
    data = prepared.data
    ids = list(prepared.splits)
    splits = [prepared.splits[g] for g in ids]
    rows = data.rows(ids)
    flow = data.streamflow_mm_per_day
    length = warmup_days + cfg.loss_days
    first = np.array([sequence_start(s, warmup_days) for s in splits])
    last = np.array([s.train_hi - length for s in splits])
    train_lo = np.array([s.train_lo for s in splits])[:, None]
    train_hi = np.array([s.train_hi for s in splits])[:, None]
    with np.errstate(invalid="ignore"):
        scale = np.array([np.nanstd(flow[r, s.train_lo:s.train_hi]) for r, s in zip(rows, splits, strict=True)])
    weights = nse_weights(scale)

    def loss_on_batch(rng: np.random.Generator) -> torch.Tensor:
        pick = rng.integers(0, len(ids), cfg.batch_size)
        starts = rng.integers(first[pick], last[pick] + 1)
        days = starts[:, None] + np.arange(length)[None, :]
        prediction = model(assemble_inputs(model, data, base, rows[pick], days))[:, warmup_days:]
        target_days = days[:, warmup_days:]
        target = torch.from_numpy(flow[rows[pick][:, None], target_days])
        in_train = torch.from_numpy((target_days >= train_lo[pick]) & (target_days < train_hi[pick]))
        return masked_nse_loss(prediction, target, weights[pick], in_train)

    was = FinetuneOutcome.median(validation_scores(model, prepared, base, warmup_days))
    warm_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    fit_cfg = FitConfig(steps=cfg.steps, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
                        validate_every=cfg.validate_every, patience=cfg.patience, seed=cfg.seed,
                        max_seconds=cfg.max_seconds)
    start = time.monotonic()
    result = fit(model, loss_on_batch,
                 lambda: FinetuneOutcome.median(validation_scores(model, prepared, base, warmup_days)),
                 fit_cfg, label="fine-tune on gauges", should_stop=should_stop)
    seconds = time.monotonic() - start
    now = FinetuneOutcome.median(validation_scores(model, prepared, base, warmup_days))
    kept = bool(np.isfinite(was) and not now > was)
    if kept:
        model.load_state_dict(warm_state)
        now = was
    model.eval()
    return MemberOutcome(cfg.seed, result, was, now, kept, seconds)
