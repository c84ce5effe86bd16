"""Run inside the desktop QGIS by ``scripts/run_qgis.py`` (``qgis --code scripts/qgis_startup.py``).

Plays one analyst workflow through the StefaLand plugin's own widgets, as a user would click it, chosen by
``$STEFALAND_SCENARIO``:

- ``basin`` (workflow 1): Load CAMELS demo, "Click a basin" on a demo basin (twice: cold, then warm);
- ``finetune`` (workflow 2): the fine-tune dialog on the example dataset (check, train), then a gauge
  predicted with the new adapter;
- ``hazard`` (workflow 3a): the landslide hazard map of the Ecuador terrain covariates;
- ``basins`` (workflow 3b): the 63 western basins -> a graduated layer of mean flow (or, with
  ``$STEFALAND_BASIN_QUANTITY=soil``, of soil composition);
- ``polygon`` (workflow 4): a polygon layer without gauge ids, clicked: streamflow as a location;
- ``none``: only the demo (``make run``).

When everything is on screen it writes a JSON status to ``$STEFALAND_READY_FILE`` (if set): ``status`` is
``ok`` or ``error`` (with the failure in ``detail``: nothing is faked).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from qgis.core import QgsCoordinateTransform, QgsProject, QgsVectorLayer
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt, QTimer
from qgis.PyQt.QtWidgets import QDockWidget
from qgis.utils import iface, plugins

SCENARIO = os.environ.get("STEFALAND_SCENARIO", "basin")
READY_FILE = os.environ.get("STEFALAND_READY_FILE", "")
PROJECT = Path(os.environ.get("STEFALAND_PROJECT") or Path.cwd())
DEMO_GAUGE = os.environ.get("STEFALAND_DEMO_GAUGE", "12451000")  # Stehekin River, WA: observed flow (Caravan)
PERIOD = ("1995-10-01", "1998-09-30")  # three water years: a readable hydrograph
DOCK_WIDTH = 540
LAYERS_WIDTH = 330
SETTLE_MS = 2500  # let the canvas and the panel repaint before the screenshot
_keep: dict = {}


# ----------------------------------------------------------------------------- plumbing
def _ready(status: str, **info) -> None:
    """Write the status once the screen has settled."""
    info = {"status": status, "scenario": SCENARIO, **info}
    info["message_bar"] = [f"{item.title()}: {item.text()}" for item in iface.messageBar().items()]
    iface.messageBar().clearWidgets()  # QGIS's own "Task complete" notes: listed above, not on the screenshot
    iface.mapCanvas().refresh()

    def write() -> None:
        iface.messageBar().clearWidgets()
        if READY_FILE and not Path(READY_FILE).exists():
            Path(READY_FILE).write_text(json.dumps(info) + "\n", encoding="utf-8")

    QTimer.singleShot(SETTLE_MS, write)


def _failed(message: str) -> None:
    """The workflow failed: status ``error`` with the message (``run_qgis.py`` then exits non-zero)."""
    _ready("error", detail=message)


def _then(task, callback) -> None:
    """Run ``callback(task)`` after the task's own completion handler (the panel's and the dialog's)."""
    previous = task.on_done

    def done(t) -> None:
        if previous is not None:
            previous(t)
        callback(t)

    task.on_done = done


def _dock():
    return plugins["stefaland_plugin"].dock


def _layer(prefix: str):
    return next((layer for layer in QgsProject.instance().mapLayers().values() if layer.name().startswith(prefix)),
                None)


def _click(map_point, layer) -> None:
    """Release the left button over ``map_point`` (``layer`` CRS) with the panel's "Click a basin" tool."""
    dock = _dock()
    canvas = iface.mapCanvas()
    to_canvas = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    pixel = canvas.getCoordinateTransform().transform(to_canvas.transform(map_point))
    dock.pick_button.setChecked(True)
    event = QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(round(pixel.x()), round(pixel.y())),
                             Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    dock.map_tool.canvasReleaseEvent(event)


def _click_gauge(gauge_id: str, prefix: str = "CAMELS basins") -> bool:
    """Click inside the basin (or on the gauge point) of ``gauge_id``, away from any other basin."""
    layer = _layer(prefix)
    feature = next(layer.getFeatures(f"gauge_id = '{gauge_id}'"), None) if layer is not None else None
    if feature is None:
        return False
    geometry = feature.geometry()
    for other in layer.getFeatures():  # CAMELS outlines overlap a little: the smallest one would win there
        if other.id() != feature.id() and other.geometry().intersects(geometry):
            geometry = geometry.difference(other.geometry())
    _click(geometry.pointOnSurface().asPoint(), layer)
    return True


