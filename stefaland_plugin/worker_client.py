"""Talks to the backend worker process (``python -m backend.service.worker``) over JSON lines.

The worker runs in its own interpreter (the project's venv, with torch), never inside QGIS's Python.
One request runs at a time; callers on other threads wait their turn. If the worker died, the next
request starts a new one transparently. Cancelling kills the worker (backend writes are atomic, so no
partial file is left) and the next request restarts it.

The worker is started with ``subprocess`` from a fixed argument list (interpreter, ``-m``,
``backend.service.worker``), never through a shell.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess  # nosec B404
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]

_POLL_S = 0.1
_EOF = None


class WorkerError(Exception):
    """The worker answered an error (``error_type`` is the backend's exception class name)."""

    def __init__(self, message: str, error_type: str = "WorkerError") -> None:
        super().__init__(message)
        self.error_type = error_type


class WorkerCancelled(WorkerError):
    """The request was cancelled by the user (the worker was stopped)."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message, "Cancelled")


class WorkerDied(WorkerError):
    """The worker process stopped while a request was running."""

    def __init__(self, message: str, exit_code: int | None) -> None:
        super().__init__(message, "WorkerDied")
        self.exit_code = exit_code


def death_message(exit_code: int | None, stderr_tail: list[str]) -> str:
    """A user-facing explanation of a worker that stopped by itself."""
    killed = exit_code in (-signal.SIGKILL, 128 + signal.SIGKILL)
    text = f"the StefaLand worker stopped unexpectedly (exit code {exit_code})"
    if killed:
        return text + " — probably out of memory"
    if stderr_tail:
        text += ": " + stderr_tail[-1]
    return text


class _Process:
    """One running worker: the process, a queue of its stdout lines, the tail of its stderr."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Callable[[str], None]) -> None:
        # args = [configured interpreter, "-m", "backend.service.worker"]: a list, never a shell command line
        self.popen = subprocess.Popen(  # nosec B603
            args, cwd=str(cwd), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self.cancelled = False
        self._log = log
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True, name="stefaland-worker-out"),
                         threading.Thread(target=self._read_stderr, daemon=True, name="stefaland-worker-err")]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _read_stdout(self) -> None:
        stream = self.popen.stdout
        for raw in iter(stream.readline, b""):
            self.lines.put(raw.decode("utf-8", errors="replace"))
        self.lines.put(_EOF)

    def _read_stderr(self) -> None:
        stream = self.popen.stderr
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self.stderr_tail.append(line)
                self._log(f"worker {self.pid}: {line}")

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode("utf-8")
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill that does not land
            pass

    def close(self, timeout: float = 3.0) -> None:
        """Close stdin (the worker exits at end of input); kill it if it does not stop in time."""
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.release()

    def release(self) -> None:
        """Close our ends of the pipes once the process has ended and the readers saw end of file."""
        if self.alive():
            return
        for reader in self._readers:
            if reader is not threading.current_thread():
                reader.join(timeout=2)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            try:
                stream.close()
            except (OSError, ValueError):
                pass


