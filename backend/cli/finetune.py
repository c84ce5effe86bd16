"""User-gauge commands: ``finetune``, ``predict-gauges``, ``validate-gauges`` and ``example-gauges``.

The user format is described in ``docs/user_format.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

from backend.cli.args import positive_int

MAX_LISTED_PROBLEMS = 50


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt meanwhile, so a terminated run cleans up like a Ctrl-C."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_problems(problems: list[str]) -> None:
    for problem in problems[:MAX_LISTED_PROBLEMS]:
        print(f"  {problem}")
    if len(problems) > MAX_LISTED_PROBLEMS:
        print(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more")


def _check_files(args: argparse.Namespace, streamflow: Path | None) -> list[str]:
    """Every problem of the files; categories are checked too when the base model can be loaded."""
    from backend.core.errors import CheckpointError
    from backend.data.user_gauges import validate_user_dataset
    from backend.model.loading import get_base_model

    try:
        vocabularies = get_base_model(args.model).normalizer.vocabularies
    except CheckpointError:
        vocabularies = None
    return validate_user_dataset(args.gauges, streamflow, args.forcings, vocabularies)


def _validate(args: argparse.Namespace) -> int:
    problems = _check_files(args, args.streamflow)
    if problems:
        print(f"{len(problems)} problem(s):")
        _print_problems(problems)
        return 2
    print("the files are fine")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.gauge_run import FinetuneInputs, check_out_dir, run_finetune
    from backend.tasks.streamflow.user_finetune import GaugeFinetuneConfig

    check_out_dir(args.out_dir, args.overwrite)  # fail before reading anything
    problems = _check_files(args, args.streamflow)
    if problems:
        print(f"{len(problems)} problem(s) in the input files; nothing was trained:")
        _print_problems(problems)
        return 2
    overrides = {k: v for k, v in (("steps", args.steps), ("max_seconds", args.max_seconds),
                                   ("threads", args.threads)) if v is not None}
    cfg = GaugeFinetuneConfig(**overrides)
    inputs = FinetuneInputs(args.gauges, args.streamflow, args.forcings, args.model, args.adapter)
    with _sigterm_as_interrupt():
        summary = run_finetune(inputs, args.out_dir, cfg, overwrite=args.overwrite,
                               report=lambda fraction, message: print(message, flush=True))
    print(f"\nvalidation NSE per gauge (time split, last {cfg.validation_fraction:.0%} of each record; these days "
          "also chose the stopping step, so the scores are optimistic):")
    for gauge in summary["gauges"]:
        print(f"  {gauge['id']:>12}  NSE {_fmt(gauge['validation_nse'])}  (warm start "
              f"{_fmt(gauge['validation_nse_before'])})  KGE {_fmt(gauge['validation_kge'])}  "
              f"{len(gauge['imputed'])} attributes imputed")
    for gauge_id, reason in summary["skipped"].items():
        print(f"  {gauge_id:>12}  not trained on: {reason}")
    print(f"median validation NSE {_fmt(summary['median_validation_nse'])} "
          f"(warm start {_fmt(summary['median_validation_nse_before'])})"
          + ("; no step beat the warm start, its weights were kept" if summary["kept_warm_start"] else ""))
    members = summary.get("members") or []
    if len(members) > 1:
        print(f"ensemble of {len(members)} members (scores of their mean flow), each fine-tuned from its warm-start "
              "member: " + "; ".join(f"seed {m['seed']} best step {m['best_step']}"
                                     + (" (warm start kept)" if m["kept_warm_start"] else "") for m in members))
    for note in summary["notes"]:
        print(f"note: {note}")
    print(f"wrote {summary['adapter']}, config.yaml, report.md and report.json in {args.out_dir} "
          f"({summary['total_seconds']:.0f} s)")
    return 0


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:6.3f}"


def _predict_gauges(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.gauge_run import predict_gauges

    rows = predict_gauges(args.gauges, args.forcings, args.streamflow, args.out_dir, args.start, args.end,
                          args.adapter, args.model, args.overwrite)
    failed = [r for r in rows if "error" in r]
    for row in rows:
        if "error" in row:
            print(f"  {row['id']:>12}  not predicted: {row['error']}")
            continue
        skill = (f"NSE {_fmt(row['nse'])}  KGE {_fmt(row['kge'])}" if row["has_observations"]
                 else "no observed flow: NSE/KGE not computed")
        print(f"  {row['id']:>12}  {row['start']}..{row['end']}  mean {row['mean_flow']:.3f} mm/day  {skill}  "
              f"-> {row['csv']}")
    print(f"wrote {len(rows) - len(failed)} prediction CSV(s) to {args.out_dir}")
    return 2 if len(failed) == len(rows) else 0


def _example(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.example_gauges import write_example_gauges

    summary = write_example_gauges(args.out_dir, n=args.n, overwrite=args.overwrite)
    print(f"wrote an example user dataset of {len(summary['basins'])} CAMELS basins to {args.out_dir}:")
    for gauge_id in summary["basins"]:
        given = [name for name, ids in summary["given_attributes"].items() if gauge_id in ids]
        print(f"  {gauge_id}: streamflow in {summary['units'][gauge_id]}, attributes given: {', '.join(given)}")
    print(f"streamflow {summary['flow_period'][0]}..{summary['flow_period'][1]} (Caravan), forcings "
          f"{summary['forcing_period'][0]}..{summary['forcing_period'][1]} (CAMELS Daymet)")
    return 0


def _common(p: argparse.ArgumentParser, streamflow_required: bool) -> None:
    p.add_argument("--gauges", type=Path, required=True, help="gauges CSV (id, latitude, longitude, area_km2, ...)")
    p.add_argument("--streamflow", type=Path, required=streamflow_required, default=None,
                   help="streamflow CSV (date, id, value, unit)")
    p.add_argument("--forcings", type=Path, required=True, help="folder of <id>.csv or CAMELS forcing files")
    p.add_argument("--model", type=Path, default=None,
                   help="base model (default: $STEFALAND_BASE_MODEL, else the bundled one)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the user-gauge commands."""
    f = sub.add_parser("finetune", help="fine-tune the streamflow adapter on your own gauges (docs/user_format.md)")
    _common(f, streamflow_required=True)
    f.add_argument("--out-dir", type=Path, required=True, help="folder for the new adapter and its report")
    f.add_argument("--adapter", type=Path, default=None, help="adapter to start from (default: the bundled one)")
    f.add_argument("--steps", type=positive_int, default=None, help="training steps (default 400)")
    f.add_argument("--max-seconds", type=float, default=None,
                   help="stop training after this many seconds (default 120)")
    f.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default 1)")
    f.add_argument("--overwrite", action="store_true", help="replace an adapter already in --out-dir")
    f.set_defaults(func=_finetune)
    p = sub.add_parser("predict-gauges", help="daily streamflow for every gauge of a user dataset")
    _common(p, streamflow_required=False)
    p.add_argument("--adapter", type=Path, default=None, help="adapter file (default: the bundled one)")
    p.add_argument("--start", default=None, help="first day YYYY-MM-DD (default: after the LSTM warm-up)")
    p.add_argument("--end", default=None, help="last day YYYY-MM-DD (default: the end of the forcings)")
    p.add_argument("--out-dir", type=Path, required=True, help="folder for <id>.csv predictions")
    p.add_argument("--overwrite", action="store_true", help="replace existing prediction CSVs")
    p.set_defaults(func=_predict_gauges)
    v = sub.add_parser("validate-gauges", help="list every problem of a user dataset (file, line, column)")
    _common(v, streamflow_required=False)
    v.set_defaults(func=_validate)
    e = sub.add_parser("example-gauges", help="write an example user dataset from 10 real CAMELS basins")
    e.add_argument("--out-dir", type=Path, required=True)
    e.add_argument("--n", type=positive_int, default=10, help="number of basins (default 10)")
    e.add_argument("--overwrite", action="store_true", help="replace an example already there")
    e.set_defaults(func=_example)
