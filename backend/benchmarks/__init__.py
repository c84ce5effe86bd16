"""Benchmarks: each prints what it measured, on which data and split, and writes a Markdown table."""

from __future__ import annotations

from pathlib import Path

from backend.io_utils import write_text_atomic


def print_and_write(lines: list[str], out: Path | None) -> None:
    """Print a report's lines and, when ``out`` is given, write them there (atomically) and say so."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        write_text_atomic(out, text)
        print(f"wrote {out}")
