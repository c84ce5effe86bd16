"""The headless half of ``make run``: the plugin's workflows through Processing, outputs in ``out/``.

Each step calls a StefaLand Processing algorithm (which calls the worker, which calls the backend).
A step that fails is reported as FAILED (nothing is faked) and the run exits non-zero.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.append("/usr/share/qgis/python/plugins")

from qgis.core import (  # noqa: E402 (after the path set-up)
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QFont, QImage, QPainter  # noqa: E402

from backend.core.paths import data_root  # noqa: E402 (pure Python: no torch, no qgis)

PERIOD = ("1995-01-01", "1999-12-31")
N_STREAMFLOW_BASINS = 3


class PrintFeedback(QgsProcessingFeedback):
    """Prints progress messages (at most one line per message) to stdout."""

    def __init__(self) -> None:
        super().__init__()
        self._last = ""

    def setProgressText(self, text: str) -> None:
        if text != self._last:
            print(f"    {text}", flush=True)
            self._last = text

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N803
        print(f"    error: {error}", flush=True)

    def pushInfo(self, info: str) -> None:
        print(f"    {info}", flush=True)


@dataclass
class Step:
    name: str
    status: str = "not run"
    detail: str = ""


def fail(step: Step, message: str) -> None:
    """Record ``step`` as FAILED with the first line of ``message``."""
    message = message.strip()
    step.status = "FAILED"
    step.detail = message.splitlines()[0] if message else "error"
    print(f"   FAILED: {step.detail}", flush=True)


def run_step(steps: list[Step], name: str, algorithm: str, params: dict) -> dict | None:
    """Run one algorithm; record OK or FAILED (None: the step failed)."""
    import processing

    step = Step(name)
    steps.append(step)
    print(f"== {name} ({algorithm})", flush=True)
    started = time.monotonic()
    try:
        result = processing.run(algorithm, params, feedback=PrintFeedback())
    except QgsProcessingException as exc:
        fail(step, str(exc))
        return None
    step.status = "OK"
    step.detail = f"{time.monotonic() - started:.1f} s"
    print(f"   OK in {step.detail}", flush=True)
    return result


HEADER_PX = 48


def render(layers: list, path: Path, size: tuple[int, int] = (1400, 900), crs: str | None = None,
           title: str = "", legend: list[tuple[str, str]] | None = None) -> Path:
    """Render layers (first on top) to a PNG with QgsMapRendererSequentialJob: a title band above the map
    and a legend (label, colour) in a white box in the lower left corner."""
    width, height = size
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(crs) if crs else layers[-1].crs())
    settings.setOutputSize(QSize(width, height - HEADER_PX))
    extent = settings.fullExtent()
    extent.scale(1.08)
    settings.setExtent(extent)
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.drawImage(0, HEADER_PX, job.renderedImage())
    font = QFont(painter.font())
    font.setPixelSize(22)
    painter.setFont(font)
    painter.setPen(QColor(0, 0, 0))
    painter.drawText(20, 32, title)
    if legend:
        font.setPixelSize(16)
        painter.setFont(font)
        box_width = 40 + max(painter.fontMetrics().horizontalAdvance(label) for label, _ in legend)
        box_height = 24 * len(legend) + 12
        painter.setPen(QColor(180, 180, 180))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRect(12, height - box_height - 12, box_width + 12, box_height)
        y = height - box_height + 12
        for label, color in legend:
            painter.setBrush(QColor(color))
            painter.setPen(QColor(80, 80, 80))
            painter.drawRect(24, y - 12, 14, 14)
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(46, y, label)
            y += 24
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path), "PNG")
    return path


def legend_of(layer) -> list[tuple[str, str]]:
    """(label, colour) of each class of a graduated vector or paletted raster layer."""
    renderer = layer.renderer()
    if hasattr(renderer, "ranges"):
        return [(r.label(), r.symbol().color().name()) for r in renderer.ranges()]
    if hasattr(renderer, "classes"):
        return [(c.label, c.color.name()) for c in renderer.classes()]
    return []


def _gauge_ids(uri: str, expression: str = "") -> list[str]:
    """Gauge ids of a layer's features (optionally filtered), without keeping the layer."""
    layer = QgsVectorLayer(uri, "ids", "ogr")
    if expression:
        layer.setSubsetString(expression)
    return sorted(str(f["gauge_id"]) for f in layer.getFeatures())


