"""The worker client against the real worker process (``python -m backend.service.worker``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest
from plugin_helpers import PROJECT_ROOT, VENV_PYTHON, wait_for

from stefaland_plugin.worker_client import WorkerCancelled, WorkerClient, WorkerDied, WorkerError


def test_ping_reports_versions(client):
    result = client.request("ping", {"echo": "hi"})
    assert result["pid"] == client.pid
    assert result["echo"] == "hi"
    assert set(result["versions"]) >= {"python", "numpy", "torch"}
    assert "ping" in result["methods"] and "predict_streamflow" in result["methods"]
    assert client.state().startswith("running")


def test_progress_is_forwarded(client):
    seen = []
    client.request("ping", {"delay_s": 0.5}, progress=lambda f, m: seen.append((f, m)))
    assert seen and all(0.0 <= f <= 1.0 for f, _ in seen)
    assert seen[0][1].startswith("waiting")


def test_restarts_transparently_after_kill(client):
    first = client.request("ping")["pid"]
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: client.pid is None, 10)
    second = client.request("ping")["pid"]
    assert second != first
    assert client.restarts == 1
    assert client.last_exit_code == -signal.SIGKILL


def test_request_running_when_killed_gets_a_clear_error(client):
    pid = client.ensure_started()
    outcome = {}

    def run():
        try:
            client.request("ping", {"delay_s": 30}, progress=lambda f, m: outcome.setdefault("started", True))
        except WorkerError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert wait_for(lambda: outcome.get("started"), 20)
    os.kill(pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    thread.join(20)
    error = outcome["error"]
    assert isinstance(error, WorkerDied)
    assert str(error) == ("the StefaLand worker stopped unexpectedly (exit code -9) — probably out of memory")
    assert client.request("ping")["pid"] != pid  # and the next request works again


def test_cancel_kills_and_next_request_restarts(client):
    pid = client.ensure_started()
    flag = threading.Event()
    timer = threading.Timer(0.5, flag.set)
    timer.start()
    with pytest.raises(WorkerCancelled):
        client.request("ping", {"delay_s": 30}, is_cancelled=flag.is_set)
    assert client.request("ping")["pid"] != pid


def test_unknown_method_is_a_clear_error(client):
    with pytest.raises(WorkerError) as info:
        client.request("no_such_method", {})
    assert info.value.error_type == "UnknownMethod"
    assert "unknown method 'no_such_method'" in str(info.value)
    assert client.request("ping")["pid"]  # the worker is still fine


def test_missing_interpreter_is_explained(tmp_path):
    worker = WorkerClient(tmp_path / "nope" / "python", PROJECT_ROOT)
    with pytest.raises(WorkerError, match="interpreter .* not found"):
        worker.request("ping")


def test_every_registered_method_resolves_to_a_function():
    """Every worker method exists (no "not available yet" methods): each target imports and is callable."""
    from backend.service import methods as worker_methods

    for name in worker_methods.METHODS:
        assert callable(worker_methods.resolve(name)), name


def test_stdout_carries_only_protocol_lines():
    """A request that prints (the data summary reads files and may log) still yields JSON lines only."""
    requests = [{"id": "a", "method": "ping", "params": {}}, "not json",
                {"id": "b", "method": "data_summary", "params": {}}, {"id": "c", "method": "nope", "params": {}}]
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n"
    done = subprocess.run([str(VENV_PYTHON), "-m", "backend.service.worker"], input=text, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=120, check=True)
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    finals = [r for r in replies if r["type"] != "progress"]
    assert [r["id"] for r in finals] == ["a", None, "b", "c"]
    assert finals[1]["error_type"] == "ProtocolError"
    assert finals[3]["error_type"] == "UnknownMethod"
