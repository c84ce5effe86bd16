"""Hazard map speed: ``python -m backend benchmark hazard-speed --out docs/benchmark_hazard_speed.md``.

Maps ``ecuador_lsl/ta.tif`` (383 x 415 cells) with the landslide adapter several times in one process
(median, with the time of each phase) and once end to end as ``python -m backend hazard`` in a fresh
process (Python start, imports and model loading included). Target: under 5 s for the raster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from backend.data.landslides import landslides_dir, raster_size
from backend.io_utils import write_text_atomic
from backend.model.service import get_base_model
from backend.paths import PROJECT_ROOT
from backend.tasks.hazard import HazardResult, write_hazard_map
from backend.tasks.landslide import BUNDLED_ADAPTER, load_landslide_model

TARGET_SECONDS = 5.0


def _in_process(raster: Path, adapter: Path, base_model: Path | None, repeats: int, tile: int, folder: Path
                ) -> tuple[float, list[HazardResult]]:
    start = time.perf_counter()
    model = load_landslide_model(adapter, lambda: get_base_model(base_model))
    load_seconds = time.perf_counter() - start
    results = [write_hazard_map(raster, folder / f"run{k}.tif", model, tile=tile) for k in range(repeats)]
    return load_seconds, results


def _end_to_end(raster: Path, adapter: Path, base_model: Path | None, folder: Path) -> float:
    command = [sys.executable, "-m", "backend", "hazard", "--raster", str(raster), "--out",
               str(folder / "cli.tif"), "--adapter", str(adapter)]
    if base_model is not None:
        command += ["--base-model", str(base_model)]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=PROJECT_ROOT, env=os.environ.copy(), capture_output=True)
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> list[str]:
    """Run the benchmark; returns the Markdown lines."""
    bands, rows, cols = raster_size(args.raster)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load_seconds, results = _in_process(args.raster, args.adapter, args.base_model, args.repeats, args.tile,
                                            folder)
        wall = _end_to_end(args.raster, args.adapter, args.base_model, folder) if not args.no_cli else float("nan")
    seconds = np.array([r.seconds for r in results])
    first = results[0]
    phases = {k: float(np.median([r.phases[k] for r in results])) for k in first.phases}
    median = float(np.median(seconds))
    verdict = "meets" if median < TARGET_SECONDS else "misses"
    lines = [
        "# Hazard map speed", "",
        f"Run {dt.datetime.now().isoformat(timespec='seconds')} on {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads, by `python -m backend benchmark hazard-speed`. "
        "The machine was shared with a running pretraining job (timings are upper bounds).",
        f"Raster `{args.raster}`: {cols} x {rows} cells, {bands} bands, {first.n_valid:,} cells with every "
        f"covariate; {first.tiles} tiles of {args.tile} x {args.tile}; adapter `{args.adapter}` "
        f"(base model sha256 `{(get_base_model(args.base_model).sha256)[:16]}…`).", "",
        "| measurement | seconds |", "|---|---|",
        f"| map, in process (median of {len(results)}: {', '.join(f'{s:.2f}' for s in seconds)}) | {median:.2f} |",
        *[f"| - {name} | {value:.2f} |" for name, value in phases.items()],
        f"| loading the base model and adapter (once) | {load_seconds:.2f} |",
        f"| `python -m backend hazard` end to end, fresh process (start-up, imports, loading included) | {wall:.2f} |",
        "",
        f"The in-process map {verdict} the {TARGET_SECONDS:.0f} s target. The encoder runs only on the "
        f"{first.lattice_points} nodes of an (elevation, slope) lattice at the raster centre; the adapter and head "
        f"run on all {first.n_valid:,} cells ({first.n_valid / max(phases.get('probabilities', 1e-9), 1e-9):,.0f} "
        "cells/s including reading, interpolation and writing).", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend benchmark hazard-speed", description=__doc__)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--raster", type=Path, default=landslides_dir() / "ecuador_lsl" / "ta.tif")
    parser.add_argument("--adapter", type=Path, default=BUNDLED_ADAPTER)
    parser.add_argument("--base-model", type=Path, help="default: $STEFALAND_BASE_MODEL or the bundled one")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end run in a fresh process")
    args = parser.parse_args(argv)
    lines = run(args)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_text_atomic(args.out, text)
        print(f"wrote {args.out}")
    return 0
