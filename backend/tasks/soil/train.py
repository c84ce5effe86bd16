"""Training the bundled soil adapters (``make task-adapters``) and writing their model cards.

- ``soil_composition_adapter.pt``: the soil-composition head trained on every CAMELS basin (soil hidden),
  early-stopped on the basins withheld from pretraining (listed next to the base model) when available,
  else on a seeded 15% of the basins.
- ``soil_moisture_adapter.pt``: the soil-moisture adapter + GRU trained on the usable ISMN stations (or on
  the user's own probes), early-stopped on the last 20% of each station's record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from backend.core.atomic_io import write_text_atomic
from backend.core.runtime import set_threads
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.splits import holdout_split
from backend.model.checkpoint import BaseModel, file_sha256
from backend.model.inputs import camels_location_data
from backend.tasks.soil.composition import (
    composition_targets,
    head_config,
    save_head,
    soil_features,
    train_head,
)
from backend.tasks.soil.moisture import probe_inputs, save_model, time_block_masks, train_model
from backend.tasks.soil.probes import Probe, ismn_probes
from backend.training.fit import FitConfig


def _split_file(base: BaseModel) -> Path | None:
    if base.path is None:
        return None
    path = Path(str(base.path).replace(".pt", ".split.json"))
    return path if path.is_file() else None


def train_composition_adapter(base: BaseModel, out: Path, seed: int = 0) -> Path:
    """Train on all basins; write ``out`` and its card ``out.with_suffix('.md')``."""
    set_threads(2)
    t0 = time.monotonic()
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    ids = catalogue.with_forcings_and_attributes
    features = soil_features(base, camels_location_data(base.normalizer, catalogue.attributes, arrays, ids))
    targets = composition_targets(catalogue.attributes, ids)
    split = _split_file(base)
    if split is not None:
        withheld = set(json.loads(split.read_text())["holdout_basins"])
        validation = f"the {len(withheld & set(ids))} basins withheld from pretraining ({split.name})"
    else:
        withheld = set(holdout_split(ids, 0.15, seed)[1])
        validation = f"a seeded 15% of the basins (seed {seed}; no split file next to the base model)"
    val = np.array([i for i, g in enumerate(ids) if g in withheld])
    train = np.array([i for i, g in enumerate(ids) if g not in withheld])
    _, result = train_head(features, targets, train, val, FitConfig(steps=800, learning_rate=3e-3,
                                                                     validate_every=40, patience=5, seed=seed))
    # refit on every basin for the early-stopped number of steps (its last-step weights are kept)
    everything, steps = np.arange(len(ids)), max(result.best_step, 40)
    head, _ = train_head(features, targets, everything, everything,
                         FitConfig(steps=steps, learning_rate=3e-3, validate_every=steps, patience=1, seed=seed),
                         label="refit on all basins")
    meta = {"basins": len(ids), "validation": validation, "validation_mean_r2": round(result.best_score, 4),
            "steps": result.best_step, "seed": seed}
    save_head(out, head, base, head_config(features), meta)
    card = [
        "# Soil composition adapter (`soil_composition_adapter.pt`)", "",
        "Predicts sand, silt and clay (% of the mineral fine earth, summing to 100) from the frozen StefaLand "
        "encoder with the whole soil attribute group hidden. Residual adapter on the soil-group token state "
        "(extra input: the visible non-soil attributes), linear layer to 3 logits, softmax x 100.", "",
        "Made by `make task-adapters` (`python -m backend soil-composition-adapter --out "
        f"{out.as_posix()}`).", "",
        f"- Base model: `{base.path.name if base.path else '?'}`, sha256 `{base.sha256}` (the adapter is refused "
        "with any other base model: re-run `make task-adapters` after bundling a new one).",
        f"- Adapter sha256: `{file_sha256(out)}`",
        f"- Training: all {len(ids)} CAMELS basins (target: `camels_soil.txt` sand/silt/clay renormalised to "
        f"100) for {result.best_step} steps, the step count found by first training on the other {len(train)} and "
        f"early stopping on {validation} (their mean R² then: {result.best_score:.3f}). Seed {seed}; "
        f"{(time.monotonic() - t0) / 60:.1f} min.",
        "- Leakage note: the base model saw the soil attributes of its pretraining basins (self-supervised); "
        "see docs/benchmark_soil_composition.md for scores on the withheld basins.",
        "- Points away from CAMELS gauges borrow the nearest basin's Daymet forcings; missing non-soil "
        "attributes are imputed by the base model first.", ""]
    write_text_atomic(out.with_suffix(".md"), "\n".join(card))
    return out


def train_moisture_adapter(base: BaseModel, out: Path, probes: list[Probe] | None = None, seed: int = 0,
                           steps: int = 400) -> Path:
    """Train on the ISMN stations (or ``probes``); write ``out`` and its card."""
    set_threads(2)
    t0 = time.monotonic()
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    skipped: list[str] = []
    source = "user probes"
    if probes is None:
        probes, skipped = ismn_probes(catalogue.attributes, list(arrays.gauge_ids))
        source = "ISMN stations"
    if not probes:
        raise ValueError("no usable soil moisture probes")
    inputs = [probe_inputs(base, p, catalogue.attributes, arrays) for p in probes]
    masks = [time_block_masks(p.target) for p in inputs]
    _, _, result = train_model(inputs, [m[0] for m in masks], [m[1] for m in masks],
                               FitConfig(steps=steps, learning_rate=2e-3, validate_every=25, patience=4, seed=seed))
    # refit on every observed day for the early-stopped number of steps (its last-step weights are kept)
    observed = [np.isfinite(p.target) for p in inputs]
    model, config, _ = train_model(inputs, observed, observed,
                                   FitConfig(steps=max(result.best_step, 25), learning_rate=2e-3,
                                             validate_every=max(result.best_step, 25), patience=1, seed=seed),
                                   label="refit on all days")
    stations = [{"id": p.probe_id, "lat": p.lat, "lon": p.lon, "basin": p.basin.gauge_id,
                 "basin_km": round(p.basin.distance_km, 1), "days": int(np.isfinite(p.target).sum())} for p in inputs]
    meta = {"stations": stations, "validation_rmse": round(-result.best_score, 4), "steps": result.best_step,
            "seed": seed, "source": source}
    save_model(out, model, base, config, meta)
    lines = [
        "# Soil moisture adapter (`soil_moisture_adapter.pt`)", "",
        "Daily top-layer volumetric soil moisture (m³/m³) from the frozen StefaLand encoder: weekly time-token "
        "states repeated to days plus the day's normalised Daymet forcings -> residual adapter -> GRU (32) -> "
        "linear. Forcings and statics come from the nearest CAMELS basin; the point's own lat/lon feed the "
        "location token.", "",
        f"Made by `make task-adapters` (`python -m backend soil-moisture-adapter --out {out.as_posix()}`); a user "
        "fine-tunes the same way on their own probes with `--sites sites.csv --values values.csv` "
        "(`id,lat,lon` and `id,date,soil_moisture` in m³/m³).", "",
        f"- Base model: `{base.path.name if base.path else '?'}`, sha256 `{base.sha256}` (re-run `make "
        "task-adapters` after bundling a new base model).",
        f"- Adapter sha256: `{file_sha256(out)}`",
        f"- Training: all observed days of {len(inputs)} {source} for {result.best_step} steps, the step count "
        f"found by first training on the first 80% of each record and early stopping on the last 20% (RMSE "
        f"then {-result.best_score:.4f} m³/m³). Seed {seed}; "
        f"{(time.monotonic() - t0) / 60:.1f} min.", "",
        "| station | lat | lon | days | nearest CAMELS basin | distance to its gauge (km) |",
        "|---|---|---|---|---|---|"]
    lines += [f"| {s['id']} | {s['lat']:.4f} | {s['lon']:.4f} | {s['days']} | {s['basin']} | {s['basin_km']} |"
              for s in stations]
    if skipped:
        lines += ["", "Left out: " + "; ".join(skipped) + "."]
    lines += ["", "Six stations is a demonstration of the mechanism, not a general model: see "
              "docs/benchmark_soil_moisture.md (leave-one-station-out).", ""]
    write_text_atomic(out.with_suffix(".md"), "\n".join(lines))
    return out
