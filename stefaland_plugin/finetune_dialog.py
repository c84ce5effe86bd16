"""Fine-tune on your own gauges: pick the files, check them (every problem listed), then train."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qgis.gui import QgsFileWidget
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import settings, worker_requests
from .tasks import WorkerTask

if TYPE_CHECKING:  # the dock imports this module lazily; at run time it is only passed in
    from .dock import StefaLandDock

USER_FORMAT = "docs/user_format.md"


def _nse(value: Any) -> str:
    """An NSE with three decimals, "n/a" for None."""
    return "n/a" if value is None else f"{float(value):.3f}"


def result_lines(result: dict[str, Any], tr: Callable[[str], str]) -> list[str]:
    """What a finished fine-tune reports: the medians, then each gauge's validation NSE."""
    lines = [tr("Median validation NSE {} (warm start {}){}").format(
        _nse(result.get("median_validation_nse")), _nse(result.get("median_validation_nse_before")),
        tr(" – no step beat the warm start: its weights were kept") if result.get("kept_warm_start") else ""),
             tr("Optimistic: the validation days (the last part of each record) also chose the stopping step.")]
    for gauge, score in sorted((result.get("metrics") or {}).items()):
        lines.append(tr("Gauge {}: validation NSE {}").format(gauge, _nse(score)))
    for gauge, reason in sorted((result.get("skipped") or {}).items()):
        lines.append(tr("Gauge {}: not trained on: {}").format(gauge, reason))
    lines += [tr("Note: {}").format(note) for note in result.get("notes") or []]
    return lines


