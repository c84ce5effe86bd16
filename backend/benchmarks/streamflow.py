"""Streamflow benchmark: PUB (k-fold over basins) and PUR (held-out region groups), four models.

Every (fold, model) result is stored as soon as it exists, so an interrupted benchmark resumes where it
stopped; the report says which folds are complete. The results (small JSON, one per fold and model) go to
``results_dir`` (``results/<doc name>/``, committed) with the folds' test basins in ``folds.json`` beside
them, so that ``--report-only`` rebuilds the report from them alone; the ensemble members' flows (.npy)
stay in the ignored ``run_dir``. A config without ``results_dir`` keeps everything in ``run_dir/results``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from backend.benchmarks import RESULTS_LOST, finish_report, headline
from backend.core.atomic_io import save_npy_atomic, write_text_atomic
from backend.core.config import load_config, save_config
from backend.core.runtime import set_threads
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.splits import TEST_PERIOD, TRAIN_PERIOD, Fold, pub_folds, pur_folds
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import cached_encode_records
from backend.model.loading import BUNDLED_BASE, get_base_model
from backend.tasks.streamflow.data import StreamflowData, camels_streamflow_data
from backend.tasks.streamflow.model import predict_days
from backend.tasks.streamflow.train import StreamflowTrainConfig, evaluate, score_predictions, train_streamflow

MODELS = ("stefaland", "lstm", "linear_probe", "scratch")


@dataclass
class StreamflowBenchmarkConfig:
    """What the benchmark runs (``resources/configs/benchmark_streamflow.yaml``)."""

    k: int = 5
    seed: int = 0
    models: list[str] = field(default_factory=lambda: list(MODELS))
    include_pur: bool = True
    max_basins: int = 0  # 0 = all basins with streamflow; a smaller number is for smoke runs only
    max_folds: int = 0  # 0 = every fold; a smaller number runs only the first folds (ablations)
    train: StreamflowTrainConfig = field(default_factory=StreamflowTrainConfig)
    run_dir: Path = Path("runs/benchmark_streamflow")
    base_model: Path | None = None  # None = the bundled base model (pretraining studies point elsewhere)
    ensemble: int = 1  # > 1: every model is that many members (seeds seed, seed+1, ...), flows averaged
    results_dir: Path | None = None  # per-unit results (committed: results/<doc name>); None = run_dir/results


def _folds(cfg: StreamflowBenchmarkConfig, ids: list[str], catalogue: BasinCatalogue) -> list[Fold]:
    folds = pub_folds(ids, cfg.k, cfg.seed)
    if cfg.include_pur:
        folds += [f for f in pur_folds(ids, {g: catalogue.huc_02(g) for g in ids}) if len(f.train) >= 10]
    return folds[: cfg.max_folds or None]


#: beside the per-unit results of a config with ``results_dir``: the folds' test basins and the basin count
FOLDS_FILE = "folds.json"


def results_folder(cfg: StreamflowBenchmarkConfig) -> Path:
    """Where the per-unit results of ``cfg`` are: ``cfg.results_dir``, else ``cfg.run_dir/results``."""
    return Path(cfg.results_dir) if cfg.results_dir is not None else Path(cfg.run_dir) / "results"


def unit_results(folder: Path) -> list[dict]:
    """The per-unit results (``FOLD__NAME.json``) of a results folder, in file-name order."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*__*.json"))]


def prepare_run_dir(cfg: object, run_dir: Path, results_dir: Path | None = None) -> Path:
    """Set torch threads, create the results folder and write the run's config into ``run_dir``.

    The results folder is ``results_dir``, else ``run_dir/results``.
    """
    set_threads(2)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (Path(results_dir) if results_dir is not None else run_dir / "results").mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    return run_dir


def _split_settings(cfg: StreamflowBenchmarkConfig) -> dict[str, object]:
    """The config keys that decide the folds (a stored fold list is used only when they match)."""
    return {"k": cfg.k, "seed": cfg.seed, "include_pur": cfg.include_pur, "max_basins": cfg.max_basins,
            "max_folds": cfg.max_folds}


def write_fold_manifest(cfg: StreamflowBenchmarkConfig, n_basins: int, folds: list[Fold]) -> Path:
    """Store the folds' test basins and the basin count beside the results (``results_dir/folds.json``)."""
    path = results_folder(cfg) / FOLDS_FILE
    record = dict(_split_settings(cfg), basins=n_basins, folds={f.name: list(f.test) for f in folds})
    write_text_atomic(path, json.dumps(record, indent=1) + "\n")
    return path


