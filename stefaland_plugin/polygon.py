"""Workflow 4, any polygon: its centroid, the fields that name model attributes, and a drawing tool.

A polygon without a gauge id (drawn, or a feature of any polygon layer) is predicted as a *location*: the
backend's ``predict_location`` takes the centroid in WGS84, the attributes read from fields whose names are
model attribute names (the worker's ``attribute_names`` says which), the polygon's area as ``area_km2``
when no field gives it, and forcings from a CSV the user chose or else the nearest CAMELS basin. Every
other attribute is imputed by the model; the answer says which, and the panel shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDistanceArea,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsUnitTypes,
    QgsWkbTypes,
)
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QKeyEvent

from . import worker_requests

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
AREA_KEY = "area_km2"  #: the backend's name for the drainage area given in km² (model attribute area_gages2)
AREA_ATTRIBUTE = "area_gages2"
SHAPEFILE_NAME_LENGTH = 10  #: DBF field names are cut to 10 characters ("frac_forest" -> "frac_fores")


def match_fields(field_names: list[str], known: list[str]) -> dict[str, str]:
    """Model attribute name -> field name, for fields that name a model attribute.

    Case-insensitive; a 10-character field name (a shapefile's cut name) also matches the one attribute it
    is the start of. ``area_km2`` is accepted as the drainage area.
    """
    by_lower = {name.lower(): name for name in known}
    out: dict[str, str] = {}
    for field_name in field_names:
        lower = field_name.lower()
        if lower == AREA_KEY:
            out.setdefault(AREA_KEY, field_name)
            continue
        if lower in by_lower:
            out[by_lower[lower]] = field_name
            continue
        if len(lower) == SHAPEFILE_NAME_LENGTH:
            starts = [name for low, name in by_lower.items() if low.startswith(lower)]
            if len(starts) == 1 and starts[0] not in out:
                out[starts[0]] = field_name
    return out


def _value(value: Any) -> Any:
    """A field value as a plain number or text; None for NULL or empty."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value == value else None
    text = str(value).strip()
    return text or None


@dataclass
class PolygonInputs:
    """What the panel sends for one polygon, and where each attribute came from."""

    name: str
    lat: float
    lon: float
    attributes: dict[str, Any]
    from_fields: dict[str, str]  #: model attribute -> field name
    from_geometry: list[str] = field(default_factory=list)
    area_km2: float | None = None

    def centroid_text(self) -> str:
        """The centroid as text, e.g. ``40.123° N, 105.456° W``."""
        north, east = "N" if self.lat >= 0 else "S", "E" if self.lon >= 0 else "W"
        return f"{abs(self.lat):.3f}° {north}, {abs(self.lon):.3f}° {east}"


def centroid_wgs84(geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem) -> tuple[float, float]:
    """(lat, lon) of the polygon's centroid in WGS84."""
    centroid = geometry.centroid()
    if centroid.isEmpty():
        raise ValueError("the polygon has no centroid (empty geometry)")
    transform = QgsCoordinateTransform(crs, WGS84, QgsProject.instance())
    point = transform.transform(centroid.asPoint())
    return point.y(), point.x()


def area_km2(geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem) -> float:
    """The polygon's ellipsoidal area in km²."""
    measure = QgsDistanceArea()
    measure.setSourceCrs(crs, QgsProject.instance().transformContext())
    measure.setEllipsoid(crs.ellipsoidAcronym() or "EPSG:7030")
    area = measure.measureArea(geometry)
    return measure.convertAreaMeasurement(area, QgsUnitTypes.AreaUnit.AreaSquareKilometers)


def polygon_inputs(feature: QgsFeature, crs: QgsCoordinateReferenceSystem, known: list[str],
                   name: str) -> PolygonInputs:
    """Centroid, matched field values and area of one polygon feature (main thread: reads the feature)."""
    geometry = feature.geometry()
    if geometry is None or geometry.isEmpty():
        raise ValueError(f"{name}: the feature has no geometry")
    if geometry.type() != QgsWkbTypes.GeometryType.PolygonGeometry:
        raise ValueError(f"{name}: not a polygon")
    lat, lon = centroid_wgs84(geometry, crs)
    names = [f.name() for f in feature.fields()] if feature.fields() is not None else []
    matches = match_fields(names, known)
    attributes: dict[str, Any] = {}
    from_fields: dict[str, str] = {}
    for attribute, field_name in matches.items():
        value = _value(feature[field_name])
        if value is not None:
            attributes[attribute] = value
            from_fields[attribute] = field_name
    inputs = PolygonInputs(name, lat, lon, attributes, from_fields)
    inputs.area_km2 = area_km2(geometry, crs)
    if AREA_KEY not in attributes and AREA_ATTRIBUTE not in attributes and inputs.area_km2 > 0:
        attributes[AREA_KEY] = round(inputs.area_km2, 3)
        inputs.from_geometry.append(AREA_ATTRIBUTE)
    return inputs


def location_request(inputs: PolygonInputs, start: str, end: str, out_dir: Path, adapter: str = "",
                     forcings_csv: str = "", request_id: str = "polygon") -> dict[str, Any]:
    """The worker request ``predict_location`` for one polygon."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in request_id)[:60] or "polygon"
    built = worker_requests.predict_location(inputs.lat, inputs.lon, start, end,
                                             str(Path(out_dir) / f"streamflow_{safe}_{start}_{end}.csv"),
                                             attributes=inputs.attributes, forcings_csv=forcings_csv,
                                             location_id=inputs.name, adapter=adapter)
    return {"method": built.method, "params": built.params}


class PolygonDrawTool(QgsMapTool):
    """Draw a polygon: left click adds a vertex, right click (or Enter) closes it, Esc/Backspace undo.

    Emits ``polygonDrawn(geometry)`` in the canvas CRS once it has at least three vertices.
    """

    polygonDrawn = pyqtSignal(QgsGeometry)
    hint = pyqtSignal(str)

    def __init__(self, canvas: QgsMapCanvas) -> None:
        super().__init__(canvas)
        self._points: list[QgsPointXY] = []
        self._band = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
        self._band.setColor(QColor(214, 39, 40, 200))
        self._band.setFillColor(QColor(214, 39, 40, 50))
        self._band.setWidth(2)
        self.setCursor(Qt.CursorShape.CrossCursor)

    @property
    def points(self) -> list[QgsPointXY]:
        """The vertices clicked so far (canvas CRS)."""
        return list(self._points)

    def _redraw(self, moving: QgsPointXY | None = None) -> None:
        self._band.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
        for point in self._points + ([moving] if moving is not None else []):
            self._band.addPoint(point, False)
        self._band.show()
        self._band.updatePosition()
        self._band.update()

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        """Draw the polygon so far with the cursor as its next vertex."""
        if self._points:
            self._redraw(self.toMapCoordinates(event.pos()))

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        """Left click: add a vertex; right click: close the polygon."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._points.append(self.toMapCoordinates(event.pos()))
            self._redraw()
            if len(self._points) == 1:
                self.hint.emit(self.tr("Click the next vertices; right-click to close the polygon."))
        elif event.button() == Qt.MouseButton.RightButton:
            self.finish()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc: start over; Backspace: drop the last vertex; Enter: close the polygon."""
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
        elif event.key() == Qt.Key.Key_Backspace and self._points:
            self._points.pop()
            self._redraw()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()

    def finish(self) -> QgsGeometry | None:
        """Close the polygon (needs three vertices) and emit it; returns it."""
        if len(self._points) < 3:
            self.hint.emit(self.tr("A polygon needs at least three vertices."))
            return None
        geometry = QgsGeometry.fromPolygonXY([self._points + [self._points[0]]])
        self.clear()
        if not geometry.isGeosValid():
            geometry = geometry.makeValid()
        self.polygonDrawn.emit(geometry)
        return geometry

    def clear(self) -> None:
        """Forget the vertices and empty the rubber band."""
        self._points = []
        self._band.reset(QgsWkbTypes.GeometryType.PolygonGeometry)

    def deactivate(self) -> None:
        """Another tool took over: drop the polygon being drawn."""
        self.clear()
        super().deactivate()

    def release(self) -> None:
        """Remove the rubber band from the canvas (the tool is being deleted)."""
        self.clear()
        scene = self._band.scene()
        if scene is not None:
            scene.removeItem(self._band)


def describe_location(result: dict[str, Any], inputs: PolygonInputs, tr: Callable[[str], str]) -> list[str]:
    """Lines for the panel: the polygon, its forcings, and where every attribute came from."""
    lines = [tr("“{}”: centroid {} (WGS84), area {:.1f} km²").format(inputs.name, inputs.centroid_text(),
                                                                        inputs.area_km2 or 0.0)]
    nearest = result.get("nearest_basin")
    if nearest:
        lines.append(tr("Forcings: Daymet of the nearest CAMELS basin {} ({} km from the centroid)").format(
            nearest.get("gauge_id"), nearest.get("distance_km")))
    elif result.get("forcing_source"):
        lines.append(tr("Forcings: {}").format(result["forcing_source"]))
    fields = [f"{name} ← {inputs.from_fields[name]}" for name in sorted(inputs.from_fields)]
    lines.append(tr("From fields ({}): {}").format(len(fields), ", ".join(fields)) if fields
                 else tr("From fields: none (no field is named like a model attribute)"))
    if inputs.from_geometry:
        lines.append(tr("From the geometry: {} (the polygon's area)").format(", ".join(inputs.from_geometry)))
    imputed = list(result.get("imputed") or [])
    lines.append(tr("Imputed by the model ({}): {}").format(len(imputed), ", ".join(imputed)) if imputed
                 else tr("Imputed by the model: none"))
    ignored = list(result.get("ignored") or [])
    if ignored:
        lines.append(tr("Ignored: {}").format(", ".join(ignored)))
    return lines
