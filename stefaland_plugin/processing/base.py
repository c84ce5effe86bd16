"""Shared pieces of the StefaLand Processing algorithms: calling the worker, points, styling outputs.

Processing already runs algorithms off the main thread, so they call the worker synchronously,
forward its progress to ``feedback`` and stop (killing the worker) when ``feedback.isCanceled()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureSource,
    QgsMapLayer,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..settings import icon_path
from ..tasks import FATAL_ERRORS, remove_outputs
from ..worker_client import WorkerCancelled, WorkerError, shared_client
from ..worker_requests import Request

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


def tr(text: str) -> str:
    """Translate ``text`` in the StefaLand context."""
    return QCoreApplication.translate("StefaLand", text)


class RequestFailed(Exception):
    """One per-item request failed (bad input for that feature or gauge); others may still succeed.

    Only raised by ``call(..., per_item=True)``; never leaves an algorithm (it is not a
    QgsProcessingException: Processing shows only those cleanly).
    """

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type




class WorkerAlgorithm(QgsProcessingAlgorithm):
    """Base class: names, icon, and :meth:`call` to run one worker request."""

    NAME = ""
    DISPLAY = ""
    GROUP = ""
    HELP = ""

    def tr(self, text: str) -> str:
        """Translate ``text`` in the StefaLand context."""
        return tr(text)

    def createInstance(self) -> WorkerAlgorithm:
        """A new instance of the same algorithm class (Processing runs copies)."""
        return type(self)()

    def name(self) -> str:
        """The algorithm's id in the provider."""
        return self.NAME

    def displayName(self) -> str:
        """The name shown in the Processing toolbox (translated)."""
        return self.tr(self.DISPLAY)

    def group(self) -> str:
        """The toolbox group the algorithm is listed under (translated)."""
        return self.tr(self.GROUP)

    def groupId(self) -> str:
        """The group's id: its name in lower case, spaces as underscores."""
        return self.GROUP.lower().replace(" ", "_")

    def shortHelpString(self) -> str:
        """The help text shown next to the algorithm's dialog (translated)."""
        return self.tr(self.HELP)

    def icon(self) -> QIcon:
        """The StefaLand icon."""
        return QIcon(icon_path())

    def call(self, request: Request, feedback: QgsProcessingFeedback | None,
             outputs: Iterable[str | Path] = (), span: tuple[float, float] = (0.0, 1.0),
             per_item: bool = False) -> dict[str, Any]:
        """Run a worker request (built in :mod:`..worker_requests`); progress maps onto ``span`` of the bar.

        Raises:
            QgsProcessingException: cancelled, the request was refused as malformed,
                the worker or model could not run, or (unless ``per_item``) the backend refused.
            RequestFailed: with ``per_item``, the backend refused this one request (the caller
                reports it and goes on with the next item).
        On cancel the ``outputs`` files are removed (on an error only their ``.partial`` leftovers).
        """
        feedback = feedback or QgsProcessingFeedback()
        low, high = span

        def report(fraction: float, message: str) -> None:
            feedback.setProgress(100.0 * (low + (high - low) * fraction))
            if message:
                feedback.setProgressText(message)

        try:
            return shared_client().request(request.method, request.params, progress=report,
                                           is_cancelled=feedback.isCanceled)
        except WorkerCancelled:
            remove_outputs(Path(p) for p in outputs)
            raise QgsProcessingException(self.tr("Cancelled.")) from None
        except WorkerError as exc:
            remove_outputs((Path(p) for p in outputs), partial_only=True)
            if per_item and exc.error_type not in FATAL_ERRORS:
                raise RequestFailed(str(exc), exc.error_type) from None
            raise QgsProcessingException(str(exc)) from None


def to_wgs84(source: QgsFeatureSource, context: QgsProcessingContext) -> QgsCoordinateTransform:
    """The transform from the source's CRS to WGS84."""
    return QgsCoordinateTransform(source.sourceCrs(), WGS84, context.transformContext())


