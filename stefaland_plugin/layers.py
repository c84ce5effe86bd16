"""Turning result files into styled QGIS layers (main thread only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsMapLayer, QgsProject, QgsRasterLayer, QgsVectorLayer

from .settings import log, style_path

STYLE_GAUGES = "gauges"
STYLE_BASINS = "basins"
STYLE_SUSCEPTIBILITY = "susceptibility_continuous"
STYLE_SUSCEPTIBILITY_CLASSES = "susceptibility_classes"
STYLE_SOIL = "soil_composition"


def apply_style(layer: QgsMapLayer, name: str) -> bool:
    """Load ``resources/styles/<name>.qml`` onto ``layer``; logs and returns False if it fails."""
    path = style_path(name)
    if path is None:
        log(f"style {name}.qml not found", Qgis.MessageLevel.Warning)
        return False
    message, ok = layer.loadNamedStyle(str(path))
    if not ok:
        log(f"style {path} could not be applied to {layer.name()}: {message}", Qgis.MessageLevel.Warning)
        return False
    layer.triggerRepaint()
    return True


def demo_layers(result: dict[str, Any]) -> list[QgsMapLayer]:
    """The demo layers from a ``demo_layers`` result: basins (if present) and gauges, styled, not added."""
    layers: list[QgsMapLayer] = []
    if result.get("basins"):
        uri = f"{result['basins']}|layername={result.get('basins_layer', 'bagis_camels_basins')}"
        basins = QgsVectorLayer(uri, "CAMELS basins (63 western)", "ogr")
        if basins.isValid():
            apply_style(basins, STYLE_BASINS)
            layers.append(basins)
        else:
            log(f"basin outlines could not be opened: {uri}", Qgis.MessageLevel.Warning)
    gauges = QgsVectorLayer(str(result["gauges"]), "CAMELS gauges", "ogr")
    if not gauges.isValid():
        raise ValueError(f"the gauges layer {result['gauges']} could not be opened")
    apply_style(gauges, STYLE_GAUGES)
    layers.append(gauges)
    return layers


def susceptibility_style(layer: QgsRasterLayer) -> str:
    """Five classes (band 2) when the GeoTIFF has them, else the continuous probability (band 1)."""
    return STYLE_SUSCEPTIBILITY_CLASSES if layer.bandCount() >= 2 else STYLE_SUSCEPTIBILITY


def susceptibility_layers(tif: str | Path) -> list[QgsRasterLayer]:
    """The hazard GeoTIFF twice: continuous probability (band 1) and five classes (band 2)."""
    name = Path(tif).stem
    continuous = QgsRasterLayer(str(tif), f"{name} – probability", "gdal")
    classes = QgsRasterLayer(str(tif), f"{name} – classes", "gdal")
    out = []
    for layer, style in ((continuous, STYLE_SUSCEPTIBILITY), (classes, STYLE_SUSCEPTIBILITY_CLASSES)):
        if not layer.isValid():
            raise ValueError(f"{tif}: not a readable raster")
        apply_style(layer, style)
        out.append(layer)
    if classes.bandCount() < 2:
        out.pop()  # the backend wrote no class band: show the probability only
    return out


def csv_table(path: str | Path, name: str | None = None) -> QgsVectorLayer:
    """A CSV file as a table layer (no geometry)."""
    uri = Path(path).resolve().as_uri() + "?type=csv&detectTypes=yes&geomType=none"
    layer = QgsVectorLayer(uri, name or Path(path).stem, "delimitedtext")
    if not layer.isValid():
        raise ValueError(f"{path}: not a readable CSV table")
    return layer


def add_to_project(layers: list[QgsMapLayer], group: str = "StefaLand") -> None:
    """Add layers to the project inside a layer group (the last of ``layers`` ends up on top)."""
    project = QgsProject.instance()
    root = project.layerTreeRoot()
    node = root.findGroup(group) or root.insertGroup(0, group)
    for layer in layers:
        project.addMapLayer(layer, False)
        node.insertLayer(0, layer)