def _on_prediction(callback) -> None:
    """``callback(ok, detail)`` once the panel shows the next prediction (or its failure)."""
    dock = _dock()
    state = {"done": False}

    def shown(key: str) -> None:
        if not state["done"]:
            state["done"] = True
            callback(True, key)

    def failed(error: str) -> None:
        if not state["done"]:
            state["done"] = True
            callback(False, error)

    dock.predictionShown.connect(shown)
    dock.predictionFailed.connect(failed)


def _place(dialog, x: int = 300, y: int = 150) -> None:
    """No window manager under Xvfb: put a dialog over the map, clear of the panel."""
    dialog.move(iface.mainWindow().geometry().topLeft() + QPoint(x, y))


def _with_demo(callback) -> None:
    dock = _dock()

    def loaded(layers) -> None:
        _keep["layers"] = layers
        QTimer.singleShot(800, callback)  # after the zoom to the US

    dock.demoLoaded.connect(loaded)
    task = plugins["stefaland_plugin"].load_demo()
    _then(task, lambda t: None if t.ok else _failed(t.error or "demo not loaded"))


# ----------------------------------------------------------------------------- workflows
def basin() -> None:
    """Workflow 1: click the demo basin twice (the first answer loads the models; the second is warm)."""
    dock = _dock()
    dock.set_period(*PERIOD)
    timings = []

    def second(ok: bool, detail: str) -> None:
        if not ok:
            return _failed(detail)
        timings.append(dock.last_elapsed_s)
        result = dock.last_result or {}
        _ready("ok", gauge=DEMO_GAUGE, n_days=result.get("n_days"), nse=result.get("nse"), kge=result.get("kge"),
               has_observations=result.get("has_observations"), cold_s=timings[0], warm_s=timings[1])

    def first(ok: bool, detail: str) -> None:
        if not ok:
            return _failed(detail)
        timings.append(dock.last_elapsed_s)
        _on_prediction(second)
        _click_gauge(DEMO_GAUGE)

    basins_layer = _layer("CAMELS basins")
    feature = next(basins_layer.getFeatures(f"gauge_id = '{DEMO_GAUGE}'"), None) if basins_layer else None
    if feature is None:
        return _ready("error", detail=f"demo basin {DEMO_GAUGE} not found")
    _zoom_around(basins_layer, feature, 9.0)  # as a user zooms in from the US to the basin's region

    def click() -> None:
        _on_prediction(first)
        _click_gauge(DEMO_GAUGE)

    QTimer.singleShot(1000, click)


def _zoom_around(layer, feature, factor: float) -> None:
    canvas = iface.mapCanvas()
    to_canvas = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    extent = to_canvas.transformBoundingBox(feature.geometry().boundingBox())
    extent.scale(factor)
    canvas.setExtent(extent)
    canvas.refresh()


def finetune() -> None:
    """Workflow 2: example dataset -> check -> fine-tune -> the new adapter predicts an example gauge."""
    dock = _dock()
    dock.set_period(*PERIOD)
    dialog = dock.open_finetune()
    _keep["dialog"] = dialog
    _place(dialog, 300, 120)

    def predicted(ok: bool, detail: str) -> None:
        if not ok:
            return _failed(detail)
        result = dock.last_result or {}
        _ready("ok", adapter=dock.request_settings()["adapter"], gauge=detail, nse=result.get("nse"))

    def trained(task) -> None:
        if not task.ok:
            return _failed(task.error or "fine-tuning failed")
        with open(dialog.gauges_csv.filePath(), newline="", encoding="utf-8") as fh:
            first_gauge = next(csv.DictReader(fh))["id"]
        _on_prediction(predicted)
        if not _click_gauge(first_gauge, "CAMELS gauges"):
            _ready("error", detail=f"example gauge {first_gauge} not in the demo layer")

    def checked(task) -> None:
        if not task.ok or not dialog.start_button.isEnabled():
            return _failed(task.error or f"the example did not pass the check: {dialog.status.text()}")
        _then(dialog.start(), trained)

    def example(task) -> None:
        if not task.ok:
            return _failed(task.error or "example not written")
        _then(dialog.check(), checked)

    _then(dialog.use_example(), example)


def hazard() -> None:
    """Workflow 3a: the Ecuador terrain covariates -> susceptibility GeoTIFF, two styled layers."""
    dock = _dock()
    dialog = dock.open_landslide()
    _keep["dialog"] = dialog
    _place(dialog)
    raster = PROJECT / "data" / "landslides" / "ecuador_lsl" / "ta.tif"
    dialog.input_file.setFilePath(str(raster))
    task = dialog.run()

    def done(t) -> None:
        if not t.ok:
            return _failed(t.error or "hazard map failed")
        dialog.close()
        _ready("ok", out_tif=(t.result or {}).get("out_tif"), seconds=(t.result or {}).get("seconds"))

    if task is None:
        return _ready("error", detail=dialog.status.text())
    _then(task, done)


