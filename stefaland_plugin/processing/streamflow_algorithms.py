"""Processing: Predict streamflow (basins + period -> CSV table and scored layer), Fine-tune on gauges."""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Callable
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
    QgsProcessingOutputFile,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingUtils,
)
from qgis.PyQt.QtCore import QDate

from .. import settings, worker_requests
from ..gauges import gauge_field, normalize_gauge_id
from ..layers import new_field, write_csvt
from .base import RequestFailed, WorkerAlgorithm, load_on_completion

SCORE_FIELDS = (("gauge_id", "string"), ("n_days", "int"), ("nse", "double"), ("kge", "double"),
                ("has_obs", "int"), ("imputed", "string"), ("forcing", "string"), ("csv", "string"),
                ("mean_flow", "double"), ("in_sample", "int"), ("oof_nse", "double"), ("members", "int"))


def combine_csvs(parts: dict[str, Path], out_csv: Path, key: str = "gauge_id") -> int:
    """Concatenate per-gauge CSVs into one long table with a leading ``key`` column; returns rows."""
    rows = 0
    tmp = out_csv.with_name(f".{out_csv.name}.partial")
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("w", newline="", encoding="utf-8") as out:
            writer = None
            for gauge_id, path in parts.items():
                with path.open(newline="", encoding="utf-8") as fh:
                    reader = csv.reader(fh)
                    header = next(reader, None)
                    if header is None:
                        continue
                    if writer is None:
                        writer = csv.writer(out)
                        writer.writerow([key, *header])
                    for row in reader:
                        writer.writerow([gauge_id, *row])
                        rows += 1
        os.replace(tmp, out_csv)
    finally:
        if tmp.exists():
            tmp.unlink()
    return rows


def add_period_and_adapter(algorithm: WorkerAlgorithm) -> None:
    """The START and END date parameters (default water years 1990-1999) and the optional ADAPTER file."""
    date_type = QgsProcessingParameterDateTime.Type.Date
    algorithm.addParameter(QgsProcessingParameterDateTime(algorithm.START, algorithm.tr("Start"), date_type,
                                                          QDate(1990, 1, 1)))
    algorithm.addParameter(QgsProcessingParameterDateTime(algorithm.END, algorithm.tr("End"), date_type,
                                                          QDate(1999, 12, 31)))
    algorithm.addParameter(QgsProcessingParameterFile(
        algorithm.ADAPTER, algorithm.tr("Fine-tuned adapter (empty: the bundled model)"),
        QgsProcessingParameterFile.Behavior.File, optional=True))


def period_and_adapter(algorithm: WorkerAlgorithm, parameters: dict[str, Any],
                       context: QgsProcessingContext) -> tuple[str, str, str]:
    """(start, end) as YYYY-MM-DD and the adapter path ("" for the bundled model); start after end is refused."""
    start = algorithm.parameterAsDateTime(parameters, algorithm.START, context).date()
    end = algorithm.parameterAsDateTime(parameters, algorithm.END, context).date()
    if start > end:
        raise QgsProcessingException(algorithm.tr("Start is after end."))
    adapter = algorithm.parameterAsFile(parameters, algorithm.ADAPTER, context)
    return start.toString("yyyy-MM-dd"), end.toString("yyyy-MM-dd"), adapter


NamedRequest = tuple[str, worker_requests.Request]  #: (item name, a worker request whose params have ``out_csv``)


def run_predictions(algorithm: WorkerAlgorithm, build: Callable[[Path], tuple[list[NamedRequest], list[str]]],
                    feedback: QgsProcessingFeedback, out_csv: Path, key: str,
                    what: str) -> tuple[dict[str, dict], int]:
    """One worker request per item, then one combined CSV with a leading ``key`` column.

    ``build(work_folder)`` returns the requests (their CSVs go into the temporary folder) and the problems
    found while building them. A refused request is reported and skipped; cancelling stops at the next
    item and writes nothing. Returns the results by name and the number of rows written.
    """
    work = Path(QgsProcessingUtils.tempFolder()) / f"stefaland_{key}_{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    parts: dict[str, Path] = {}
    try:
        requests, errors = build(work)
        for message in errors:
            feedback.reportError(message)
        for i, (name, request) in enumerate(requests):
            if feedback.isCanceled():
                break
            feedback.setProgressText(algorithm.tr("{} ({}/{})").format(name, i + 1, len(requests)))
            part = Path(request.params["out_csv"])
            try:
                result = algorithm.call(request, feedback, outputs=[part],
                                        span=(i / len(requests), (i + 1) / len(requests)), per_item=True)
            except RequestFailed as exc:
                errors.append(algorithm.tr("{}: {}").format(name, exc))
                feedback.reportError(errors[-1])
                continue
            results[name] = result
            parts[name] = Path(result.get("csv") or part)
        if feedback.isCanceled():
            raise QgsProcessingException(algorithm.tr("Cancelled."))
        if not results:
            raise QgsProcessingException(algorithm.tr("No {} could be predicted. {}").format(
                what, errors[0] if errors else ""))
        rows = combine_csvs(parts, out_csv, key=key)
        write_csvt(out_csv)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results, rows


