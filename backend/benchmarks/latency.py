"""Prediction latency: one basin's whole 35-year record, after the model is loaded (warm worker)."""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from backend.benchmarks import write_report_keeping_reading
from backend.model.loading import get_base_model
from backend.tasks.streamflow.adapter_io import load_streamflow_adapter
from backend.tasks.streamflow.predict import predict_camels_basin


def main(argv: list[str]) -> int:
    """``python -m backend benchmark latency [--basin ID] [--repeats N] [--out docs/benchmark_latency.md]``."""
    parser = argparse.ArgumentParser(prog="python -m backend benchmark latency")
    parser.add_argument("--basin", default="01022500")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    base = get_base_model()
    model, cfg, _ = load_streamflow_adapter(None, base)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = predict_camels_basin(base, model, args.basin, "1980-01-01", "2014-12-31", cfg["warmup_days"])
    first_s = time.perf_counter() - t0
    periods = {"35 years (1980-01-01..2014-12-31)": ("1980-01-01", "2014-12-31"),
               "10 years (1990-01-01..1999-12-31)": ("1990-01-01", "1999-12-31")}
    rows = []
    for label, (start, end) in periods.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predict_camels_basin(base, model, args.basin, start, end, cfg["warmup_days"])
            times.append(time.perf_counter() - t0)
        rows.append((label, float(np.median(times)), float(np.max(times))))
    lines = ["# Prediction latency (warm)", "",
             f"Command: `make benchmark` (`python -m backend benchmark latency --basin {args.basin} "
             f"--repeats {args.repeats}`). Machine: {platform.processor() or platform.machine()}, "
             f"{torch.get_num_threads()} torch threads, torch {torch.__version__}.", "",
             f"Loading the base model and streamflow adapter: {load_s:.2f} s. First prediction (reads the "
             f"forcing cache into memory): {first_s:.2f} s for {len(first.dates)} days.", "",
             "After that, per request (basin attributes, imputation of missing ones, frozen encoder on the "
             "windows needed, adapter + LSTM over the days, NSE/KGE):", "",
             "| period | median s | max s | target |", "|---|---|---|---|"]
    lines += [f"| {label} | {med:.3f} | {mx:.3f} | < 0.3 s |" for label, med, mx in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        write_report_keeping_reading(args.out, report)
    return 0
