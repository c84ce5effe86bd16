"""The StefaLand panel: period, model choice, "Click a basin", hydrograph and the other workflows."""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMapLayer,
    QgsProject,
    QgsRectangle,
)
from qgis.gui import QgisInterface, QgsDockWidget
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QDate, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from . import settings, worker_requests
from .conus import conus_extent, use_conus_albers
from .hydrograph import HydrographWidget, read_prediction_csv
from .layers import add_to_project, demo_layers
from .map_tool import BasinPickTool
from .prediction_text import adapter_label, describe_prediction
from .tasks import WorkerTask

DATE_FORMAT = "yyyy-MM-dd"
FIRST_DAY, LAST_DAY = QDate(1980, 1, 1), QDate(2014, 12, 31)  # the Daymet forcings' span


class StefaLandDock(QgsDockWidget):
    """Everything a user clicks; long work runs in :class:`WorkerTask` objects."""

    demoLoaded = pyqtSignal(list)  # the layers added
    predictionShown = pyqtSignal(str)  # gauge id (or the polygon's name)
    predictionFailed = pyqtSignal(str)  # the error shown in the hydrograph

    def __init__(self, iface: QgisInterface, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("StefaLand"))
        self.setObjectName("StefaLandDock")
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self._tasks: set[WorkerTask] = set()
        self._current: WorkerTask | None = None
        self.last_request: dict[str, Any] | None = None
        self.last_result: dict[str, Any] | None = None
        self.last_elapsed_s: float | None = None  # how long the worker took for the last prediction shown
        self._build()
        self.map_tool = BasinPickTool(self.canvas, self.request_settings)
        self.map_tool.predictionRequested.connect(self.start_prediction)
        self.map_tool.nothingFound.connect(self._set_status)
        self.map_tool.deactivated.connect(self._map_tool_deactivated)
        from .dock_polygon import PolygonActions

        self.polygons = PolygonActions(self)
        self.polygon_button.setMenu(self.polygons.menu)
        self.map_tool.polygonPicked.connect(self.polygons.predict_feature_of)

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
        self.pick_button.setToolTip(self.tr("Then click a basin outline or gauge point on the map (or any "
                                            "polygon: it is predicted as a location)"))
        self.pick_button.toggled.connect(self._toggle_pick)
        self.polygon_button = QPushButton(self.tr("Polygon…"))
        self.polygon_button.setToolTip(self.tr("Streamflow of any polygon: drawn, or the selected feature of "
                                               "a layer; attributes from its fields, the rest imputed"))
        self.demo_button = QPushButton(self.tr("Load CAMELS demo"))
        self.demo_button.clicked.connect(self.load_demo)
        row = QHBoxLayout()
        row.addWidget(self.pick_button)
        row.addWidget(self.polygon_button)
        row.addWidget(self.demo_button)
        layout.addLayout(row)

        self.hydrograph = HydrographWidget()
        layout.addWidget(self.hydrograph, 3)
        self.details = QTextBrowser()
        self.details.setObjectName("StefaLandDetails")
        self.details.setOpenLinks(False)
        self.details.setMinimumHeight(70)
        self.details.setVisible(False)  # until a prediction says where its inputs came from
        layout.addWidget(self.details, 2)

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
        self.landslide_button = QPushButton(self.tr("Landslide hazard map…"))
        self.landslide_button.clicked.connect(self.open_landslide)
        self.basin_layer_button = QPushButton(self.tr("Basins → soil / mean flow…"))
        self.basin_layer_button.setToolTip(self.tr("A graduated layer of predicted soil composition or mean "
                                                   "flow for the features of a basin layer"))
        self.basin_layer_button.clicked.connect(self.open_basin_layer)
        self.diagnostics_button = QPushButton(self.tr("Diagnostics"))
        self.diagnostics_button.clicked.connect(self.open_diagnostics)
        grid = QGridLayout()
        grid.addWidget(self.finetune_button, 0, 0)
        grid.addWidget(self.landslide_button, 0, 1)
        grid.addWidget(self.basin_layer_button, 1, 0)
        grid.addWidget(self.diagnostics_button, 1, 1)
        layout.addLayout(grid)
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

    def set_period(self, start: str, end: str) -> None:
        """Show the period ``start``..``end`` (ISO dates) in the date fields."""
        self.start_edit.setDate(QDate.fromString(start, DATE_FORMAT))
        self.end_edit.setDate(QDate.fromString(end, DATE_FORMAT))

    def start(self) -> str:
        """The period's first day (ISO date)."""
        return self.start_edit.date().toString(DATE_FORMAT)

    def end(self) -> str:
        """The period's last day (ISO date)."""
        return self.end_edit.date().toString(DATE_FORMAT)

    # ------------------------------------------------------------------ model choice
    def refresh_models(self) -> None:
        """Bundled model plus the latest fine-tuned adapter (if any), selecting the active one."""
        adapter = settings.latest_adapter()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(self.tr("Bundled model"), "")
        if adapter:
            self.model_combo.addItem(self.tr("Fine-tuned: {}").format(adapter_label(adapter)), adapter)
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
        """Cancel the task whose progress the panel shows (the Cancel button)."""
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

    def _map_tool_deactivated(self) -> None:
        """The canvas switched to another tool (or is going away): only the button needs to follow."""
        if not sip.isdeleted(self.pick_button):
            self.pick_button.blockSignals(True)
            self.pick_button.setChecked(False)
            self.pick_button.blockSignals(False)

    def start_prediction(self, request: dict[str, Any]) -> WorkerTask:
        """Run a ``predict_streamflow`` request built by the map tool; the hydrograph shows the result."""
        self.last_request = request
        params = request["params"]
        gauge = params["gauge_id"]
        self.hydrograph.show_message(self.tr("Predicting streamflow of gauge {} …").format(gauge))
        self.set_details([])
        title = self.tr("Gauge {}").format(gauge) + (f" – {request['label']}" if request.get("label") else "")
        task = WorkerTask(self.tr("Predict streamflow of {}").format(gauge), request["method"], params,
                          outputs=[params["out_csv"]], on_done=lambda t: self._prediction_done(t, title))
        return self.run_task(task, show_errors=False)

    def _prediction_done(self, task: WorkerTask, title: str = "") -> None:
        gauge = task.params["gauge_id"]
        self.show_result(task, title or self.tr("Gauge {}").format(gauge), gauge,
                         lambda result: describe_prediction(result, self.tr))

    def show_result(self, task: WorkerTask, title: str, key: str,
                    describe: Callable[[dict[str, Any]], list[str]]) -> bool:
        """Hydrograph and details of a finished prediction task; the error in the plot if it failed."""
        if not task.ok:
            message = self.tr("No prediction for {}: {}").format(key, task.error)
            self.hydrograph.show_message(message)
            self.predictionFailed.emit(task.error or "")
            return False
        result = task.result or {}
        try:
            data = read_prediction_csv(result.get("csv") or task.params["out_csv"], title)
        except (OSError, ValueError) as exc:
            self.hydrograph.show_message(self.tr("Could not read the prediction: {}").format(exc))
            return False
        data.nse, data.kge, data.in_sample = result.get("nse"), result.get("kge"), result.get("in_sample")
        self.hydrograph.set_hydrograph(data)
        self.set_details(describe(result))
        if task.elapsed_s is not None:
            self._set_status(self.tr("{} days predicted; the backend answered in {:.2f} s.").format(
                result.get("n_days"), task.elapsed_s))
        self.last_result = result
        self.last_elapsed_s = task.elapsed_s
        self.predictionShown.emit(key)
        return True

    def set_details(self, lines: list[str]) -> None:
        """Show ``lines`` under the hydrograph; the box takes the height of its text (the plot gets the rest)."""
        self.details.setHtml("".join(f"<div style='margin-bottom:3px'>{html.escape(line)}</div>" for line in lines))
        self.details.setVisible(bool(lines))
        document = self.details.document()
        document.setTextWidth(self.details.viewport().width())
        height = int(document.size().height()) + 2 * self.details.frameWidth() + 4
        self.details.setMaximumHeight(max(self.details.minimumHeight(), height))

    # ------------------------------------------------------------------ demo
    def load_demo(self) -> WorkerTask:
        """Write the CAMELS demo layers (gauges, western basins) with the worker and add them to the project."""
        out_dir = settings.output_dir() / "demo"
        request = worker_requests.demo_layers(str(out_dir))
        task = WorkerTask(self.tr("Load CAMELS demo"), request.method, request.params, on_done=self._demo_done)
        return self.run_task(task)

    def _demo_done(self, task: WorkerTask) -> None:
        if not task.ok:
            return
        try:
            layers = demo_layers(task.result or {})
        except ValueError as exc:
            self._set_status(str(exc), error=True)
            return
        project = QgsProject.instance()
        was_empty = not project.mapLayers()
        add_to_project(layers)
        crses = list({layer.crs().authid(): layer.crs() for layer in layers}.values())

        def show_us() -> None:  # after QGIS's own CRS choice and zoom for the first layer of an empty project
            if was_empty:  # a new project: show the US in an equal-area projection, not plate carrée
                use_conus_albers(project, crses)
            self.zoom_to_conus()

        QTimer.singleShot(0, show_us)
        result = task.result or {}
        self._set_status(self.tr("Demo loaded: {} gauges ({} with observed streamflow).").format(
            result.get("n_gauges"), result.get("n_with_streamflow")))
        self.demoLoaded.emit(layers)

    def conus_extent(self) -> QgsRectangle:
        """The contiguous US in the canvas CRS."""
        return conus_extent(self.canvas.mapSettings().destinationCrs())

    def zoom_to_layer(self, layer: QgsMapLayer) -> None:
        """Zoom the canvas to ``layer`` (in the canvas CRS), with a small margin."""
        extent = self.canvas.mapSettings().layerExtentToOutputExtent(layer, layer.extent())
        extent.scale(1.05)
        self.canvas.setExtent(extent)
        self.canvas.refresh()

    def zoom_to_conus(self) -> None:
        """Zoom the canvas to the contiguous US."""
        self.canvas.setExtent(self.conus_extent())
        self.canvas.refresh()

    # ------------------------------------------------------------------ dialogs
    def _show_dialog(self, module: str, class_name: str) -> QDialog:
        """Import a dialog module only when it is first opened (keeps the plugin's start-up light), show it."""
        dialog = getattr(importlib.import_module(f".{module}", __package__), class_name)(self, self)
        dialog.show()
        return dialog

    def open_finetune(self) -> QDialog:
        """Open the fine-tuning dialog."""
        return self._show_dialog("finetune_dialog", "FinetuneDialog")

    def open_landslide(self) -> QDialog:
        """Open the landslide hazard map dialog."""
        return self._show_dialog("landslide_dialog", "LandslideDialog")

    def open_basin_layer(self) -> QDialog:
        """Open the basins → soil composition / mean flow dialog."""
        return self._show_dialog("basin_layer_dialog", "BasinLayerDialog")

    def open_diagnostics(self) -> QDialog:
        """Open the diagnostics dialog."""
        return self._show_dialog("diagnostics", "DiagnosticsDialog")

    def shutdown(self) -> None:
        """Cancel running tasks and release the map tools (plugin unload)."""
        for task in list(self._tasks):
            task.on_done = None
            task.cancel()
        if self.canvas.mapTool() is self.map_tool:
            self.canvas.unsetMapTool(self.map_tool)
        self.map_tool.deleteLater()  # the canvas (its parent) outlives the plugin
        self.polygons.shutdown()