class FinetuneDialog(QDialog):
    """Validates the files with ``validate_gauges`` before ``finetune_streamflow`` may start."""

    def __init__(self, dock: StefaLandDock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StefaLandFinetuneDialog")
        self.setWindowTitle(self.tr("StefaLand – fine-tune on gauges"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dock = dock
        self._validated_params: dict[str, Any] | None = None
        self.task: WorkerTask | None = None
        #: extra ``finetune_streamflow`` params (e.g. ``{"steps": 50}``); empty: the backend's settings
        self.training_overrides: dict[str, Any] = {}
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr(
            "Train a small adapter on your own gauges. The encoder stays frozen; the bundled model is kept and you "
            "can switch back to it in the Model list. Files (see {}): gauges.csv with id, latitude, longitude, "
            "area_km2 and any attributes you know; streamflow.csv with date, id, value, unit; a forcings folder "
            "with <id>.csv (date, prcp, srad, tmax, tmin, vp, dayl) per gauge.").format(USER_FORMAT))
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
        self.start_from = QComboBox()
        self.start_from.addItem(self.tr("Bundled streamflow model"), "")
        active = settings.active_adapter()
        if active:  # refine an adapter of one's own, e.g. after adding gauges
            self.start_from.addItem(self.tr("Active adapter: {}").format(Path(active).parent.name), active)
            self.start_from.setItemData(1, active, Qt.ItemDataRole.ToolTipRole)
        self.start_from.setToolTip(self.tr("The adapter whose weights the fine-tune starts from"))
        form.addRow(self.tr("Start from"), self.start_from)
        layout.addLayout(form)
        self.example_button = QPushButton(self.tr("Use the example dataset (10 CAMELS basins)"))
        self.example_button.setToolTip(self.tr("Writes the example of {} into the output folder's parent and "
                                               "fills in the three inputs").format(USER_FORMAT))
        self.example_button.clicked.connect(self.use_example)
        layout.addWidget(self.example_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.list_label = QLabel(self.tr("Problems found:"))
        layout.addWidget(self.list_label)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        layout.addWidget(self.problems, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
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
        self.start_from.currentIndexChanged.connect(self._invalidate)
        self.resize(620, 640)

    def _file_widget(self, file_filter: str,
                     mode: QgsFileWidget.StorageMode = QgsFileWidget.StorageMode.GetFile) -> QgsFileWidget:
        widget = QgsFileWidget()
        widget.setStorageMode(mode)
        if file_filter:
            widget.setFilter(file_filter)
        return widget

    def params(self) -> dict[str, str]:
        """The ``validate_gauges`` / ``finetune_streamflow`` params from the fields (``adapter`` if one is chosen)."""
        params = {"gauges_csv": self.gauges_csv.filePath(), "streamflow_csv": self.streamflow_csv.filePath(),
                  "forcings_dir": self.forcings_dir.filePath(), "out_dir": self.out_dir.filePath()}
        if self.start_from.currentData():
            params["adapter"] = self.start_from.currentData()
        return params

    def set_files(self, gauges_csv: str, streamflow_csv: str, forcings_dir: str) -> None:
        """Fill in the three input paths."""
        self.gauges_csv.setFilePath(gauges_csv)
        self.streamflow_csv.setFilePath(streamflow_csv)
        self.forcings_dir.setFilePath(forcings_dir)

    def _invalidate(self) -> None:
        self._validated_params = None
        self.start_button.setEnabled(False)

    def _show_list(self, title: str, lines: list[str], color: QColor | None = None) -> None:
        self.list_label.setText(title)
        self.problems.clear()
        for line in lines:
            item = QListWidgetItem(line)
            if color is not None:
                item.setForeground(color)
            self.problems.addItem(item)

    def _run(self, task: WorkerTask) -> WorkerTask:
        """Run ``task`` through the panel, with its progress mirrored here."""
        self.task = task
        self.progress.setValue(0)
        self.progress.setVisible(True)
        task.progressChanged.connect(self._progress)
        task.messageChanged.connect(self._message)
        return self.dock.run_task(task)

    def _progress(self, value: float) -> None:
        if not sip.isdeleted(self):
            self.progress.setValue(int(value))

    def _message(self, text: str) -> None:
        if not sip.isdeleted(self) and text:
            self.status.setText(text)

    def _stopped(self) -> bool:
        """True if the dialog was closed meanwhile (then nothing is shown); hides the progress otherwise."""
        if sip.isdeleted(self):
            return True
        self.progress.setVisible(False)
        return False

    # ------------------------------------------------------------------ example
    def use_example(self) -> WorkerTask:
        """Have the worker write the example dataset, then fill in its files."""
        folder = settings.output_dir() / "example_gauges"
        self.example_button.setEnabled(False)
        self.status.setText(self.tr("Writing the example dataset to {}…").format(folder))
        request = worker_requests.example_gauges(str(folder))
        return self._run(WorkerTask(self.tr("Example gauge dataset"), request.method, request.params,
                                    on_done=self._example_done))

    def _example_done(self, task: WorkerTask) -> None:
        if self._stopped():
            return
        self.example_button.setEnabled(True)
        if not task.ok:
            self.status.setText(self.tr("The example could not be written: {}").format(task.error))
            return
        result = task.result or {}
        self.set_files(result["gauges_csv"], result["streamflow_csv"], result["forcings_dir"])
        self.status.setText(self.tr("Example dataset in {}: check the files next.").format(
            Path(result["gauges_csv"]).parent))

    # ------------------------------------------------------------------ check and train
    def check(self) -> WorkerTask | None:
        """Validate the files with the worker (None, with the missing inputs listed, if a path is empty)."""
        params = self.params()
        missing = [name for name, value in params.items() if not value]
        if missing:
            self._show_list(self.tr("Problems found:"), [self.tr("{} is not set").format(name) for name in missing])
            return None
        self.check_button.setEnabled(False)
        self.status.setText(self.tr("Checking the files…"))
        request = worker_requests.validate_gauges(params["gauges_csv"], params["forcings_dir"],
                                                  streamflow_csv=params["streamflow_csv"])
        self._checked_form = params
        return self._run(WorkerTask(self.tr("Check fine-tuning files"), request.method, request.params,
                                    on_done=self._checked))

    def _checked(self, task: WorkerTask) -> None:
        if self._stopped():
            return
        self.check_button.setEnabled(True)
        if not task.ok:
            self._show_list(self.tr("Problems found:"), [task.error or self.tr("the check failed")])
            self.status.setText(self.tr("The files could not be checked."))
            return
        result = task.result or {}
        problems = [str(p) for p in result.get("problems", [])]
        notes = [self.tr("Note: {}").format(n) for n in result.get("notes", [])]
        if problems:
            self._show_list(self.tr("Problems found ({}):").format(len(problems)), problems + notes,
                            QColor(176, 0, 32))
            self.status.setText(self.tr("{} problem(s): fix them and check again.").format(len(problems)))
            return
        self._show_list(self.tr("Problems found: none"), notes)
        self._validated_params = self._checked_form
        self.start_button.setEnabled(True)
        self.status.setText(self.tr("The files look fine. Start fine-tuning when ready."))

    def start(self) -> WorkerTask | None:
        """Start fine-tuning on the checked files (None if they changed since the check)."""
        if self._validated_params is None or self._validated_params != self.params():
            self._invalidate()
            return None
        self.start_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self.status.setText(self.tr("Fine-tuning…"))
        request = worker_requests.finetune_streamflow(**self._validated_params, **self.training_overrides)
        return self._run(WorkerTask(self.tr("Fine-tune on gauges"), request.method, request.params,
                                    on_done=self._trained))

    def _trained(self, task: WorkerTask) -> None:
        result = task.result or {}
        adapter = result.get("adapter")
        if task.ok and adapter:
            self.dock.set_active_adapter(str(adapter))
        if self._stopped():
            return
        self.check_button.setEnabled(True)
        if not task.ok:
            self.status.setText(self.tr("Fine-tuning stopped: {}").format(task.error))
            return
        self._show_list(self.tr("Result (validation: the last part of each gauge's record):"),
                        result_lines(result, self.tr))
        self.status.setText(self.tr("Done in {} s. The new adapter is the active model in the StefaLand panel "
                                    "(switch back there): {}\nReport: {}").format(result.get("seconds"), adapter,
                                                                                 result.get("report")))
