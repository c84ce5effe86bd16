"""Report of the pretraining study (``make pretrain-study``): which pretraining choice moves streamflow in PUB?

Each variant is pretrained for the same number of steps with one thing changed (data, size, masking, or no
pretraining at all), then the same streamflow head is trained on its frozen states on PUB folds 1-3 of the
streamflow benchmark. Per variant: the pretraining facts, the masked-reconstruction loss on the withheld
basins, the streamflow scores on the folds' test basins, and per-basin paired differences against the
``control`` variant (same basins, same head, same seed).

The study runs in ``runs/pretrain_study/`` (models, logs); its per-unit results are committed under
``results/pretrain_study/VARIANT/``: the pretraining ``summary.json`` and ``signature_probe.json`` (copied
from the run folder by the report command) and the streamflow results of ``benchmark/`` (written there by
the variant's streamflow config). The report reads only those.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from backend.benchmarks import RESULTS_LOST, RESULTS_ROOT, headline, slug, write_report_keeping_reading
from backend.core.atomic_io import write_text_atomic

#: variant -> what was changed (configs in resources/configs/pretrain_study/VARIANT.yaml)
VARIANTS: dict[str, str] = {
    "control": "resources/configs/pretrain.yaml as bundled, 1,500 steps",
    "untrained": "no pretraining: the encoder keeps its seeded random initialisation (0 steps)",
    "half_data": "data: a seeded half of the 604 pretraining basins",
    "small": "size: d_model 64, feed-forward 128 (half the width)",
    "strong_static_masking": "masking: static groups hidden with p = 0.75 (was 0.5), all statics in 25% of "
                             "samples (was 10%)",
}
#: where ``make pretrain-study`` runs (pretrained models, logs, the variants' summaries and probe results)
STUDY_DIR = Path("runs/pretrain_study")
#: the study's committed per-unit results (``VARIANT/summary.json``, ``signature_probe.json``, ``benchmark/``)
RESULTS_DIR = RESULTS_ROOT / "pretrain_study"
#: a variant's small files that the report command copies from ``STUDY_DIR/VARIANT`` to ``RESULTS_DIR/VARIANT``
STUDY_FILES = ("summary.json", "signature_probe.json")
STUDY_FOLDS = ("pub-1of5", "pub-2of5", "pub-3of5")
#: reference rows from the other streamflow runs, on the study's folds: label -> (what, results folder, model)
REFERENCES: dict[str, tuple[str, Path, str]] = {
    "control, batch seed 1": ("the control run again with fit.seed 1 (noise floor; "
                              "`resources/configs/pretrain_study/control_fit_seed1_streamflow.yaml`)",
                              RESULTS_DIR / "control" / "benchmark_fit_seed1", "stefaland"),
    "bundled base model": ("pretrained 4,500 steps (`make benchmark-streamflow`)",
                           RESULTS_ROOT / "benchmark_streamflow", "stefaland"),
    "no encoder states": ("same head, states set to zero (`resources/configs/benchmark_streamflow_ablation.yaml`)",
                          RESULTS_ROOT / "benchmark_streamflow_ablation", "adapter_without_encoder"),
    "lstm baseline": ("supervised LSTM (`make benchmark-streamflow`)", RESULTS_ROOT / "benchmark_streamflow",
                      "lstm"),
}


def fold_scores(results_dir: Path, model: str, folds: tuple[str, ...] = STUDY_FOLDS) -> dict[str, float]:
    """Per-basin test NSE (gauge id -> NSE) of ``model`` on ``folds`` from a benchmark results folder."""
    scores: dict[str, float] = {}
    for fold in folds:
        path = results_dir / f"{fold}__{model}.json"
        if path.is_file():
            scores.update({row["gauge_id"]: float(row["nse"]) for row in json.loads(path.read_text())["per_basin"]})
    return scores


def variant_scores(run_dir: Path) -> dict[str, float]:
    """Per-basin test NSE of a study variant's streamflow head on the study's folds.

    ``run_dir`` is the variant's results folder (streamflow results in ``benchmark/``) or, as the study
    used to store them, its run folder (``benchmark/results/``).
    """
    folder = run_dir / "benchmark"
    return fold_scores(folder / "results" if (folder / "results").is_dir() else folder, "stefaland")


def collect_study_results(study_dir: Path = STUDY_DIR, results_dir: Path = RESULTS_DIR) -> list[Path]:
    """Copy every variant's :data:`STUDY_FILES` found in ``study_dir/VARIANT`` to ``results_dir/VARIANT``.

    Returns the files written (unchanged ones are not rewritten).
    """
    written = []
    for name in VARIANTS:
        for file_name in STUDY_FILES:
            source, target = Path(study_dir) / name / file_name, Path(results_dir) / name / file_name
            if not source.is_file():
                continue
            text = source.read_text(encoding="utf-8")
            if target.is_file() and target.read_text(encoding="utf-8") == text:
                continue
            write_text_atomic(target, text)
            written.append(target)
    return written


def _score_cells(scores: dict[str, float], control: dict[str, float], is_control: bool = False) -> str:
    if not scores:
        return "not run | | | | "
    nse = np.array(list(scores.values()))
    if is_control:
        return f"{len(nse)} | {np.nanmedian(nse):.3f} | {np.nanmean(nse):.3f} | (reference) | (reference)"
    delta, better, _ = paired_difference(scores, control)
    low, high = paired_difference_interval(scores, control)
    return (f"{len(nse)} | {np.nanmedian(nse):.3f} | {np.nanmean(nse):.3f} | {delta:+.3f} "
            f"[{low:+.3f}, {high:+.3f}] | {better:.0%}")


def paired_difference(scores: dict[str, float], reference: dict[str, float]) -> tuple[float, float, int]:
    """Median per-basin NSE difference, share of basins better, and basins compared (both scored)."""
    diff = _paired_diffs(scores, reference)
    if not diff.size:
        return float("nan"), float("nan"), 0
    return float(np.median(diff)), float(np.mean(diff > 0)), diff.size


def _paired_diffs(scores: dict[str, float], reference: dict[str, float]) -> np.ndarray:
    """Per-basin ``scores - reference`` over the basins with a finite score in both."""
    common = [g for g in scores if g in reference and np.isfinite(scores[g]) and np.isfinite(reference[g])]
    return np.array([scores[g] - reference[g] for g in common], dtype=float)


def paired_difference_interval(scores: dict[str, float], reference: dict[str, float], level: float = 0.95,
                               resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval (basins resampled, seeded) of the median per-basin NSE difference to ``reference``."""
    diff = _paired_diffs(scores, reference)
    if not diff.size:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    medians = np.median(diff[rng.integers(0, len(diff), size=(resamples, len(diff)))], axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(medians, tail)), float(np.quantile(medians, 1.0 - tail))


