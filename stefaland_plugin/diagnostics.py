"""Diagnostics: versions, interpreter, worker status and model checksums, with a copy button."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any

from qgis.core import Qgis
from qgis.gui import QgsFileWidget
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QT_VERSION_STR, Qt
from qgis.PyQt.QtGui import QFontDatabase, QGuiApplication
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import settings, worker_requests
from .tasks import WorkerTask
from .worker_client import shared_client

if TYPE_CHECKING:  # the dock imports this module lazily; at run time it is only passed in
    from .dock import StefaLandDock


def local_report() -> list[str]:
    """What the plugin knows without asking the worker."""
    python = settings.python_executable()
    root = settings.backend_root()
    client = shared_client()
    adapter = settings.active_adapter()
    worker_ok = (root / "backend" / "service" / "worker.py").is_file()
    return [
        f"StefaLand plugin {settings.plugin_version()} ({settings.PLUGIN_DIR})",
        f"QGIS {Qgis.QGIS_VERSION}, Qt {QT_VERSION_STR}, QGIS Python {platform.python_version()}",
        f"Worker interpreter: {python} ({'found' if python.exists() else 'NOT FOUND'})",
        f"Backend root: {root} ({'ok' if worker_ok else 'backend/service/worker.py MISSING'})",
        f"Worker: {client.state()}; last exit code: {client.last_exit_code}",
        f"Model: {adapter or 'bundled'}",
        f"Output folder: {settings.output_dir()}",
    ]


def worker_report(result: dict[str, Any]) -> list[str]:
    """The worker's ``ping`` answer as lines."""
    versions = result.get("versions", {})
    lines = [
        f"Worker pid {result.get('pid')}: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"Worker python: {result.get('python_executable')}",
        f"Data root: {result.get('data_root')}",
    ]
    methods = result.get("methods") or []
    if methods:
        lines.append("Methods: " + ", ".join(methods))
    models = result.get("models", {})
    lines.append("Model files (sha256): " + (", ".join(f"{k} {v}" for k, v in models.items()) or "none bundled"))
    return lines


class DiagnosticsDialog(QDialog):
    """Shows the plugin's and the worker's report (copyable); sets the worker's interpreter and project folder."""

    def __init__(self, dock: StefaLandDock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StefaLandDiagnosticsDialog")
        self.setWindowTitle(self.tr("StefaLand – diagnostics"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dock = dock
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text)
        layout.addWidget(self._settings_box())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton(self.tr("Copy to clipboard"))
        refresh = QPushButton(self.tr("Ask the worker again"))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(refresh, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy)
        refresh.clicked.connect(self.refresh)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 480)
        self.refresh()

    def _settings_box(self) -> QGroupBox:
        """Where the worker comes from: the interpreter and the project folder (empty = the defaults)."""
        box = QGroupBox(self.tr("Worker settings (empty = default)"))
        form = QFormLayout(box)
        self.python_edit = QgsFileWidget()
        self.python_edit.setFilePath(settings.get(settings.KEY_PYTHON))
        self.python_edit.lineEdit().setPlaceholderText(str(settings.python_executable()))
        self.root_edit = QgsFileWidget()
        self.root_edit.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.root_edit.setFilePath(settings.get(settings.KEY_BACKEND_ROOT))
        self.root_edit.lineEdit().setPlaceholderText(str(settings.backend_root()))
        apply = QPushButton(self.tr("Apply and restart the worker"))
        apply.clicked.connect(self.apply_settings)
        form.addRow(self.tr("Python interpreter"), self.python_edit)
        form.addRow(self.tr("StefaLand project folder"), self.root_edit)
        form.addRow(apply)
        return box

    def apply_settings(self) -> None:
        """Store the interpreter and project folder typed in; stop the worker and ask again (which restarts it)."""
        settings.put(settings.KEY_PYTHON, self.python_edit.filePath().strip())
        settings.put(settings.KEY_BACKEND_ROOT, self.root_edit.filePath().strip())
        shared_client().stop()
        self.refresh()

    def refresh(self) -> None:
        """Show the local report now and ask the worker (``ping``) for the rest."""
        self._lines = local_report()
        self._show(self._lines + [self.tr("Asking the worker…")])
        request = worker_requests.ping()
        self.dock.run_task(WorkerTask(self.tr("Diagnostics"), request.method, request.params, on_done=self._pinged))

    def _pinged(self, task: WorkerTask) -> None:
        if sip.isdeleted(self):
            return
        extra = worker_report(task.result or {}) if task.ok else [f"Worker error: {task.error}"]
        self._show(local_report() + extra)

    def _show(self, lines: list[str]) -> None:
        self.text.setPlainText("\n".join(lines))

    def report(self) -> str:
        """The text shown (what "Copy to clipboard" copies)."""
        return self.text.toPlainText()

    def copy(self) -> None:
        """Copy the report to the clipboard."""
        QGuiApplication.clipboard().setText(self.report())
