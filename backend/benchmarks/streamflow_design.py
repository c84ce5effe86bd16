"""Design search for the streamflow head, on validation basins only (never on test basins).

Each variant (a network and head settings) is trained on a PUB fold's training basins exactly as the
benchmark trains it; the score is the best median NSE on that fold's validation basins (a seeded 10% of
the *training* basins, training period). The fold's test basins are not loaded into any score, so the
choice made from this table cannot leak test information into ``docs/benchmark_streamflow.md``.
Each (fold, variant) result is one small JSON in ``results_dir`` (committed: ``results/streamflow_design_search``),
from which ``--report-only`` rebuilds the report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from backend.benchmarks import RESULTS_LOST, finish_report, headline
from backend.benchmarks.streamflow import prepare_run_dir, streamflow_benchmark_data, unit_results
from backend.core.atomic_io import write_text_atomic
from backend.core.config import load_config
from backend.data.splits import TRAIN_PERIOD, pub_folds
from backend.tasks.streamflow.networks import HeadConfig
from backend.tasks.streamflow.train import StreamflowTrainConfig, train_streamflow


@dataclass
class DesignVariant:
    """One candidate: a network name and the head settings that differ from the base config."""

    name: str
    network: str = "stefaland"
    head: HeadConfig = field(default_factory=HeadConfig)
    steps: int = 0  # 0 = the config's ``train.fit.steps``
    schedule: Literal["", "constant", "cosine"] = ""  # "" = the config's ``train.fit.schedule``


def variant_train_config(train: StreamflowTrainConfig, variant: DesignVariant) -> StreamflowTrainConfig:
    """``train`` with the variant's head, and its step cap and schedule where it sets them."""
    fit_cfg = dataclasses.replace(train.fit, steps=variant.steps or train.fit.steps,
                                  schedule=variant.schedule or train.fit.schedule)
    return dataclasses.replace(train, head=variant.head, fit=fit_cfg)


@dataclass
class StreamflowDesignConfig:
    """What the search runs (``resources/configs/streamflow_design.yaml``)."""

    k: int = 5
    seed: int = 0
    folds: list[int] = field(default_factory=lambda: [1])  # 1-based PUB fold numbers
    train: StreamflowTrainConfig = field(default_factory=StreamflowTrainConfig)
    variants: list[DesignVariant] = field(default_factory=list)
    run_dir: Path = Path("runs/streamflow_design")
    results_dir: Path | None = None  # per-unit results (committed: results/<doc name>); None = run_dir/results


def design_results_folder(cfg: StreamflowDesignConfig) -> Path:
    """Where the (fold, variant) results of ``cfg`` are: ``cfg.results_dir``, else ``cfg.run_dir/results``."""
    return Path(cfg.results_dir) if cfg.results_dir is not None else Path(cfg.run_dir) / "results"


def run_search(cfg: StreamflowDesignConfig, only: set[str] | None = None) -> None:
    """Train every (fold, variant) not yet stored; store validation scores only."""
    prepare_run_dir(cfg, cfg.run_dir, cfg.results_dir)
    _, base, data = streamflow_benchmark_data()
    folds = pub_folds(data.ids, cfg.k, cfg.seed)
    for number in cfg.folds:
        fold = folds[number - 1]
        for variant in cfg.variants:
            if only and variant.name not in only:
                continue
            path = design_results_folder(cfg) / f"{fold.name}__{variant.name}.json"
            if path.is_file():
                continue
            train_cfg = variant_train_config(cfg.train, variant)
            start = time.monotonic()
            _, result, val_ids = train_streamflow(variant.network, base, data, list(fold.train), TRAIN_PERIOD,
                                                  train_cfg, seed=cfg.seed)
            record = {"fold": fold.name, "variant": variant.name, "network": variant.network,
                      "head": dataclasses.asdict(variant.head), "n_validation": len(val_ids),
                      "best_validation_median_nse": result.best_score, "best_step": result.best_step,
                      "steps_run": result.steps_run, "seconds": time.monotonic() - start,
                      "history": result.history}
            write_text_atomic(path, json.dumps(record))
            print(f"{fold.name} {variant.name}: best validation median NSE {result.best_score:.3f} "
                  f"at step {result.best_step}/{result.steps_run} ({record['seconds']:.0f} s)")


def write_report(cfg: StreamflowDesignConfig, config_path: Path, out: Path | None) -> str:
    """Validation scores per variant and fold, from the stored results (the results folder only).

    The report ends with a ``headline:`` line of every variant's mean validation median NSE.
    """
    results = unit_results(design_results_folder(cfg))
    folds = sorted({r["fold"] for r in results})
    lines = ["# Streamflow head design search (validation basins only)", "",
             f"Command: `python -m backend benchmark streamflow-design --config {config_path} --out {out}`.", ""]
    if not results:
        lines += [RESULTS_LOST, ""]
    lines += ["Each variant is trained on a PUB fold's training basins as in the benchmark "
              f"(max {cfg.train.fit.steps} steps, seed {cfg.seed}); the score is the best median NSE on the fold's "
              f"validation basins (a seeded {cfg.train.validation_fraction:.0%} of its training basins, "
              "training period). Test basins are not scored here.", "",
              "| variant | network | head settings | steps, schedule | " + " | ".join(folds) + " | mean |",
              "|---|---|---|---|" + "---|" * (len(folds) + 1)]
    defaults = dataclasses.asdict(HeadConfig())
    figures: dict[str, float | str] = {}
    for variant in cfg.variants:
        scores, cells = [], []
        for fold in folds:
            match = [r for r in results if r["variant"] == variant.name and r["fold"] == fold]
            if match:
                r = match[0]
                scores.append(r["best_validation_median_nse"])
                cells.append(f"{r['best_validation_median_nse']:.3f} (step {r['best_step']}/{r['steps_run']}, "
                             f"{r['seconds'] / 60:.1f} min)")
            else:
                cells.append("not run")
        changed = {k: v for k, v in dataclasses.asdict(variant.head).items() if v != defaults[k]}
        mean = f"{np.mean(scores):.3f}" if scores else ""
        if scores:
            figures[f"validation_nse_{variant.name}"] = float(np.mean(scores))
        budget = f"{variant.steps or cfg.train.fit.steps}, {variant.schedule or cfg.train.fit.schedule}"
        lines.append(f"| {variant.name} | {variant.network} | {changed or 'defaults'} | {budget} | "
                     + " | ".join(cells) + f" | {mean} |")
    lines += ["", headline(figures or {"results": "none"})]
    return finish_report(lines, out)


def main(argv: list[str]) -> int:
    """``python -m backend benchmark streamflow-design [--config C] [--only a,b] [--out F] [--report-only]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark streamflow-design")
    parser.add_argument("--config", type=Path, default=Path("resources/configs/streamflow_design.yaml"))
    parser.add_argument("--only", default="", help="comma-separated variant names to run (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_config(StreamflowDesignConfig, args.config)
    if not args.report_only:
        run_search(cfg, {s for s in args.only.split(",") if s} or None)
    print(write_report(cfg, args.config, args.out))
    return 0