class PredictStreamflowAlgorithm(WorkerAlgorithm):
    """Streamflow of every gauged basin or gauge of a layer: one CSV table and a copy of the layer with scores."""

    NAME = "predict_streamflow"
    DISPLAY = "Predict streamflow"
    GROUP = "Streamflow"
    HELP = ("Predicts daily streamflow (mm/day) for every basin or gauge of the input layer over the period. "
            "The gauge id comes from the chosen field, else from a gauge_id (8-digit string) or hru_id "
            "(integer, official CAMELS outlines) field. Writes one CSV table (gauge_id, date, predicted streamflow "
            "(the mean of the model's members), the members' spread (10th and 90th percentile, not a calibrated "
            "interval) and, where observed, observed streamflow) and a copy of the input with NSE/KGE and the "
            "number of members (sf_members) per gauge.")
    INPUT, GAUGE_FIELD, START, END, ADAPTER = "INPUT", "GAUGE_FIELD", "START", "END", "ADAPTER"
    OUTPUT_CSV, OUTPUT, N_GAUGES = "OUTPUT_CSV", "OUTPUT", "N_GAUGES"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Basins or gauges"),
            [QgsProcessing.SourceType.TypeVectorPolygon, QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            self.GAUGE_FIELD, self.tr("Gauge id field (default: gauge_id or hru_id)"), None, self.INPUT,
            optional=True))
        add_period_and_adapter(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_CSV, self.tr("Streamflow table"), self.tr("CSV files (*.csv)")))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Basins with scores")))
        self.addOutput(QgsProcessingOutputString(self.N_GAUGES, self.tr("Gauges predicted")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        field = self.parameterAsString(parameters, self.GAUGE_FIELD, context) or gauge_field(source.fields())
        if not field:
            raise QgsProcessingException(self.tr("The layer has no gauge_id or hru_id field: choose the field "
                                                 "holding the 8-digit USGS gauge id."))
        start_iso, end_iso, adapter = period_and_adapter(self, parameters, context)
        out_csv = Path(self.parameterAsFileOutput(parameters, self.OUTPUT_CSV, context))

        features = []
        for feature in source.getFeatures():
            gauge = normalize_gauge_id(feature[field])
            if gauge is None:
                feedback.pushWarning(self.tr("Feature {}: no gauge id in {}; skipped").format(feature.id(), field))
                continue
            features.append((feature, gauge))
        gauges = sorted({g for _, g in features})
        if not gauges:
            raise QgsProcessingException(self.tr("No feature carries a gauge id."))

        def build(work: Path) -> tuple[list[NamedRequest], list[str]]:
            requests = []
            for gauge in gauges:
                requests.append((gauge, worker_requests.predict_streamflow(
                    gauge, start_iso, end_iso, str(work / f"{gauge}.csv"), adapter=adapter)))
            return requests, []

        results, rows = run_predictions(self, build, feedback, out_csv, "gauge_id", self.tr("gauge"))

        fields = QgsProcessingUtils.combineFields(source.fields(), self._score_fields())
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                             source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for feature, gauge in features:
            result = results.get(gauge)
            if result is None:
                continue
            out = QgsFeature(fields)
            out.setGeometry(feature.geometry())
            scores = [gauge, result.get("n_days"), result.get("nse"), result.get("kge"),
                      int(bool(result.get("has_observations"))), ", ".join(result.get("imputed") or []),
                      result.get("forcing_source"), str(out_csv), result.get("mean_flow"),
                      None if result.get("in_sample") is None else int(result["in_sample"]),
                      result.get("out_of_fold_nse"), result.get("members")]
            out.setAttributes(list(feature.attributes()) + scores)
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
        load_on_completion(context, str(out_csv), self.tr("Streamflow predictions"), self.OUTPUT_CSV)
        feedback.pushInfo(self.tr("{} gauges, {} rows written to {}").format(len(results), rows, out_csv))
        return {self.OUTPUT_CSV: str(out_csv), self.OUTPUT: dest_id, self.N_GAUGES: str(len(results))}

    @staticmethod
    def _score_fields() -> QgsFields:
        fields = QgsFields()
        for name, kind in SCORE_FIELDS:
            fields.append(new_field(f"sf_{name}", kind))
        return fields


class FinetuneAlgorithm(WorkerAlgorithm):
    """Checks the user's gauge files, then trains a streamflow adapter on them (optionally made the active model)."""

    NAME = "finetune_on_gauges"
    DISPLAY = "Fine-tune on gauges"
    GROUP = "Streamflow"
    HELP = ("Trains a streamflow adapter on your own gauges (encoder frozen). The files are checked first "
            "and every problem is listed. Gauges CSV: gauge_id, lat, lon and known attributes; streamflow "
            "CSV: gauge_id, date, streamflow (mm/day); forcings folder: one daily file per gauge.")
    GAUGES_CSV, STREAMFLOW_CSV, FORCINGS_DIR = "GAUGES_CSV", "STREAMFLOW_CSV", "FORCINGS_DIR"
    OUTPUT_DIR, ACTIVATE, ADAPTER, METRICS = "OUTPUT_DIR", "ACTIVATE", "ADAPTER", "METRICS"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        file_behaviour = QgsProcessingParameterFile.Behavior.File
        self.addParameter(QgsProcessingParameterFile(self.GAUGES_CSV, self.tr("Gauges CSV"), file_behaviour,
                                                     extension="csv"))
        self.addParameter(QgsProcessingParameterFile(self.STREAMFLOW_CSV, self.tr("Streamflow CSV"),
                                                     file_behaviour, extension="csv"))
        self.addParameter(QgsProcessingParameterFile(self.FORCINGS_DIR, self.tr("Forcings folder"),
                                                     QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_DIR, self.tr("Adapter folder")))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ACTIVATE, self.tr("Use the new adapter for predictions in the StefaLand panel"), True))
        self.addOutput(QgsProcessingOutputFile(self.ADAPTER, self.tr("Adapter")))
        self.addOutput(QgsProcessingOutputString(self.METRICS, self.tr("Metrics (JSON)")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        files = {
            "gauges_csv": self.parameterAsFile(parameters, self.GAUGES_CSV, context),
            "streamflow_csv": self.parameterAsFile(parameters, self.STREAMFLOW_CSV, context),
            "forcings_dir": self.parameterAsFile(parameters, self.FORCINGS_DIR, context),
        }
        out_dir = self.parameterAsString(parameters, self.OUTPUT_DIR, context)
        feedback.setProgressText(self.tr("Checking the files"))
        problems = self.call(worker_requests.validate_gauges(**files), feedback, span=(0.0, 0.05)).get("problems", [])
        if problems:
            for problem in problems:
                feedback.reportError(str(problem))
            raise QgsProcessingException(self.tr("{} problem(s) in the input files:\n{}").format(
                len(problems), "\n".join(map(str, problems))))
        result = self.call(worker_requests.finetune_streamflow(**files, out_dir=out_dir), feedback, span=(0.05, 1.0))
        adapter = str(result.get("adapter") or "")
        if adapter and self.parameterAsBoolean(parameters, self.ACTIVATE, context):
            settings.put(settings.KEY_LATEST_ADAPTER, adapter)
            settings.put(settings.KEY_ADAPTER, adapter)
            feedback.pushInfo(self.tr("The new adapter is now used for predictions: {}").format(adapter))
        metrics = json.dumps(result.get("metrics", {}))
        feedback.pushInfo(self.tr("Metrics: {}").format(metrics))
        return {self.OUTPUT_DIR: out_dir, self.ADAPTER: adapter, self.METRICS: metrics}
