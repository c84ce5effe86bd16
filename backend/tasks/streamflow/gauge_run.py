"""Fine-tuning and prediction runs on user gauges, with their files: what the CLI and the worker call.

``run_finetune`` writes into the user's folder ``streamflow_adapter.pt`` (atomically, last step of
training), ``config.yaml`` (the resolved settings), ``report.json`` and ``report.md``. It refuses any folder
inside the bundled model folder, whatever the environment says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.core.atomic_io import write_text_atomic
from backend.core.config import save_config
from backend.core.errors import CheckpointError
from backend.core.paths import MODELS_DIR
from backend.data.user_gauges import UserDataset, load_user_dataset
from backend.model.checkpoint import BaseModel
from backend.model.loading import get_base_model
from backend.tasks.streamflow.adapter_io import (
    BUNDLED_STREAMFLOW_ADAPTER,
    load_streamflow_adapter,
    save_streamflow_adapter,
)
from backend.tasks.streamflow.networks import HeadConfig
from backend.tasks.streamflow.predict import StreamflowPrediction, write_prediction_csv
from backend.tasks.streamflow.user_data import PreparedGauges, predict_user_gauge, prepare_gauges
from backend.tasks.streamflow.user_finetune import FinetuneOutcome, GaugeFinetuneConfig, finetune_on_gauges

ADAPTER_NAME = "streamflow_adapter.pt"
Report = Callable[[float, str], None]


@dataclass
class FinetuneInputs:
    """The user's files and the models to start from (None: ``$STEFALAND_BASE_MODEL``/bundled files)."""

    gauges_csv: Path
    streamflow_csv: Path
    forcings_dir: Path
    model: Path | None = None
    adapter: Path | None = None


@dataclass
class FinetuneRunConfig:
    """Everything that determined a fine-tune, as saved in ``config.yaml``."""

    inputs: FinetuneInputs
    training: GaugeFinetuneConfig = field(default_factory=GaugeFinetuneConfig)
    base_sha256: str = ""
    warmup_days: int = 0


def check_out_dir(out_dir: Path, overwrite: bool) -> Path:
    """The adapter path in ``out_dir``, checked before any work is done.

    Refuses the bundled model folder and (without ``overwrite``) an existing adapter; removes partial adapter
    files left by a killed run.
    """
    resolved = Path(out_dir).resolve()
    models = MODELS_DIR.resolve()
    if resolved == models or models in resolved.parents:
        raise PermissionError(f"{out_dir}: is inside the bundled model folder {MODELS_DIR}; "
                              "fine-tuned adapters go into a folder of your own")
    adapter = Path(out_dir) / ADAPTER_NAME
    if adapter.exists() and not overwrite:
        raise FileExistsError(f"{adapter}: exists; choose another folder or allow overwriting it")
    for stale in Path(out_dir).glob(f".{ADAPTER_NAME}.*.partial"):  # left by a killed run: never an adapter
        stale.unlink()
    return adapter


def run_finetune(inputs: FinetuneInputs, out_dir: Path, cfg: GaugeFinetuneConfig | None = None,
                 overwrite: bool = False, should_stop: Callable[[], bool] | None = None,
                 report: Report | None = None) -> dict:
    """Validate the files, fine-tune, write the adapter and the reports; returns the report as a dict."""
    cfg = cfg or GaugeFinetuneConfig()
    report = report or (lambda fraction, message: None)
    started = time.monotonic()
    adapter_path = check_out_dir(out_dir, overwrite)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _run(inputs, Path(out_dir), adapter_path, cfg, overwrite, should_stop, report, started)
    finally:
        torch.set_num_threads(threads)  # the worker process goes on with its own setting


