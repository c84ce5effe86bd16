"""The StefaLand panel: period, model choice, "Click a basin", hydrograph and the other workflows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QDate, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import settings
from .hydrograph import HydrographWidget, read_prediction_csv
from .layers import add_to_project, demo_layers
from .map_tool import BasinPickTool
from .tasks import WorkerTask

DATE_FORMAT = "yyyy-MM-dd"
FIRST_DAY, LAST_DAY = QDate(1980, 1, 1), QDate(2014, 12, 31)  # the Daymet forcings' span


class StefaLandDock(QgsDockWidget):
    """Everything a user clicks; long work runs in :class:`WorkerTask` objects."""

    demoLoaded = pyqtSignal(list)  # the layers added
    predictionShown = pyqtSignal(str)  # gauge id

    def __init__(self, iface, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("StefaLand"))
        self.setObjectName("StefaLandDock")
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self._tasks: set[WorkerTask] = set()
        self._current: WorkerTask | None = None
        self.last_request: dict[str, Any] | None = None
        self._build()
        self.map_tool = BasinPickTool(self.canvas, self.request_settings)
        self.map_tool.predictionRequested.connect(self.start_prediction)
        self.map_tool.nothingFound.connect(self._set_status)
        self.map_tool.deactivated.connect(lambda: self.pick_button.setChecked(False))

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        form = QFormLayout()
        self.start_edit = self._date_edit(settings.get(settings.KEY_START, settings.DEFAULT_START))
        self.end_edit = self._date_edit(settings.get(settings.KEY_END, settings.DEFAULT_END))
        period = QHBoxLayout()
        period.addWidget(self.start_edit)
        period.addWidget(QLabel("–"))
        period.addWidget(self.end_edit)
        form.addRow(self.tr("Period"), period)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip(self.tr("Which weights predict streamflow: the bundled model or a "
                                            "fine-tuned adapter"))
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        form.addRow(self.tr("Model"), self.model_combo)
        layout.addLayout(form)
        self.refresh_models()

        self.pick_button = QPushButton(self.tr("Click a basin"))
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip(self.tr("Then click a basin outline or gauge point on the map"))
        self.pick_button.toggled.connect(self._toggle_pick)
        self.demo_button = QPushButton(self.tr("Load CAMELS demo"))
        self.demo_button.clicked.connect(self.load_demo)
        row = QHBoxLayout()
        row.addWidget(self.pick_button)
        row.addWidget(self.demo_button)
        layout.addLayout(row)

        self.hydrograph = HydrographWidget()
        layout.addWidget(self.hydrograph, 1)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_current)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

        self.finetune_button = QPushButton(self.tr("Fine-tune on gauges…"))
        self.finetune_button.clicked.connect(self.open_finetune)
        self.landslide_button = QPushButton(self.tr("Landslide susceptibility…"))
        self.landslide_button.clicked.connect(self.open_landslide)
        self.diagnostics_button = QPushButton(self.tr("Diagnostics"))
        self.diagnostics_button.clicked.connect(self.open_diagnostics)
        row = QHBoxLayout()
        row.addWidget(self.finetune_button)
        row.addWidget(self.landslide_button)
        layout.addLayout(row)
        layout.addWidget(self.diagnostics_button)
        self.setWidget(body)

    def _date_edit(self, iso: str) -> QDateEdit:
        edit = QDateEdit(QDate.fromString(iso, DATE_FORMAT))
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setCalendarPopup(True)
        edit.setDateRange(FIRST_DAY, LAST_DAY)
        edit.dateChanged.connect(self._period_changed)
        return edit

    def _period_changed(self) -> None:
        settings.put(settings.KEY_START, self.start())
        settings.put(settings.KEY_END, self.end())

    def start(self) -> str:
        return self.start_edit.date().toString(DATE_FORMAT)

    def end(self) -> str:
        return self.end_edit.date().toString(DATE_FORMAT)

    # ------------------------------------------------------------------ model choice
    def refresh_models(self) -> None:
        """Bundled model plus the latest fine-tuned adapter (if any), selecting the active one."""
        adapter = settings.latest_adapter()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(self.tr("Bundled model"), "")
        if adapter:
            self.model_combo.addItem(self.tr("Fine-tuned: {}").format(Path(adapter).name), adapter)
            self.model_combo.setItemData(1, adapter, Qt.ItemDataRole.ToolTipRole)
            if settings.active_adapter() == adapter:
                self.model_combo.setCurrentIndex(1)
        self.model_combo.blockSignals(False)

    def _model_changed(self, index: int) -> None:
        settings.put(settings.KEY_ADAPTER, self.model_combo.itemData(index) or "")

    def set_active_adapter(self, path: str) -> None:
        """Make a freshly trained adapter the active model (switchable back in the Model list)."""
        settings.put(settings.KEY_LATEST_ADAPTER, path)
        settings.put(settings.KEY_ADAPTER, path)
        self.refresh_models()

    def request_settings(self) -> dict[str, Any]:
        """What a prediction request needs besides the gauge (read by the map tool)."""
        return {"start": self.start(), "end": self.end(), "out_dir": settings.output_dir(),
                "adapter": self.model_combo.currentData() or ""}

    # ------------------------------------------------------------------ tasks
    def run_task(self, task: WorkerTask, show_errors: bool = True) -> WorkerTask:
        """Show progress for ``task`` and hand it to the QGIS task manager.

        ``show_errors=False`` when the caller displays the failure itself (the hydrograph does).
        """
        self._tasks.add(task)
        self._current = task
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self._set_status(task.description())
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        task.messageChanged.connect(self._set_status)
        done = task.on_done

        def finish(t: WorkerTask) -> None:
            self._tasks.discard(t)
            if self._current is t:
                self._current = None
                self.progress.setVisible(False)
                self.cancel_button.setVisible(False)
            if t.cancelled:
                self._set_status(self.tr("Cancelled: {}").format(t.description()))
            elif not t.ok and show_errors:
                self._set_status(self.tr("Failed: {}").format(t.error), error=True)
            else:
                self._set_status("")
            if done is not None:
                done(t)

        task.on_done = finish
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel_current(self) -> None:
        if self._current is not None:
            self._current.cancel()

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #b00020;" if error else "")
        self.status_label.setText(text)
        if error and not self.isUserVisible():
            self.iface.messageBar().pushMessage("StefaLand", text, Qgis.MessageLevel.Warning, 8)

    # ------------------------------------------------------------------ streamflow
    def _toggle_pick(self, checked: bool) -> None:
        if checked:
            self.canvas.setMapTool(self.map_tool)
            self._set_status(self.tr("Click a basin outline or gauge point on the map."))
        elif self.canvas.mapTool() is self.map_tool:
            self.canvas.unsetMapTool(self.map_tool)

    def start_prediction(self, request: dict[str, Any]) -> WorkerTask:
        """Run a ``predict_streamflow`` request built by the map tool; the hydrograph shows the result."""
        self.last_request = request
        params = request["params"]
        gauge = params["gauge_id"]
        self.hydrograph.show_message(self.tr("Predicting streamflow of gauge {} …").format(gauge))
        task = WorkerTask(self.tr("Predict streamflow of {}").format(gauge), request["method"], params,
                          outputs=[params["out_csv"]], on_done=self._prediction_done)
        return self.run_task(task, show_errors=False)

    def _prediction_done(self, task: WorkerTask) -> None:
        gauge = task.params["gauge_id"]
        if not task.ok:
            self.hydrograph.show_message(self.tr("No prediction for gauge {}: {}").format(gauge, task.error))
            return
        result = task.result or {}
        try:
            data = read_prediction_csv(result.get("csv") or task.params["out_csv"], self.tr("Gauge {}").format(gauge))
        except (OSError, ValueError) as exc:
            self.hydrograph.show_message(self.tr("Could not read the prediction: {}").format(exc))
            return
        data.nse, data.kge = result.get("nse"), result.get("kge")
        self.hydrograph.set_hydrograph(data)
        self.info_label.setText(describe_prediction(result, self.tr))
        self.predictionShown.emit(gauge)

    # ------------------------------------------------------------------ demo
    def load_demo(self) -> WorkerTask:
        out_dir = settings.output_dir() / "demo"
        task = WorkerTask(self.tr("Load CAMELS demo"), "demo_layers", {"out_dir": str(out_dir)},
                          on_done=self._demo_done)
        return self.run_task(task)

    def _demo_done(self, task: WorkerTask) -> None:
        if not task.ok:
            return
        try:
            layers = demo_layers(task.result or {})
        except ValueError as exc:
            self._set_status(str(exc), error=True)
            return
        add_to_project(layers)
        extent = None
        for layer in layers:
            if layer.name().startswith("CAMELS basins"):
                extent = self.canvas.mapSettings().layerExtentToOutputExtent(layer, layer.extent())
        if extent is not None:
            extent.scale(1.1)
            # after QGIS's own zoom to the first layer of an empty project
            QTimer.singleShot(0, lambda: self._zoom(extent))
        result = task.result or {}
        self._set_status(self.tr("Demo loaded: {} gauges ({} with observed streamflow).").format(
            result.get("n_gauges"), result.get("n_with_streamflow")))
        self.demoLoaded.emit(layers)

    def _zoom(self, extent) -> None:
        self.canvas.setExtent(extent)
        self.canvas.refresh()

    # ------------------------------------------------------------------ dialogs
    def open_finetune(self) -> None:
        from .finetune_dialog import FinetuneDialog

        FinetuneDialog(self, self).show()

    def open_landslide(self) -> None:
        from .landslide_dialog import LandslideDialog

        LandslideDialog(self, self).show()

    def open_diagnostics(self) -> None:
        from .diagnostics import DiagnosticsDialog

        DiagnosticsDialog(self, self).show()

    def shutdown(self) -> None:
        """Cancel running tasks and release the map tool (plugin unload)."""
        for task in list(self._tasks):
            task.on_done = None
            task.cancel()
        if self.canvas.mapTool() is self.map_tool:
            self.canvas.unsetMapTool(self.map_tool)


def describe_prediction(result: dict[str, Any], tr) -> str:
    """The line under the hydrograph: imputed inputs, forcing source, observations."""
    parts = []
    imputed = result.get("imputed") or []
    if imputed:
        parts.append(tr("Imputed inputs: {}").format(", ".join(map(str, imputed))))
    else:
        parts.append(tr("No inputs imputed."))
    if result.get("forcing_source"):
        parts.append(tr("Forcings: {}").format(result["forcing_source"]))
    if not result.get("has_observations"):
        parts.append(tr("No observed streamflow for this gauge and period."))
    if result.get("n_days") is not None:
        parts.append(tr("{} days").format(result["n_days"]))
    return "  ·  ".join(parts)
