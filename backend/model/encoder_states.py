"""Frozen-encoder states of whole records, computed once per location and cached.

A record of T days is cut into 364-day windows on a fixed grid starting at its first day, plus one
window aligned to its end for the remaining tail. Each day takes the state of the weekly token that
contains it, so any daily sequence can be assembled without running the encoder again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from backend.core.atomic_io import save_npy_atomic
from backend.core.progress import progress
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.inputs import LocationData, make_batch


@dataclass(frozen=True)
class WindowGrid:
    """Window starts for a record and, per day, which window and token hold its state."""

    starts: np.ndarray      # (W,) first day of each window
    day_window: np.ndarray  # (T,) window index of each day
    day_patch: np.ndarray   # (T,) token index within that window


def window_grid(n_days: int, patch_days: int, n_patches: int) -> WindowGrid:
    """Non-overlapping windows from day 0, plus one window ending on the last day for the tail."""
    window = patch_days * n_patches
    if n_days < window:
        raise ValueError(f"a record of {n_days} days is shorter than one {window}-day encoder window")
    full = n_days // window
    starts = list(np.arange(full) * window)
    day = np.arange(n_days)
    day_window = np.minimum(day // window, full - 1)
    day_patch = (day - day_window * window) // patch_days
    if full * window < n_days:
        tail_start = n_days - window
        starts.append(tail_start)
        tail = day >= full * window
        day_window[tail] = full
        day_patch[tail] = (day[tail] - tail_start) // patch_days
    return WindowGrid(np.asarray(starts, dtype=np.int64), day_window, day_patch)


@torch.no_grad()
def encode_records(base: BaseModel, data: LocationData, batch_size: int = 64,
                   label: str = "encoding") -> np.ndarray:
    """Token states (L, W, N, d) float16 of every location's windows, with every observed input visible."""
    cfg = base.config
    grid = window_grid(len(data.dates), cfg.patch_days, cfg.window_patches)
    n_loc, n_win = len(data.ids), len(grid.starts)
    out = np.zeros((n_loc, n_win, cfg.window_patches, cfg.d_model), dtype=np.float16)
    pairs = [(i, w) for i in range(n_loc) for w in range(n_win)]
    base.model.eval()
    chunks = [pairs[k : k + batch_size] for k in range(0, len(pairs), batch_size)]
    for chunk in progress(chunks, label):
        rows = np.array([p[0] for p in chunk])
        starts = grid.starts[[p[1] for p in chunk]]
        batch = make_batch(data, rows, starts, cfg.patch_days, cfg.window_patches)
        states = base.model.encode(batch, Visibility.everything_observed(batch)).time
        for k, (i, w) in enumerate(chunk):
            out[i, w] = states[k].numpy().astype(np.float16)
    return out


def cached_encode_records(base: BaseModel, data: LocationData, cache_dir: Path) -> np.ndarray:
    """:func:`encode_records`, cached on disk by base model checksum, location ids and record dates."""
    key = hashlib.sha256("|".join([base.sha256, ",".join(data.ids), str(data.dates[0]),
                                   str(len(data.dates))]).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"encoder_states_{key}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    states = encode_records(base, data)
    save_npy_atomic(path, states)
    return states


def daily_states(states: np.ndarray, grid: WindowGrid, rows: np.ndarray, days: np.ndarray) -> np.ndarray:
    """States (B, S, d) float32 for locations ``rows`` (B,) on day indices ``days`` (B, S)."""
    return states[rows[:, None], grid.day_window[days], grid.day_patch[days]].astype(np.float32)
