"""Streamflow commands: ``predict`` and ``train-streamflow-adapter``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _predict(args: argparse.Namespace) -> int:
    from backend.model.service import get_base_model
    from backend.tasks.streamflow.adapter_io import load_streamflow_adapter
    from backend.tasks.streamflow.predict import predict_camels_basin, write_prediction_csv

    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.out}: exists; refusing to overwrite it (use --overwrite)")
    base = get_base_model(args.model)
    model, cfg, _ = load_streamflow_adapter(args.adapter, base)
    result = predict_camels_basin(base, model, args.basin, args.start, args.end, cfg["warmup_days"])
    write_prediction_csv(result, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(result.dates)} days of streamflow_pred (mm/day) for {args.basin}, "
          f"mean {float(np.mean(result.streamflow_pred)):.3f} mm/day")
    if result.nse is not None:
        print(f"NSE {result.nse:.3f}  KGE {result.kge:.3f} against observed streamflow "
              f"({int((~np.isnan(result.streamflow_obs)).sum())} observed days)")
    else:
        print("no observed streamflow for this basin and period: NSE/KGE not computed")
    if result.imputed:
        print(f"imputed attributes: {', '.join(result.imputed)}")
    return 0


def _train_adapter(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.bundle import train_bundled_adapter

    print(f"wrote {train_bundled_adapter(args.config, args.out)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``predict`` and ``train-streamflow-adapter``."""
    p = sub.add_parser("predict", help="daily streamflow for a CAMELS basin (works without observations)")
    p.add_argument("--basin", required=True, help="8-digit gauge id")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--out", type=Path, required=True, help="CSV to write (date, streamflow_pred, streamflow_obs)")
    p.add_argument("--adapter", type=Path, default=None, help="adapter file (default: the bundled one)")
    p.add_argument("--model", type=Path, default=None, help="base model (default: the bundled one)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=_predict)
    t = sub.add_parser("train-streamflow-adapter", help="train the bundled streamflow adapter on all basins")
    t.add_argument("--config", type=Path, default=Path("resources/configs/streamflow_adapter.yaml"))
    t.add_argument("--out", type=Path, default=Path("resources/models/streamflow_adapter.pt"))
    t.set_defaults(func=_train_adapter)
