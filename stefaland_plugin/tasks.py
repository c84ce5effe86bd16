"""QgsTask running one worker request in the background.

Rules (PyQGIS cookbook): the inputs are plain values and files prepared before the task starts;
``run()`` never touches layers, widgets or the project, never raises, and returns a bool;
``finished()`` runs on the main thread and hands the result to a callback there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .settings import log
from .worker_client import WorkerCancelled, WorkerClient, WorkerError, shared_client


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
    ``error_type``, ``cancelled``. ``outputs`` are removed if the task is cancelled (only their
    ``.partial`` leftovers if it fails).
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
        self._client = client

    def _report(self, fraction: float, message: str) -> None:
        self.setProgress(max(0.0, min(100.0, 100.0 * fraction)))
        if message:
            self.messageChanged.emit(message)

    def run(self) -> bool:
        try:
            client = self._client or shared_client()
            self.result = client.request(self.method, self.params, progress=self._report,
                                         is_cancelled=self.isCanceled)
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

    def finished(self, result: bool) -> None:  # noqa: FBT001 (QGIS's signature)
        if not result:
            if self.isCanceled():
                self.cancelled = True
                self.error = self.error or "cancelled"
            remove_outputs(self.outputs, partial_only=not self.cancelled)
            level = Qgis.MessageLevel.Info if self.cancelled else Qgis.MessageLevel.Warning
            log(f"{self.description()}: {self.error}", level)
        if self.on_done is not None:
            self.on_done(self)
