"""Prediction latency: one basin's whole 35-year record, after the model is loaded (warm worker).

With ``--out docs/X.md`` every measured request time is stored in ``results/X/timings.json`` (committed),
from which ``--report-only`` rebuilds the report without measuring.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from backend.benchmarks import (
    add_report_arguments,
    headline,
    read_stored_results,
    stored_results_path,
    write_report_keeping_reading,
)
from backend.core.atomic_io import write_text_atomic
from backend.model.loading import get_base_model
from backend.tasks.streamflow.adapter_io import load_streamflow_adapter
from backend.tasks.streamflow.predict import predict_camels_basin

#: the periods timed per request: label -> (start, end)
PERIODS = {"35 years (1980-01-01..2014-12-31)": ("1980-01-01", "2014-12-31"),
           "10 years (1990-01-01..1999-12-31)": ("1990-01-01", "1999-12-31")}


def measure(basin: str, repeats: int, threads: int) -> dict:
    """Load the base model and streamflow adapter, predict ``basin`` once, then time ``repeats`` requests per period.

    Returns the stored record: the machine, the load and first-prediction seconds and every request's seconds.
    """
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    base = get_base_model()
    model, cfg, _ = load_streamflow_adapter(None, base)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = predict_camels_basin(base, model, basin, "1980-01-01", "2014-12-31", cfg["warmup_days"])
    first_s = time.perf_counter() - t0
    periods = []
    for label, (start, end) in PERIODS.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            predict_camels_basin(base, model, basin, start, end, cfg["warmup_days"])
            times.append(time.perf_counter() - t0)
        periods.append({"label": label, "start": start, "end": end, "seconds": times})
    return {"basin": basin, "repeats": repeats, "machine": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "load_seconds": load_s,
            "first_seconds": first_s, "first_days": len(first.dates), "periods": periods}


def latency_report(record: dict) -> str:
    """The Markdown report of a stored record (:func:`measure`), ending with a ``headline:`` line."""
    lines = ["# Prediction latency (warm)", "",
             f"Command: `make benchmark` (`python -m backend benchmark latency --basin {record['basin']} "
             f"--repeats {record['repeats']}`). Machine: {record['machine']}, "
             f"{record['torch_threads']} torch threads, torch {record['torch']}.", "",
             f"Loading the base model and streamflow adapter: {record['load_seconds']:.2f} s. First prediction "
             f"(reads the forcing cache into memory): {record['first_seconds']:.2f} s for {record['first_days']} "
             "days.", "",
             "After that, per request (basin attributes, imputation of missing ones, frozen encoder on the "
             "windows needed, adapter + LSTM over the days, NSE/KGE):", "",
             "| period | median s | max s | target |", "|---|---|---|---|"]
    figures: dict[str, float | str] = {}
    for period in record["periods"]:
        median, top = float(np.median(period["seconds"])), float(np.max(period["seconds"]))
        lines.append(f"| {period['label']} | {median:.3f} | {top:.3f} | < 0.3 s |")
        figures[f"median_s_{period['start'][:4]}_{period['end'][:4]}"] = median
    lines += ["", headline(figures)]
    return "\n".join(lines) + "\n"


#: the stored timings of a report ``docs/X.md``: ``results/X/timings.json``
RESULTS_FILE = "timings.json"


def main(argv: list[str]) -> int:
    """``python -m backend benchmark latency [--basin ID] [--repeats N] [--out docs/X.md] [--report-only]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark latency")
    parser.add_argument("--basin", default="01022500")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    add_report_arguments(parser, RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.report_only:
        record = read_stored_results(parser, args.out, RESULTS_FILE)
    else:
        record = measure(args.basin, args.repeats, args.threads)
        if args.out:
            write_text_atomic(stored_results_path(args.out, RESULTS_FILE), json.dumps(record, indent=1) + "\n")
    report = latency_report(record)
    print(report)
    if args.out:
        write_report_keeping_reading(args.out, report)
    return 0
