"""Soil composition benchmark: seeded k-fold over the CAMELS basins, soil group hidden for every basin.

Methods (each predicts the renormalised sand/silt/clay % of the test fold's basins):

- StefaLand: frozen encoder features (soil hidden) + residual adapter + softmax head, early-stopped on an
  inner validation split of the training folds.
- Zero-shot: the base model's own reconstruction of the hidden soil group, no fitting at all.
- Ridge / kNN on the other (non-soil, non-streamflow) static attributes, hyperparameters by inner CV.
- Nearest basin by location, and the training mean (R² 0 by construction, for scale).

Scores are pooled over the out-of-fold predictions: on all basins, and on the basins withheld from
pretraining (the only ones whose soil the encoder never saw).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.benchmarks import RESULTS_LIVE, headline, write_report_keeping_reading
from backend.core.geo import nearest_location
from backend.core.metrics import correlation, r2
from backend.core.runtime import set_threads
from backend.data.basin_arrays import load_basin_arrays
from backend.data.camels import AttributeTable
from backend.data.catalogue import BasinCatalogue
from backend.data.normalization import transform_static
from backend.data.splits import Fold, holdout_split, pub_folds
from backend.data.variables import STATIC_BY_NAME, Kind, input_static_names
from backend.model.checkpoint import BaseModel
from backend.model.inputs import camels_location_data
from backend.tasks.soil.composition import (
    COMPONENTS,
    HIDDEN_GROUP,
    SoilFeatures,
    composition_targets,
    predict_composition,
    renormalise,
    soil_features,
    train_head,
)
from backend.training.fit import FitConfig
from backend.training.tabular_baselines import knn_cv, ridge_cv

PUBLISHED = ("Published reference (WoSIS soil profiles, points not basins; different data): StefaLand R² 0.26 "
             "clay, 0.50 sand vs random forest 0.21 / 0.34. Not comparable one to one with the basin-average "
             "STATSGO fractions scored here.")


def attribute_matrices(attributes: AttributeTable, gauge_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Non-soil input attributes: numeric (log-transformed where the model does) and numeric + one-hot."""
    rows = [attributes.index(g) for g in gauge_ids]
    numeric = [n for n in input_static_names(Kind.NUMERIC) if STATIC_BY_NAME[n].group != HIDDEN_GROUP]
    x_num = np.stack([transform_static(n, attributes.numeric[n][rows]) for n in numeric], axis=1)
    onehots = []
    for name in input_static_names(Kind.CATEGORICAL):
        if STATIC_BY_NAME[name].group == HIDDEN_GROUP:
            continue
        column = [attributes.categorical[name][i] for i in rows]
        for value in sorted({c for c in column if c is not None}):
            onehots.append(np.array([c == value for c in column], dtype=np.float64))
    return x_num, np.concatenate([x_num, np.stack(onehots, axis=1)], axis=1) if onehots else x_num


@dataclass
class Context:
    """Everything a method may use in one fold (train/test rows of the full basin list)."""

    train: np.ndarray
    test: np.ndarray
    inner_train: np.ndarray
    inner_val: np.ndarray
    clean_train: np.ndarray
    clean_val: np.ndarray
    targets: np.ndarray
    features: SoilFeatures
    x_num: np.ndarray
    x_all: np.ndarray
    seed: int


def _head(c: Context, train: np.ndarray, val: np.ndarray) -> np.ndarray:
    head, _ = train_head(c.features, c.targets, train, val,
                         FitConfig(steps=800, learning_rate=3e-3, validate_every=40, patience=5, seed=c.seed),
                         label="StefaLand head")
    return predict_composition(head, c.features.subset(c.test))


def _ridge(c: Context) -> np.ndarray:
    return renormalise(ridge_cv(c.x_all[c.train], c.targets[c.train], c.seed).predict(c.x_all[c.test]))


def _knn(c: Context) -> np.ndarray:
    return renormalise(knn_cv(c.x_num[c.train], c.targets[c.train], c.x_num[c.test], c.seed)[0])


def _nearest(c: Context) -> np.ndarray:
    ll = c.features.latlon
    idx, _ = nearest_location(ll[c.train, 0], ll[c.train, 1], ll[c.test, 0], ll[c.test, 1])
    return c.targets[c.train][idx]


METHODS: dict[str, tuple[str, Callable[[Context], np.ndarray]]] = {
    "stefaland": ("StefaLand head, early stop on a random 15% of the training folds",
                  lambda c: _head(c, c.inner_train, c.inner_val)),
    "stefaland_clean": ("StefaLand head, early stop on the training folds' basins withheld from pretraining",
                        lambda c: _head(c, c.clean_train, c.clean_val)),
    "zero_shot": ("StefaLand zero-shot reconstruction (no fine-tuning)", lambda c: c.features.zero_shot[c.test]),
    "ridge": ("ridge on the other static attributes", _ridge),
    "knn": ("kNN in attribute space (other static attributes)", _knn),
    "nearest": ("nearest basin by location", _nearest),
    "mean": ("training mean", lambda c: np.repeat(c.targets[c.train].mean(0, keepdims=True), len(c.test), 0)),
}


