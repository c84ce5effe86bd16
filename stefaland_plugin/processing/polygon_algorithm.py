"""Processing: Predict streamflow for any polygons (no gauge id needed), the batch form of workflow 4."""

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
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingUtils,
)

from .. import worker_requests
from ..layers import new_field
from ..polygon import PolygonInputs, location_request, polygon_inputs
from .base import WorkerAlgorithm, load_on_completion
from .streamflow_algorithms import NamedRequest, add_period_and_adapter, period_and_adapter, run_predictions

LOCATION_FIELDS = (("location", "string"), ("lat", "double"), ("lon", "double"), ("area_km2", "double"),
                   ("n_days", "int"), ("mean_flow", "double"), ("from_fields", "string"), ("imputed", "string"),
                   ("forcing", "string"), ("members", "int"))


def unique_names(names: list[str]) -> list[str]:
    """The names, with ``#2``, ``#3``… added to repeats so every location keys its own rows."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


class PredictPolygonStreamflowAlgorithm(WorkerAlgorithm):
    """Streamflow of every polygon of a layer, each predicted as a location (no gauge id needed)."""

    NAME = "predict_polygon_streamflow"
    DISPLAY = "Predict streamflow for any polygons"
    GROUP = "Streamflow"
    HELP = ("Predicts daily streamflow (mm/day) for every polygon of the input layer, gauged or not. Each "
            "polygon is a location: its centroid, its area (from the geometry unless a field gives area_km2 "
            "or area_gages2), and any field named like a model attribute (e.g. elev_mean, frac_forest, "
            "p_mean); the model imputes every other attribute, and the output says which. Forcings come from "
            "the CSV you give (date,prcp,srad,tmax,tmin,vp,dayl, Daymet units) or else from the nearest CAMELS "
            "basin. Writes one CSV table (location, date, predicted streamflow, the members' spread) and a copy of "
            "the polygons with what went into each prediction and the number of members (sf_members).")
    INPUT, NAME_FIELD, START, END = "INPUT", "NAME_FIELD", "START", "END"
    FORCINGS, ADAPTER, OUTPUT_CSV, OUTPUT, N_LOCATIONS = "FORCINGS", "ADAPTER", "OUTPUT_CSV", "OUTPUT", "N_LOCATIONS"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Polygons"), [QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.NAME_FIELD, self.tr("Name field (default: the feature id)"), None, self.INPUT, optional=True))
        add_period_and_adapter(self)
        self.addParameter(QgsProcessingParameterFile(
            self.FORCINGS, self.tr("Forcings CSV for every polygon (empty: nearest CAMELS basin)"),
            QgsProcessingParameterFile.Behavior.File, "csv", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_CSV, self.tr("Streamflow table"), self.tr("CSV files (*.csv)")))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Polygons with predictions")))
        self.addOutput(QgsProcessingOutputString(self.N_LOCATIONS, self.tr("Polygons predicted")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        name_field = self.parameterAsString(parameters, self.NAME_FIELD, context)
        start_iso, end_iso, adapter = period_and_adapter(self, parameters, context)
        forcings = self.parameterAsFile(parameters, self.FORCINGS, context)
        out_csv = Path(self.parameterAsFileOutput(parameters, self.OUTPUT_CSV, context))

        features = [QgsFeature(f) for f in source.getFeatures()]
        if not features:
            raise QgsProcessingException(self.tr("The layer has no polygons."))
        names = unique_names([str(f[name_field]) if name_field and f[name_field] not in (None, "")
                              else f"feature {f.id()}" for f in features])
        known = self.call(worker_requests.attribute_names(), feedback, span=(0.0, 0.0))
        attribute_names = list(known.get("numeric") or []) + list(known.get("categorical") or [])

        inputs_by_name: dict[str, PolygonInputs] = {}

        def build(work: Path) -> tuple[list[NamedRequest], list[str]]:
            requests, errors = [], []
            for i, (feature, name) in enumerate(zip(features, names, strict=True)):
                try:
                    inputs = polygon_inputs(feature, source.sourceCrs(), attribute_names, name)
                except ValueError as exc:
                    errors.append(str(exc))
                    continue
                inputs_by_name[name] = inputs
                request = location_request(inputs, start_iso, end_iso, work, adapter, forcings, f"{i}")
                requests.append((name, worker_requests.Request(request["method"], request["params"])))
            return requests, errors

        results, rows = run_predictions(self, build, feedback, out_csv, "location", self.tr("polygon"))

        fields = QgsProcessingUtils.combineFields(source.fields(), self._location_fields())
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        done = [(f, inputs_by_name[n], results[n]) for f, n in zip(features, names, strict=True) if n in results]
        for feature, inputs, result in done:
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            given = ", ".join(f"{a} ({f})" for a, f in sorted(inputs.from_fields.items()))
            values = [inputs.name, inputs.lat, inputs.lon, round(inputs.area_km2, 3), result.get("n_days"),
                      result.get("mean_flow"), given, ", ".join(result.get("imputed") or []),
                      result.get("forcing_source"), result.get("members")]
            out.setAttributes(list(feature.attributes()) + values)
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
        load_on_completion(context, str(out_csv), self.tr("Streamflow of polygons"), self.OUTPUT_CSV)
        feedback.pushInfo(self.tr("{} polygons, {} rows written to {}").format(len(done), rows, out_csv))
        return {self.OUTPUT_CSV: str(out_csv), self.OUTPUT: dest_id, self.N_LOCATIONS: str(len(done))}

    @staticmethod
    def _location_fields() -> QgsFields:
        fields = QgsFields()
        for name, kind in LOCATION_FIELDS:
            fields.append(new_field(f"sf_{name}", kind))
        return fields