def _project_layer(uri: str, name: str, gauge_ids: list[str]) -> QgsVectorLayer:
    """A subset layer owned by the project (Processing inputs)."""
    layer = QgsVectorLayer(uri, name, "ogr")
    layer.setSubsetString("gauge_id IN ({})".format(", ".join(f"'{g}'" for g in gauge_ids)))
    QgsProject.instance().addMapLayer(layer, False)
    return layer


def _render_raster(tif: str, breaks: list | None, png: Path) -> Path:
    from stefaland_plugin.layers import apply_style, label_classes, susceptibility_style

    raster = QgsRasterLayer(tif, "susceptibility", "gdal")
    apply_style(raster, susceptibility_style(raster))
    label_classes(raster, breaks)
    return render([raster], png, (900, 950), title="Landslide susceptibility (Ecuador terrain covariates)",
                  legend=legend_of(raster))


def _render_vector(path: str, style: str, png: Path) -> Path:
    from stefaland_plugin.layers import apply_style

    layer = QgsVectorLayer(path, "layer", "ogr")
    apply_style(layer, style if layer.geometryType() == 0 else f"{style}_polygon")
    return render([layer], png, crs="EPSG:5070", title="Predicted soil composition of the 63 western basins: clay",
                  legend=legend_of(layer))


def _render_demo(gauges: str, basins: str, png: Path) -> Path:
    from stefaland_plugin.layers import demo_layers

    shown = demo_layers({"gauges": gauges, "basins": basins.split("|")[0], "basins_layer": "bagis_camels_basins"})
    counts = {True: 0, False: 0}
    for feature in shown[-1].getFeatures():
        counts[bool(feature["has_streamflow"])] += 1
    legend = [(f"gauge with observed streamflow ({counts[True]})", "#1f77b4"),
              (f"gauge without observed streamflow ({counts[False]})", "#a0a0a0"),
              (f"basin outline ({shown[0].featureCount()} western basins)", "#cfe0ef")]
    return render(list(reversed(shown)), png, crs="EPSG:5070", title="CAMELS-US: 671 gauges, 63 basin outlines",
                  legend=legend)


def _print_scores(path: str) -> dict[str, tuple]:
    """Print each gauge's scores; returns {gauge: (nse, kge)}."""
    scores = {}
    for feature in QgsVectorLayer(path, "scores", "ogr").getFeatures():
        print(f"    {feature['sf_gauge_id']}: NSE {feature['sf_nse']}, KGE {feature['sf_kge']}, "
              f"mean {feature['sf_mean_flow']} mm/day, imputed [{feature['sf_imputed']}], "
              f"forcings {feature['sf_forcing']}")
        scores[str(feature["sf_gauge_id"])] = (feature["sf_nse"], feature["sf_kge"])
    return scores


def _render_hydrograph(csv_path: str, gauge: str, scores: tuple, png: Path) -> Path:
    """The panel's hydrograph of one gauge (predicted and observed flow, scores) as a PNG."""
    from stefaland_plugin.hydrograph import HydrographWidget, read_prediction_csv

    data = read_prediction_csv(csv_path, f"Gauge {gauge}", gauge_id=gauge)
    data.nse, data.kge = (None if v is None or v != v else float(v) for v in scores)
    widget = HydrographWidget()
    widget.resize(1100, 420)
    widget.set_hydrograph(data)
    widget.grab().save(str(png), "PNG")
    widget.deleteLater()
    return png


