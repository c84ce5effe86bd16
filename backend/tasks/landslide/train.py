"""Train a landslide adapter on a points CSV and write it with its model card (the bundling recipe).

Recipe: exact encoder features of every point at its own location; early stopping on one spatial block (one
of 5 k-means blocks of the coordinates) picks the number of steps; the final network is then trained on
all points for that many steps. The card (``<adapter>.md``) records the data, covariates, steps, the base
model's checksum and a spatially blocked CV of the same recipe (5 k-means blocks, seed 0) next to logistic
regression on the same covariates.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from backend.core.atomic_io import write_text_atomic
from backend.core.paths import PROJECT_ROOT
from backend.data.landslides import read_landslide_points
from backend.model.checkpoint import BaseModel
from backend.tasks.landslide.cv import (
    CVContext,
    FoldScore,
    PointSet,
    cross_validate,
    kmeans_blocks,
    predict_logistic,
    predict_scratch,
    predict_stefaland,
    spatial_folds,
)
from backend.tasks.landslide.features import to_latlon
from backend.tasks.landslide.model import (
    BUNDLE_COMMAND,
    LandslideModel,
    TrainSettings,
    area_centre,
    complete_rows,
    covariate_matrix,
    new_model,
    save_landslide_adapter,
    train,
)

#: spatial blocks of the early-stopping split and of the card's CV
BLOCKS = 5


@dataclass
class TrainedAdapter:
    """The trained model, what it was trained on, and (optionally) its CV scores."""

    model: LandslideModel
    meta: dict
    cv: list[FoldScore]


def train_on_points(points_path: Path, base: BaseModel | None, settings: TrainSettings | None = None,
                    cv: bool = True) -> TrainedAdapter:
    """Train on every complete point of ``points_path`` (from scratch when ``base`` is None)."""
    start = time.perf_counter()
    settings = settings or TrainSettings()
    points = read_landslide_points(Path(points_path))
    covariates, names = covariate_matrix(points)
    keep = complete_rows(covariates)
    covariates, labels = covariates[keep], points.label[keep]
    x, y = points.x[keep], points.y[keep]
    centre = area_centre(points)
    model = new_model(names, base, centre, settings)
    # each point at its own location, as a hazard map encodes each cell (features.EncoderGrid)
    states = model.states_exact(covariates, to_latlon(x, y, points.crs))
    validation = kmeans_blocks(x, y, BLOCKS, settings.fit.seed) == 0
    probe = new_model(names, base, centre, settings)
    stopped = train(probe, covariates, states, labels, validation, settings, label="early-stopping split")
    steps = max(stopped.best_step, settings.fit.validate_every)
    final = replace(settings, fit=replace(settings.fit, steps=steps))
    train(model, covariates, states, labels, None, final, label="all points")
    scores: list[FoldScore] = []
    if cv:
        data = PointSet(Path(points_path).name, covariates, names, labels, x, y, centre, states)
        network = predict_scratch if base is None else predict_stefaland
        scores = cross_validate(data, spatial_folds(data, BLOCKS, [settings.fit.seed]), CVContext(base, settings),
                                {"this recipe": network, "logistic regression": predict_logistic})
    meta = {
        "points": str(points_path), "n_points": int(keep.sum()), "n_landslides": int(labels.sum()),
        "dropped_incomplete": int((~keep).sum()), "crs": points.crs, "covariates": names,
        "vocabulary": model.config.vocabulary, "area_centre_latlon": list(centre),
        "early_stopping_step": stopped.best_step, "early_stopping_log_loss": -stopped.best_score,
        "validation_points": int(validation.sum()), "steps": steps, "seed": settings.fit.seed,
        "base_model": _relative(base.path) if base is not None else None,
        "base_sha256": base.sha256 if base is not None else "",
        "trained": dt.datetime.now().isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return TrainedAdapter(model, meta, scores)


def _relative(path: Path | None) -> str | None:
    """A path relative to the project when inside it (cards are read on other machines)."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if PROJECT_ROOT in resolved.parents else str(path)


