"""Errors raised for bad input: each names the file, and where known the line and column."""

from __future__ import annotations

from pathlib import Path


class StefaLandError(Exception):
    """Base class of every error the backend raises on purpose."""


class DataFormatError(StefaLandError, ValueError):
    """A data file does not have the expected format.

    The message always names the file; ``line`` (1-based) and ``column`` are added when known.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None,
                 column: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")


class DataNotFoundError(StefaLandError, FileNotFoundError):
    """Data the user asked for is not where the configuration says it is."""


class ConfigError(StefaLandError, ValueError):
    """A configuration file or value is invalid (the message names the key)."""


class CheckpointError(StefaLandError, ValueError):
    """A checkpoint or adapter file is corrupt, of the wrong shape, or belongs to another model."""