def basins() -> None:
    """Workflow 3b: the 63 western basins -> a graduated soil composition or mean flow layer."""
    from stefaland_plugin.basin_layer_dialog import MEAN_FLOW, SOIL

    dock = _dock()
    dock.set_period(*PERIOD)
    quantity = SOIL if os.environ.get("STEFALAND_BASIN_QUANTITY") == "soil" else MEAN_FLOW
    dialog = dock.open_basin_layer()
    _keep["dialog"] = dialog
    _place(dialog)
    dialog.layer_combo.setLayer(_layer("CAMELS basins"))
    dialog.quantity.setCurrentIndex(dialog.quantity.findData(quantity))
    task = dialog.run()

    def done(t) -> None:
        if not t.ok or dialog.output_layer is None:
            return _failed(t.error or dialog.status.text())
        layer = dialog.output_layer
        _keep["result"] = layer
        status = dialog.status.text()
        dialog.close()
        root = QgsProject.instance().layerTreeRoot()
        for other in QgsProject.instance().mapLayers().values():  # only the new layer stays on
            if other.id() != layer.id():
                root.findLayer(other.id()).setItemVisibilityChecked(False)
        dock._set_status(status)
        dock.zoom_to_layer(layer)
        _ready("ok", layer=layer.name(), features=layer.featureCount())

    if task is None:
        return _ready("error", detail=dialog.status.text())
    _then(task, done)


POLYGON = [(-105.78, 40.06), (-105.62, 40.12), (-105.47, 40.08), (-105.44, 39.96), (-105.57, 39.88),
           (-105.74, 39.92), (-105.78, 40.06)]


def polygon() -> None:
    """Workflow 4: a catchment polygon of the user's own (no gauge id), two fields named like attributes."""
    dock = _dock()
    dock.set_period(*PERIOD)
    path = Path(os.environ.get("STEFALAND_OUT", PROJECT / "out")) / "qgis" / "my_catchment.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    ring = [[x, y] for x, y in POLYGON]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "Upper Boulder Creek (my catchment)", "elev_mean": 2900.0, "frac_forest": 0.55,
                       "owner": "county"}}]}), encoding="utf-8")
    layer = QgsVectorLayer(str(path), "My catchment (no gauge id)", "ogr")
    symbol = layer.renderer().symbol()
    symbol.setColor(symbol.color().fromRgb(230, 120, 20, 90))
    symbol.symbolLayer(0).setStrokeColor(symbol.color().fromRgb(200, 80, 0))
    symbol.symbolLayer(0).setStrokeWidth(0.7)
    QgsProject.instance().addMapLayer(layer)
    _keep["polygon"] = layer
    _zoom_around(layer, next(layer.getFeatures()), 9.0)

    def shown(ok: bool, detail: str) -> None:
        if not ok:
            return _failed(detail)
        result = dock.last_result or {}
        _ready("ok", polygon=detail, nearest_basin=result.get("nearest_basin"),
               imputed=len(result.get("imputed") or []), given=result.get("given"))

    def click() -> None:
        _on_prediction(shown)
        feature = next(layer.getFeatures())
        _click(feature.geometry().pointOnSurface().asPoint(), layer)

    QTimer.singleShot(1000, click)


SCENARIOS = {"basin": (True, basin), "finetune": (True, finetune), "hazard": (False, hazard),
             "basins": (True, basins), "polygon": (True, polygon), "none": (True, lambda: _ready("ok"))}


def main() -> None:
    window = iface.mainWindow()
    screen = window.screen().availableGeometry() if hasattr(window, "screen") else None
    if screen is not None:
        window.setGeometry(screen)  # no window manager under Xvfb: size the window ourselves
    plugin = plugins.get("stefaland_plugin")
    if plugin is None:
        _ready("error", detail="the StefaLand plugin is not loaded")
        return
    if SCENARIO not in SCENARIOS:
        _ready("error", detail=f"unknown scenario {SCENARIO!r}; known: {', '.join(SCENARIOS)}")
        return
    browser = window.findChild(QDockWidget, "Browser")
    if browser is not None:
        browser.hide()  # more room for the layer legend
    plugin.dock.setUserVisible(True)
    layers = window.findChild(QDockWidget, "Layers")
    docks, widths = [plugin.dock], [DOCK_WIDTH]
    if layers is not None:  # wider: legends unclipped
        docks, widths = [layers, plugin.dock], [LAYERS_WIDTH, DOCK_WIDTH]
    window.resizeDocks(docks, widths, Qt.Orientation.Horizontal)
    needs_demo, run = SCENARIOS[SCENARIO]
    if needs_demo:
        _with_demo(run)
    else:
        run()


QTimer.singleShot(500, main)
