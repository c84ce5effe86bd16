"""Does the frozen encoder know hydrology that the static attributes do not already say?

For every basin with streamflow, each streamflow signature of ``camels_hydro.txt`` (never seen in
pretraining) is predicted in the streamflow benchmark's PUB folds by ridge regression from four feature
sets:

- **statics**: the model's normalised static attributes (missing = 0, the training mean) and latitude/longitude;
- **random encoder**: per-basin mean and standard deviation over time of the token states of an *untrained*
  encoder of the same architecture (nonlinear features of the same inputs, without pretraining);
- **pretrained encoder**: the same from the pretrained, frozen encoder;
- **statics + pretrained**;
- **random / pretrained static tokens**: the encoder's output for the location and static-group tokens (which
  the streamflow head does not use), averaged over four windows of the record.

R² is pooled over the test basins of all folds; the ridge penalty is chosen on each fold's training basins
(inner 5-fold). If the pretrained states beat the statics and the random encoder, the encoder carries
knowledge a head could use in ungauged basins; if not, pretraining cannot help PUB through the states.

With ``--out docs/X.md`` the R² per signature and feature set (and the run's facts) are stored in
``results/X/probe.json`` (committed), from which ``--report-only`` rebuilds the report.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from backend.benchmarks import headline, slug, stored_results_path, write_report_keeping_reading
from backend.benchmarks.streamflow import streamflow_benchmark_data
from backend.core.atomic_io import write_text_atomic
from backend.core.progress import progress
from backend.core.runtime import set_threads
from backend.data.splits import pub_folds
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import cached_encode_records, window_grid
from backend.model.inputs import LocationData, make_batch, vocabulary_from
from backend.model.mae import StefaLandMAE

SIGNATURES = ("q_mean", "runoff_ratio", "slope_fdc", "baseflow_index", "stream_elas", "q5", "q95", "high_q_freq",
              "high_q_dur", "low_q_freq", "low_q_dur", "zero_q_freq", "hfd_mean")
ALPHAS = 10.0 ** np.arange(-2, 5)


RidgeModel = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def ridge_path(x: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> list[RidgeModel]:
    """Ridge fits on standardised features for every penalty in ``alphas``, from one SVD.

    Returns (feature mean, feature scale, weights, intercept) per penalty.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-8
    u, sv, vt = np.linalg.svd((x - mean) / scale, full_matrices=False)
    uty = u.T @ (y - y.mean())
    return [(mean, scale, vt.T @ (sv / (sv**2 + alpha) * uty), float(y.mean())) for alpha in alphas]


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> RidgeModel:
    """Ridge on standardised features: (feature mean, feature scale, weights, intercept)."""
    return ridge_path(x, y, np.array([alpha]))[0]


def ridge_predict(model: RidgeModel, x: np.ndarray) -> np.ndarray:
    """Predictions of a :func:`ridge_fit` model."""
    mean, scale, w, intercept = model
    return (x - mean) / scale @ w + intercept


def choose_alpha(x: np.ndarray, y: np.ndarray, seed: int = 0, k: int = 5) -> float:
    """The penalty with the lowest inner k-fold squared error on (x, y)."""
    folds = np.array_split(np.random.default_rng(seed).permutation(len(y)), k)
    errors = np.zeros(len(ALPHAS))
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        for a, model in enumerate(ridge_path(x[train], y[train], ALPHAS)):
            errors[a] += float(np.sum((ridge_predict(model, x[test]) - y[test]) ** 2))
    return float(ALPHAS[int(np.argmin(errors))])


def cross_validated_r2(x: np.ndarray, y: np.ndarray, folds: list[np.ndarray]) -> float:
    """R² of out-of-fold ridge predictions, pooled over every fold's test rows (rows with NaN y skipped)."""
    known = ~np.isnan(y)
    pred = np.full(len(y), np.nan)
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        train, test = train[known[train]], test[known[test]]
        alpha = choose_alpha(x[train], y[train])
        pred[test] = ridge_predict(ridge_fit(x[train], y[train], alpha), x[test])
    ok = known & ~np.isnan(pred)
    return float(1 - np.sum((pred[ok] - y[ok]) ** 2) / np.sum((y[ok] - y[ok].mean()) ** 2))