def fold_manifest(cfg: StreamflowBenchmarkConfig) -> tuple[int, dict[str, list[str]]]:
    """(basin count, fold name -> test basins) of ``cfg``'s split.

    From ``results_dir/folds.json`` when it matches the config, so that a report needs no data; else from
    the basin catalogue (``make data``), and then stored there for the next time (when ``results_dir`` is set).
    """
    path = results_folder(cfg) / FOLDS_FILE
    if cfg.results_dir is not None and path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if all(stored.get(key) == value for key, value in _split_settings(cfg).items()):
            return int(stored["basins"]), {name: list(test) for name, test in stored["folds"].items()}
    catalogue = BasinCatalogue.open()
    ids = catalogue.with_streamflow[: cfg.max_basins or None]
    folds = _folds(cfg, ids, catalogue)
    if cfg.results_dir is not None:
        write_fold_manifest(cfg, len(ids), folds)
    return len(ids), {f.name: list(f.test) for f in folds}


def pretraining_sentence(base_model: Path | None, test_basins: set[str], models: list[str],
                         scored: str = "test basins") -> str:
    """What the report says about scored basins' inputs seen in pretraining (the base model's ``.split.json``).

    ``scored`` names the basins counted (``"test basins"``, or ``"inner validation basins"`` for a selection).
    """
    split = Path(str(base_model or BUNDLED_BASE).replace(".pt", ".split.json"))
    users = list(dict.fromkeys(m for m in models if m in ("stefaland", "linear_probe")))
    if not users:
        return "No model here uses the pretrained encoder, so pretraining plays no part in these scores."
    if not split.is_file():
        return (f"The pretrained encoder ({', '.join(users)}) saw forcings and statics of basins its split file "
                f"{split} would list; that file is missing, so which test basins' inputs it saw is not known.")
    seen = set(json.loads(split.read_text(encoding="utf-8"))["pretrain_basins"])
    return (f"The frozen encoder of {', '.join(users)} was pretrained on the daily forcings and static attributes "
            f"(never the flows) of {len(seen)} CAMELS basins: {len(test_basins & seen)} of the {len(test_basins)} "
            f"{scored} here had their inputs in that corpus, so those models saw their inputs, not their flows.")


def streamflow_benchmark_data(max_basins: int = 0, base_model: Path | None = None
                               ) -> tuple[BasinCatalogue, BaseModel, StreamflowData]:
    """Catalogue, base model and the streamflow data of the basins with streamflow.

    The base model is ``base_model``, else the bundled one; the data include its frozen encoder states
    (computed once, then cached on disk).
    """
    catalogue = BasinCatalogue.open()
    ids = catalogue.with_streamflow[: max_basins or None]
    base = get_base_model(base_model)
    data = camels_streamflow_data(base, catalogue.attributes, load_basin_arrays(catalogue), ids)
    t0 = time.monotonic()
    data.states = cached_encode_records(base, data.locations, catalogue.root / "cache")
    print(f"frozen encoder states for {len(ids)} basins: {time.monotonic() - t0:.0f} s (cached after the first run)")
    return catalogue, base, data


def fold_part(folds: list[Fold], part: tuple[int, int]) -> list[Fold]:
    """The folds of worker ``i`` of ``n`` (``part = (i, n)``, 1-based): every n-th fold from the i-th."""
    index, parts = part
    if not 1 <= index <= parts:
        raise ValueError(f"part {index}/{parts}: the worker number must lie between 1 and {parts}")
    return folds[index - 1 :: parts]


