"""The command line (``python -m backend COMMAND``).

One module per command family, registered in :data:`backend.cli.COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from backend.core.errors import StefaLandError

#: command module -> its ``add_parser`` registers one or more sub-commands
COMMANDS: tuple[str, ...] = (
    "backend.cli.data",
    "backend.cli.model",
    "backend.cli.benchmark",
    "backend.cli.streamflow",
    "backend.cli.soil",
    "backend.cli.landslide",
    "backend.cli.finetune",
)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; errors print one clear line and exit 2."""
    parser = argparse.ArgumentParser(prog="python -m backend", description="StefaLand backend")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).add_parser(sub)
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except (StefaLandError, FileNotFoundError, FileExistsError, PermissionError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