def _cv_lines(scores: list[FoldScore]) -> list[str]:
    if not scores:
        return ["(CV skipped: --no-cv)"]
    lines = ["| model | AUC | F1 | accuracy | folds |", "|---|---|---|---|---|"]
    for name in dict.fromkeys(s.model for s in scores):
        rows = [s for s in scores if s.model == name]
        means = {m: float(np.nanmean([getattr(s, m) for s in rows])) for m in ("auc", "f1", "accuracy")}
        lines.append(f"| {name} | {means['auc']:.3f} | {means['f1']:.3f} | {means['accuracy']:.3f} | {len(rows)} |")
    return lines


def model_card(trained: TrainedAdapter, adapter_path: Path) -> str:
    """The Markdown model card of a trained adapter."""
    m = trained.meta
    kind = ("from scratch (no base model)" if trained.model.config.from_scratch
            else "frozen StefaLand encoder + residual adapter + logistic head")
    vocabulary = ", ".join(f"`{v}` → `{k}`" for k, v in m["vocabulary"].items()) or "none"
    return "\n".join([
        f"# Landslide susceptibility adapter (`{Path(adapter_path).name}`)", "",
        f"- Model: {kind}; task `landslide`; output: probability of a landslide at a location.",
        f"- Data: `{m['points']}`: {m['n_points']} points ({m['n_landslides']} landslides), x/y in {m['crs']} "
        f"({m['dropped_incomplete']} dropped for a missing covariate). Muenchow et al. (2012), spDataLarge (CC0).",
        f"- Covariates (network input order, z-scored with the training points' statistics): "
        f"{', '.join(m['covariates'])}. Shown to the encoder: {vocabulary} (slope degrees → m/km as "
        "tan(deg)·1000); every other CAMELS attribute and all forcings masked; the location token is each "
        f"point's own lat/lon (area centre {m['area_centre_latlon'][0]:.4f}, {m['area_centre_latlon'][1]:.4f}), "
        "and a hazard map encodes each cell at its own location too.",
        f"- Training: early stopping on one of {BLOCKS} k-means blocks ({m['validation_points']} points, seed "
        f"{m['seed']}) chose {m['early_stopping_step']} steps (log-loss {m['early_stopping_log_loss']:.3f}); "
        f"the adapter was then trained on all points for {m['steps']} steps ({m['seconds']} s in all).",
        f"- Base model: `{m['base_model']}`, sha256 `{m['base_sha256'] or '-'}`. The adapter only loads with "
        "this very base model (checked by checksum).",
        f"- Made {m['trained']} by: `{BUNDLE_COMMAND}`. Re-run it whenever the base model changes.",
        "", f"Spatially blocked CV of the same recipe ({BLOCKS} k-means blocks of the coordinates, seed {m['seed']}; "
        "mean over folds; F1/accuracy at p ≥ 0.5). The full benchmark: docs/benchmark_landslide.md.", "",
        *_cv_lines(trained.cv), "",
        "Mapping: `python -m backend hazard --raster data/landslides/ecuador_lsl/ta.tif --out susceptibility.tif` "
        "(bands named as the covariates above). Limitations: trained on one 4 × 4 km area of the Andes of "
        "southern Ecuador; outside it (other terrain, other DEM resolution than 10 m) the probabilities are "
        "not calibrated.", ""])


def write_adapter_and_card(trained: TrainedAdapter, adapter_path: Path) -> tuple[Path, Path]:
    """Write the adapter file and its card (``.md`` next to it)."""
    meta = {**trained.meta, "cv": [s.__dict__ for s in trained.cv]}
    save_landslide_adapter(adapter_path, trained.model, meta)
    card = Path(adapter_path).with_suffix(".md")
    write_text_atomic(card, model_card(trained, adapter_path))
    return Path(adapter_path), card