def run_benchmark(cfg: StreamflowBenchmarkConfig, part: tuple[int, int] = (1, 1)) -> Path:
    """Train and evaluate every (fold, model) not yet done; returns the run folder.

    ``part`` = (i, n) runs only every n-th fold starting with the i-th, so that n processes (one torch
    thread each) can share the work; each (fold, model) result is its own file.
    """
    run_dir = prepare_run_dir(cfg, cfg.run_dir, cfg.results_dir)
    catalogue, base, data = streamflow_benchmark_data(cfg.max_basins, cfg.base_model)
    ids = data.ids
    folds = _folds(cfg, ids, catalogue)
    if cfg.results_dir is not None:
        write_fold_manifest(cfg, len(ids), folds)
    if cfg.ensemble > 1:
        run_ensemble(cfg, run_dir, base, data, folds, part)
        return run_dir
    for fold in fold_part(folds, part):
        for name in cfg.models:
            path = results_folder(cfg) / f"{fold.name}__{name}.json"
            if path.is_file():
                continue
            start = time.monotonic()
            model, fit_result, val_ids = train_streamflow(name, base, data, list(fold.train), TRAIN_PERIOD,
                                                          cfg.train, seed=cfg.seed)
            rows = evaluate(model, data, base, list(fold.test), TEST_PERIOD, cfg.train.warmup_days)
            record = {"fold": fold.name, "model": name, "n_train": len(fold.train) - len(val_ids),
                      "n_validation": len(val_ids), "n_test": len(fold.test), "seconds": time.monotonic() - start,
                      "best_step": fit_result.best_step, "steps_run": fit_result.steps_run,
                      "best_validation_median_nse": fit_result.best_score, "per_basin": rows}
            write_text_atomic(path, json.dumps(record))
            nses = [r["nse"] for r in rows]
            print(f"{fold.name} {name}: median NSE {np.nanmedian(nses):.3f} on {len(rows)} test basins "
                  f"({record['seconds']:.0f} s)")
    return run_dir


def member_seeds(cfg: StreamflowBenchmarkConfig) -> list[int]:
    """Seeds of an ensemble's members: ``cfg.seed`` (the single-model run), ``cfg.seed + 1``, ..."""
    return [cfg.seed + m for m in range(cfg.ensemble)]


def run_ensemble(cfg: StreamflowBenchmarkConfig, run_dir: Path, base: BaseModel, data: StreamflowData,
                 folds: list[Fold], part: tuple[int, int]) -> None:
    """Train the members this worker owns, then combine every (fold, model) whose members all exist.

    A work unit is one (fold, model, member seed); ``part`` = (i, n) takes every n-th unit. A member's test
    flows are kept in ``members/`` (float32 .npy, written atomically), so an interrupted run resumes per
    member. The member seed sets the validation basins, the initialisation and the batches. The ensemble
    flow is the members' daily mean; its NSE/KGE go to the results folder like a single model's, with each
    member's median test NSE beside them.
    """
    members = run_dir / "members"
    units = [(fold, name, seed) for fold in folds for name in cfg.models for seed in member_seeds(cfg)]
    lo, hi = data.day_index(TEST_PERIOD[0]), data.day_index(TEST_PERIOD[1]) + 1
    for fold, name, seed in fold_part(units, part):
        path = members / f"{fold.name}__{name}__seed{seed}.npy"
        if path.is_file():
            continue
        start = time.monotonic()
        train_cfg = replace(cfg.train, fit=replace(cfg.train.fit, seed=cfg.train.fit.seed + seed - cfg.seed))
        model, fit_result, _ = train_streamflow(name, base, data, list(fold.train), TRAIN_PERIOD, train_cfg,
                                                seed=seed)
        sim = predict_days(model, data, base, data.rows(list(fold.test)), lo, hi, cfg.train.warmup_days)
        save_npy_atomic(path, sim.astype(np.float32))
        print(f"{fold.name} {name} seed {seed}: best step {fit_result.best_step} "
              f"({time.monotonic() - start:.0f} s)")
    for fold in folds:
        for name in cfg.models:
            _combine_members(cfg, run_dir, data, fold, name)


def _combine_members(cfg: StreamflowBenchmarkConfig, run_dir: Path, data: StreamflowData, fold: Fold,
                     name: str) -> None:
    """Write ``FOLD__MODEL.json`` (results folder) from the members' mean flow, once every member exists."""
    out = results_folder(cfg) / f"{fold.name}__{name}.json"
    paths = [run_dir / "members" / f"{fold.name}__{name}__seed{seed}.npy" for seed in member_seeds(cfg)]
    if out.is_file() or not all(p.is_file() for p in paths):
        return
    test = list(fold.test)
    flows = [np.load(p, allow_pickle=False) for p in paths]
    member_medians = [float(np.nanmedian([r["nse"] for r in score_predictions(f, data, test, TEST_PERIOD)]))
                      for f in flows]
    rows = score_predictions(np.mean(flows, axis=0), data, test, TEST_PERIOD)
    record = {"fold": fold.name, "model": name, "n_test": len(test), "ensemble": len(paths),
              "member_seeds": member_seeds(cfg), "member_median_nse": member_medians, "per_basin": rows}
    write_text_atomic(out, json.dumps(record))
    print(f"{fold.name} {name}: ensemble of {len(paths)} median NSE {np.nanmedian([r['nse'] for r in rows]):.3f} "
          f"(members {', '.join(f'{m:.3f}' for m in member_medians)})")


