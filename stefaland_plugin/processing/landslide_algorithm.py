"""Processing: Landslide susceptibility map (covariate raster -> two-band GeoTIFF)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .. import worker_requests
from .base import WorkerAlgorithm, load_on_completion, set_style_on_completion


class LandslideSusceptibilityAlgorithm(WorkerAlgorithm):
    """A covariate raster in; a GeoTIFF of susceptibility (probability, five classes) out, styled."""

    NAME = "landslide_susceptibility"
    DISPLAY = "Landslide susceptibility map"
    GROUP = "Hazard"
    HELP = ("Maps landslide susceptibility from a raster of terrain covariates (one per band, as the "
            "landslide model was trained on; e.g. data/landslides/ecuador_lsl/ta.tif). Writes a GeoTIFF: "
            "band 1 the probability 0-1 (each cell's own, whatever the map's extent), band 2 five classes "
            "(very low .. very high: the quintiles of this map, so relative to it).")
    INPUT, OUTPUT, CLASSES = "INPUT", "OUTPUT", "CLASSES"

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Covariate raster")))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Susceptibility")))
        self.addOutput(QgsProcessingOutputString(self.CLASSES, self.tr("Classes and breaks (JSON)")))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """Run the algorithm; returns its outputs by name."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        raster = Path(layer.source().split("|")[0])
        if layer.providerType() != "gdal" or not raster.is_file():
            raise QgsProcessingException(self.tr("The raster must be stored in a file (GeoTIFF): save {} first.")
                                         .format(layer.name()))
        out_tif = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        if Path(out_tif).suffix.lower() not in (".tif", ".tiff"):
            raise QgsProcessingException(self.tr("The output must be a GeoTIFF (.tif)."))
        result = self.call(worker_requests.hazard_map(str(raster), out_tif), feedback, outputs=[out_tif])
        out_tif = str(result.get("out_tif") or out_tif)
        breaks = result.get("breaks")
        if context.willLoadLayerOnCompletion(out_tif):
            set_style_on_completion(context, out_tif, "susceptibility", breaks)
        else:
            load_on_completion(context, out_tif, self.tr("Landslide susceptibility"), self.OUTPUT, "susceptibility",
                               breaks)
        classes = {k: result.get(k) for k in ("classes", "breaks") if k in result}
        return {self.OUTPUT: out_tif, self.CLASSES: json.dumps(classes)}
