"""The "Click a basin" map tool: finds the gauge under the cursor and builds a prediction request.

A basin is any feature of a visible polygon or point layer carrying ``gauge_id`` (string, 8 digits)
or ``hru_id`` (integer, as in the official CAMELS outlines: zero-padded to 8 digits). A click on a
polygon of a layer without such a field picks that polygon as a location (workflow 4,
:mod:`stefaland_plugin.polygon`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateTransform,
    QgsCsException,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapToolEmitPoint
from qgis.PyQt.QtCore import Qt, pyqtSignal

from . import worker_requests
from .gauges import gauge_field, normalize_gauge_id

POINT_TOLERANCE_PX = 8


NAME_FIELDS = ("gauge_name", "name", "usgsname", "station_name")


@dataclass(frozen=True)
class BasinHit:
    """The gauge a click found: its id, the layer and feature it was read from, and its name."""

    gauge_id: str
    layer_id: str
    layer_name: str
    feature_id: int
    label: str = ""  #: the gauge's name, from a name field of the feature (if any)


def feature_label(feature: QgsFeature) -> str:
    """The first non-empty name field of a feature ("" if none)."""
    names = {field.name().lower(): field.name() for field in feature.fields()}
    for wanted in NAME_FIELDS:
        if wanted in names:
            value = feature[names[wanted]]
            if value is not None and not (hasattr(value, "isNull") and value.isNull()) and str(value).strip():
                return str(value).strip()
    return ""


def find_basin(canvas: QgsMapCanvas, point: QgsPointXY, tolerance_px: int = POINT_TOLERANCE_PX
               ) -> BasinHit | None:
    """The gauge at ``point`` (canvas CRS): a point within the tolerance first, else a containing polygon."""
    layers = [layer for layer in canvas.layers()
              if isinstance(layer, QgsVectorLayer) and layer.isValid() and gauge_field(layer)]
    tolerance = canvas.mapUnitsPerPixel() * tolerance_px
    dest_crs = canvas.mapSettings().destinationCrs()
    for wanted in (QgsWkbTypes.GeometryType.PointGeometry, QgsWkbTypes.GeometryType.PolygonGeometry):
        for layer in layers:
            if layer.geometryType() != wanted:
                continue
            to_layer = QgsCoordinateTransform(dest_crs, layer.crs(), QgsProject.instance())
            hit = _hit_in_layer(layer, point, tolerance, to_layer, wanted)
            if hit is not None:
                return hit
    return None


def _hit_in_layer(layer: QgsVectorLayer, point: QgsPointXY, tolerance: float,
                  to_layer: QgsCoordinateTransform, kind: QgsWkbTypes.GeometryType) -> BasinHit | None:
    field = gauge_field(layer)
    box = QgsRectangle(point.x() - tolerance, point.y() - tolerance, point.x() + tolerance, point.y() + tolerance)
    try:
        box_layer = to_layer.transformBoundingBox(box)
        point_layer = to_layer.transform(point)
    except Exception:  # a point outside the layer CRS's domain
        return None
    if kind == QgsWkbTypes.GeometryType.PolygonGeometry:
        box_layer = QgsRectangle(point_layer.x(), point_layer.y(), point_layer.x(), point_layer.y())
    request = QgsFeatureRequest().setFilterRect(box_layer)
    click = QgsGeometry.fromPointXY(point_layer)
    best: tuple[float, Any] | None = None
    for feature in layer.getFeatures(request):
        geometry = feature.geometry()
        if geometry is None or geometry.isEmpty():
            continue
        if kind == QgsWkbTypes.GeometryType.PolygonGeometry:
            if not geometry.contains(click):
                continue
            distance = geometry.area()  # the smallest containing basin wins (nested basins)
        else:
            distance = geometry.distance(click)
            if not box_layer.contains(geometry.boundingBox()):
                continue
        gauge = normalize_gauge_id(feature[field])
        if gauge is not None and (best is None or distance < best[0]):
            best = (distance, BasinHit(gauge, layer.id(), layer.name(), feature.id(), feature_label(feature)))
    return best[1] if best else None


def find_polygon(canvas: QgsMapCanvas, point: QgsPointXY) -> tuple[str, int] | None:
    """(layer id, feature id) of the smallest polygon under ``point`` in a visible layer without gauge ids."""
    dest_crs = canvas.mapSettings().destinationCrs()
    best: tuple[float, str, int] | None = None
    for layer in canvas.layers():
        if (not isinstance(layer, QgsVectorLayer) or not layer.isValid() or gauge_field(layer)
                or layer.geometryType() != QgsWkbTypes.GeometryType.PolygonGeometry):
            continue
        try:
            local = QgsCoordinateTransform(dest_crs, layer.crs(), QgsProject.instance()).transform(point)
        except QgsCsException:  # a point outside the layer CRS's domain
            continue
        click = QgsGeometry.fromPointXY(local)
        request = QgsFeatureRequest().setFilterRect(QgsRectangle(local.x(), local.y(), local.x(), local.y()))
        for feature in layer.getFeatures(request):
            geometry = feature.geometry()
            if geometry is not None and not geometry.isEmpty() and geometry.contains(click):
                if best is None or geometry.area() < best[0]:
                    best = (geometry.area(), layer.id(), feature.id())
    return (best[1], best[2]) if best else None


def prediction_request(gauge_id: str, start: str, end: str, out_dir: Path, adapter: str = "",
                       label: str = "") -> dict[str, Any]:
    """The worker request predicting streamflow of one gauge for ``start``..``end`` (ISO dates).

    ``label`` (the gauge's name, for the plot title) travels next to the params, not to the worker.
    """
    built = worker_requests.predict_streamflow(gauge_id, start, end,
                                               str(Path(out_dir) / f"streamflow_{gauge_id}_{start}_{end}.csv"),
                                               adapter=adapter)
    request: dict[str, Any] = {"method": built.method, "params": built.params}
    if label:
        request["label"] = label
    return request


class BasinPickTool(QgsMapToolEmitPoint):
    """Click a basin (or gauge point): emits ``basinPicked`` and ``predictionRequested(request)``.

    A polygon without a gauge id emits ``polygonPicked(layer id, feature id)`` instead.
    ``request_settings()`` returns the current ``start``, ``end``, ``out_dir`` and ``adapter``.
    """

    basinPicked = pyqtSignal(str, str)  # gauge_id, layer name
    predictionRequested = pyqtSignal(dict)
    polygonPicked = pyqtSignal(str, int)  # layer id, feature id
    nothingFound = pyqtSignal(str)

    def __init__(self, canvas: QgsMapCanvas, request_settings: Callable[[], dict[str, Any]]) -> None:
        super().__init__(canvas)
        self._request_settings = request_settings
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        """Left click: request a prediction for the basin there; else pick the polygon there, or say none is."""
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.toMapCoordinates(event.pos())
        hit = find_basin(self.canvas(), point)
        if hit is None:
            polygon = find_polygon(self.canvas(), point)
            if polygon is not None:
                layer = QgsProject.instance().mapLayer(polygon[0])
                if isinstance(layer, QgsVectorLayer):
                    layer.selectByIds([polygon[1]])
                self.polygonPicked.emit(*polygon)
                return
            self.nothingFound.emit(self.tr("No basin here: click a polygon or point of a layer with a "
                                           "gauge_id or hru_id field, or any polygon (try “Load CAMELS "
                                           "demo”)."))
            return
        layer = QgsProject.instance().mapLayer(hit.layer_id)
        if isinstance(layer, QgsVectorLayer):
            layer.selectByIds([hit.feature_id])  # show which basin was picked
        self.basinPicked.emit(hit.gauge_id, hit.layer_name)
        settings = self._request_settings()
        self.predictionRequested.emit(prediction_request(hit.gauge_id, settings["start"], settings["end"],
                                                         settings["out_dir"], settings.get("adapter", ""),
                                                         hit.label))