def _run(inputs: FinetuneInputs, out_dir: Path, adapter_path: Path, cfg: GaugeFinetuneConfig, overwrite: bool,
         should_stop: Callable[[], bool] | None, report: Report, started: float) -> dict:
    """The body of :func:`run_finetune` (torch threads already set)."""
    base = get_base_model(inputs.model)
    report(0.0, "reading and checking the gauge files")
    dataset = load_user_dataset(inputs.gauges_csv, inputs.streamflow_csv, inputs.forcings_dir,
                                base.normalizer.vocabularies)
    warm_path = Path(inputs.adapter or BUNDLED_STREAMFLOW_ADAPTER)
    if inputs.adapter is None and not warm_path.is_file():
        raise CheckpointError(f"{warm_path}: the bundled streamflow adapter is not installed (`make "
                              "streamflow-adapter` trains it); give the adapter to start from with --adapter")
    model, adapter_cfg, _ = load_streamflow_adapter(warm_path, base)
    warmup = int(adapter_cfg["warmup_days"])
    report(0.02, "imputing missing attributes")
    prepared = prepare_gauges(base, dataset, cfg.validation_fraction, warmup, cfg.loss_days)
    outcome = finetune_on_gauges(base, model, warmup, prepared, cfg, should_stop, report)
    summary = _summary(base, dataset, prepared, outcome, warm_path, adapter_path, started)
    meta = {key: summary[key] for key in ("gauges", "median_validation_nse", "median_validation_nse_before",
                                          "kept_warm_start", "warm_start_adapter", "validation", "members")}
    save_streamflow_adapter(adapter_path, model, base, HeadConfig(**adapter_cfg["head"]), warmup, meta,
                            overwrite=overwrite)
    resolved = FinetuneInputs(Path(inputs.gauges_csv).resolve(), Path(inputs.streamflow_csv).resolve(),
                              Path(inputs.forcings_dir).resolve(), base.path, warm_path.resolve())
    save_config(FinetuneRunConfig(resolved, cfg, base.sha256, warmup), Path(out_dir) / "config.yaml")
    summary["total_seconds"] = round(time.monotonic() - started, 1)
    write_text_atomic(Path(out_dir) / "report.json", json.dumps(summary, indent=1, allow_nan=True))
    write_text_atomic(Path(out_dir) / "report.md", report_markdown(summary, cfg))
    report(1.0, f"wrote {adapter_path}")
    return summary


def _number(value: float) -> float | None:
    return round(float(value), 4) if np.isfinite(value) else None


def _summary(base: BaseModel, dataset: UserDataset, prepared: PreparedGauges, outcome: FinetuneOutcome,
             warm_path: Path, adapter_path: Path, started: float) -> dict:
    dates = prepared.data.dates
    gauges = []
    for gauge_id, split in prepared.splits.items():
        before, after = outcome.before[gauge_id], outcome.after[gauge_id]
        gauges.append({
            "id": gauge_id, "forcings": prepared.forcing_source[gauge_id],
            "given": prepared.given[gauge_id], "imputed": prepared.imputed[gauge_id],
            "train": [str(dates[split.train_lo]), str(dates[split.train_hi - 1])],
            "validation": [str(dates[split.val_lo]), str(dates[split.val_hi - 1])],
            "validation_observed_days": after.observed_days,
            "validation_nse_before": _number(before.nse), "validation_nse": _number(after.nse),
            "validation_kge": _number(after.kge)})
    members = [{"member": m, "seed": o.seed, "best_step": o.fit.best_step, "steps_run": o.fit.steps_run,
                "training_seconds": round(o.seconds, 1), "kept_warm_start": o.kept_warm_start,
                "median_validation_nse_before": _number(o.median_before),
                "median_validation_nse": _number(o.median_after),
                "history": [[s, round(loss, 4), _number(score)] for s, loss, score in o.fit.history]}
               for m, o in enumerate(outcome.members)]
    return {
        "adapter": str(adapter_path), "base_model": str(base.path), "base_sha256": base.sha256,
        "warm_start_adapter": str(warm_path.resolve()), "gauges": gauges, "skipped": prepared.skipped,
        "notes": dataset.notes,
        "validation": "time split: the last part of each gauge's observed record (see validation_fraction)",
        "median_validation_nse_before": _number(FinetuneOutcome.median(outcome.before)),
        "median_validation_nse": _number(FinetuneOutcome.median(outcome.after)),
        "kept_warm_start": outcome.kept_warm_start, "members": members,
        "best_step": [m["best_step"] for m in members], "steps_run": [m["steps_run"] for m in members],
        "encoding_seconds": round(outcome.seconds.get("encoding", 0.0), 1),
        "training_seconds": round(outcome.seconds.get("training", 0.0), 1),
        "total_seconds": round(time.monotonic() - started, 1)}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def report_markdown(summary: dict, cfg: GaugeFinetuneConfig) -> str:
    """A human-readable report of a fine-tune."""
    lines = [
        "# Streamflow adapter fine-tuned on your gauges", "",
        f"- Adapter: `{summary['adapter']}` (use it with `python -m backend predict-gauges --adapter ...`)",
        f"- Base model: `{summary['base_model']}` (sha256 `{summary['base_sha256'][:12]}`); encoder frozen",
        f"- Warm start: `{summary['warm_start_adapter']}`",
        f"- Validation: the last {cfg.validation_fraction:.0%} of each gauge's observed record (time split); it "
        "also chose the stopping step, so these scores are optimistic for later years.",
        f"- Median validation NSE: {_fmt(summary['median_validation_nse'])} after, "
        f"{_fmt(summary['median_validation_nse_before'])} with the warm-start adapter"
        + (" (no fine-tuned step beat the warm start: its weights were kept)" if summary["kept_warm_start"] else ""),
        f"- Ensemble of {len(summary['members'])} member(s), fine-tuned one after the other (member m from the "
        "warm start's member m, seed + m); the scores are those of their mean flow",
        f"- Training {summary['training_seconds']} s, encoding {summary['encoding_seconds']} s, total "
        f"{summary['total_seconds']} s", "",
        "| member | seed | steps run | best step | median validation NSE before | after | training (s) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {m['member']} | {m['seed']} | {m['steps_run']} | {m['best_step']} "
          f"| {_fmt(m['median_validation_nse_before'])} | {_fmt(m['median_validation_nse'])}"
          + (" (warm start kept)" if m["kept_warm_start"] else "") + f" | {m['training_seconds']} |"
          for m in summary["members"]], "",
        "| gauge | training days | validation days | NSE before | NSE after | KGE after | given attributes "
        "(all others imputed) |",
        "|---|---|---|---|---|---|---|"]
    for g in summary["gauges"]:
        lines.append(f"| {g['id']} | {g['train'][0]}..{g['train'][1]} | {g['validation'][0]}..{g['validation'][1]} "
                     f"| {_fmt(g['validation_nse_before'])} | {_fmt(g['validation_nse'])} "
                     f"| {_fmt(g['validation_kge'])} | {', '.join(g['given'])} ({len(g['imputed'])} imputed) |")
    for gauge_id, reason in summary["skipped"].items():
        lines.append(f"\nNot trained on: {gauge_id}: {reason}")
    lines += [f"\nNote: {n}" for n in summary["notes"]]
    lines += ["", "The imputed attributes of each gauge are listed in `report.json`."]
    return "\n".join(lines) + "\n"


