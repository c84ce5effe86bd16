"""QgsTask running one worker request in the background.

Rules (PyQGIS cookbook): the inputs are plain values and files prepared before the task starts;
``run()`` never touches layers, widgets or the project, never raises, and returns a bool;
``finished()`` runs on the main thread and hands the result to a callback there.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .settings import log
from .worker_client import WorkerCancelled, WorkerClient, WorkerError, shared_client

#: errors after which no further request of a batch can succeed (the others fail one item only)
FATAL_ERRORS = ("RequestError", "UnknownMethod", "WorkerDied", "WorkerNotStarted", "ImportError",
                "CheckpointError", "Cancelled")


def remove_outputs(paths: Iterable[Path], partial_only: bool = False) -> list[Path]:
    """Delete the output files a cancelled request asked for; returns those removed.

    Also removes the backend's temporary ``.<name>.*.partial`` files next to each output: a worker
    killed in the middle of an atomic write never gets to clean those up itself. With
    ``partial_only`` (a failed, not cancelled, request) an existing output is kept: the backend writes
    atomically, so it is an older complete result, not a partial one.
    """
    removed = []
    for path in map(Path, paths):
        candidates = [] if partial_only else [path]
        if path.parent.is_dir():
            candidates += sorted(path.parent.glob(f".{path.name}.*.partial"))
        for candidate in candidates:
            try:
                if candidate.is_file():
                    candidate.unlink()
                    removed.append(candidate)
            except OSError as exc:
                log(f"could not remove {candidate}: {exc}", Qgis.MessageLevel.Warning)
    return removed


class WorkerTask(QgsTask):
    """Send ``method(params)`` to the worker; ``on_done(task)`` runs on the main thread afterwards.

    After completion: ``ok`` (bool), ``result`` (dict or None), ``error`` (str or None),
    ``error_type``, ``cancelled``, ``elapsed_s`` (seconds the worker took to answer). ``outputs`` are
    removed if the task is cancelled (only their ``.partial`` leftovers if it fails).
    """

    messageChanged = pyqtSignal(str)

    def __init__(self, description: str, method: str, params: dict[str, Any],
                 outputs: Iterable[str | Path] = (), on_done: Callable[[WorkerTask], None] | None = None,
                 client: WorkerClient | None = None) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.method = method
        self.params = copy.deepcopy(params)
        self.outputs = [Path(p) for p in outputs]
        self.on_done = on_done
        self.ok = False
        self.cancelled = False
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.error_type: str | None = None
        self.elapsed_s: float | None = None
        self._client = client

    def _report(self, fraction: float, message: str) -> None:
        self.setProgress(max(0.0, min(100.0, 100.0 * fraction)))
        if message:
            self.messageChanged.emit(message)

    def run(self) -> bool:
        """Send the request(s) (task thread); records the result or the error and never raises."""
        try:
            client = self._client or shared_client()
            started = time.monotonic()
            self.result = self._work(client)
            self.elapsed_s = time.monotonic() - started
            self.ok = True
        except WorkerCancelled:
            self.cancelled = True
            self.error, self.error_type = "cancelled", "Cancelled"
        except WorkerError as exc:
            self.error, self.error_type = str(exc), exc.error_type
        except Exception as exc:  # run() must never raise
            self.error, self.error_type = f"{type(exc).__name__}: {exc}", type(exc).__name__
        if not self.ok:
            remove_outputs(self.outputs, partial_only=not self.cancelled)
        return self.ok

    def _work(self, client: WorkerClient) -> dict[str, Any]:
        """The request(s) of this task (in the task's thread); raises WorkerError."""
        return client.request(self.method, self.params, progress=self._report, is_cancelled=self.isCanceled)

    def finished(self, result: bool) -> None:
        """Clean up after a failure, log it, and call ``on_done`` (main thread)."""
        if not result:
            if self.isCanceled():
                self.cancelled = True
                self.error = self.error or "cancelled"
            remove_outputs(self.outputs, partial_only=not self.cancelled)
            level = Qgis.MessageLevel.Info if self.cancelled else Qgis.MessageLevel.Warning
            log(f"{self.description()}: {self.error}", level)
        if self.on_done is not None:
            self.on_done(self)


class WorkerBatchTask(WorkerTask):
    """Several requests of one method, one after the other (e.g. one per basin).

    ``items`` are the params of each request. One item failing (the backend refused that input) is recorded
    and the others go on; an error no later request can overcome (:data:`FATAL_ERRORS`) stops the batch.
    ``result`` is ``{"results": [result or None per item], "errors": [error text or None per item]}``;
    ``ok`` is True when at least one item succeeded.
    """

    def __init__(self, description: str, method: str, items: list[dict[str, Any]],
                 outputs: Iterable[str | Path] = (), on_done: Callable[[WorkerTask], None] | None = None,
                 client: WorkerClient | None = None) -> None:
        super().__init__(description, method, {}, outputs, on_done, client)
        self.items = copy.deepcopy(items)

    def _work(self, client: WorkerClient) -> dict[str, Any]:
        results: list[dict[str, Any] | None] = []
        errors: list[str | None] = []
        count = max(1, len(self.items))
        for i, params in enumerate(self.items):
            if self.isCanceled():
                raise WorkerCancelled()

            def report(fraction: float, message: str, i: int = i) -> None:
                self._report((i + fraction) / count, message)

            try:
                results.append(client.request(self.method, params, progress=report, is_cancelled=self.isCanceled))
                errors.append(None)
            except WorkerError as exc:
                if exc.error_type in FATAL_ERRORS or isinstance(exc, WorkerCancelled):
                    raise
                results.append(None)
                errors.append(str(exc))
                log(f"{self.description()}: item {i + 1}: {exc}", Qgis.MessageLevel.Warning)
        if self.items and all(r is None for r in results):
            raise WorkerError(f"no item succeeded; first error: {errors[0]}", "BatchFailed")
        return {"results": results, "errors": errors}
