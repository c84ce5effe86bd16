"""Write the QML styles in resources/styles from PyQGIS renderers (run once; the QML files are committed).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/build_styles.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsClassificationRange,
    QgsColorRampShader,
    QgsFillSymbol,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsGraduatedSymbolRenderer,
    QgsMarkerSymbol,
    QgsPalettedRasterRenderer,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererRange,
    QgsRuleBasedRenderer,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

STYLES = Path(__file__).resolve().parent.parent / "resources" / "styles"

#: very low .. very high (green to dark red)
CLASS_COLORS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")
CLASS_LABELS = ("Very low", "Low", "Moderate", "High", "Very high")


def gauges() -> QgsVectorLayer:
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=has_streamflow:integer", "gauges", "memory")
    root = QgsRuleBasedRenderer.Rule(None)
    observed = QgsMarkerSymbol.createSimple({"name": "circle", "color": "31,119,180,255", "size": "2.6",
                                             "outline_color": "255,255,255,255", "outline_width": "0.2"})
    unobserved = QgsMarkerSymbol.createSimple({"name": "circle", "color": "160,160,160,255", "size": "1.8",
                                               "outline_color": "90,90,90,255", "outline_width": "0.1"})
    root.appendChild(QgsRuleBasedRenderer.Rule(observed, 0, 0, '"has_streamflow"', "observed streamflow"))
    root.appendChild(QgsRuleBasedRenderer.Rule(unobserved, 0, 0, "ELSE", "no observed streamflow"))
    layer.setRenderer(QgsRuleBasedRenderer(root))
    return layer


def basins() -> QgsVectorLayer:
    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326", "basins", "memory")
    symbol = QgsFillSymbol.createSimple({"color": "31,119,180,50", "outline_color": "20,80,140,255",
                                         "outline_width": "0.35"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    return layer


def _ramp() -> QgsGradientColorRamp:
    stops = [QgsGradientStop(i / 4, QColor(c)) for i, c in enumerate(CLASS_COLORS)][1:-1]
    return QgsGradientColorRamp(QColor(CLASS_COLORS[0]), QColor(CLASS_COLORS[-1]), False, stops)


def susceptibility_continuous(tif: Path) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(tif), "p", "gdal")
    ramp_shader = QgsColorRampShader(0.0, 1.0, _ramp(), QgsColorRampShader.Type.Interpolated)
    ramp_shader.classifyColorRamp(5, -1)
    ramp_shader.setLabelPrecision(2)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp_shader)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(1.0)
    layer.setRenderer(renderer)
    return layer


def susceptibility_classes(tif: Path) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(tif), "c", "gdal")
    classes = [QgsPalettedRasterRenderer.Class(i + 1, QColor(c), label)
               for i, (c, label) in enumerate(zip(CLASS_COLORS, CLASS_LABELS, strict=True))]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 2, classes))
    return layer


def _graduated(geometry: str, field: str, name: str, colors: tuple[str, ...], edges: tuple[float, ...],
               label: Callable[[int], str], fill: dict[str, str]) -> QgsVectorLayer:
    """A memory layer graduated on ``field``: class ``i`` spans ``edges[i]..edges[i + 1]`` in ``colors[i]``.

    Points are circles with a grey outline; other geometries are filled with the ``fill`` properties added.
    """
    layer = QgsVectorLayer(f"{geometry}?crs=EPSG:4326&field={field}:double", name, "memory")
    ranges = []
    for i, color in enumerate(colors):
        if geometry == "Point":
            symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": color, "size": "3",
                                                   "outline_color": "60,60,60,255"})
        else:
            symbol = QgsFillSymbol.createSimple({"color": color, **fill})
        ranges.append(QgsRendererRange(QgsClassificationRange(label(i), edges[i], edges[i + 1]), symbol))
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))
    return layer


def soil(geometry: str) -> QgsVectorLayer:
    edges = (0, 10, 20, 30, 45, 100)
    return _graduated(geometry, "clay_pct", "soil", ("#f6e8c3", "#dfc27d", "#bf812d", "#8c510a", "#543005"), edges,
                      lambda i: f"clay {edges[i]}–{edges[i + 1]} %", {"outline_color": "60,60,60,255"})


def mean_flow(geometry: str) -> QgsVectorLayer:
    """Mean predicted streamflow (mm/day): light to dark blue, class edges that suit CAMELS basins."""
    colors = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c", "#08306b")
    edges = (0, 0.25, 0.5, 1, 2, 4, 50)
    return _graduated(geometry, "mean_flow", "mean flow", colors, edges,
                      lambda i: f"{edges[i]}–{edges[i + 1]} mm/day" if i < len(colors) - 1 else f"> {edges[i]} mm/day",
                      {"outline_color": "40,40,40,255", "outline_width": "0.3"})


def main() -> int:
    app = QgsApplication([], False)
    app.initQgis()
    tif = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "template.tif"
    if not tif.exists():
        from osgeo import gdal

        ds = gdal.GetDriverByName("GTiff").Create(str(tif), 4, 4, 2, gdal.GDT_Float32)
        ds.SetGeoTransform((0, 1, 0, 4, 0, -1))
        ds = None
    STYLES.mkdir(parents=True, exist_ok=True)
    layers = {
        "gauges": gauges(),
        "basins": basins(),
        "susceptibility_continuous": susceptibility_continuous(tif),
        "susceptibility_classes": susceptibility_classes(tif),
        "soil_composition": soil("Point"),
        "soil_composition_polygon": soil("MultiPolygon"),
        "mean_flow": mean_flow("Point"),
        "mean_flow_polygon": mean_flow("MultiPolygon"),
    }
    for name, layer in layers.items():
        message, ok = layer.saveNamedStyle(str(STYLES / f"{name}.qml"))
        print(name, "ok" if ok else message)
    del layers, layer
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
