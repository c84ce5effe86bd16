"""Fine-tune on your own gauges: pick the files, check them (every problem listed), then train."""

from __future__ import annotations

import json
import time
from typing import Any

from qgis.gui import QgsFileWidget
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from . import settings
from .tasks import WorkerTask


class FinetuneDialog(QDialog):
    """Validates the files with ``validate_gauges`` before ``finetune_streamflow`` may start."""

    def __init__(self, dock, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("StefaLandFinetuneDialog")
        self.setWindowTitle(self.tr("StefaLand – fine-tune on gauges"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dock = dock
        self._validated_params: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Train a small adapter on your own gauges. The encoder stays frozen; the bundled model is kept "
            "and you can switch back to it in the Model list.\n"
            "Gauges CSV: gauge_id, lat, lon (and any known attributes). Streamflow CSV: gauge_id, date, "
            "streamflow in mm/day. Forcings folder: one daily forcing file per gauge."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.gauges_csv = self._file_widget(self.tr("CSV files (*.csv)"))
        self.streamflow_csv = self._file_widget(self.tr("CSV files (*.csv)"))
        self.forcings_dir = self._file_widget("", QgsFileWidget.StorageMode.GetDirectory)
        self.out_dir = self._file_widget("", QgsFileWidget.StorageMode.GetDirectory)
        self.out_dir.setFilePath(str(settings.output_dir() / "adapters" / time.strftime("adapter_%Y%m%d_%H%M%S")))
        form.addRow(self.tr("Gauges CSV"), self.gauges_csv)
        form.addRow(self.tr("Streamflow CSV"), self.streamflow_csv)
        form.addRow(self.tr("Forcings folder"), self.forcings_dir)
        form.addRow(self.tr("Output folder"), self.out_dir)
        layout.addLayout(form)
        layout.addWidget(QLabel(self.tr("Problems found:")))
        self.problems = QListWidget()
        layout.addWidget(self.problems, 1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.check_button = QPushButton(self.tr("Check files"))
        self.start_button = QPushButton(self.tr("Start fine-tuning"))
        self.start_button.setEnabled(False)
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.check_button.clicked.connect(self.check)
        self.start_button.clicked.connect(self.start)
        layout.addWidget(buttons)
        for widget in (self.gauges_csv, self.streamflow_csv, self.forcings_dir, self.out_dir):
            widget.fileChanged.connect(self._invalidate)
        self.resize(560, 460)

    def _file_widget(self, file_filter: str, mode=QgsFileWidget.StorageMode.GetFile) -> QgsFileWidget:
        widget = QgsFileWidget()
        widget.setStorageMode(mode)
        if file_filter:
            widget.setFilter(file_filter)
        return widget

    def params(self) -> dict[str, str]:
        return {"gauges_csv": self.gauges_csv.filePath(), "streamflow_csv": self.streamflow_csv.filePath(),
                "forcings_dir": self.forcings_dir.filePath(), "out_dir": self.out_dir.filePath()}

    def _invalidate(self) -> None:
        self._validated_params = None
        self.start_button.setEnabled(False)

    def check(self) -> None:
        params = self.params()
        missing = [name for name, value in params.items() if not value]
        self.problems.clear()
        if missing:
            self.problems.addItems([self.tr("{} is not set").format(name) for name in missing])
            return
        self.check_button.setEnabled(False)
        self.status.setText(self.tr("Checking the files…"))
        task = WorkerTask(self.tr("Check fine-tuning files"), "validate_gauges", params, on_done=self._checked)
        self.dock.run_task(task)

    def _checked(self, task: WorkerTask) -> None:
        if sip.isdeleted(self):  # the dialog was closed meanwhile
            return
        self.check_button.setEnabled(True)
        self.problems.clear()
        if not task.ok:
            self.problems.addItem(task.error or self.tr("the check failed"))
            self.status.setText(self.tr("The files could not be checked."))
            return
        problems = [str(p) for p in (task.result or {}).get("problems", [])]
        if problems:
            self.problems.addItems(problems)
            self.status.setText(self.tr("{} problem(s): fix them and check again.").format(len(problems)))
            return
        self._validated_params = task.params
        self.start_button.setEnabled(True)
        self.status.setText(self.tr("The files look fine. Start fine-tuning when ready."))

    def start(self) -> None:
        if self._validated_params is None or self._validated_params != self.params():
            self._invalidate()
            return
        self.start_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self.status.setText(self.tr("Fine-tuning (see the progress in the StefaLand panel)…"))
        task = WorkerTask(self.tr("Fine-tune on gauges"), "finetune_streamflow", self._validated_params,
                          on_done=self._trained)
        self.dock.run_task(task)

    def _trained(self, task: WorkerTask) -> None:
        result = task.result or {}
        adapter = result.get("adapter")
        if task.ok and adapter:
            self.dock.set_active_adapter(str(adapter))
        if sip.isdeleted(self):  # the dialog was closed meanwhile
            return
        self.check_button.setEnabled(True)
        if not task.ok:
            self.status.setText(self.tr("Fine-tuning stopped: {}").format(task.error))
            return
        metrics = json.dumps(result.get("metrics", {}), indent=None)
        self.status.setText(self.tr("Done. The new adapter is active: {}\nMetrics: {}").format(adapter, metrics))