class WorkerClient:
    """Starts the worker on demand and sends it requests, one at a time.

    Args:
        python: interpreter, or a callable returning it (read when the worker starts).
        root: project folder holding ``backend/`` (the worker's cwd), or a callable returning it.
        log: receives the worker's stderr lines and client events.
    """

    def __init__(self, python: Path | Callable[[], Path], root: Path | Callable[[], Path],
                 log: Callable[[str], None] | None = None) -> None:
        self._python = python
        self._root = root
        self._log = log or (lambda message: None)
        self._request_lock = threading.Lock()
        self._process_lock = threading.Lock()
        self._process: _Process | None = None
        self._ids = itertools.count(1)
        self.last_exit_code: int | None = None
        self.restarts = 0

    # ------------------------------------------------------------------ process management
    def interpreter(self) -> Path:
        """The Python interpreter the worker runs in (read now, if configured as a callable)."""
        return Path(self._python() if callable(self._python) else self._python)

    def backend_root(self) -> Path:
        """The project folder holding ``backend/``, the worker's cwd (read now, if configured as a callable)."""
        return Path(self._root() if callable(self._root) else self._root)

    @property
    def pid(self) -> int | None:
        """The running worker's process id, None while none runs."""
        process = self._process
        return process.pid if process is not None and process.alive() else None

    def state(self) -> str:
        """One line for diagnostics: running, stopped (with exit code) or not started."""
        process = self._process
        if process is None:
            return "not started"
        if process.alive():
            return f"running (pid {process.pid}, {self.restarts} restart(s))"
        return f"stopped (exit code {process.popen.returncode})"

    def _start(self) -> _Process:
        python, root = self.interpreter(), self.backend_root()
        if not python.exists():
            raise WorkerError(f"Python interpreter {python} not found: run `make setup` in the project, "
                              "or set the StefaLand interpreter (setting stefaland/python)", "WorkerNotStarted")
        if not (root / "backend" / "service" / "worker.py").is_file():
            raise WorkerError(f"no StefaLand backend in {root} (backend/service/worker.py missing): set the "
                              "project folder (setting stefaland/backend_root)", "WorkerNotStarted")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONSTARTUP")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        try:
            process = _Process([str(python), "-m", "backend.service.worker"], root, env, self._log)
        except OSError as exc:
            raise WorkerError(f"could not start {python}: {exc}", "WorkerNotStarted") from exc
        self._log(f"started worker pid {process.pid}: {python} -m backend.service.worker (cwd {root})")
        return process

    def _running_process(self) -> _Process:
        with self._process_lock:
            process = self._process
            if process is not None and process.alive():
                return process
            if process is not None:
                process.release()
                self.last_exit_code = process.popen.returncode
                self.restarts += 1
                self._log(f"worker {process.pid} had stopped (exit code {self.last_exit_code}); restarting")
            self._process = self._start()
            return self._process

    def ensure_started(self) -> int:
        """Start the worker if it is not running; returns its pid."""
        return self._running_process().pid

    def cancel(self) -> None:
        """Stop the running request by killing the worker (safe from any thread)."""
        with self._process_lock:
            process = self._process
            if process is not None and process.alive():
                process.cancelled = True
                self._log(f"cancelling: stopping worker {process.pid}")
                process.kill()

    def stop(self) -> None:
        """Shut the worker down (at plugin unload)."""
        with self._process_lock:
            process, self._process = self._process, None
        if process is not None:
            process.close()

    # ------------------------------------------------------------------ requests
    def request(self, method: str, params: dict[str, Any] | None = None,
                progress: ProgressCallback | None = None, is_cancelled: CancelCheck | None = None) -> dict:
        """Send one request and wait for its result.

        Args:
            method: a name registered in ``backend/service/methods.py``.
            params: JSON-serialisable parameters.
            progress: called with (fraction 0-1, message) for each progress reply.
            is_cancelled: polled while waiting; when it returns True the worker is killed.

        Raises:
            WorkerCancelled: ``is_cancelled`` returned True (or :meth:`cancel` was called).
            WorkerDied: the worker stopped while running this request.
            WorkerError: the backend answered an error.
        """
        cancelled = is_cancelled or (lambda: False)
        while not self._request_lock.acquire(timeout=_POLL_S):
            if cancelled():
                raise WorkerCancelled("cancelled before it started (another request was running)")
        try:
            return self._request(method, params or {}, progress, cancelled)
        finally:
            self._request_lock.release()

    def _request(self, method: str, params: dict[str, Any], progress: ProgressCallback | None,
                 cancelled: CancelCheck) -> dict:
        process = self._running_process()
        request_id = f"{process.pid}-{next(self._ids)}"
        try:
            process.send({"id": request_id, "method": method, "params": params})
        except (BrokenPipeError, OSError):
            process.popen.wait(timeout=10)
            raise self._died(process) from None
        while True:
            if cancelled() and not process.cancelled:
                process.cancelled = True
                process.kill()
            try:
                line = process.lines.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if line is _EOF:
                try:
                    process.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                if process.cancelled:
                    raise WorkerCancelled(f"{method} cancelled")
                raise self._died(process)
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                self._log(f"ignored a line that is not JSON from the worker: {line.strip()[:200]}")
                continue
            if not isinstance(reply, dict) or reply.get("id") != request_id:
                self._log(f"ignored a reply for another request: {line.strip()[:200]}")
                continue
            kind = reply.get("type")
            if kind == "progress":
                if progress is not None:
                    progress(float(reply.get("fraction") or 0.0), str(reply.get("message") or ""))
            elif kind == "result":
                result = reply.get("result")
                return result if isinstance(result, dict) else {"value": result}
            elif kind == "error":
                raise WorkerError(str(reply.get("error")), str(reply.get("error_type") or "Error"))

    def _died(self, process: _Process) -> WorkerDied:
        code = process.popen.returncode
        self.last_exit_code = code
        message = death_message(code, list(process.stderr_tail))
        self._log(message)
        return WorkerDied(message, code)


_shared: WorkerClient | None = None
_shared_lock = threading.Lock()


def shared_client() -> WorkerClient:
    """The plugin's one worker client (created on first use; paths read from the settings)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            from .settings import backend_root, log, python_executable

            _shared = WorkerClient(python_executable, backend_root, log)
        return _shared


def shutdown_shared() -> None:
    """Stop the shared worker (plugin unload)."""
    global _shared
    with _shared_lock:
        client, _shared = _shared, None
    if client is not None:
        client.stop()
