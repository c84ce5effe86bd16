"""Plugin timings: import cost, worker cold start, request round trip, demo layers.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/benchmark_plugin.py [--repeat 5]

Each import is measured in a fresh interpreter (after ``import qgis.core, qgis.gui``, whose cost is
QGIS's, not ours); worker figures use the real worker process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

IMPORT_CODE = """
import time
import qgis.core, qgis.gui
t = time.perf_counter()
import stefaland_plugin
t1 = time.perf_counter()
import stefaland_plugin.plugin, stefaland_plugin.dock, stefaland_plugin.processing.provider
t2 = time.perf_counter()
print(t1 - t, t2 - t)
"""


def import_times(repeat: int) -> tuple[list[float], list[float]]:
    package, modules = [], []
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", IMPORT_CODE], cwd=PROJECT, env=env, capture_output=True,
                             text=True, check=True, timeout=120).stdout.split()
        package.append(float(out[0]))
        modules.append(float(out[1]))
    return package, modules


def worker_times(repeat: int) -> dict[str, list[float]]:
    from stefaland_plugin.worker_client import WorkerClient

    python = PROJECT / ".venv" / "bin" / "python"
    results: dict[str, list[float]] = {"cold start + first ping (s)": [], "ping round trip (ms)": [],
                                       "demo_layers (s)": []}
    for _ in range(repeat):
        client = WorkerClient(python, PROJECT)
        t = time.perf_counter()
        client.request("ping")
        results["cold start + first ping (s)"].append(time.perf_counter() - t)
        for _ in range(20):
            t = time.perf_counter()
            client.request("ping")
            results["ping round trip (ms)"].append(1000 * (time.perf_counter() - t))
        with tempfile.TemporaryDirectory() as folder:
            t = time.perf_counter()
            client.request("demo_layers", {"out_dir": folder})
            results["demo_layers (s)"].append(time.perf_counter() - t)
        client.stop()
    return results


def line(name: str, values: list[float]) -> str:
    return (f"{name:34} median {statistics.median(values):8.3f}   min {min(values):8.3f}   "
            f"max {max(values):8.3f}   (n={len(values)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    package, modules = import_times(args.repeat)
    print(line("import stefaland_plugin (s)", package))
    print(line("import plugin+dock+provider (s)", modules))
    for name, values in worker_times(args.repeat).items():
        print(line(name, values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