def is_id_field(name: str) -> bool:
    """True for id-like field names (``id``, ``fid``, ``objectid``, ``*_id``), which are not attributes."""
    lowered = name.lower()
    return lowered in ("id", "fid", "objectid") or lowered.endswith("_id")


def known_attributes(feature: QgsFeature) -> dict[str, float | str]:
    """Non-empty attribute values of a feature: numbers as floats, text as text (id-like fields left out).

    The backend uses the names it knows (e.g. CAMELS attribute names) and ignores the others.
    """
    out: dict[str, float | str] = {}
    for field in feature.fields():
        name = field.name()
        value = feature[name]
        if is_id_field(name) or value is None or (hasattr(value, "isNull") and value.isNull()):
            continue
        if field.isNumeric():
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                continue
        elif isinstance(value, str) and value.strip():
            out[name] = value.strip()
    return out


def feature_location(feature: QgsFeature, transform: QgsCoordinateTransform) -> tuple[float, float] | None:
    """(lat, lon) of a point, or of a point on the surface of a polygon, in WGS84; None without geometry."""
    geometry = feature.geometry()
    if geometry is None or geometry.isEmpty():
        return None
    point = geometry.pointOnSurface()
    point.transform(transform)
    xy = point.asPoint()
    return xy.y(), xy.x()


def point_records(source: QgsFeatureSource, context: QgsProcessingContext,
                  feedback: QgsProcessingFeedback) -> tuple[list[dict[str, Any]], dict[str, QgsFeature]]:
    """``[{id, lat, lon, attributes}]`` for every feature with a geometry, and the features by id."""
    transform = to_wgs84(source, context)
    records, features = [], {}
    for feature in source.getFeatures():
        if feedback.isCanceled():
            break
        location = feature_location(feature, transform)
        if location is None:
            feedback.pushInfo(tr("Feature {} has no geometry: skipped").format(feature.id()))
            continue
        key = str(feature.id())
        records.append({"id": key, "lat": location[0], "lon": location[1],
                        "attributes": known_attributes(feature)})
        features[key] = feature
    return records, features


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies a StefaLand QML style to an output layer once Processing loaded it."""

    _alive: list[StylePostProcessor] = []  # Processing keeps a C++ pointer only

    def __init__(self, style: str, breaks: list[float] | None = None) -> None:
        super().__init__()
        self.style = style
        self.breaks = breaks

    @classmethod
    def create(cls, style: str, breaks: list[float] | None = None) -> StylePostProcessor:
        """A post-processor kept alive for Processing (the last 20 are referenced here)."""
        processor = cls(style, breaks)
        cls._alive.append(processor)
        del cls._alive[:-20]
        return processor

    def postProcessLayer(self, layer: QgsMapLayer, context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> None:
        """Style the loaded ``layer`` (and label its hazard classes when there are breaks)."""
        from ..layers import apply_style, label_classes, susceptibility_style

        style = susceptibility_style(layer) if self.style == "susceptibility" else self.style
        apply_style(layer, style)
        if self.breaks:
            label_classes(layer, self.breaks)


def load_on_completion(context: QgsProcessingContext, source: str, name: str, output: str,
                       style: str | None = None, breaks: list[float] | None = None) -> None:
    """Ask Processing to add ``source`` to the project when the algorithm finishes (styled)."""
    if context.project() is None:
        return
    details = QgsProcessingContext.LayerDetails(name, context.project(), output)
    if style:
        details.setPostProcessor(StylePostProcessor.create(style, breaks))
    context.addLayerToLoadOnCompletion(source, details)


def set_style_on_completion(context: QgsProcessingContext, dest_id: str, style: str,
                            breaks: list[float] | None = None) -> None:
    """Style an output that Processing will load anyway."""
    if dest_id and context.willLoadLayerOnCompletion(dest_id):
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(StylePostProcessor.create(style, breaks))