def predict_gauges(gauges_csv: Path, forcings_dir: Path, streamflow_csv: Path | None, out_dir: Path,
                   start: str | None = None, end: str | None = None, adapter: Path | None = None,
                   model: Path | None = None, overwrite: bool = False) -> list[dict]:
    """One CSV per gauge in ``out_dir`` (``<id>.csv``, as :meth:`StreamflowPrediction.to_csv` writes it).

    Columns: date, streamflow_pred, member_spread_p10, member_spread_p90, and streamflow_obs where observed.
    Returns one dict per gauge: id, csv, n_days, nse, kge (None without observations), imputed, members, or error.
    """
    base = get_base_model(model)
    dataset = load_user_dataset(gauges_csv, streamflow_csv, forcings_dir, base.normalizer.vocabularies)
    streamflow_model, adapter_cfg, _ = load_streamflow_adapter(adapter, base)
    rows = []
    for gauge in dataset.gauges:
        try:
            result = predict_user_gauge(base, streamflow_model, dataset, gauge.gauge_id, start, end,
                                        int(adapter_cfg["warmup_days"]))
        except ValueError as exc:
            rows.append({"id": gauge.gauge_id, "error": str(exc)})
            continue
        path = write_prediction_csv(result, Path(out_dir) / f"{gauge.gauge_id}.csv", overwrite=overwrite)
        rows.append(prediction_row(result, path))
    return rows


def prediction_row(result: StreamflowPrediction, path: Path) -> dict:
    """The JSON-able summary of one prediction."""
    return {"id": result.location_id, "csv": str(path), "n_days": len(result.dates),
            "start": str(result.dates[0]), "end": str(result.dates[-1]),
            "nse": None if result.nse is None else _number(result.nse),
            "kge": None if result.kge is None else _number(result.kge),
            "has_observations": result.streamflow_obs is not None, "imputed": result.imputed,
            "forcing_source": result.forcing_source, "mean_flow": round(float(np.mean(result.streamflow_pred)), 4),
            "members": result.members}

