"""The StefaLand worker: ``python -m backend.service.worker`` answers JSON-line requests on stdin/stdout.

The QGIS plugin starts this process once and keeps it (and the models it loaded) between requests.

Request (one line)::

    {"id": "7", "method": "predict_streamflow", "params": {...}}

Replies (one line each; any number of progress lines, then exactly one result or error)::

    {"id": "7", "type": "progress", "fraction": 0.4, "message": "..."}
    {"id": "7", "type": "result", "result": {...}}
    {"id": "7", "type": "error", "error": "...", "error_type": "ValueError"}

stdout carries protocol lines only: file descriptor 1 is pointed at stderr at start-up, so a stray
``print`` or a C library writing to stdout cannot corrupt the stream. Requests run one at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from backend.core import progress as progress_module
from backend.service.methods import METHODS, UnknownMethodError, resolve
from backend.service.requests import (
    AttributeNamesParams,
    DataSummaryParams,
    ExampleGaugesParams,
    PingParams,
    RequestError,
    optional_path,
    parse_params,
)

PROTOCOL_VERSION = 1
#: the longest request line the worker reads (paths and attributes; points lists of thousands fit easily)
MAX_REQUEST_BYTES = 16 * 2**20
log = logging.getLogger("stefaland.worker")


def _jsonable(value: Any) -> Any:
    """Plain JSON values: paths and numpy scalars/arrays converted, NaN/inf turned into null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _jsonable(value.tolist())
    if hasattr(value, "isoformat"):  # date / datetime
        return value.isoformat()
    return str(value)


class Channel:
    """Writes protocol lines to the real stdout (a duplicate of the original file descriptor 1)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def send(self, message: dict[str, Any]) -> None:
        """Write ``message`` as one JSON line (numpy values, paths and dates made JSON-able) and flush."""
        self._stream.write(json.dumps(_jsonable(message), ensure_ascii=False, allow_nan=False) + "\n")
        self._stream.flush()

    def progress(self, request_id: str, fraction: float, message: str) -> None:
        """Send a progress line; ``fraction`` is clamped to 0-1 (0 when it cannot be read as a number)."""
        try:
            fraction = min(max(float(fraction), 0.0), 1.0)
        except (TypeError, ValueError):
            fraction = 0.0
        self.send({"id": request_id, "type": "progress", "fraction": fraction, "message": str(message)})

    def error(self, request_id: str | None, error: str, error_type: str) -> None:
        """Send an error line for ``request_id`` (None when the request could not be read)."""
        self.send({"id": request_id, "type": "error", "error": error, "error_type": error_type})


def handle(line: str, channel: Channel) -> None:
    """Answer one request line (never raises for a bad request: answers an error instead)."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        channel.error(None, f"request is not valid JSON: {exc}", "ProtocolError")
        return
    except RecursionError:
        channel.error(None, "request is nested too deeply to be a worker request", "ProtocolError")
        return
    if not isinstance(request, dict):
        channel.error(None, "request must be a JSON object", "ProtocolError")
        return
    request_id = request.get("id")
    method = request.get("method")
    params = request.get("params", {})
    if not isinstance(request_id, str) or not isinstance(method, str) or not isinstance(params, dict):
        channel.error(request_id if isinstance(request_id, str) else None,
                      "request needs a string 'id', a string 'method' and an object 'params'", "ProtocolError")
        return
    try:
        func = resolve(method)
        typed = parse_params(method, params)
    except UnknownMethodError as exc:
        channel.error(request_id, str(exc), "UnknownMethod")
        return
    except RequestError as exc:
        channel.error(request_id, str(exc), "RequestError")
        return
    except Exception as exc:  # the module exists but cannot be imported
        traceback.print_exc(file=sys.stderr)
        channel.error(request_id, f"method {method} could not be loaded: {type(exc).__name__}: {exc}",
                      "ImportError")
        return

    def report(fraction: float, message: str = "") -> None:
        channel.progress(request_id, fraction, message)

    log.info("request %s: %s", request_id, method)
    progress_module.PROGRESS_CALLBACK = report
    try:
        result = func(typed, report)
    except MemoryError:
        channel.error(request_id, f"{method}: out of memory", "MemoryError")
        return
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        channel.error(request_id, str(exc) or type(exc).__name__, type(exc).__name__)
        return
    finally:
        progress_module.PROGRESS_CALLBACK = None
    if not isinstance(result, dict):
        channel.error(request_id, f"{method} returned {type(result).__name__}, not a dict", "ProtocolError")
        return
    channel.send({"id": request_id, "type": "result", "result": result})


