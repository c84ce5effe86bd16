"""``python -m backend data summary``: what the real data holds, read from the files themselves."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.data.summary import data_summary


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``data summary``."""
    parser = sub.add_parser("data", help="inspect the real data")
    parser.add_argument("action", choices=["summary"], help="what to show")
    parser.add_argument("--root", type=Path, default=None, help="data root (default: $STEFALAND_DATA or data/)")
    parser.set_defaults(func=lambda a: print("\n".join(data_summary(a.root))))
