"""Pretraining: masked reconstruction of static groups and forcing windows on the real CAMELS data.

Resumable: the training state is checkpointed atomically every ``checkpoint_every`` steps; batches and
dropout are seeded by step, so an interrupted run continues exactly where it stopped.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.core.atomic_io import write_atomic, write_text_atomic
from backend.core.config import save_config
from backend.core.progress import ProgressBar
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.normalization import Normalizer
from backend.data.splits import basin_subset, holdout_split
from backend.model.batch import Batch, Visibility
from backend.model.checkpoint import save_base_model
from backend.model.config import MaskingConfig, ModelConfig
from backend.model.inputs import LocationData, camels_location_data, make_batch, vocabulary_from
from backend.model.losses import LossWeights, reconstruction_loss
from backend.model.mae import StefaLandMAE
from backend.model.masking import sample_visibility


@dataclass
class PretrainConfig:
    """One pretraining run (``resources/configs/pretrain.yaml``)."""

    seed: int = 42
    holdout_fraction: float = 0.1
    holdout_seed: int = 2024
    basin_fraction: float = 1.0  # < 1: pretrain on a seeded subset of the non-withheld basins (data-size study)
    model: ModelConfig = field(default_factory=ModelConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    batch_size: int = 64
    steps: int = 6000
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    checkpoint_every: int = 100
    validate_every: int = 250
    validation_batches: int = 8
    threads: int = 2
    max_minutes: float = 85.0


def _lr(cfg: PretrainConfig, step: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def sample_windows(data: LocationData, batch_size: int, window_days: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random (location row, window start day) pairs."""
    rows = rng.integers(0, len(data.ids), size=batch_size)
    starts = rng.integers(0, len(data.dates) - window_days + 1, size=batch_size)
    return rows, starts