def _workflows(out: Path, steps: list[Step], pngs: list[Path]) -> None:
    """All steps. Keeps no layer in a local variable: a failed step's traceback can keep this frame
    alive until exit, and a layer destroyed after exitQgis() crashes the interpreter."""
    demo = run_step(steps, "Load CAMELS demo", "stefaland:load_camels_demo", {"OUTPUT_FOLDER": str(out / "demo")})
    if demo is None:
        return
    observed = set(_gauge_ids(demo["GAUGES"], '"has_streamflow"'))
    chosen = [g for g in _gauge_ids(demo["BASINS"]) if g in observed][:N_STREAMFLOW_BASINS]

    scores = run_step(steps, f"Predict streamflow {PERIOD[0]}..{PERIOD[1]} for {', '.join(chosen)}",
                      "stefaland:predict_streamflow",
                      {"INPUT": _project_layer(demo["BASINS"], "selected basins", chosen),
                       "START": PERIOD[0], "END": PERIOD[1],
                       "OUTPUT_CSV": str(out / "streamflow_predictions.csv"),
                       "OUTPUT": str(out / "streamflow_scores.gpkg")})
    if scores:
        by_gauge = _print_scores(scores["OUTPUT"])
        gauge = chosen[0]
        if gauge in by_gauge:
            png = out / f"hydrograph_{gauge}.png"
            pngs.append(_render_hydrograph(scores["OUTPUT_CSV"], gauge, by_gauge[gauge], png))
        else:
            fail(steps[-1], f"no scores for gauge {gauge} in {scores['OUTPUT']}")

    tif = data_root() / "landslides" / "ecuador_lsl" / "ta.tif"
    hazard = run_step(steps, "Landslide susceptibility (Ecuador terrain covariates)",
                      "stefaland:landslide_susceptibility",
                      {"INPUT": str(tif), "OUTPUT": str(out / "landslide_susceptibility.tif")})
    if hazard:
        breaks = json.loads(hazard.get("CLASSES") or "{}").get("breaks")
        pngs.append(_render_raster(hazard["OUTPUT"], breaks, out / "landslide_map.png"))

    soil = run_step(steps, "Soil composition of the 63 basins", "stefaland:soil_composition",
                    {"INPUT": demo["BASINS"], "OUTPUT": str(out / "soil_composition.gpkg")})
    if soil:
        pngs.append(_render_vector(soil["OUTPUT"], "soil_composition", out / "soil_composition_map.png"))

    run_step(steps, "Soil moisture at the selected gauges (2010)", "stefaland:soil_moisture",
             {"INPUT": _project_layer(demo["GAUGES"], "selected gauges", chosen),
              "START": "2010-01-01", "END": "2010-12-31", "OUTPUT_CSV": str(out / "soil_moisture.csv")})
    run_step(steps, "Fill in missing attributes at the selected gauges", "stefaland:fill_missing_attributes",
             {"INPUT": _project_layer(demo["GAUGES"], "selected gauges", chosen),
              "OUTPUT": str(out / "attributes_filled.gpkg")})
    pngs.append(_render_demo(demo["GAUGES"], demo["BASINS"], out / "demo_map.png"))


def run_headless(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = QgsApplication([], True)  # widgets (the hydrograph) need the GUI part; QT_QPA_PLATFORM=offscreen
    app.initQgis()
    from processing.core.Processing import Processing

    from stefaland_plugin.processing.provider import StefaLandProvider
    from stefaland_plugin.worker_client import shutdown_shared

    Processing.initialize()
    provider = StefaLandProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    steps: list[Step] = []
    pngs: list[Path] = []
    try:
        _workflows(out, steps, pngs)
    finally:
        shutdown_shared()
        QgsProject.instance().removeAllMapLayers()
        QgsApplication.processingRegistry().removeProvider(provider)
    failed = [s for s in steps if s.status != "OK"]
    print("\nSummary")
    for step in steps:
        print(f"  {step.status:8} {step.name}: {step.detail}")
    for png in pngs:
        print(f"  map: {png}")
    print(f"  outputs in {out}")
    if steps and steps[0].status != "OK":
        print("  the other steps need the demo layers: not run")
    print(f"{len(steps) - len(failed)} of {len(steps)} steps OK" + (f", {len(failed)} FAILED" if failed else "")
          + ("" if pngs else "; no map rendered"))
    del provider, steps
    app.exitQgis()
    return 1 if failed or not pngs else 0