def _r2_cell(r2: float) -> str:
    """A table cell for a mean R²: three decimals, or 'not run' when the probe has no result."""
    return "not run" if np.isnan(r2) else f"{r2:.3f}"


def probe_mean_r2(run_dir: Path, features: str = "pretrained encoder") -> float:
    """Mean signature-probe R² of a variant's frozen states (NaN when the probe has not run)."""
    path = run_dir / "signature_probe.json"
    if not path.is_file():
        return float("nan")
    r2 = json.loads(path.read_text())["r2"]
    return float(np.mean([per_set[features] for per_set in r2.values()]))


def study_report(study_dir: Path = RESULTS_DIR, command: str = "make pretrain-study",
                 references: dict[str, tuple[str, Path, str]] | None = None) -> str:
    """Markdown tables of every variant found in ``study_dir`` and of the reference runs on the same folds.

    ``study_dir`` holds one folder of results per variant (default :data:`RESULTS_DIR`); the references
    default to :data:`REFERENCES`. The report ends with a ``headline:`` line of the median NSE of every
    variant and reference and each variant's median paired difference to ``control``.
    """
    control = variant_scores(study_dir / "control")
    lines = ["# Pretraining study: what in pretraining moves streamflow in ungauged basins?", "",
             f"Command: `{command}` (configs `resources/configs/pretrain_study/`, per-unit results in "
             f"`{study_dir}/`).", ""]
    if not control and not any((study_dir / name / "summary.json").is_file() for name in VARIANTS):
        lines += [RESULTS_LOST, ""]
    lines += ["Each variant changes one thing against `control` and is pretrained for the same 1,500 steps (the "
             "bundled model has 4,500, so compare variants with each other, not with the bundled model). Then the "
             "streamflow head of the benchmark (same config, seed and early stopping on training-basin validation) "
             "is trained on the variant's frozen states on PUB folds 1-3 of 5 and scored on their test basins "
             "(1989-1999). Paired columns compare the same basins against `control`; the interval is a seeded "
             "bootstrap over basins (2,000 resamples) of the median difference. Signature R²: mean out-of-fold "
             "R² of the 13 streamflow signatures predicted from the variant's frozen states "
             "(`python -m backend benchmark signature-probe --base-model runs/pretrain_study/VARIANT/model.pt`; "
             "docs/benchmark_signature_probe.md explains it). Minutes are wall-clock pretraining time with two "
             "variants sharing the two cores.", "",
             "| variant | what changed | pretraining basins | steps | minutes | withheld-basin loss (forcings / "
             "statics) | signature R² | test basins | median NSE | mean NSE | "
             "median paired Δ vs control [95% interval] | basins better |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    figures: dict[str, float | str] = {}
    for name, what in VARIANTS.items():
        _add_figures(figures, name, variant_scores(study_dir / name), control, paired=name != "control")
        summary_path = study_dir / name / "summary.json"
        if not summary_path.is_file():
            lines.append(f"| {name} | {what} | not run | | | | | | | | | |")
            continue
        summary = json.loads(summary_path.read_text())
        final = summary["final_validation"]
        stream = _score_cells(variant_scores(study_dir / name), control, is_control=name == "control")
        lines.append(f"| {name} | {what} | {summary['pretrain_basins']} | {summary['steps']} | "
                     f"{summary['training_seconds'] / 60:.1f} | {final['val_forcings']:.3f} / "
                     f"{final['val_statics']:.3f} | {_r2_cell(probe_mean_r2(study_dir / name))} | {stream} |")
    lines += ["", "Reference rows on the same folds and test basins (other runs, same head config and seed):", "",
              "| reference | what | test basins | median NSE | mean NSE | median paired Δ vs control [95% interval] | "
              "basins better |", "|---|---|---|---|---|---|---|"]
    for label, (what, results_dir, model) in (REFERENCES if references is None else references).items():
        scores = fold_scores(results_dir, model)
        _add_figures(figures, slug(label), scores, control, paired=False)
        lines.append(f"| {label} | {what} | {_score_cells(scores, control)} |")
    lines += ["", headline(figures or {"results": "none"})]
    return "\n".join(lines) + "\n"


def _add_figures(figures: dict[str, float | str], name: str, scores: dict[str, float], control: dict[str, float],
                 paired: bool) -> None:
    """Headline figures of one row: its median NSE and (``paired``) its median paired difference to control."""
    if not scores:
        return
    figures[f"median_nse_{name}"] = float(np.nanmedian(list(scores.values())))
    if paired and control:
        figures[f"paired_delta_{name}"] = f"{paired_difference(scores, control)[0]:+.3f}"


def main(argv: list[str]) -> int:
    """``python -m backend benchmark pretrain-study [--study-dir DIR] [--results-dir DIR] [--out F] [--report-only]``.

    Copies the variants' summaries and probe results from ``--study-dir`` (the runs) to ``--results-dir``
    (unless ``--report-only``), then writes the report from ``--results-dir`` alone.
    """
    parser = argparse.ArgumentParser(prog="python -m backend benchmark pretrain-study")
    parser.add_argument("--study-dir", type=Path, default=STUDY_DIR, help="the study's run folder (copied from)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="the study's committed results")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from --results-dir")
    args = parser.parse_args(argv)
    if not args.report_only:
        for path in collect_study_results(args.study_dir, args.results_dir):
            print(f"copied {path}")
    report = study_report(args.results_dir)
    if args.out:
        write_report_keeping_reading(args.out, report)
    print(report)
    return 0