def state_features(states: np.ndarray) -> np.ndarray:
    """Per-location mean and standard deviation over every window and token: (L, 2d)."""
    flat = np.asarray(states, dtype=np.float32).reshape(states.shape[0], -1, states.shape[-1])
    return np.concatenate([flat.mean(axis=1), flat.std(axis=1)], axis=1)


@torch.no_grad()
def static_token_features(base: BaseModel, data: LocationData, n_windows: int = 4) -> np.ndarray:
    """Per-location location and static-group token states, averaged over windows: (L, (1 + G) * d).

    The ``n_windows`` windows are spread over the record. The streamflow head never sees these tokens; the
    probe asks whether it should.
    """
    cfg = base.config
    grid = window_grid(len(data.dates), cfg.patch_days, cfg.window_patches)
    starts = grid.starts[np.linspace(0, len(grid.starts) - 1, n_windows).round().astype(int)]
    base.model.eval()
    out = []
    for row in progress(range(len(data.ids)), "static tokens"):
        batch = make_batch(data, np.full(len(starts), row), starts, cfg.patch_days, cfg.window_patches)
        encoding = base.model.encode(batch, Visibility.everything_observed(batch))
        tokens = encoding.states[:, : 1 + encoding.n_groups].mean(dim=0)
        out.append(tokens.reshape(-1).numpy())
    return np.stack(out)


def random_encoder(base: BaseModel, seed: int = 0) -> BaseModel:
    """An untrained model of ``base``'s architecture and vocabulary (its own cache key)."""
    torch.manual_seed(seed)
    model = StefaLandMAE(base.config, vocabulary_from(base.normalizer))
    return BaseModel(model, base.normalizer, base.config, f"random-seed{seed}-{base.sha256}", None)


def signature_target(values: np.ndarray) -> tuple[np.ndarray, str]:
    """log1p of a non-negative signature whose skewness exceeds 1, else the values; with the transform's name.

    The skewness is a property of the data, fixed before fitting.
    """
    ok = values[~np.isnan(values)]
    skew = float(np.mean((ok - ok.mean()) ** 3) / (ok.std() ** 3 + 1e-12))
    if ok.min() >= 0 and skew > 1:
        return np.log1p(values), "log1p"
    return values, ""


def _shown(path: Path | None) -> str:
    """A model path relative to the working folder when it lies inside it (reports are committed)."""
    if path is None:
        return "untrained"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_probe(base_model: Path | None = None, k: int = 5, seed: int = 0) -> tuple[list[tuple], dict]:
    """Pooled out-of-fold R² per signature and feature set; with facts about the run."""
    set_threads(2)
    t0 = time.monotonic()
    catalogue, base, data = streamflow_benchmark_data(0, base_model)
    ids = data.ids
    loc = data.locations
    statics = np.concatenate([np.where(loc.statics_observed, loc.statics, 0.0), loc.latlon / 90.0], axis=1)
    pretrained = state_features(data.states)
    untrained_base = random_encoder(base)
    untrained = state_features(cached_encode_records(untrained_base, loc, catalogue.root / "cache"))
    features = {"statics": statics, "random encoder": untrained, "pretrained encoder": pretrained,
                "statics + pretrained": np.concatenate([statics, pretrained], axis=1),
                "random static tokens": static_token_features(untrained_base, loc),
                "pretrained static tokens": static_token_features(base, loc)}
    index = {g: i for i, g in enumerate(ids)}
    folds = [np.array([index[g] for g in fold.test]) for fold in pub_folds(ids, k, seed)]
    rows = []
    for name in SIGNATURES:
        raw = np.array([catalogue.attributes.numeric[name][catalogue.attributes.index(g)] for g in ids], dtype=float)
        target, transform = signature_target(raw)
        rows.append((name, transform, {f: cross_validated_r2(x, target, folds) for f, x in features.items()}))
    facts = {"basins": len(ids), "k": k, "seed": seed, "model_sha": base.sha256[:16],
             "model_path": _shown(base.path), "seconds": time.monotonic() - t0}
    return rows, facts


