"""The panel's "Polygon…" menu (workflow 4): draw or pick a polygon, choose its forcings, predict it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsGeometry,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QObject
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QActionGroup, QFileDialog, QMenu

from . import settings, worker_requests
from .layers import add_to_project
from .polygon import PolygonDrawTool, PolygonInputs, describe_location, location_request, polygon_inputs
from .tasks import WorkerTask

if TYPE_CHECKING:  # the dock imports this module when it is created
    from .dock import StefaLandDock


class PolygonActions(QObject):
    """Owns the menu, the drawing tool and the layer of drawn polygons; predictions show in the dock."""

    def __init__(self, dock: StefaLandDock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.canvas = dock.canvas
        self.attribute_names: list[str] | None = None  # asked from the worker once
        self.last_inputs: PolygonInputs | None = None
        self.draw_tool = PolygonDrawTool(self.canvas)
        self.draw_tool.polygonDrawn.connect(self.predict_drawn)
        self.draw_tool.hint.connect(dock._set_status)
        self._drawn_layer_id = ""
        self.menu = QMenu(dock)
        self.draw_action = self.menu.addAction(self.tr("Draw a polygon on the map"))
        self.draw_action.triggered.connect(self.start_drawing)
        self.selected_action = self.menu.addAction(self.tr("Use the selected polygon of the active layer"))
        self.selected_action.triggered.connect(self.predict_selected)
        self.menu.addSeparator()
        group = QActionGroup(self.menu)
        self.nearest_action = self.menu.addAction(self.tr("Forcings: nearest CAMELS basin"))
        self.csv_action = self.menu.addAction(self.tr("Forcings: from a CSV file…"))
        for action in (self.nearest_action, self.csv_action):
            action.setCheckable(True)
            group.addAction(action)
        self.nearest_action.triggered.connect(lambda: self.set_forcings_csv(""))
        self.csv_action.triggered.connect(self.choose_forcings_csv)
        self._show_forcings_choice()

    # ------------------------------------------------------------------ forcings choice
    def forcings_csv(self) -> str:
        """The forcings CSV chosen for polygons ("" for the nearest CAMELS basin, or if the file is gone)."""
        path = settings.get(settings.KEY_FORCINGS_CSV)
        return path if path and Path(path).is_file() else ""

    def set_forcings_csv(self, path: str) -> None:
        """Remember ``path`` as the polygons' forcings ("" for the nearest CAMELS basin) and tick the menu."""
        settings.put(settings.KEY_FORCINGS_CSV, path)
        self._show_forcings_choice()

    def _show_forcings_choice(self) -> None:
        path = self.forcings_csv()
        self.csv_action.setChecked(bool(path))
        self.nearest_action.setChecked(not path)
        self.csv_action.setText(self.tr("Forcings: from {}").format(Path(path).name) if path
                                else self.tr("Forcings: from a CSV file…"))

    def choose_forcings_csv(self) -> None:
        """Ask for a forcings CSV file (cancelling goes back to the nearest CAMELS basin)."""
        path, _ = QFileDialog.getOpenFileName(self.dock, self.tr("Daily forcings (date, prcp, srad, tmax, tmin, "
                                                                 "vp, dayl)"), self.forcings_csv(),
                                              self.tr("CSV files (*.csv)"))
        self.set_forcings_csv(path or "")

    # ------------------------------------------------------------------ picking a polygon
    def start_drawing(self) -> None:
        """Switch the canvas to the polygon drawing tool."""
        self.dock.pick_button.setChecked(False)
        self.canvas.setMapTool(self.draw_tool)
        self.dock._set_status(self.tr("Click the vertices of the polygon; right-click to close it."))

    def predict_selected(self) -> WorkerTask | None:
        """Predict the first selected polygon of the active layer (None, with a hint, if there is none)."""
        layer = self.dock.iface.activeLayer()
        polygons = isinstance(layer, QgsVectorLayer) and \
            layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry
        if not polygons or not layer.selectedFeatureCount():
            self.dock._set_status(self.tr("Select a polygon in the active layer first (or draw one)."), error=True)
            return None
        feature = next(layer.getSelectedFeatures())
        return self.predict_feature(layer, feature)

    def predict_feature_of(self, layer_id: str, feature_id: int) -> WorkerTask | None:
        """A polygon the "Click a basin" tool found in a layer without gauge ids."""
        layer = QgsProject.instance().mapLayer(layer_id)
        if not isinstance(layer, QgsVectorLayer):
            return None
        return self.predict_feature(layer, layer.getFeature(feature_id))

    def predict_drawn(self, geometry: QgsGeometry) -> WorkerTask | None:
        """Keep a drawn polygon in the "Drawn polygons" layer and predict it."""
        layer = self.drawn_layer()
        feature = QgsFeature(layer.fields())
        name = self.tr("Polygon {}").format(layer.featureCount() + 1)
        feature.setAttributes([name])
        feature.setGeometry(geometry)
        layer.dataProvider().addFeatures([feature])
        layer.updateExtents()
        layer.triggerRepaint()
        feature = next(layer.getFeatures(f"\"name\" = '{name}'"), feature)
        self.canvas.unsetMapTool(self.draw_tool)
        return self.predict_feature(layer, feature)

    def drawn_layer(self) -> QgsVectorLayer:
        """The memory layer holding the drawn polygons (in the canvas CRS), created when first needed."""
        layer = QgsProject.instance().mapLayer(self._drawn_layer_id)
        if isinstance(layer, QgsVectorLayer):
            return layer
        crs = self.canvas.mapSettings().destinationCrs().authid() or "EPSG:4326"
        layer = QgsVectorLayer(f"Polygon?crs={crs}&field=name:string(60)", self.tr("Drawn polygons"), "memory")
        symbol = layer.renderer().symbol()
        symbol.setColor(QColor(214, 39, 40, 60))
        symbol.symbolLayer(0).setStrokeColor(QColor(214, 39, 40))
        symbol.symbolLayer(0).setStrokeWidth(0.6)
        add_to_project([layer])
        self._drawn_layer_id = layer.id()
        return layer

    # ------------------------------------------------------------------ predicting
    def feature_name(self, layer: QgsVectorLayer, feature: QgsFeature) -> str:
        """The feature's ``name`` field, else ``<layer name> #<feature id>``."""
        for candidate in ("name", "NAME", "Name"):
            index = feature.fields().indexOf(candidate)
            if index >= 0 and feature[index] not in (None, "") and not (
                    hasattr(feature[index], "isNull") and feature[index].isNull()):
                return str(feature[index])
        return f"{layer.name()} #{feature.id()}"

    def predict_feature(self, layer: QgsVectorLayer, feature: QgsFeature) -> WorkerTask:
        """Ask for the attribute names once, then predict the polygon as a location."""
        feature = QgsFeature(feature)  # a copy: the task never touches the layer
        crs = layer.crs()
        name = self.feature_name(layer, feature)
        if self.attribute_names is None:
            request = worker_requests.attribute_names()
            task = WorkerTask(self.tr("Model attribute names"), request.method, request.params,
                              on_done=lambda t: self._names_done(t, feature, crs, name))
            self.dock.hydrograph.show_message(self.tr("Predicting streamflow of {} …").format(name))
            return self.dock.run_task(task, show_errors=False)
        return self._predict(feature, crs, name)

    def _names_done(self, task: WorkerTask, feature: QgsFeature, crs: QgsCoordinateReferenceSystem,
                    name: str) -> None:
        if not task.ok:
            self.dock.hydrograph.show_message(self.tr("No prediction for {}: {}").format(name, task.error))
            self.dock.predictionFailed.emit(task.error or "")
            return
        result = task.result or {}
        self.attribute_names = list(result.get("numeric") or []) + list(result.get("categorical") or [])
        self._predict(feature, crs, name)

    def _predict(self, feature: QgsFeature, crs: QgsCoordinateReferenceSystem, name: str) -> WorkerTask | None:
        try:
            inputs = polygon_inputs(feature, crs, self.attribute_names or [], name)
        except ValueError as exc:
            self.dock.hydrograph.show_message(str(exc))
            return None
        self.last_inputs = inputs
        options = self.dock.request_settings()
        request = location_request(inputs, options["start"], options["end"], options["out_dir"],
                                   options.get("adapter", ""), self.forcings_csv(), name)
        self.dock.last_request = request
        params = request["params"]
        self.dock.hydrograph.show_message(self.tr("Predicting streamflow of {} …").format(name))
        self.dock.set_details([])
        task = WorkerTask(self.tr("Predict streamflow of {}").format(name), request["method"], params,
                          outputs=[params["out_csv"]], on_done=lambda t: self._done(t, inputs))
        return self.dock.run_task(task, show_errors=False)

    def _done(self, task: WorkerTask, inputs: PolygonInputs) -> None:
        def describe(result: dict[str, Any]) -> list[str]:
            return describe_location(result, inputs, self.tr)

        self.dock.show_result(task, inputs.name, inputs.name, describe)

    def shutdown(self) -> None:
        """Plugin unload: release the drawing tool and take its rubber band off the canvas."""
        if self.canvas.mapTool() is self.draw_tool:
            self.canvas.unsetMapTool(self.draw_tool)
        self.draw_tool.release()
        self.draw_tool.deleteLater()
