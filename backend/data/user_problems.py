"""Problems found in user files, collected (not raised one at a time) and each located by file, line, column.

A reader adds every problem it finds to a :class:`Problems` list and goes on; the caller then either lists
them all (validation) or raises the first as a :class:`DataFormatError` saying how many more there are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from backend.core.errors import DataFormatError

#: cells that mean "no value" in the user format (``-999`` is NOT one: it is a negative number)
MISSING_CELLS = frozenset({"", "na", "nan", "null"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Problem:
    """One problem: the file, what is wrong, and where known the 1-based line and the column name."""

    path: Path
    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        return str(DataFormatError(self.path, self.message, self.line, self.column))

    def error(self, others: int = 0) -> DataFormatError:
        """This problem as an exception, mentioning how many other problems were found."""
        extra = f" (and {others} more problem(s): `python -m backend validate-gauges` lists them all)" if others else ""
        return DataFormatError(self.path, self.message + extra, self.line, self.column)


@dataclass
class Problems:
    """An ordered list of problems; per ``kind`` only the first ``cap`` rows are listed one by one, the rest
    are counted and summarised in one line (so a file with thousands of negative values stays readable)."""

    cap: int = 20
    items: list[Problem] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter)
    _overflow: dict[tuple[Path, str], int] = field(default_factory=dict)

    def add(self, path: Path, message: str, line: int | None = None, column: str | None = None,
            kind: str | None = None) -> None:
        """Record a problem; ``kind`` groups repeated row problems of one file for the cap."""
        if kind is not None:
            self._counts[(path, kind)] += 1
            if self._counts[(path, kind)] > self.cap:
                self._overflow[(path, kind)] = self._overflow.get((path, kind), 0) + 1
                return
        self.items.append(Problem(Path(path), message, line, column))

    def add_error(self, exc: DataFormatError) -> None:
        """Record a :class:`DataFormatError` raised by another reader (keeping its location)."""
        where = str(DataFormatError(exc.path, "", exc.line, exc.column))[:-2]
        text = str(exc)
        message = text[len(where) + 2:] if text.startswith(where + ": ") else text
        self.items.append(Problem(exc.path, message, exc.line, exc.column))

    def all(self) -> list[Problem]:
        """Every problem, with one summary line per capped kind."""
        summaries = [Problem(path, f"{count} more row(s) with the problem '{kind}' (only the first "
                                   f"{self.cap} are listed)") for (path, kind), count in self._overflow.items()]
        return self.items + summaries

    def strings(self) -> list[str]:
        return [str(p) for p in self.all()]

    def raise_first(self) -> None:
        """Raise the first problem (with the count of the others) if there is any."""
        problems = self.all()
        if problems:
            total_more = len(problems) - 1 + sum(self._overflow.values()) - len(self._overflow)
            raise problems[0].error(total_more)

    def __len__(self) -> int:
        return len(self.items) + len(self._overflow)


@dataclass(frozen=True)
class Table:
    """A CSV file's header (lower-cased names) and its data rows as (line number, cells by column)."""

    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_table(path: Path, required: tuple[str, ...], problems: Problems) -> Table | None:
    """Read a comma-separated file with a header line; column names are case-insensitive.

    Missing required columns, duplicate columns and rows with the wrong number of cells are problems;
    returns None when the file cannot be used at all (absent, not text, no header, required columns missing).
    """
    path = Path(path)
    if not path.is_file():
        problems.add(path, "file not found")
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(path, f"not UTF-8 text ({exc.reason}); save the file as UTF-8 CSV")
        return None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if not any(header):
        problems.add(path, "empty file (no header line)", line=1)
        return None
    usable = True
    for name, count in Counter(header).items():
        if count > 1:
            problems.add(path, "column appears more than once in the header", line=1, column=name)
            usable = False
    for name in required:
        if name not in header:
            problems.add(path, f"missing column (the header has: {', '.join(header)})", line=1, column=name)
            usable = False
    if not usable:
        return None
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.add(path, f"expected {len(header)} cells, found {len(cells)}", line=line, kind="cell count")
            continue
        rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    return Table(path, header, rows)


def parse_date(table: Table, line: int, column: str, text: str, problems: Problems) -> dt.date | None:
    """A ``YYYY-MM-DD`` date, or None after recording the problem."""
    if _ISO_DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    problems.add(table.path, f"not a date: {text!r} (use YYYY-MM-DD)", line, column, kind="bad date")
    return None


def parse_number(table: Table, line: int, column: str, text: str, problems: Problems,
                 required: bool = False) -> float | None:
    """A finite number; NaN for an empty/NA cell (a problem when ``required``); None after a problem."""
    if text.lower() in MISSING_CELLS:
        if required:
            problems.add(table.path, "missing value", line, column, kind="missing value")
            return None
        return math.nan
    try:
        value = float(text)
    except ValueError:
        problems.add(table.path, f"not a number: {text!r}", line, column, kind="not a number")
        return None
    if not math.isfinite(value):
        problems.add(table.path, f"not a finite number: {text!r}", line, column, kind="not a number")
        return None
    return value
