"""The "Click a basin" map tool: finds the gauge under the cursor and builds a prediction request.

A basin is any feature of a visible polygon or point layer carrying ``gauge_id`` (string, 8 digits)
or ``hru_id`` (integer, as in the official CAMELS outlines: zero-padded to 8 digits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateTransform,
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

from .gauges import gauge_field, normalize_gauge_id

POINT_TOLERANCE_PX = 8


@dataclass(frozen=True)
class BasinHit:
    gauge_id: str
    layer_id: str
    layer_name: str
    feature_id: int


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
    except Exception:  # a point outside the layer CRS's domain  # noqa: S112
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
            best = (distance, BasinHit(gauge, layer.id(), layer.name(), feature.id()))
    return best[1] if best else None


def prediction_request(gauge_id: str, start: str, end: str, out_dir: Path, adapter: str = "") -> dict[str, Any]:
    """The worker request predicting streamflow of one gauge for ``start``..``end`` (ISO dates)."""
    params: dict[str, Any] = {
        "gauge_id": gauge_id,
        "start": start,
        "end": end,
        "out_csv": str(Path(out_dir) / f"streamflow_{gauge_id}_{start}_{end}.csv"),
    }
    if adapter:
        params["adapter"] = adapter
    return {"method": "predict_streamflow", "params": params}


class BasinPickTool(QgsMapToolEmitPoint):
    """Click a basin (or gauge point): emits ``basinPicked`` and ``predictionRequested(request)``.

    ``request_settings()`` returns the current ``start``, ``end``, ``out_dir`` and ``adapter``.
    """

    basinPicked = pyqtSignal(str, str)  # gauge_id, layer name
    predictionRequested = pyqtSignal(dict)
    nothingFound = pyqtSignal(str)

    def __init__(self, canvas: QgsMapCanvas, request_settings: Callable[[], dict[str, Any]]) -> None:
        super().__init__(canvas)
        self._request_settings = request_settings
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.toMapCoordinates(event.pos())
        hit = find_basin(self.canvas(), point)
        if hit is None:
            self.nothingFound.emit(self.tr("No basin here: click a polygon or point of a layer with a "
                                           "gauge_id or hru_id field (try “Load CAMELS demo”)."))
            return
        layer = QgsProject.instance().mapLayer(hit.layer_id)
        if isinstance(layer, QgsVectorLayer):
            layer.selectByIds([hit.feature_id])  # show which basin was picked
        self.basinPicked.emit(hit.gauge_id, hit.layer_name)
        settings = self._request_settings()
        self.predictionRequested.emit(prediction_request(hit.gauge_id, settings["start"], settings["end"],
                                                         settings["out_dir"], settings.get("adapter", "")))