def _inner_split(ids: list[str], fold: Fold, seed: int) -> tuple[np.ndarray, np.ndarray]:
    kept, held = holdout_split(list(fold.train), 0.15, seed)
    pos = {g: i for i, g in enumerate(ids)}
    return np.array([pos[g] for g in kept]), np.array([pos[g] for g in held])


def _scores(truth: np.ndarray, pred: np.ndarray) -> list[float]:
    return ([r2(truth[:, k], pred[:, k]) for k in range(3)]
            + [correlation(truth[:, k], pred[:, k]) for k in range(3)])


def _table(title: str, rows: dict[str, list[float]], n: int) -> list[str]:
    names = [c.replace("_frac", "") for c in COMPONENTS]
    lines = [f"### {title} ({n} basins)", "",
             "| method | " + " | ".join(f"R² {c}" for c in names) + " | " + " | ".join(f"r {c}" for c in names)
             + " |", "|---" * 7 + "|"]
    for key, values in rows.items():
        lines.append(f"| {METHODS[key][0]} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return lines + [""]


def run_benchmark(base: BaseModel, split: dict, k: int = 5, seed: int = 0, max_windows: int = 8,
                  out: Path | None = None) -> str:
    """Run every method over the folds and return (and optionally write) the Markdown report."""
    set_threads(2)
    t_start = time.monotonic()
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    ids = catalogue.with_forcings_and_attributes
    data = camels_location_data(base.normalizer, catalogue.attributes, arrays, ids)
    t0 = time.monotonic()
    features = soil_features(base, data, max_windows)
    feature_seconds = time.monotonic() - t0
    targets = composition_targets(catalogue.attributes, ids)
    x_num, x_all = attribute_matrices(catalogue.attributes, ids)
    folds = pub_folds(ids, k, seed)
    pos = {g: i for i, g in enumerate(ids)}
    holdout = [pos[g] for g in split["holdout_basins"] if g in pos]
    predictions = {m: np.full((len(ids), 3), np.nan) for m in METHODS}
    seconds = dict.fromkeys(METHODS, 0.0)
    fold_r2: dict[str, list[float]] = {m: [] for m in METHODS}
    for f, fold in enumerate(folds):
        inner_train, inner_val = _inner_split(ids, fold, seed + 100 + f)
        train = np.array([pos[g] for g in fold.train])
        clean = np.isin(train, holdout)
        ctx = Context(train, np.array([pos[g] for g in fold.test]), inner_train, inner_val, train[~clean],
                      train[clean], targets, features, x_num, x_all, seed + f)
        for key, (_, method) in METHODS.items():
            t0 = time.monotonic()
            predictions[key][ctx.test] = method(ctx)
            seconds[key] += time.monotonic() - t0
            fold_r2[key].append(float(np.mean(_scores(targets[ctx.test], predictions[key][ctx.test])[:3])))
    all_rows = {m: _scores(targets, p) for m, p in predictions.items()}
    clean_rows = {m: _scores(targets[holdout], p[holdout]) for m, p in predictions.items()}
    max_dev = max(float(np.abs(p.sum(axis=1) - 100).max()) for p in predictions.values())
    minutes = (time.monotonic() - t_start) / 60
    report = _report(base, split, ids, folds, seed, max_windows, features, feature_seconds, all_rows, clean_rows,
                     fold_r2, seconds, holdout, max_dev, minutes)
    if out is not None:
        write_report_keeping_reading(out, report)
    return report


def _report(base: BaseModel, split: dict, ids: list[str], folds: list[Fold], seed: int, max_windows: int,
            features: SoilFeatures, feature_seconds: float, all_rows: dict, clean_rows: dict, fold_r2: dict,
            seconds: dict, holdout: list[int], max_dev: float, minutes: float) -> str:
    n_pre = len(split["pretrain_basins"])
    lines = [
        "# Soil composition benchmark (sand, silt, clay %)", "",
        "Command: `make benchmark-tasks` (`python -m backend benchmark soil-composition --out "
        "docs/benchmark_soil_composition.md`).", "", RESULTS_LIVE, "",
        f"- Data: {len(ids)} CAMELS-US basins; target = `sand_frac`, `silt_frac`, `clay_frac` of "
        "`camels_soil.txt` renormalised to sum to 100 (the raw three sum to 31-100.5 %, mean 90 %; the rest is "
        "organic, water and other STATSGO classes).",
        f"- Splits: {len(folds)}-fold over basins (`pub_folds`, seed {seed}), test folds of "
        f"{min(len(f.test) for f in folds)}-{max(len(f.test) for f in folds)} basins. The StefaLand head is "
        "early-stopped on an inner validation set taken from the training folds, never the test fold: either "
        "a seeded 15% of them, or the training folds' basins withheld from pretraining (about 54 per fold; "
        "the head then trains on the others). Ridge penalty and k of kNN are chosen by inner 5-fold CV on the "
        "training folds.",
        f"- Inputs: the whole `soil` group is hidden for every basin, train and test alike. StefaLand sees "
        f"location, the other static groups and the Daymet forcings ({features.states.shape[1]} windows of "
        f"{base.config.window_days} days per basin, at most {max_windows}). Streamflow signatures "
        "(`camels_hydro`) are never inputs. Baselines use the same non-soil attributes.",
        f"- Base model sha256 `{base.sha256[:16]}` ({base.path.name if base.path else 'in memory'}).",
        f"- Every prediction sums to 100 (largest deviation {max_dev:.1e}).", "",
        "**Leakage caveat.** The base model was pretrained (self-supervised, no labels) on "
        f"{n_pre} of these basins with all their attributes visible, soil included. For those basins the "
        "encoder has seen the soil fractions during pretraining, so scores over all basins are optimistic "
        "for StefaLand (zero-shot and fine-tuned). The clean comparison is the second table: the "
        f"{len(holdout)} basins withheld from pretraining (seeded 10%, seed {split.get('holdout_seed')}), "
        "scored on their out-of-fold predictions. The second StefaLand variant (early stopping on withheld "
        "basins) was added after a first run showed the random-15% variant stopping on memorised, pretraining-"
        "seen basins; both are reported.", "",
        "## Results (pooled out-of-fold predictions)", "",
    ]
    lines += _table("All basins (encoder saw most of them in pretraining)", all_rows, len(ids))
    lines += _table("Basins withheld from pretraining (clean)", clean_rows, len(holdout))
    clean_mean = {m: float(np.mean(v[:3])) for m, v in clean_rows.items()}
    best = max(clean_mean, key=clean_mean.get)
    lines += [f"Reading: on the withheld basins the highest mean R² over the three fractions is "
              f"{METHODS[best][0]} ({clean_mean[best]:.3f}); StefaLand head {clean_mean['stefaland']:.3f}, "
              f"zero-shot {clean_mean['zero_shot']:.3f}, kNN {clean_mean['knn']:.3f}, nearest basin "
              f"{clean_mean['nearest']:.3f}. Over all basins StefaLand scores {np.mean(all_rows['stefaland'][:3]):.3f} "
              "(head) and "
              f"{np.mean(all_rows['zero_shot'][:3]):.3f} (zero-shot): the gap to the clean table is what the "
              "encoder retained from seeing those basins' soil in pretraining.", ""]
    lines += ["Mean R² over the three fractions per test fold (all basins): mean ± sd over "
              f"{len(folds)} folds, and seconds taken over all folds.", "",
              "| method | mean R² per fold | seconds |", "|---|---|---|"]
    for key, values in fold_r2.items():
        lines.append(f"| {METHODS[key][0]} | {np.mean(values):.3f} ± {np.std(values):.3f} | {seconds[key]:.1f} |")
    lines += ["", f"Frozen-encoder features (and the zero-shot reconstruction), computed once for all basins: "
              f"{feature_seconds:.1f} s. Whole benchmark: {minutes:.1f} min on this CPU.", "", PUBLISHED, ""]
    figures = {f"clean_mean_r2_{m}": clean_mean[m] for m in ("stefaland", "zero_shot", "knn", "nearest")}
    figures |= {f"all_mean_r2_{m}": float(np.mean(all_rows[m][:3])) for m in ("stefaland", "zero_shot")}
    lines += [headline(figures), ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m backend benchmark soil-composition [--model M] [--split S] [--folds K] [--seed N] [--out F]``."""
    from backend.model.loading import BUNDLED_BASE, get_base_model

    parser = argparse.ArgumentParser(prog="python -m backend benchmark soil-composition")
    parser.add_argument("--model", type=Path, default=None, help="base model (default: $STEFALAND_BASE_MODEL "
                        "or the bundled one)")
    parser.add_argument("--split", type=Path, default=None, help="JSON with holdout_basins (default: next to "
                        "the model)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-windows", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    base = get_base_model(args.model)
    split_path = args.split or Path(str(base.path or BUNDLED_BASE).replace(".pt", ".split.json"))
    split = json.loads(Path(split_path).read_text())
    print(run_benchmark(base, split, args.folds, args.seed, args.max_windows, args.out))
    return 0