def probe_report(rows: list[tuple], facts: dict, command: str) -> str:
    """Markdown table of the probe, ending with a ``headline:`` line of the mean R² of every feature set."""
    sets = list(rows[0][2])
    lines = ["# Signature probe: what the frozen encoder knows about ungauged basins", "",
             f"Command: `{command}`. Base model `{facts['model_path']}` (sha256 `{facts['model_sha']}`). "
             f"Took {facts['seconds'] / 60:.1f} min.", "",
             f"Data: {facts['basins']} CAMELS-US basins with streamflow; targets are the streamflow signatures of "
             "`camels_hydro.txt` (computed from observed flow, never seen in pretraining). Ridge regression, "
             f"penalty chosen by inner 5-fold on each training part; out-of-fold R² pooled over the {facts['k']} "
             f"PUB folds of the streamflow benchmark (seed {facts['seed']}). Skewed non-negative signatures are "
             "predicted as log1p. Encoder features: per-basin mean and standard deviation of the token states "
             "over the whole 1980-2014 record.", "",
             "| signature | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for name, transform, r2 in rows:
        label = f"{name} ({transform})" if transform else name
        lines.append(f"| {label} | " + " | ".join(f"{r2[s]:.3f}" for s in sets) + " |")
    means = {s: float(np.mean([r[2][s] for r in rows])) for s in sets}
    lines.append("| **mean** | " + " | ".join(f"**{means[s]:.3f}**" for s in sets) + " |")
    lines += ["", headline({f"mean_r2_{slug(s)}": means[s] for s in sets})]
    return "\n".join(lines) + "\n"


def probe_payload(rows: list[tuple], facts: dict) -> dict:
    """The probe's results as stored (``--json``, ``results/``): the facts, R² and transform per signature."""
    return dict(facts, r2={name: r2 for name, _, r2 in rows},
                transforms={name: transform for name, transform, _ in rows})


def rows_from_payload(payload: dict) -> tuple[list[tuple], dict]:
    """(rows, facts) of :func:`run_probe` from a stored payload (:func:`probe_payload`)."""
    transforms = payload.get("transforms", {})
    rows = [(name, transforms.get(name, ""), r2) for name, r2 in payload["r2"].items()]
    facts = {k: v for k, v in payload.items() if k not in ("r2", "transforms")}
    return rows, facts


def results_path(out: Path | None) -> Path | None:
    """The stored results of a report ``docs/X.md``: ``results/X/probe.json`` (None without a report)."""
    return stored_results_path(out, "probe.json") if out is not None else None


def main(argv: list[str]) -> int:
    """``python -m backend benchmark signature-probe [--base-model PATH] [--out docs/X.md] [--json F] [--report-only]``.

    With ``--out docs/X.md`` the results are also stored in ``results/X/probe.json``; ``--report-only``
    rebuilds the report from there (or from ``--json``) without running the probe.
    """
    parser = argparse.ArgumentParser(prog="python -m backend benchmark signature-probe")
    parser.add_argument("--base-model", type=Path, default=None, help="base model file (default: the bundled one)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write R² per signature and feature set as JSON")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the report from results/<out name>/probe.json (or --json) without running")
    args = parser.parse_args(argv)
    stored = results_path(args.out)
    if args.report_only:
        source = stored or args.json
        if source is None:
            parser.error("--report-only needs --out (or --json) to know which results to read")
        rows, facts = rows_from_payload(json.loads(Path(source).read_text(encoding="utf-8")))
    else:
        rows, facts = run_probe(args.base_model)
        payload = json.dumps(probe_payload(rows, facts), indent=1) + "\n"
        for path in (args.json, stored):
            if path is not None:
                write_text_atomic(path, payload)
    command = "python -m backend benchmark signature-probe" + (
        f" --base-model {args.base_model}" if args.base_model else "") + (f" --out {args.out}" if args.out else "")
    report = probe_report(rows, facts, command)
    if args.out:
        write_report_keeping_reading(args.out, report)
    print(report)
    return 0
