"""Turning result files into styled QGIS layers (main thread only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsMapLayer,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QTimer, QVariant

from .settings import log, style_path

STYLE_GAUGES = "gauges"
STYLE_BASINS = "basins"
STYLE_SUSCEPTIBILITY = "susceptibility_continuous"
STYLE_SUSCEPTIBILITY_CLASSES = "susceptibility_classes"
STYLE_SOIL = "soil_composition"
STYLE_MEAN_FLOW = "mean_flow"


def new_field(name: str, kind: str) -> QgsField:
    """A field of kind "double", "int" or "string" (QMetaType on QGIS >= 3.38, QVariant before)."""
    if Qgis.QGIS_VERSION_INT >= 33800:
        from qgis.PyQt.QtCore import QMetaType

        types = {"double": QMetaType.Type.Double, "int": QMetaType.Type.Int, "string": QMetaType.Type.QString}
    else:
        types = {"double": QVariant.Type.Double, "int": QVariant.Type.Int, "string": QVariant.Type.String}
    return QgsField(name, types[kind])


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


def label_classes(layer: QgsRasterLayer, breaks: list[float] | None) -> None:
    """Add the probability range of each class to its legend label ("High (0.41–0.63)")."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsPalettedRasterRenderer) or not breaks:
        return
    classes = renderer.classes()
    if len(breaks) != len(classes) + 1:
        return
    labelled = [QgsPalettedRasterRenderer.Class(c.value, c.color, f"{c.label} ({lo:.2f}–{hi:.2f})")
                for c, lo, hi in zip(classes, breaks[:-1], breaks[1:], strict=True)]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), renderer.band(), labelled))


def susceptibility_layers(tif: str | Path, breaks: list[float] | None = None) -> list[QgsRasterLayer]:
    """The hazard GeoTIFF twice: continuous probability (band 1) and five classes (band 2).

    ``breaks`` (6 class edges, from the backend's result) label the classes in the legend.
    """
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
    else:
        label_classes(classes, breaks)
    return out


def write_csvt(path: str | Path, text_columns: tuple[str, ...] = ("gauge_id", "id"),
               date_columns: tuple[str, ...] = ("date",)) -> Path:
    """Write the OGR ``.csvt`` sidecar of a CSV: ids stay text (leading zeros), dates are dates, the rest numbers."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    types = ['"String"' if c in text_columns else '"Date"' if c in date_columns else '"Real"' for c in header]
    sidecar = path.with_suffix(".csvt")
    sidecar.write_text(",".join(types) + "\n", encoding="utf-8")
    return sidecar


def csv_table(path: str | Path, name: str | None = None) -> QgsVectorLayer:
    """A CSV file as a table layer (no geometry); OGR reads a ``.csvt`` sidecar for the column types."""
    layer = QgsVectorLayer(str(path), name or Path(path).stem, "ogr")
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
    ids = [layer.id() for layer in layers]
    QTimer.singleShot(0, lambda: _expand(ids))


def _expand(layer_ids: list[str]) -> None:
    """Show the legend (classes) of new layers: QGIS's layer panel adds some vector layers collapsed."""
    root = QgsProject.instance().layerTreeRoot()
    for layer_id in layer_ids:
        node = root.findLayer(layer_id)
        if node is not None:
            node.setExpanded(False)
            node.setExpanded(True)


def styled_style_name(style: str, geometry_type: QgsWkbTypes.GeometryType) -> str:
    """``<style>_polygon`` for polygon layers, ``<style>`` (points) otherwise."""
    return f"{style}_polygon" if geometry_type == QgsWkbTypes.GeometryType.PolygonGeometry else style


def write_result_layer(features: list[QgsFeature], fields: QgsFields, crs: QgsCoordinateReferenceSystem,
                       wkb_type: QgsWkbTypes.Type, added: list[tuple[str, str]], values: dict[int, list],
                       path: str | Path, name: str) -> QgsVectorLayer:
    """Write ``features`` with extra fields to a GeoPackage at ``path``; open it as a layer called ``name``.

    Each feature keeps its own fields, plus the ``added`` (name, kind) fields filled from ``values`` by
    feature id (main thread only). Features without values are left out. A source field called ``fid`` is
    dropped (the GeoPackage has its own).
    """
    kept = [i for i, f in enumerate(fields) if f.name().lower() != "fid"]
    out_fields = QgsFields()
    for i in kept:
        out_fields.append(fields.at(i))
    for field_name, kind in added:
        out_fields.append(new_field(field_name, kind))
    memory = QgsVectorLayer(f"{QgsWkbTypes.displayString(wkb_type)}?crs={crs.authid() or crs.toWkt()}", name,
                            "memory")
    memory.dataProvider().addAttributes(out_fields.toList())
    memory.updateFields()
    rows = []
    for feature in features:
        extra = values.get(feature.id())
        if extra is None:
            continue
        out = QgsFeature(memory.fields())
        out.setGeometry(feature.geometry())
        attributes = feature.attributes()
        out.setAttributes([attributes[i] for i in kept] + list(extra))
        rows.append(out)
    memory.dataProvider().addFeatures(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = path.stem
    error, message, _, _ = QgsVectorFileWriter.writeAsVectorFormatV3(
        memory, str(path), QgsProject.instance().transformContext(), options)
    if error != QgsVectorFileWriter.WriterError.NoError:
        raise ValueError(f"{path}: could not be written ({message})")
    layer = QgsVectorLayer(f"{path}|layername={path.stem}", name, "ogr")
    if not layer.isValid():
        raise ValueError(f"{path}: written but not readable")
    return layer
