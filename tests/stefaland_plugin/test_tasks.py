"""Background tasks: results arrive on the main thread; a cancelled task leaves no output behind."""

from __future__ import annotations

import threading

from plugin_helpers import wait_for
from qgis.core import QgsApplication

from stefaland_plugin.tasks import WorkerTask


def test_task_result_arrives_on_the_main_thread(shared_worker):
    done = []
    task = WorkerTask("ping", "ping", {"echo": 42},
                      on_done=lambda t: done.append((t, threading.current_thread() is threading.main_thread())))
    QgsApplication.taskManager().addTask(task)
    assert wait_for(lambda: done, 60)
    finished, on_main = done[0]
    assert on_main and finished.ok and finished.result["echo"] == 42


def test_cancelled_task_leaves_no_partial_output(shared_worker, tmp_path):
    """Cancel kills the worker mid-request; the output and any temporary .partial file are removed."""
    out = tmp_path / "prediction.csv"
    partial = tmp_path / ".prediction.csv.k3j2.partial"  # what an atomic write leaves if killed
    progress, done = [], []
    task = WorkerTask("slow", "ping", {"delay_s": 30}, outputs=[out], on_done=done.append)
    task.progressChanged.connect(progress.append)
    QgsApplication.taskManager().addTask(task)
    assert wait_for(lambda: progress, 30), "no progress from the worker"
    pid = shared_worker.pid
    out.write_text("date,streamflow_pred_mm_per_day\n1990-01-01,0.")
    partial.write_text("half")
    task.cancel()
    assert wait_for(lambda: done, 30)
    assert done[0].cancelled and not done[0].ok
    assert not out.exists() and not partial.exists()
    assert list(tmp_path.iterdir()) == []
    assert shared_worker.request("ping")["pid"] != pid  # restarted for the next request


def test_failed_request_reports_the_backend_message(shared_worker, tmp_path):
    done = []
    task = WorkerTask("unknown", "no_such_method", {}, outputs=[tmp_path / "x.tif"], on_done=done.append)
    QgsApplication.taskManager().addTask(task)
    assert wait_for(lambda: done, 60)
    assert not done[0].ok and done[0].error_type == "UnknownMethod"
    assert "unknown method 'no_such_method'" in done[0].error


def test_failed_request_keeps_an_older_complete_output(shared_worker, tmp_path):
    """Backend writes are atomic: after a failure the existing file is an older whole result, not a partial."""
    out = tmp_path / "old.csv"
    out.write_text("complete\n")
    leftover = tmp_path / ".old.csv.x1.partial"
    leftover.write_text("half")
    done = []
    task = WorkerTask("fails", "no_such_method", {}, outputs=[out], on_done=done.append)
    QgsApplication.taskManager().addTask(task)
    assert wait_for(lambda: done, 60)
    assert out.read_text() == "complete\n" and not leftover.exists()