class Pretrainer:
    """Holds the data, model and optimiser of one run folder."""

    def __init__(self, cfg: PretrainConfig, run_dir: Path, catalogue: BasinCatalogue | None = None) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(cfg.threads)
        catalogue = catalogue or BasinCatalogue.open()
        arrays = load_basin_arrays(catalogue)
        attributes = catalogue.attributes
        ids = catalogue.with_forcings_and_attributes
        self.train_ids, self.holdout_ids = holdout_split(ids, cfg.holdout_fraction, cfg.holdout_seed)
        self.train_ids = basin_subset(self.train_ids, cfg.basin_fraction, cfg.holdout_seed)
        rows = [arrays.index(g) for g in self.train_ids]
        self.normalizer = Normalizer.fit(attributes, arrays.forcings[rows], self.train_ids)
        self.train = camels_location_data(self.normalizer, attributes, arrays, self.train_ids)
        self.holdout = camels_location_data(self.normalizer, attributes, arrays, self.holdout_ids)
        torch.manual_seed(cfg.seed)
        self.model = StefaLandMAE(cfg.model, vocabulary_from(self.normalizer))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.learning_rate,
                                           weight_decay=cfg.weight_decay)
        self.step = 0
        self.elapsed_s = 0.0
        self._write_run_files(catalogue)
        self._resume()

    # --- run folder ------------------------------------------------------------------------------------
    def _write_run_files(self, catalogue: BasinCatalogue) -> None:
        save_config(self.cfg, self.run_dir / "config.yaml")
        self.normalizer.save(self.run_dir / "normalizer.json")
        split = {"data_root": str(catalogue.root), "pretrain_basins": self.train_ids,
                 "holdout_basins": self.holdout_ids, "holdout_seed": self.cfg.holdout_seed,
                 "period": [str(self.train.dates[0]), str(self.train.dates[-1])]}
        write_text_atomic(self.run_dir / "split.json", json.dumps(split, indent=1))

    @property
    def state_path(self) -> Path:
        """The resumable training checkpoint in the run folder."""
        return self.run_dir / "training_state.pt"

    def _resume(self) -> None:
        if not self.state_path.is_file():
            return
        state = torch.load(self.state_path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.elapsed_s = float(state["elapsed_s"])
        self._truncate_log()
        print(f"resumed from {self.state_path} at step {self.step}")

    def _truncate_log(self) -> None:
        """Drop log rows written after the last checkpoint (they will be trained again), one row per step."""
        log_path = self.run_dir / "loss_log.csv"
        if not log_path.is_file():
            return
        with open(log_path, newline="") as handle:
            rows = list(csv.reader(handle))
        kept: dict[int, list[str]] = {}
        for row in rows[1:]:
            if row and int(row[0]) <= self.step:
                kept[int(row[0])] = row
        lines = [rows[0], *(kept[k] for k in sorted(kept))]
        text = "".join(",".join(r) + "\n" for r in lines)
        write_text_atomic(log_path, text)

    def save_state(self) -> None:
        """Checkpoint model, optimiser and step atomically."""
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "step": self.step, "elapsed_s": self.elapsed_s}
        write_atomic(self.state_path, lambda tmp: torch.save(state, tmp))

    # --- training --------------------------------------------------------------------------------------
    def _batch(self, data: LocationData, rng: np.random.Generator) -> tuple[Batch, Visibility]:
        mcfg = self.cfg.model
        rows, starts = sample_windows(data, self.cfg.batch_size, mcfg.window_days, rng)
        batch = make_batch(data, rows, starts, mcfg.patch_days, mcfg.window_patches)
        vocab = self.model.vocab
        visible = sample_visibility(batch, vocab.numeric_groups, vocab.categorical_groups, self.cfg.masking,
                                    mcfg.patch_days, rng)
        return batch, visible

    def train_step(self) -> dict[str, float]:
        """One optimisation step; the batch and dropout are seeded by the step number."""
        rng = np.random.default_rng([self.cfg.seed, self.step])
        torch.manual_seed(self.cfg.seed * 1_000_003 + self.step)
        batch, visible = self._batch(self.train, rng)
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = _lr(self.cfg, self.step)
        loss = reconstruction_loss(self.model(batch, visible), batch, visible, self.cfg.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        return {"loss": float(loss.total.detach()), "forcings": float(loss.forcings), "statics": float(loss.statics),
                "categories": float(loss.categories)}

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Masked-reconstruction loss on the withheld basins (fixed seeded batches)."""
        self.model.eval()
        parts = {"val_loss": 0.0, "val_forcings": 0.0, "val_statics": 0.0}
        for k in range(self.cfg.validation_batches):
            rng = np.random.default_rng([self.cfg.seed, 10**9 + k])
            batch, visible = self._batch(self.holdout, rng)
            loss = reconstruction_loss(self.model(batch, visible), batch, visible, self.cfg.loss)
            parts["val_loss"] += float(loss.total) / self.cfg.validation_batches
            parts["val_forcings"] += float(loss.forcings) / self.cfg.validation_batches
            parts["val_statics"] += float(loss.statics) / self.cfg.validation_batches
        return parts

    def run(self) -> Path:
        """Train until ``steps`` (or the time budget), then write ``model.pt`` and return its path."""
        log_path = self.run_dir / "loss_log.csv"
        new_log = not log_path.exists() or self.step == 0
        log = open(log_path, "w" if new_log else "a", newline="")
        writer = csv.writer(log)
        if new_log:
            writer.writerow(["step", "elapsed_s", "lr", "loss", "forcings", "statics", "categories",
                             "val_loss", "val_forcings", "val_statics"])
        bar = ProgressBar("pretrain", self.cfg.steps)
        stop = {"signal": False}
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.update(signal=True))
        window: list[float] = []
        start = time.monotonic() - self.elapsed_s
        try:
            while self.step < self.cfg.steps and not stop["signal"]:
                t0 = time.monotonic()
                parts = self.train_step()
                window.append(parts["loss"])
                self.elapsed_s = time.monotonic() - start
                rate = self.cfg.batch_size / max(time.monotonic() - t0, 1e-9)
                bar.update(self.step, f"loss {np.mean(window[-50:]):.3f} {rate:.0f} samples/s")
                val = self.validate() if self.step % self.cfg.validate_every == 0 else {}
                if self.step % 10 == 0 or val:
                    writer.writerow([self.step, f"{self.elapsed_s:.1f}", f"{_lr(self.cfg, self.step - 1):.2e}",
                                     *(f"{parts[k]:.4f}" for k in ("loss", "forcings", "statics", "categories")),
                                     *(f"{val[k]:.4f}" if val else "" for k in
                                       ("val_loss", "val_forcings", "val_statics"))])
                    log.flush()
                if self.step % self.cfg.checkpoint_every == 0:
                    self.save_state()
                if self.elapsed_s > self.cfg.max_minutes * 60:
                    print(f"\nstopping at step {self.step}: time budget of {self.cfg.max_minutes} min reached")
                    break
        except KeyboardInterrupt:
            self.save_state()
            log.close()
            print(f"\ninterrupted at step {self.step}; state saved, rerun to resume")
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
        self.save_state()
        log.close()
        if stop["signal"]:
            raise KeyboardInterrupt
        final = self.validate()
        extra = {"steps": self.step, "training_seconds": round(self.elapsed_s, 1),
                 "threads": self.cfg.threads, "final_validation": final,
                 "pretrain_basins": len(self.train_ids), "holdout_basins": len(self.holdout_ids),
                 "period": [str(self.train.dates[0]), str(self.train.dates[-1])]}
        sha = save_base_model(self.run_dir / "model.pt", self.model, self.normalizer, extra)
        write_text_atomic(self.run_dir / "summary.json", json.dumps(dict(extra, sha256=sha), indent=1))
        print(f"wrote {self.run_dir / 'model.pt'} (sha256 {sha[:12]}), final validation {final}")
        return self.run_dir / "model.pt"