def serve(stdin: IO[bytes], channel: Channel) -> None:
    """Answer requests until stdin closes; a line over :data:`MAX_REQUEST_BYTES` is refused unread."""
    while raw := stdin.readline(MAX_REQUEST_BYTES + 1):
        if len(raw) > MAX_REQUEST_BYTES and not raw.endswith(b"\n"):
            while (rest := stdin.readline(MAX_REQUEST_BYTES)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the oversized line without keeping it
            channel.error(None, f"request line longer than {MAX_REQUEST_BYTES // 2**20} MiB: refused",
                          "ProtocolError")
            continue
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            handle(line, channel)


# ----------------------------------------------------------------------------- the worker's own methods

_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKSUMS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _CHECKSUMS[key] = digest.hexdigest()
    return _CHECKSUMS[key]


MAX_PING_DELAY_S = 60.0


def ping(params: PingParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Versions, process id and paths of this worker (for the plugin's diagnostics).

    ``delay_s`` (optional, at most 60) makes the answer wait that long while reporting progress every
    0.1 s: a harmless long request to check progress, cancelling and restarts end to end.
    """
    from backend.core.paths import MODELS_DIR, PROJECT_ROOT, data_root

    delay = min(max(params.delay_s, 0.0), MAX_PING_DELAY_S)
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < delay:
        report(elapsed / delay, f"waiting {elapsed:.1f}/{delay:.1f} s")
        time.sleep(min(0.1, delay - elapsed))

    versions = {"python": platform.python_version()}
    for name in ("numpy", "torch"):
        try:
            versions[name] = __import__(name).__version__
        except Exception as exc:  # report, don't fail: ping must always answer
            versions[name] = f"unavailable ({type(exc).__name__}: {exc})"
    models = {}
    if MODELS_DIR.is_dir():
        models = {str(p.relative_to(MODELS_DIR)): _sha256(p)[:16]
                  for p in sorted(MODELS_DIR.rglob("*")) if p.is_file() and not p.name.startswith(".")}
    return {
        "pid": os.getpid(),
        "protocol": PROTOCOL_VERSION,
        "versions": versions,
        "python_executable": sys.executable,
        "backend_root": str(PROJECT_ROOT),
        "data_root": str(data_root()),
        "methods": sorted(METHODS),
        "models": models,
        "echo": params.echo,
    }


def data_summary(params: DataSummaryParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """The lines of ``python -m backend data summary`` (optionally for another data root)."""
    from backend.data.summary import data_summary as summarize

    report(0.0, "reading the data")
    lines = summarize(optional_path(params.root))
    return {"lines": lines}


def attribute_names(params: AttributeNamesParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """The static attributes the base model takes as inputs, so the plugin can match field names.

    Params: ``model`` (optional base model file; default ``$STEFALAND_BASE_MODEL`` or the bundled one).
    Returns ``numeric`` and ``categorical`` (names, in model order), ``groups`` (name -> CAMELS group),
    ``categories`` (categorical name -> allowed values) and ``model`` (the base model file).
    """
    from backend.data.variables import STATIC_BY_NAME
    from backend.model.loading import get_base_model

    report(0.0, "loading the base model")
    base = get_base_model(optional_path(params.model))
    norm = base.normalizer
    numeric, categorical = list(norm.static_names), list(norm.vocabularies)
    groups = {name: STATIC_BY_NAME[name].group for name in numeric + categorical if name in STATIC_BY_NAME}
    return {"numeric": numeric, "categorical": categorical, "groups": groups,
            "categories": {name: list(values) for name, values in norm.vocabularies.items()},
            "model": str(base.path)}


def example_gauges(params: ExampleGaugesParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Write the example user dataset (10 real CAMELS basins, ``docs/user_format.md``) for the fine-tune dialog.

    Params: ``out_dir`` (required), ``n`` (default 10), ``overwrite`` (default False: an existing example in
    ``out_dir`` is reused as it is). Returns the three paths the dialog needs and the basins.
    """
    from backend.tasks.streamflow.example_gauges import write_example_gauges

    out_dir = Path(params.out_dir)
    files = {"gauges_csv": str(out_dir / "gauges.csv"), "streamflow_csv": str(out_dir / "streamflow.csv"),
             "forcings_dir": str(out_dir / "forcings")}
    if (out_dir / "gauges.csv").is_file() and not params.overwrite:
        return {**files, "basins": None, "reused": True}
    report(0.1, f"writing the example dataset to {out_dir}")
    summary = write_example_gauges(out_dir, n=params.n or 10, overwrite=params.overwrite)
    return {**files, "basins": summary["basins"], "reused": False}


def main() -> int:
    """Protect stdout, then serve requests from stdin until it closes."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # anything written to fd 1 from now on goes to stderr
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("STEFALAND_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    channel = Channel(os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1))
    log.info("worker %d ready (%d methods registered)", os.getpid(), len(METHODS))
    try:
        serve(sys.stdin.buffer, channel)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the plugin went away
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
