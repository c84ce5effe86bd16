"""Benchmarks: each prints what it measured, on which data and split, and writes a Markdown table.

A benchmark that keeps per-unit results (per fold, model, member) writes them, small JSON, under
``results/<doc name>/`` (committed), so that its report (``docs/<doc name>.md``) can be rebuilt on a clean
checkout; big intermediate files stay in its ignored run folder under ``runs/``. Every report ends with one
``headline:`` line holding its main figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from backend.core.atomic_io import write_text_atomic

#: a report's hand-written part starts at this heading; regenerating the tables keeps it
READING_HEADING = "## Reading (written by hand"
#: the committed per-unit results of every benchmark: ``results/<doc name>/``
RESULTS_ROOT = Path("results")
#: how every "no per-unit results here" line of a report starts (a test looks for it)
NO_RESULTS_PREFIX = "Raw per-unit results of this run were not committed"
#: a report whose benchmark stores per-unit results, made while they are missing, says so near its top
RESULTS_LOST = (f"{NO_RESULTS_PREFIX} (before results/ existed) and are lost; this doc is rebuilt from results/ "
                "when its benchmark next runs.")
#: a report of a benchmark that measures live and stores no per-unit results says so near its top
RESULTS_LIVE = (f"{NO_RESULTS_PREFIX}: this benchmark measures live and stores none, so this doc changes only "
                "when the benchmark runs again.")
#: the last line of every report: ``headline: name=value name=value ...``
HEADLINE_PREFIX = "headline: "


def stored_results_path(out: Path, file_name: str) -> Path:
    """Where the stored results of the report ``docs/X.md`` live: ``results/X/<file_name>``."""
    return RESULTS_ROOT / Path(out).stem / file_name


def add_report_arguments(parser: argparse.ArgumentParser, file_name: str) -> None:
    """``--out docs/X.md`` and ``--report-only`` (rebuild from ``results/X/<file_name>`` without running)."""
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true",
                        help=f"rebuild the report from results/<out name>/{file_name} without running")


def read_stored_results(parser: argparse.ArgumentParser, out: Path | None, file_name: str) -> Any:
    """The stored results behind ``--report-only --out docs/X.md`` (a usage error without ``--out``)."""
    if out is None:
        parser.error("--report-only needs --out (it names the stored results)")
    return json.loads(stored_results_path(out, file_name).read_text(encoding="utf-8"))


def headline(values: dict[str, float | int | str], digits: int = 3) -> str:
    """The ``headline: name=value ...`` line of a report; floats with ``digits`` decimals, others as given.

    Names must not contain spaces or ``=`` (they are read back by splitting on both).
    """
    cells = []
    for name, value in values.items():
        if not name or " " in name or "=" in name:
            raise ValueError(f"headline name {name!r}: must be non-empty, without spaces or '='")
        shown = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        cells.append(f"{name}={shown}")
    return HEADLINE_PREFIX + " ".join(cells)


def read_headline(text: str) -> dict[str, str]:
    """The name -> value pairs of a report's last line (empty when it has no headline)."""
    lines = text.rstrip("\n").splitlines()
    if not lines or not lines[-1].startswith(HEADLINE_PREFIX):
        return {}
    return dict(cell.split("=", 1) for cell in lines[-1][len(HEADLINE_PREFIX):].split())


def slug(label: str) -> str:
    """A headline name from a label: lower case, every run of other characters than letters and digits -> '_'."""
    out, gap = [], False
    for char in label.lower():
        if char.isascii() and char.isalnum():
            out.append(char)
            gap = False
        elif not gap and out:
            out.append("_")
            gap = True
    return "".join(out).rstrip("_")


def _split_headline(text: str) -> tuple[str, str]:
    """(text without a trailing headline line, the headline line or '')."""
    body = text.rstrip("\n")
    last_break = body.rfind("\n")
    last = body[last_break + 1:]
    if last.startswith(HEADLINE_PREFIX):
        return body[: max(last_break, 0)].rstrip("\n") + "\n", last
    return text, ""


def write_report_keeping_reading(out: Path, text: str) -> None:
    """Write a generated report atomically, keeping the hand-written reading of the file it replaces.

    Everything from the line starting with :data:`READING_HEADING` to the end of the existing file is
    appended to ``text`` (unless ``text`` already has one), and a line says so, since the reading may
    need revising against the new tables. The old file's ``headline:`` line is never kept; one that ends
    ``text`` stays the last line, after the reading.
    """
    body, head = _split_headline(text)
    reading = ""
    if out.is_file() and READING_HEADING not in body:
        old = out.read_text(encoding="utf-8")
        start = old.find("\n" + READING_HEADING)
        if start >= 0:
            reading = _split_headline(old[start:].lstrip("\n"))[0]
    if reading:
        body = body.rstrip("\n") + "\n\n" + reading
        print(f"kept the hand-written reading of {out}: check it against the new tables")
    if head:
        body = body.rstrip("\n") + "\n\n" + head + "\n"
    write_text_atomic(out, body)


def finish_report(lines: list[str], out: Path | None) -> str:
    """The report text of ``lines``; when ``out`` is given, also written there (keeping its hand-written reading)."""
    report = "\n".join(lines) + "\n"
    if out is not None:
        write_report_keeping_reading(out, report)
    return report


def print_and_write(lines: list[str], out: Path | None) -> None:
    """Print a report's lines and, when ``out`` is given, write them there (atomically) and say so."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        write_report_keeping_reading(out, text)
        print(f"wrote {out}")
