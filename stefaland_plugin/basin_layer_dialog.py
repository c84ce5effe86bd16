"""Workflow 3b: the features of a basin layer -> a graduated layer of soil composition or mean flow.

Soil composition: one ``soil_composition`` request for all features (a point on each polygon's surface;
their fields are passed and the backend says which it used). Mean flow: one prediction per feature over
the panel's period (``predict_streamflow`` for a gauge id, ``predict_location`` otherwise). The result is
written to a GeoPackage and styled from ``resources/styles`` (``soil_composition*.qml``,
``mean_flow*.qml``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from . import settings, worker_requests
from .gauges import gauge_field, normalize_gauge_id
from .layers import STYLE_MEAN_FLOW, STYLE_SOIL, add_to_project, apply_style, styled_style_name, write_result_layer
from .processing.base import feature_location, known_attributes
from .tasks import WorkerBatchTask, WorkerTask

if TYPE_CHECKING:  # the dock imports this module lazily; at run time it is only passed in
    from .dock import StefaLandDock

SOIL, MEAN_FLOW = "soil", "mean_flow"
SOIL_FIELDS = [("sand_pct", "double"), ("silt_pct", "double"), ("clay_pct", "double"), ("forcing_basin", "string"),
               ("forcing_km", "double"), ("n_imputed", "int"), ("imputed", "string")]
FLOW_FIELDS = [("mean_flow", "double"), ("nse", "double"), ("kge", "double"), ("has_obs", "int"),
               ("n_days", "int"), ("forcing", "string"), ("n_imputed", "int"), ("imputed", "string"),
               ("csv", "string")]
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def soil_values(row: dict[str, Any]) -> list[Any]:
    """The :data:`SOIL_FIELDS` values of one ``soil_composition`` row."""
    imputed = list(row.get("imputed") or [])
    return [row.get("sand_pct"), row.get("silt_pct"), row.get("clay_pct"), row.get("forcing_basin"),
            row.get("forcing_basin_km"), len(imputed), ", ".join(imputed)]


def flow_values(result: dict[str, Any]) -> list[Any]:
    """The :data:`FLOW_FIELDS` values of one streamflow prediction result."""
    imputed = list(result.get("imputed") or [])
    return [result.get("mean_flow"), result.get("nse"), result.get("kge"), int(bool(result.get("has_observations"))),
            result.get("n_days"), result.get("forcing_source"), len(imputed), ", ".join(imputed), result.get("csv")]


class BasinLayerDialog(QDialog):
    """Pick a layer and a quantity; the graduated result layer is added to the project."""

    def __init__(self, dock: StefaLandDock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StefaLandBasinLayerDialog")
        self.setWindowTitle(self.tr("StefaLand – basins → soil composition / mean flow"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dock = dock
        self.task: WorkerTask | None = None
        self.output_layer: QgsVectorLayer | None = None
        self._features: list[QgsFeature] = []
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Predicts a value for every feature of a basin layer (polygons or gauge points) and "
                               "adds a graduated layer. Mean flow uses the period of the StefaLand panel and, for "
                               "features with a gauge id, the CAMELS basin's own data."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer | QgsMapLayerProxyModel.Filter.PointLayer)
        basins = [layer for layer in QgsProject.instance().mapLayers().values()
                  if isinstance(layer, QgsVectorLayer) and gauge_field(layer)
                  and layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry]
        if basins:
            self.layer_combo.setLayer(basins[0])
        self.selected_only = QCheckBox(self.tr("Selected features only"))
        self.quantity = QComboBox()
        self.quantity.addItem(self.tr("Soil composition (clay %, with sand and silt)"), SOIL)
        self.quantity.addItem(self.tr("Mean flow (mm/day) over the panel's period"), MEAN_FLOW)
        self.output_file = QgsFileWidget()
        self.output_file.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.output_file.setFilter(self.tr("GeoPackage (*.gpkg)"))
        self.quantity.currentIndexChanged.connect(self._suggest_output)
        form.addRow(self.tr("Basin layer"), self.layer_combo)
        form.addRow("", self.selected_only)
        form.addRow(self.tr("Map"), self.quantity)
        form.addRow(self.tr("Output GeoPackage"), self.output_file)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close)
        self.run_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.run_button.setText(self.tr("Create layer"))
        buttons.accepted.connect(self.run)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._suggest_output()
        self.resize(560, 300)

    def _suggest_output(self) -> None:
        kind = self.quantity.currentData()
        stem = "soil_composition" if kind == SOIL else f"mean_flow_{self.dock.start()}_{self.dock.end()}"
        self.output_file.setFilePath(str(settings.output_dir() / f"{stem}.gpkg"))

    def run(self) -> WorkerTask | None:
        """Start the predictions for the chosen layer (None, with the reason shown, if an input is missing)."""
        layer = self.layer_combo.currentLayer()
        path = self.output_file.filePath()
        if not isinstance(layer, QgsVectorLayer):
            self.status.setText(self.tr("Choose a layer of basins (polygons) or gauge points."))
            return None
        if not path:
            self.status.setText(self.tr("Choose where to write the GeoPackage."))
            return None
        if Path(path).suffix.lower() != ".gpkg":
            path += ".gpkg"
            self.output_file.setFilePath(path)
        features = [QgsFeature(f) for f in (layer.getSelectedFeatures() if self.selected_only.isChecked()
                                             else layer.getFeatures())]
        features = [f for f in features if f.geometry() is not None and not f.geometry().isEmpty()]
        if not features:
            self.status.setText(self.tr("The layer has no feature with a geometry."))
            return None
        self._features = features
        self._source = {"fields": layer.fields(), "crs": layer.crs(), "wkb": layer.wkbType(),
                        "geometry": layer.geometryType(), "name": layer.name()}
        transform = QgsCoordinateTransform(layer.crs(), WGS84, QgsProject.instance())
        kind = self.quantity.currentData()
        task = self._soil_task(features, transform) if kind == SOIL else self._flow_task(layer, features, transform)
        self.task = task
        self.run_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        task.progressChanged.connect(self._progress)
        self.status.setText(self.tr("Running for {} features…").format(len(features)))
        self.dock.run_task(task)
        return task

    def _progress(self, value: float) -> None:
        if not sip.isdeleted(self):
            self.progress.setValue(int(value))

    def _soil_task(self, features: list[QgsFeature], transform: QgsCoordinateTransform) -> WorkerTask:
        points = []
        for feature in features:
            location = feature_location(feature, transform)
            points.append({"id": str(feature.id()), "lat": location[0], "lon": location[1],
                           "attributes": known_attributes(feature)})
        request = worker_requests.soil_composition(points)
        return WorkerTask(self.tr("Soil composition of {} features").format(len(points)), request.method,
                          request.params, on_done=self._soil_done)

    def _flow_task(self, layer: QgsVectorLayer, features: list[QgsFeature],
                   transform: QgsCoordinateTransform) -> WorkerTask:
        options = self.dock.request_settings()
        folder = Path(options["out_dir"]) / "mean_flow" / time.strftime("%Y%m%d_%H%M%S")
        field = gauge_field(layer)
        start, end, adapter = options["start"], options["end"], options.get("adapter") or ""
        gauges = [normalize_gauge_id(feature[field]) if field else None for feature in features]
        self._items_for: list[int] = [feature.id() for feature in features]
        if all(gauge is not None for gauge in gauges):
            requests = [worker_requests.predict_streamflow(gauge, start, end, str(folder / f"{gauge}.csv"),
                                                           adapter=adapter) for gauge in gauges]
        else:  # ungauged features, or a layer mixing gauged and ungauged ones: predict all as locations
            requests = []
            for feature, gauge in zip(features, gauges, strict=True):
                lat, lon = feature_location(feature, transform)
                name = f"{gauge}.csv" if gauge is not None else f"feature_{feature.id()}.csv"
                requests.append(worker_requests.predict_location(
                    lat, lon, start, end, str(folder / name), attributes=known_attributes(feature),
                    location_id=gauge if gauge is not None else str(feature.id()), adapter=adapter))
        method = requests[0].method if requests else "predict_streamflow"
        return WorkerBatchTask(self.tr("Mean flow of {} features").format(len(requests)), method,
                               [r.params for r in requests], on_done=self._flow_done)

    # ------------------------------------------------------------------ results
    def _soil_done(self, task: WorkerTask) -> None:
        if not task.ok:
            return self._failed(task)
        rows = {str(row.get("id")): row for row in (task.result or {}).get("rows", [])}
        values = {f.id(): soil_values(rows[str(f.id())]) for f in self._features if str(f.id()) in rows}
        self._finish(values, SOIL_FIELDS, STYLE_SOIL, self.tr("Soil composition – {}").format(self._source["name"]),
                     [])

    def _flow_done(self, task: WorkerTask) -> None:
        if not task.ok:
            return self._failed(task)
        results = (task.result or {}).get("results", [])
        errors = [e for e in (task.result or {}).get("errors", []) if e]
        values = {fid: flow_values(r) for fid, r in zip(self._items_for, results, strict=False) if r is not None}
        name = self.tr("Mean flow {}…{} – {}").format(task.items[0]["start"], task.items[0]["end"],
                                                     self._source["name"])
        self._finish(values, FLOW_FIELDS, STYLE_MEAN_FLOW, name, errors)

    def _failed(self, task: WorkerTask) -> None:
        if not sip.isdeleted(self):
            self.progress.setVisible(False)
            self.run_button.setEnabled(True)
            self.status.setText(self.tr("Failed: {}").format(task.error))

    def _finish(self, values: dict[int, list], fields: list[tuple[str, str]], style: str, name: str,
                errors: list[str]) -> None:
        source = self._source
        try:
            layer = write_result_layer(self._features, source["fields"], source["crs"], source["wkb"], fields, values,
                                       self.output_file.filePath(), name)
        except ValueError as exc:
            if not sip.isdeleted(self):
                self.status.setText(str(exc))
            return
        apply_style(layer, styled_style_name(style, source["geometry"]))
        add_to_project([layer])
        self.output_layer = layer
        if sip.isdeleted(self):
            return
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)
        text = self.tr("Done: {} of {} features in {}").format(len(values), len(self._features),
                                                               self.output_file.filePath())
        if errors:
            text += "\n" + self.tr("{} failed, e.g. {}").format(len(errors), errors[0])
        self.status.setText(text)
