"""Landslide susceptibility: a covariate raster in, a two-band GeoTIFF (probability, 5 classes) out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qgis.core import QgsMapLayerProxyModel, QgsRasterLayer
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from . import settings, worker_requests
from .layers import add_to_project, susceptibility_layers
from .tasks import WorkerTask

if TYPE_CHECKING:  # the dock imports this module lazily; at run time it is only passed in
    from .dock import StefaLandDock


def raster_file(layer: QgsRasterLayer | None, typed_path: str) -> Path | None:
    """The raster file to send: a typed path wins, else the layer's file (GDAL layers only)."""
    if typed_path:
        return Path(typed_path)
    if layer is None or layer.providerType() != "gdal":
        return None
    path = Path(layer.source().split("|")[0])
    return path if path.is_file() else None


class LandslideDialog(QDialog):
    """Pick a covariate raster and an output GeoTIFF; the result is added as two styled layers."""

    def __init__(self, dock: StefaLandDock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StefaLandLandslideDialog")
        self.setWindowTitle(self.tr("StefaLand – landslide hazard map"))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.dock = dock
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("The raster needs the terrain covariates the landslide model was trained "
                               "on, one per band (for the Ecuador demo: data/landslides/ecuador_lsl/ta.tif)."))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.layer_combo.setAllowEmptyLayer(True)
        self.input_file = QgsFileWidget()
        self.input_file.setFilter(self.tr("GeoTIFF (*.tif *.tiff);;All files (*)"))
        self.output_file = QgsFileWidget()
        self.output_file.setStorageMode(QgsFileWidget.StorageMode.SaveFile)
        self.output_file.setFilter(self.tr("GeoTIFF (*.tif)"))
        self.output_file.setFilePath(str(settings.output_dir() / "landslide_susceptibility.tif"))
        form.addRow(self.tr("Raster layer"), self.layer_combo)
        form.addRow(self.tr("…or raster file"), self.input_file)
        form.addRow(self.tr("Output GeoTIFF"), self.output_file)
        layout.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Map susceptibility"))
        buttons.accepted.connect(self.run)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 220)

    def run(self) -> WorkerTask | None:
        """Start the hazard map (None, with the reason shown, if the raster or the output is missing)."""
        raster = raster_file(self.layer_combo.currentLayer(), self.input_file.filePath())
        out_tif = self.output_file.filePath()
        if raster is None:
            self.status.setText(self.tr("Choose a raster layer stored in a file, or a raster file."))
            return None
        if not out_tif:
            self.status.setText(self.tr("Choose where to write the GeoTIFF."))
            return None
        if Path(out_tif).suffix.lower() not in (".tif", ".tiff"):
            out_tif += ".tif"
        request = worker_requests.hazard_map(str(raster), out_tif)
        task = WorkerTask(self.tr("Landslide susceptibility of {}").format(raster.name), request.method,
                          request.params, outputs=[out_tif], on_done=self._done)
        self.dock.run_task(task)
        self.status.setText(self.tr("Running (progress in the StefaLand panel)…"))
        return task

    def _done(self, task: WorkerTask) -> None:
        if task.ok:
            result = task.result or {}
            tif = result.get("out_tif") or task.params["out_tif"]
            try:
                layers = susceptibility_layers(tif, result.get("breaks"))
                add_to_project(layers)
                self.dock.zoom_to_layer(layers[0])
            except ValueError as exc:
                task.ok, task.error = False, str(exc)
        if sip.isdeleted(self):
            return
        if not task.ok:
            self.status.setText(self.tr("Failed: {}").format(task.error))
            return
        result = task.result or {}
        text = self.tr("Done: {} ({} cells, {:.1f} s): probability (band 1) and five classes (band 2) added to "
                       "the project.").format(result.get("out_tif") or task.params["out_tif"],
                                              f"{result.get('n_valid') or 0:,}",
                                              float(result.get("seconds") or task.elapsed_s or 0.0))
        self.status.setText(text)
        self.dock._set_status(text)
