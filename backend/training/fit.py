"""A small training loop with early stopping on validation locations, shared by every task head."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from backend.core.progress import ProgressBar


@dataclass
class FitConfig:
    """Optimisation settings of a head/adapter fit."""

    steps: int = 600
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    validate_every: int = 50
    patience: int = 4          # validations without improvement before stopping
    seed: int = 0
    max_seconds: float = 1e9   # stop (keeping the best weights) after this long
    schedule: Literal["constant", "cosine"] = "constant"  # cosine: learning rate decays to 0 at ``steps``


@dataclass
class FitResult:
    """Best validation score (higher is better), when it was reached, and the history."""

    best_score: float
    best_step: int
    steps_run: int
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, train loss, val score)


#: schedule name -> learning-rate scheduler over ``steps`` optimiser steps
SCHEDULES: dict[str, Callable[[torch.optim.Optimizer, int], torch.optim.lr_scheduler.LRScheduler]] = {
    "constant": lambda optimizer, steps: torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0),
    "cosine": lambda optimizer, steps: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps)),
}


def fit(module: nn.Module, loss_on_batch: Callable[[np.random.Generator], torch.Tensor],
        validation_score: Callable[[], float], cfg: FitConfig, label: str = "fine-tune",
        should_stop: Callable[[], bool] | None = None) -> FitResult:
    """Train ``module``'s trainable parameters; keep the weights with the best validation score.

    Args:
        module: holds the trainable parameters (frozen ones have ``requires_grad=False``).
        loss_on_batch: draws a batch with the given generator and returns the loss to minimise.
        validation_score: score on validation locations (higher is better, e.g. median NSE).
        cfg: steps, optimiser, schedule, validation interval, patience, time limit (seconds) and seed.
        label: progress bar label.
        should_stop: polled every step; True stops early (cancellation), keeping the best weights.
    """
    torch.manual_seed(cfg.seed)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = SCHEDULES[cfg.schedule](optimizer, cfg.steps)
    best_state = copy.deepcopy(module.state_dict())
    best, best_step, bad = -np.inf, 0, 0
    history: list[tuple[int, float, float]] = []
    bar = ProgressBar(label, cfg.steps)
    start = time.monotonic()
    losses: list[float] = []
    step = 0
    for step in range(1, cfg.steps + 1):
        module.train()
        rng = np.random.default_rng([cfg.seed, step])
        loss = loss_on_batch(rng)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        bar.update(step, f"loss {np.mean(losses[-20:]):.3f} best val {best:.3f}")
        if step % cfg.validate_every == 0 or step == cfg.steps:
            module.eval()
            with torch.no_grad():
                score = float(validation_score())
            history.append((step, float(np.mean(losses[-cfg.validate_every:])), score))
            if score > best:
                best, best_step, bad = score, step, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
        if (should_stop and should_stop()) or time.monotonic() - start > cfg.max_seconds:
            break
    bar.close()
    module.load_state_dict(best_state)
    module.eval()
    return FitResult(float(best), best_step, step, time.monotonic() - start, history)