def _summary(values: list[dict]) -> dict[str, float]:
    nses = np.array([v["nse"] for v in values], dtype=float)
    kges = np.array([v["kge"] for v in values], dtype=float)
    return {"n": len(values), "median_nse": float(np.nanmedian(nses)), "mean_nse": float(np.nanmean(nses)),
            "median_kge": float(np.nanmedian(kges)), "mean_kge": float(np.nanmean(kges)),
            "share_nse_below_0": float(np.mean(nses < 0))}


def write_report(cfg: StreamflowBenchmarkConfig, out: Path | None,
                 command_config: Path = Path("resources/configs/benchmark_streamflow.yaml")) -> str:
    """Tables per split type, per model and per fold, from the stored results; per-basin CSV beside it.

    Reads only the results folder (and its ``folds.json``; without one, the basin catalogue); the report
    ends with a ``headline:`` line of every model's median NSE per split type.
    """
    results = unit_results(results_folder(cfg))
    n_basins, fold_tests = fold_manifest(cfg)
    scratch_steps = cfg.train.scratch_steps or cfg.train.fit.steps
    lines = ["# Streamflow benchmark: prediction in ungauged basins (PUB) and regions (PUR)", "",
             f"Command: `python -m backend benchmark streamflow --config {command_config} --out {out}` "
             f"(`make benchmark-streamflow` for the default config); resumable, results per fold in "
             f"`{results_folder(cfg)}/`.", ""]
    if not results:
        lines += [RESULTS_LOST, ""]
    lines += [f"Data: {n_basins} CAMELS-US basins with Caravan streamflow (mm/day), Daymet forcings "
              f"(prcp, srad, tmax, tmin, vp, dayl) and CAMELS static attributes without the streamflow signatures. "
              f"Train {TRAIN_PERIOD[0]}..{TRAIN_PERIOD[1]} on the training basins, test {TEST_PERIOD[0]}.."
              f"{TEST_PERIOD[1]} on the held-out basins. PUB: {cfg.k}-fold over basins (seed {cfg.seed}); PUR: "
              "HUC-02 groups 01-06, 07-12, 13-18 held out in turn. Early stopping on a seeded "
              f"{cfg.train.validation_fraction:.0%} of each fold's training basins (training period), never on test "
              f"basins. Max {cfg.train.fit.steps} steps of {cfg.train.batch_size} sequences "
              f"({cfg.train.warmup_days} warm-up + {cfg.train.loss_days} loss days; {scratch_steps} for scratch, "
              f"whose encoder trains too), {cfg.train.fit.schedule} learning rate {cfg.train.fit.learning_rate:g} "
              f"(scratch {cfg.train.scratch_learning_rate:g}), validation every {cfg.train.fit.validate_every} steps, "
              f"patience {cfg.train.fit.patience}, LSTM hidden {cfg.train.head.lstm_hidden}, seed {cfg.seed}.", "",
              _models_sentence(cfg), "",
              pretraining_sentence(cfg.base_model, {g for test in fold_tests.values() for g in test}, cfg.models), ""]
    if cfg.ensemble > 1:
        lines += [f"Every model is an ensemble of {cfg.ensemble} members (seeds {member_seeds(cfg)}: each sets the "
                  "validation basins, initialisation and batches); scores are of the members' mean daily flow. "
                  "Per fold, the members' own median NSE follow the semicolon.", ""]
    figures: dict[str, float | str] = {}
    for kind, label in (("pub", "PUB"), ("pur", "PUR")):
        names = [name for name in fold_tests if name.startswith(kind)]
        if not names:
            continue
        lines += [f"## {label}", "", "| model | folds done | basins | median NSE | mean NSE | median KGE | "
                  "share NSE < 0 |", "|---|---|---|---|---|---|---|"]
        for model in cfg.models:
            done = [r for r in results if r["model"] == model and r["fold"] in names]
            if not done:
                lines.append(f"| {model} | 0/{len(names)} | | | | | |")
                continue
            s = _summary([b for r in done for b in r["per_basin"]])
            figures[f"{kind}_median_nse_{model}"] = s["median_nse"]
            lines.append(f"| {model} | {len(done)}/{len(names)} | {s['n']} | {s['median_nse']:.3f} | "
                         f"{s['mean_nse']:.3f} | {s['median_kge']:.3f} | {s['share_nse_below_0']:.1%} |")
        tail = "members' median NSE" if cfg.ensemble > 1 else "minutes"
        lines += ["", f"Per fold (median NSE / mean NSE / median KGE / share NSE < 0; {tail}):", "",
                  "| fold | test basins | " + " | ".join(cfg.models) + " |",
                  "|---|---|" + "---|" * len(cfg.models)]
        for name in names:
            cells = []
            n_test = ""
            for model in cfg.models:
                match = [r for r in results if r["model"] == model and r["fold"] == name]
                if match:
                    s = _summary(match[0]["per_basin"])
                    n_test = str(s["n"])
                    cells.append(f"{s['median_nse']:.3f} / {s['mean_nse']:.3f} / {s['median_kge']:.3f} / "
                                 f"{s['share_nse_below_0']:.0%}; {_fold_note(match[0])}")
                else:
                    cells.append("not run")
            lines.append(f"| {name} | {n_test} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(headline(figures or {"results": "none"}))
    report = finish_report(lines, out)
    if out is not None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["fold", "model", "gauge_id", "nse", "kge"])
        for r in results:
            for b in r["per_basin"]:
                writer.writerow([r["fold"], r["model"], b["gauge_id"], f"{b['nse']:.4f}", f"{b['kge']:.4f}"])
        write_text_atomic(per_basin_csv_path(Path(out)), buffer.getvalue())
    return report


