"""Small helpers to read delimited text with errors that name the file, line and column."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError, DataNotFoundError

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan", "-999", "-999.0", "-9999"})


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based line number in the file and its cells keyed by column name."""

    line: int
    cells: dict[str, str]


def open_text(path: Path, encoding: str = "utf-8") -> str:
    """Read a whole text file, raising :class:`DataNotFoundError` naming the path if it is absent."""
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not {encoding} text ({exc.reason})") from exc


def read_delimited(path: Path, sep: str, required: Sequence[str] = (), encoding: str = "utf-8",
                   strip_cells: bool = True) -> tuple[list[str], Iterator[Row]]:
    """Read a delimited file with a header line.

    Returns the header and an iterator over rows. Raises :class:`DataFormatError` when a required
    column is missing or a row has a different number of cells than the header (a truncated file).
    """
    text = open_text(path, encoding)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataFormatError(path, "empty file (no header line)", line=1)
    header = [h.strip() for h in lines[0].split(sep)]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFormatError(path, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                              line=1)

    def rows() -> Iterator[Row]:
        for number, raw in enumerate(lines[1:], start=2):
            if not raw.strip():
                continue
            cells = raw.split(sep)
            if len(cells) != len(header):
                raise DataFormatError(path, f"expected {len(header)} cells, found {len(cells)} "
                                      "(truncated or malformed row)", line=number)
            if strip_cells:
                cells = [c.strip() for c in cells]
            yield Row(number, dict(zip(header, cells, strict=True)))

    return header, rows()


def parse_float(value: str, path: Path, line: int, column: str, allow_missing: bool = True) -> float:
    """Parse a number; missing tokens become NaN; anything else non-numeric raises a located error."""
    token = value.strip()
    if token in MISSING_TOKENS:
        if allow_missing:
            return math.nan
        raise DataFormatError(path, "missing value", line=line, column=column)
    try:
        number = float(token)
    except ValueError:
        raise DataFormatError(path, f"not a number: {token!r}", line=line, column=column) from None
    if math.isinf(number):
        raise DataFormatError(path, f"infinite value: {token!r}", line=line, column=column)
    return number


def parse_dates(path: Path, texts: Sequence[str], lines: Sequence[int], unit: str = "D",
                message: str = "not a date: {!r}") -> np.ndarray:
    """Date strings to ``datetime64[unit]`` in one go.

    When numpy refuses the array, the first text it refuses alone raises :class:`DataFormatError`
    naming its 1-based line and the ``date`` column (``message`` formatted with the text).
    """
    try:
        return np.array(texts, dtype=f"datetime64[{unit}]")
    except ValueError:
        for text, line in zip(texts, lines, strict=True):
            try:
                np.datetime64(text, unit)
            except ValueError:
                raise DataFormatError(path, message.format(text), line, "date") from None
        raise
