"""Landslide susceptibility benchmark: spatially blocked CV of three models on both Ecuador point sets.

The models are StefaLand, logistic regression and the from-scratch network.

``python -m backend benchmark landslide --out docs/benchmark_landslide.md`` prints the table (with data
sizes, blocks, seeds and run time) and writes it as Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from backend.benchmarks import RESULTS_LIVE, headline, print_and_write
from backend.core.paths import PROJECT_ROOT
from backend.data.covariate_raster import raster_size, read_raster_window
from backend.data.landslide_catalogue import read_glc_catalogue
from backend.data.landslides import GLC_FILES, RASTER_FILES, landslides_dir, read_landslide_points
from backend.model.loading import get_base_model
from backend.tasks.landslide.cv import (
    LOGISTIC,
    MODELS,
    SCRATCH,
    STEFALAND,
    THRESHOLD,
    CVContext,
    FoldScore,
    PointSet,
    cross_validate,
    spatial_folds,
)
from backend.tasks.landslide.features import camels_attributes, encode_static, match_vocabulary, to_latlon
from backend.tasks.landslide.model import complete_rows, covariate_matrix


@dataclass(frozen=True)
class PointFile:
    """A point set of the benchmark: its file under ``landslides/`` and what it is."""

    relative: str
    description: str


#: data set name -> its file
POINT_SETS: dict[str, PointFile] = {
    "ecuador_lsl": PointFile("ecuador_lsl/lsl.csv", "spDataLarge lsl (Muenchow et al. 2012)"),
    "ecuador_sperrorest": PointFile("ecuador_sperrorest/ecuador.csv", "sperrorest ecuador (Muenchow et al. 2012)"),
}


def load_point_set(name: str, root: Path, base_path: Path | None) -> tuple[PointSet, int]:
    """A point set with complete rows only; also returns how many rows were dropped for a missing covariate.

    When a base model is given, the points carry exact encoder features at their own locations.
    """
    points = read_landslide_points(root / POINT_SETS[name].relative)
    covariates, names = covariate_matrix(points)
    keep = complete_rows(covariates)
    latlon = to_latlon(points.x[keep], points.y[keep], points.crs)
    centre = (float(latlon[:, 0].mean()), float(latlon[:, 1].mean()))
    data = PointSet(name, covariates[keep], names, points.label[keep], points.x[keep], points.y[keep], centre)
    if base_path is not None:
        base = get_base_model(base_path)
        vocabulary = match_vocabulary(names)
        columns = {n: data.covariates[:, names.index(n)] for n in vocabulary.values()}
        data.states = encode_static(base, camels_attributes(vocabulary, columns), latlon)
    return data, int((~keep).sum())


def _shown(path: Path | None) -> str:
    """A path relative to the project when inside it."""
    resolved = Path(path).resolve() if path is not None else None
    if resolved is not None and PROJECT_ROOT in resolved.parents:
        return str(resolved.relative_to(PROJECT_ROOT))
    return str(path)


def glc_line(root: Path) -> list[str]:
    """How many NASA Global Landslide Catalog events lie inside the mapping raster (a check, never labels)."""
    glc, raster = root / GLC_FILES[0], root / RASTER_FILES[0]
    if not (glc.is_file() and raster.is_file()):
        return []
    events = read_glc_catalogue(glc)
    header = read_raster_window(raster, 0, 0, 1, 1)
    _, rows, cols = raster_size(raster)
    corners = to_latlon(np.array([header.geotransform[0], header.geotransform[0] + cols * header.geotransform[1]]),
                        np.array([header.geotransform[3] + rows * header.geotransform[5], header.geotransform[3]]),
                        header.crs_wkt)
    (lat0, lon0), (lat1, lon1) = corners
    inside = ((events.latitude >= min(lat0, lat1)) & (events.latitude <= max(lat0, lat1))
              & (events.longitude >= min(lon0, lon1)) & (events.longitude <= max(lon0, lon1)))
    size = f"{abs(lat1 - lat0):.3f}° x {abs(lon1 - lon0):.3f}°"
    verdict = "so no check against it is possible at this scale" if not inside.any() else "not scored here"
    return [f"NASA Global Landslide Catalog (reported events, never used as labels): {int(inside.sum())} of "
            f"{len(events):,} events lie inside `{RASTER_FILES[0]}` ({size}), {verdict}.", ""]


def _summary(scores: list[FoldScore], model: str) -> dict[str, float]:
    rows = [s for s in scores if s.model == model]
    out: dict[str, float] = {"folds": len(rows), "seconds": float(sum(s.seconds for s in rows))}
    for metric in ("auc", "f1", "accuracy"):
        values = np.array([getattr(s, metric) for s in rows], dtype=np.float64)
        out[metric], out[metric + "_sd"] = float(np.nanmean(values)), float(np.nanstd(values))
    return out


#: What the three models are (fixed text; the numbers above are computed).
MODEL_NOTES: list[str] = [
    "## Models",
    "",
    "- **StefaLand**: each point is a static-only location for the frozen base model: every forcing token "
    "masked, elevation and slope shown as the CAMELS attributes `elev_mean` (m) and `slope_mean` (tan(deg)·1000, "
    "m/km), all other attributes masked, the location token at the point's own lat/lon. Its location vector, centred "
    "and divided by one common scale (statistics of the training folds), goes through the shared "
    "`ResidualAdapter` with all z-scored covariates as `extra`, then a linear head and a sigmoid. Only the "
    "adapter and head are trained (AdamW, batches of 128, early stopping on the inner validation block). The "
    "hazard map uses the same network with the encoder vectors interpolated on an (elevation, slope) lattice.",
    "- **Logistic regression**: on the same z-scored covariates (Newton's method, ridge 1e-3), the usual "
    "baseline of landslide susceptibility studies.",
    "- **From scratch**: the same adapter and head, with a randomly initialised, trainable two-layer MLP of "
    "the covariates in place of the encoder states; same training and early stopping.",
]


def _best_lines(results: dict[str, list[FoldScore]]) -> list[str]:
    lines = []
    for name, scores in results.items():
        auc = {model: _summary(scores, model)["auc"] for model in MODELS}
        best = max(auc, key=auc.get)
        lines.append(f"- {name}: highest mean AUC: {best} ({auc[best]:.3f}); StefaLand minus logistic regression: "
                     f"{auc[STEFALAND] - auc[LOGISTIC]:+.3f}, StefaLand minus from scratch: "
                     f"{auc[STEFALAND] - auc[SCRATCH]:+.3f}.")
    return lines


def _table(results: dict[str, list[FoldScore]]) -> list[str]:
    lines = ["| data set | model | AUC | F1 | accuracy | folds | fit+predict time |",
             "|---|---|---|---|---|---|---|"]
    for name, scores in results.items():
        for model in MODELS:
            s = _summary(scores, model)
            lines.append(f"| {name} | {model} | {s['auc']:.3f} ± {s['auc_sd']:.3f} | {s['f1']:.3f} ± {s['f1_sd']:.3f} "
                         f"| {s['accuracy']:.3f} ± {s['accuracy_sd']:.3f} | {s['folds']:.0f} | {s['seconds']:.1f} s |")
    return lines


def run(args: argparse.Namespace) -> list[str]:
    """Run the benchmark; returns the Markdown lines."""
    start = time.perf_counter()
    torch.set_num_threads(max(1, args.threads))
    base = get_base_model(args.base_model)
    context = CVContext(base)
    context.settings.fit.max_seconds = args.max_fit_seconds
    lines = ["# Landslide susceptibility: spatially blocked cross-validation", "",
             f"Run {dt.datetime.now().isoformat(timespec='seconds')} on {platform.machine()} "
             f"({torch.get_num_threads()} torch thread(s), load average {os.getloadavg()[0]:.1f}) by "
             "`python -m backend benchmark landslide`.",
             f"Base model: `{_shown(base.path)}` (sha256 `{base.sha256[:16]}…`).", "", RESULTS_LIVE, "",
             f"Blocks: k-means on the x/y coordinates into {args.k} spatial blocks, each the test fold once; "
             f"repeated with seeds {', '.join(map(str, args.seeds))} ({args.k * len(args.seeds)} folds per model). "
             "Early stopping of the networks uses one of 4 k-means blocks of the training points (never the "
             f"test block). F1 and accuracy classify probability ≥ {THRESHOLD}. Mean ± sd over folds.", ""]
    results: dict[str, list[FoldScore]] = {}
    for name in args.sets:
        t0 = time.perf_counter()
        points, dropped = load_point_set(name, args.data, base.path)
        encode_seconds = time.perf_counter() - t0
        folds = spatial_folds(points, args.k, args.seeds)
        n = len(points.labels)
        lines.append(f"- **{name}** ({POINT_SETS[name].description}): {n} points "
                     f"({int(points.labels.sum())} landslides, {n - int(points.labels.sum())} not; {dropped} dropped "
                     f"for a missing covariate), {len(points.names)} covariates ({', '.join(points.names)}); "
                     f"encoder sees {', '.join(f'{v}→{k}' for k, v in match_vocabulary(points.names).items())} "
                     f"at each point's own location (area centre {points.latlon[0]:.4f}, {points.latlon[1]:.4f}) "
                     f"(exact features, {encode_seconds:.1f} s).")
        for repetition, seed in enumerate(args.seeds):
            sizes = [int(f.test.sum()) for f in folds if f.repetition == repetition]
            lines.append(f"  - seed {seed}: test block sizes {', '.join(map(str, sizes))}")
        print("\n".join(lines[-1 - len(args.seeds):]), flush=True)
        results[name] = cross_validate(points, folds, context)
    lines += ["", *_table(results), "", *_best_lines(results), "", *glc_line(args.data),
              f"Total time {time.perf_counter() - start:.0f} s (including loading and encoding).", "", *MODEL_NOTES,
              "", landslide_headline(results)]
    return lines


#: headline names of the models
MODEL_KEYS = {STEFALAND: "stefaland", LOGISTIC: "logistic", SCRATCH: "scratch"}


def landslide_headline(results: dict[str, list[FoldScore]]) -> str:
    """The ``headline:`` line: every model's mean AUC per data set (``auc_SET_MODEL``)."""
    return headline({f"auc_{name}_{MODEL_KEYS.get(model, model)}": _summary(scores, model)["auc"]
                     for name, scores in results.items() for model in MODELS})


def main(argv: list[str] | None = None) -> int:
    """``python -m backend benchmark landslide [--out docs/benchmark_landslide.md] [--sets ...] [...]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark landslide", description=__doc__)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--data", type=Path, default=landslides_dir(), help="the landslides/ data folder")
    parser.add_argument("--sets", nargs="+", default=list(POINT_SETS), choices=list(POINT_SETS))
    parser.add_argument("--k", type=int, default=5, help="spatial blocks (folds) per repetition")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one repetition per seed")
    parser.add_argument("--base-model", type=Path, help="default: $STEFALAND_BASE_MODEL or the bundled one")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the networks are tiny)")
    parser.add_argument("--max-fit-seconds", type=float, default=60.0, help="cap per network fit")
    args = parser.parse_args(argv)
    print_and_write(run(args), args.out)
    return 0
