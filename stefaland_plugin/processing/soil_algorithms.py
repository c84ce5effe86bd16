"""Processing: Soil composition, Soil moisture at points, Fill in missing attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingFeedback,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingUtils,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate

from .. import worker_requests
from ..layers import new_field, write_csvt
from .base import (
    RequestFailed,
    WorkerAlgorithm,
    feature_location,
    known_attributes,
    load_on_completion,
    point_records,
    set_style_on_completion,
    to_wgs84,
)

COMPONENTS = ("sand", "silt", "clay")


def component_percent(row: dict[str, Any], component: str) -> float | None:
    """Percentage of ``component`` in a backend row (``clay_pct``, ``clay_percent``, ``clay_frac``, ``clay``)."""
    for key in (f"{component}_pct", f"{component}_percent", f"{component}_frac", component):
        value = row.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None


def _input_source(alg: WorkerAlgorithm, parameters: dict[str, Any],
                  context: QgsProcessingContext) -> QgsProcessingFeatureSource:
    """The ``INPUT`` feature source of ``alg``; raises the Processing error if it is not valid."""
    source = alg.parameterAsSource(parameters, alg.INPUT, context)
    if source is None:
        raise QgsProcessingException(alg.invalidSourceError(parameters, alg.INPUT))
    return source


class SoilCompositionAlgorithm(WorkerAlgorithm):
    """Sand, silt and clay (%) for each point or polygon, as a copy of the input with new fields."""

    NAME = "soil_composition"
    DISPLAY = "Soil composition"
    GROUP = "Soil"
    HELP = ("Predicts sand, silt and clay (%) for each point or polygon (at a point on its surface). Numeric "
            "attributes of the features are passed to the model as known inputs; missing ones are imputed.")
    INPUT, OUTPUT = "INPUT", "OUTPUT"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Points or polygons"),
            [QgsProcessing.SourceType.TypeVectorPoint, QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Soil composition")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        source = _input_source(self, parameters, context)
        points, features = point_records(source, context, feedback)
        if not points:
            raise QgsProcessingException(self.tr("No feature with a geometry."))
        result = self.call(worker_requests.soil_composition(points), feedback, span=(0.0, 0.9))
        rows = {str(row.get("id")): row for row in result.get("rows", [])}
        extra: dict[str, str] = {}  # further values the backend gives per point (e.g. forcing_basin_km)
        for row in rows.values():
            for key, value in row.items():
                if key in ("id", "lat", "lon") or any(key.startswith(c) for c in COMPONENTS) or key in extra:
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    extra[key] = "double"
                elif isinstance(value, str):
                    extra[key] = "string"
        new = QgsFields()
        for name in [f"{c}_pct" for c in COMPONENTS]:
            new.append(new_field(name, "double"))
        for name, kind in extra.items():
            new.append(new_field(name, kind))
        fields = _combine(source.fields(), new)
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for key, feature in features.items():
            row = rows.get(key)
            if row is None:
                feedback.pushWarning(self.tr("Feature {}: no prediction").format(key))
                continue
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            values = [component_percent(row, c) for c in COMPONENTS] + [row.get(k) for k in extra]
            out.setAttributes(list(feature.attributes()) + values)
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
        polygons = QgsWkbTypes.geometryType(source.wkbType()) == QgsWkbTypes.GeometryType.PolygonGeometry
        set_style_on_completion(context, dest_id, "soil_composition_polygon" if polygons else "soil_composition")
        return {self.OUTPUT: dest_id}


class SoilMoistureAlgorithm(WorkerAlgorithm):
    """Daily soil moisture at each point over a period, as a CSV table."""

    NAME = "soil_moisture"
    DISPLAY = "Soil moisture at points"
    GROUP = "Soil"
    HELP = ("Predicts daily volumetric soil moisture (m³/m³) at each point over the period and writes a CSV "
            "table (point id, date, soil moisture).")
    INPUT, START, END, OUTPUT_CSV = "INPUT", "START", "END", "OUTPUT_CSV"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Points"), [QgsProcessing.SourceType.TypeVectorPoint]))
        date_type = QgsProcessingParameterDateTime.Type.Date
        self.addParameter(QgsProcessingParameterDateTime(self.START, self.tr("Start"), date_type, QDate(2010, 1, 1)))
        self.addParameter(QgsProcessingParameterDateTime(self.END, self.tr("End"), date_type, QDate(2010, 12, 31)))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_CSV, self.tr("Soil moisture table"), self.tr("CSV files (*.csv)")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        source = _input_source(self, parameters, context)
        points, _ = point_records(source, context, feedback)
        if not points:
            raise QgsProcessingException(self.tr("No point with a geometry."))
        start = self.parameterAsDateTime(parameters, self.START, context).date().toString("yyyy-MM-dd")
        end = self.parameterAsDateTime(parameters, self.END, context).date().toString("yyyy-MM-dd")
        out_csv = self.parameterAsFileOutput(parameters, self.OUTPUT_CSV, context)
        result = self.call(worker_requests.soil_moisture(points, start, end, out_csv),
                           feedback, outputs=[out_csv])
        out_csv = str(result.get("csv") or out_csv)
        if Path(out_csv).is_file():
            write_csvt(out_csv)
            load_on_completion(context, out_csv, self.tr("Soil moisture"), self.OUTPUT_CSV)
        return {self.OUTPUT_CSV: out_csv}


class FillAttributesAlgorithm(WorkerAlgorithm):
    """The features' static attributes completed by the model (empty fields filled, new ones added)."""

    NAME = "fill_missing_attributes"
    DISPLAY = "Fill in missing attributes"
    GROUP = "Data"
    HELP = ("Completes the static attributes of each feature with the foundation model: numeric fields are "
            "passed as known values, every other attribute the model uses is imputed from location and the "
            "known ones. Empty fields of the input are filled; new attributes become new fields; the field "
            "'imputed' lists what was imputed.")
    INPUT, OUTPUT = "INPUT", "OUTPUT"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Points or polygons"),
            [QgsProcessing.SourceType.TypeVectorPoint, QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Completed attributes")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        source = _input_source(self, parameters, context)
        transform = to_wgs84(source, context)
        total = max(1, source.featureCount())
        answers: list[tuple[QgsFeature, dict[str, Any]]] = []
        errors: list[str] = []
        for i, feature in enumerate(source.getFeatures()):
            if feedback.isCanceled():
                raise QgsProcessingException(self.tr("Cancelled."))
            location = feature_location(feature, transform)
            if location is None:
                continue
            request = worker_requests.impute_attributes(location[0], location[1], known_attributes(feature))
            try:
                answer = self.call(request, feedback, span=(i / total, (i + 1) / total), per_item=True)
            except RequestFailed as exc:
                errors.append(self.tr("Feature {}: {}").format(feature.id(), exc))
                feedback.reportError(errors[-1])
                continue
            answers.append((feature, answer))
        if not answers:
            raise QgsProcessingException(self.tr("No feature could be completed. {}").format(
                errors[0] if errors else ""))
        existing = {f.name() for f in source.fields()}
        added: dict[str, str] = {}
        for _, answer in answers:
            for key, value in (answer.get("attributes") or {}).items():
                if key not in existing and key not in added:
                    numeric = isinstance(value, int | float) and not isinstance(value, bool)
                    added[key] = "double" if numeric else "string"
        new = QgsFields()
        for name, kind in added.items():
            new.append(new_field(name, kind))
        new.append(new_field("imputed", "string"))
        fields = _combine(source.fields(), new)
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for feature, answer in answers:
            attributes = answer.get("attributes") or {}
            values = list(feature.attributes())
            for index, field in enumerate(source.fields()):
                current = values[index]
                empty = current is None or (hasattr(current, "isNull") and current.isNull())
                if empty and field.name() in attributes:
                    values[index] = attributes[field.name()]
            values += [attributes.get(name) for name in added]
            values.append(", ".join(map(str, answer.get("imputed") or [])))
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            out.setAttributes(values)
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
        return {self.OUTPUT: dest_id}


def _combine(base: QgsFields, new: QgsFields) -> QgsFields:
    """The fields of ``base`` followed by those of ``new``."""
    return QgsProcessingUtils.combineFields(base, new)
