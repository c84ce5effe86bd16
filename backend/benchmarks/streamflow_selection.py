"""Per-fold selection of the streamflow configuration on inner validation basins (never on a test basin).

For every outer fold (PUB 5-fold and the PUR region groups), each candidate is trained on the fold's training
basins exactly as the benchmark trains it, on a copy of the data in which the fold's test basins have no
flows at all (:func:`hide_test_flows`), and scored by the best median NSE on its inner validation basins: a
seeded share of the fold's *training* basins, training period. The fold's choice is the best candidate;
a candidate within ``tie_margin`` of the best counts as a tie, and ties go to the candidate listed first
(the list starts with the shipped configuration and is fixed before any test score is seen). The benchmark
then runs each fold's choice on that fold's test basins only.

``--quick`` screens levers on the first three PUB folds. Each (fold, candidate) result is one JSON under
``results/streamflow_selection/``, the per-fold choice is ``selection.json`` there, and ``--report-only``
rebuilds ``docs/streamflow_selection.md`` from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.benchmarks import RESULTS_LOST, finish_report, headline
from backend.benchmarks.streamflow import (
    prepare_run_dir,
    pretraining_sentence,
    streamflow_benchmark_data,
    unit_results,
)
from backend.benchmarks.streamflow_design import DesignVariant, variant_train_config
from backend.core.atomic_io import write_text_atomic
from backend.core.config import load_config
from backend.data.catalogue import BasinCatalogue
from backend.data.splits import TRAIN_PERIOD, Fold, pub_folds, pur_folds
from backend.model.checkpoint import BaseModel
from backend.tasks.streamflow.data import StreamflowData
from backend.tasks.streamflow.train import StreamflowTrainConfig, train_streamflow

#: the first PUB folds that ``--quick`` screens
QUICK_FOLDS = 3


@dataclass
class StreamflowSelectionConfig:
    """What the selection runs (``resources/configs/streamflow_selection.yaml``)."""

    k: int = 5
    seed: int = 0
    include_pur: bool = True
    train: StreamflowTrainConfig = field(default_factory=StreamflowTrainConfig)
    candidates: list[DesignVariant] = field(default_factory=list)  # incumbent first: ties go to the earlier one
    tie_margin: float = 0.005  # median-NSE difference (inner validation) that counts as a tie
    run_dir: Path = Path("runs/streamflow_selection")
    results_dir: Path = Path("results/streamflow_selection")


def hide_test_flows(data: StreamflowData, fold: Fold) -> StreamflowData:
    """A copy of ``data`` in which the fold's test basins have no observed flow on any day (NaN).

    Forcings, statics and the frozen encoder states are shared (they never carry flow); the original's
    flows are untouched.
    """
    flow = data.streamflow_mm_per_day.copy()
    flow[data.rows(list(fold.test))] = np.nan
    return StreamflowData(data.locations, flow, data.grid, data.states)


def outer_folds(cfg: StreamflowSelectionConfig, ids: list[str], catalogue: BasinCatalogue | None,
                quick: bool = False) -> list[Fold]:
    """The outer folds: PUB k-fold (the first :data:`QUICK_FOLDS` with ``quick``), then the PUR groups."""
    folds = pub_folds(ids, cfg.k, cfg.seed)
    if quick:
        return folds[:QUICK_FOLDS]
    if cfg.include_pur and catalogue is not None:
        folds += [f for f in pur_folds(ids, {g: catalogue.huc_02(g) for g in ids}) if len(f.train) >= 10]
    return folds


def score_candidate(base: BaseModel, data: StreamflowData, fold: Fold, candidate: DesignVariant,
                    cfg: StreamflowSelectionConfig) -> dict:
    """Train ``candidate`` on the fold's training basins (test flows hidden) and return its inner score."""
    train_cfg = variant_train_config(cfg.train, candidate)
    start = time.monotonic()
    _, result, val_ids = train_streamflow(candidate.network, base, hide_test_flows(data, fold), list(fold.train),
                                          TRAIN_PERIOD, train_cfg, seed=cfg.seed)
    return {"fold": fold.name, "variant": candidate.name, "network": candidate.network,
            "head": dataclasses.asdict(candidate.head), "n_inner_validation": len(val_ids),
            "inner_validation_ids": val_ids, "best_inner_validation_median_nse": result.best_score,
            "best_step": result.best_step, "steps_run": result.steps_run, "seconds": time.monotonic() - start}


