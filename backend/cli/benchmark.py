"""``python -m backend benchmark <name> ...``: every benchmark registered by name, imported lazily."""

from __future__ import annotations

import argparse
import importlib

#: benchmark name -> "module:function"; the function takes the remaining argv and returns an exit code
BENCHMARKS: dict[str, str] = {
    "pretrain": "backend.benchmarks.reconstruction:main",
    "streamflow": "backend.benchmarks.streamflow:main",
    "streamflow-design": "backend.benchmarks.streamflow_design:main",
    "streamflow-selection": "backend.benchmarks.streamflow_selection:main",
    "signature-probe": "backend.benchmarks.signature_probe:main",
    "pretrain-study": "backend.benchmarks.pretrain_study:main",
    "soil-composition": "backend.benchmarks.soil_composition:main",
    "soil-moisture": "backend.benchmarks.soil_moisture:main",
    "landslide": "backend.benchmarks.landslide:main",
    "hazard-speed": "backend.benchmarks.hazard_speed:main",
    "latency": "backend.benchmarks.latency:main",
}


def _run(args: argparse.Namespace) -> int:
    module_name, _, func_name = BENCHMARKS[args.name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"benchmark {args.name!r} is not available in this version ({exc})") from None
    return int(getattr(module, func_name)(args.rest) or 0)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``benchmark``."""
    p = sub.add_parser("benchmark", help="run a benchmark on the real data (prints and writes a table)")
    p.add_argument("name", choices=sorted(BENCHMARKS))
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark (see its --help)")
    p.set_defaults(func=_run)
