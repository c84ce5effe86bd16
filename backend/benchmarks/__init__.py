"""Benchmarks: each prints what it measured, on which data and split, and writes a Markdown table."""

from __future__ import annotations

from pathlib import Path

from backend.core.atomic_io import write_text_atomic

#: a report's hand-written part starts at this heading; regenerating the tables keeps it
READING_HEADING = "## Reading (written by hand"


def write_report_keeping_reading(out: Path, text: str) -> None:
    """Write a generated report atomically, keeping the hand-written reading of the file it replaces.

    Everything from the line starting with :data:`READING_HEADING` to the end of the existing file is
    appended to ``text`` (unless ``text`` already has one), and a line says so, since the reading may
    need revising against the new tables.
    """
    reading = ""
    if out.is_file() and READING_HEADING not in text:
        old = out.read_text(encoding="utf-8")
        start = old.find("\n" + READING_HEADING)
        if start >= 0:
            reading = old[start:].lstrip("\n")
    if reading:
        text = text.rstrip("\n") + "\n\n" + reading
        print(f"kept the hand-written reading of {out}: check it against the new tables")
    write_text_atomic(out, text)


def print_and_write(lines: list[str], out: Path | None) -> None:
    """Print a report's lines and, when ``out`` is given, write them there (atomically) and say so."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        write_report_keeping_reading(out, text)
        print(f"wrote {out}")
