"""Processing: Load CAMELS demo (the 671 gauges and the 63 western basin outlines)."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
)

from .. import worker_requests
from .base import WorkerAlgorithm, load_on_completion


class LoadDemoAlgorithm(WorkerAlgorithm):
    """Writes the CAMELS gauges and western basin outlines and loads them, styled."""

    NAME = "load_camels_demo"
    DISPLAY = "Load CAMELS demo"
    GROUP = "Data"
    HELP = ("Writes the 671 CAMELS-US gauges (points from camels_topo.txt, coloured by whether observed "
            "streamflow exists) as GeoJSON and loads them with the outlines of 63 western CAMELS basins.")
    OUTPUT_FOLDER, GAUGES, BASINS, SUMMARY = "OUTPUT_FOLDER", "GAUGES", "BASINS", "SUMMARY"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.GAUGES, self.tr("CAMELS gauges")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.BASINS, self.tr("CAMELS basins (63 western)")))
        self.addOutput(QgsProcessingOutputString(self.SUMMARY, self.tr("Summary")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        result = self.call(worker_requests.demo_layers(folder), feedback)
        gauges = result["gauges"]
        basins = f"{result['basins']}|layername={result['basins_layer']}" if result.get("basins") else ""
        for missing in result.get("missing", []):
            feedback.reportError(self.tr("Not found: {}").format(missing))
        if basins:
            load_on_completion(context, basins, self.tr("CAMELS basins (63 western)"), self.BASINS, "basins")
        load_on_completion(context, gauges, self.tr("CAMELS gauges"), self.GAUGES, "gauges")
        summary = self.tr("{} gauges, {} with observed streamflow").format(result.get("n_gauges"),
                                                                          result.get("n_with_streamflow"))
        feedback.pushInfo(summary)
        return {self.OUTPUT_FOLDER: folder, self.GAUGES: gauges, self.BASINS: basins, self.SUMMARY: summary}