#: what each benchmarked network is, in the report's words (order = order in the report)
MODEL_DESCRIPTIONS: dict[str, str] = {
    "stefaland": "pretrained encoder frozen + residual adapter + LSTM head (statics into the adapter{lstm})",
    "scratch": "the same network with the encoder randomly initialised and trained end to end",
    "lstm": "supervised LSTM on forcings + statics (Kratzert et al. 2019 style)",
    "linear_probe": "pretrained encoder frozen + one linear layer",
    "adapter_without_encoder": "the stefaland network with its encoder states set to zero (what the states add)",
}


def _models_sentence(cfg: StreamflowBenchmarkConfig) -> str:
    """'Models: **name** = description; ...' for the models the run has."""
    lstm = " and the LSTM" if cfg.train.head.statics_to_lstm else ""
    parts = [f"**{name}** = {text.format(lstm=lstm)}" for name, text in MODEL_DESCRIPTIONS.items()
             if name in cfg.models]
    return "Models: " + "; ".join(parts) + "."


def _fold_note(record: dict) -> str:
    """A per-fold cell's tail: minutes for a single model, the members' median NSE for an ensemble."""
    if "member_median_nse" in record:
        return "members " + " / ".join(f"{m:.3f}" for m in record["member_median_nse"])
    return f"{record['seconds'] / 60:.1f}"


def per_basin_csv_path(report: Path) -> Path:
    """The per-basin CSV beside a report: ``docs/X.md`` -> ``docs/X_per_basin.csv`` (one per report, never shared)."""
    return report.with_name(f"{report.stem}_per_basin.csv")


def main(argv: list[str]) -> int:
    """``python -m backend benchmark streamflow [--config C] [--out docs/benchmark_streamflow.md] [--report-only]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark streamflow")
    parser.add_argument("--config", type=Path, default=Path("resources/configs/benchmark_streamflow.yaml"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report from stored results")
    parser.add_argument("--part", default="1/1", help="I/N: run every N-th fold from the I-th (parallel workers)")
    args = parser.parse_args(argv)
    cfg = load_config(StreamflowBenchmarkConfig, args.config)
    index, _, parts = args.part.partition("/")
    if not (index.isdigit() and parts.isdigit() and 1 <= int(index) <= int(parts)):
        raise ValueError(f"--part must look like 1/2, got {args.part!r}")
    if not args.report_only:
        run_benchmark(cfg, (int(index), int(parts)))
    print(write_report(cfg, args.out, args.config))
    return 0
