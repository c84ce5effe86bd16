"""A dependency-free progress bar for the command line, with an optional callback for the worker."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Set by the worker process: receives (fraction 0-1, message) instead of a terminal bar.
PROGRESS_CALLBACK: Callable[[float, str], None] | None = None


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` while showing a progress bar on stderr (or reporting to the callback)."""
    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    start = time.monotonic()
    bar = ProgressBar(label, total)
    for count, item in enumerate(items, start=1):
        yield item
        bar.update(count, f"{count / max(time.monotonic() - start, 1e-9):.1f} it/s")
    bar.close()


class ProgressBar:
    """A text bar redrawn at most a few times a second; ``update(done, extra)`` moves it."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total = label, total
        self._last = 0.0
        self._tty = sys.stderr.isatty()

    def update(self, done: int, extra: str = "") -> None:
        """Record ``done`` of ``total`` steps and redraw (or report to the callback) when enough time has passed."""
        now = time.monotonic()
        fraction = done / self.total if self.total else 0.0
        if PROGRESS_CALLBACK is not None:
            if now - self._last > 0.2 or done == self.total:
                self._last = now
                PROGRESS_CALLBACK(fraction, f"{self.label}: {done}/{self.total or '?'} {extra}")
            return
        if now - self._last < (0.2 if self._tty else 10.0) and done != self.total:
            return
        self._last = now
        width = 30
        filled = int(width * fraction)
        bar = "#" * filled + "-" * (width - filled)
        text = f"{self.label} [{bar}] {done}/{self.total or '?'} {extra}"
        sys.stderr.write(("\r" + text) if self._tty else text + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self._tty and PROGRESS_CALLBACK is None:
            sys.stderr.write("\n")