def choose(results: list[dict], candidates: list[str], tie_margin: float) -> dict[str, dict]:
    """Each fold's choice: the best inner score, ties (within ``tie_margin``) to the earliest candidate.

    Only folds where every candidate has a result get a choice.
    """
    chosen: dict[str, dict] = {}
    for fold in sorted({r["fold"] for r in results}):
        scores = {r["variant"]: r["best_inner_validation_median_nse"] for r in results if r["fold"] == fold}
        if set(candidates) - set(scores):
            continue
        best = max(scores.values())
        winner = next(name for name in candidates if scores[name] >= best - tie_margin)
        chosen[fold] = {"variant": winner, "inner_validation_median_nse": scores[winner],
                        "best_inner_validation_median_nse": best}
    return chosen


def run_selection(cfg: StreamflowSelectionConfig, quick: bool = False) -> None:
    """Train every (fold, candidate) not yet stored, then write the per-fold choice."""
    prepare_run_dir(cfg, cfg.run_dir, cfg.results_dir)
    catalogue, base, data = streamflow_benchmark_data()
    for fold in outer_folds(cfg, data.ids, catalogue, quick):
        for candidate in cfg.candidates:
            path = Path(cfg.results_dir) / f"{fold.name}__{candidate.name}.json"
            if path.is_file():
                continue
            record = score_candidate(base, data, fold, candidate, cfg)
            write_text_atomic(path, json.dumps(record))
            print(f"{fold.name} {candidate.name}: inner validation median NSE "
                  f"{record['best_inner_validation_median_nse']:.3f} at step {record['best_step']} "
                  f"({record['seconds']:.0f} s)")
    write_choice(cfg)


def write_choice(cfg: StreamflowSelectionConfig) -> dict[str, dict]:
    """Write ``selection.json`` (fold -> chosen candidate) from the stored results and return it."""
    chosen = choose(unit_results(Path(cfg.results_dir)), [c.name for c in cfg.candidates], cfg.tie_margin)
    write_text_atomic(Path(cfg.results_dir) / "selection.json", json.dumps(chosen, indent=1, sort_keys=True) + "\n")
    return chosen


def write_report(cfg: StreamflowSelectionConfig, config_path: Path, out: Path | None) -> str:
    """Inner-validation scores per fold and candidate and each fold's choice (from the results folder only)."""
    results = unit_results(Path(cfg.results_dir))
    chosen = choose(results, [c.name for c in cfg.candidates], cfg.tie_margin)
    folds = sorted({r["fold"] for r in results})
    lines = ["# Streamflow configuration chosen per fold on inner validation basins", "",
             f"Command: `python -m backend benchmark streamflow-selection --config {config_path} --out {out}` "
             "(`--quick`: PUB folds 1-3 only).", ""]
    if not results:
        lines += [RESULTS_LOST, ""]
    lines += [f"Each candidate is trained on the fold's training basins with the test basins' flows removed from "
              f"the data (max {cfg.train.fit.steps} steps unless the candidate says otherwise, seed {cfg.seed}); the "
              f"score is the best median NSE on the inner validation basins, a seeded "
              f"{cfg.train.validation_fraction:.0%} of the fold's training basins, training period "
              f"{TRAIN_PERIOD[0]}..{TRAIN_PERIOD[1]}. A candidate within {cfg.tie_margin} of the best ties, and ties "
              "go to the candidate listed first. No test basin is scored here.", "",
              pretraining_sentence(None, {g for r in results for g in r.get("inner_validation_ids", [])},
                                   [c.network for c in cfg.candidates], "inner validation basins"),
              "",
              "| fold | " + " | ".join(c.name for c in cfg.candidates) + " | chosen |",
              "|---|" + "---|" * (len(cfg.candidates) + 1)]
    for fold in folds:
        cells = []
        for candidate in cfg.candidates:
            match = [r for r in results if r["fold"] == fold and r["variant"] == candidate.name]
            cells.append(f"{match[0]['best_inner_validation_median_nse']:.3f} (step {match[0]['best_step']})"
                         if match else "not run")
        lines.append(f"| {fold} | " + " | ".join(cells) + f" | {chosen.get(fold, {}).get('variant', 'incomplete')} |")
    counts = {c.name: sum(1 for v in chosen.values() if v["variant"] == c.name) for c in cfg.candidates}
    lines += ["", headline({f"chosen_{name}": n for name, n in counts.items()} | {"folds_chosen": len(chosen)})]
    return finish_report(lines, out)


def main(argv: list[str]) -> int:
    """``python -m backend benchmark streamflow-selection [--config C] [--quick] [--out F] [--report-only]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark streamflow-selection")
    parser.add_argument("--config", type=Path, default=Path("resources/configs/streamflow_selection.yaml"))
    parser.add_argument("--quick", action="store_true", help="screen on PUB folds 1-3 only")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from results/ only")
    args = parser.parse_args(argv)
    cfg = load_config(StreamflowSelectionConfig, args.config)
    if not args.report_only:
        run_selection(cfg, args.quick)
    print(write_report(cfg, args.config, args.out))
    return 0
