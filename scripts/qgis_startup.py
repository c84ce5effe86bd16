"""Run inside the desktop QGIS by ``scripts/run_qgis.py`` (``qgis --code scripts/qgis_startup.py``).

Loads the CAMELS demo through the StefaLand plugin, then clicks one basin programmatically (its
hydrograph, or the backend's reason for not predicting yet, shows in the panel). When everything is
on screen it writes the file named by ``$STEFALAND_READY_FILE`` (if set) so a screenshot can be taken.
"""

from __future__ import annotations

import os
from pathlib import Path

from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

DEMO_GAUGE = "06043500"  # Gallatin River near Gateway, Montana: one of the 63 outlined basins
READY_FILE = os.environ.get("STEFALAND_READY_FILE", "")
_keep = {}


def _ready(text: str) -> None:
    if READY_FILE:
        Path(READY_FILE).write_text(text + "\n", encoding="utf-8")


def _after_prediction(_gauge: str = "") -> None:
    iface.mapCanvas().refresh()
    QTimer.singleShot(1500, lambda: _ready("ok"))


def _click_basin(dock, layers) -> bool:
    """Click the demo basin with the plugin's map tool, exactly as a user would."""
    from qgis.core import QgsCoordinateTransform, QgsProject
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt

    canvas = iface.mapCanvas()
    basins = next((layer for layer in layers if layer.name().startswith("CAMELS basins")), None)
    if basins is None:
        return False
    feature = next(basins.getFeatures(f"gauge_id = '{DEMO_GAUGE}'"), None)
    if feature is None:
        return False
    point = feature.geometry().pointOnSurface().asPoint()
    to_canvas = QgsCoordinateTransform(basins.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
    pixel = canvas.getCoordinateTransform().transform(to_canvas.transform(point))
    dock.pick_button.setChecked(True)
    event = QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(round(pixel.x()), round(pixel.y())),
                             Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    dock.map_tool.canvasReleaseEvent(event)
    return True


def _demo_loaded(layers) -> None:
    dock = plugins["stefaland_plugin"].dock
    _keep["layers"] = layers

    def click() -> None:
        done = []
        dock.predictionShown.connect(lambda _gauge: done.append(True))
        if not _click_basin(dock, layers):
            _ready("error: demo basin not found")
            return
        task = next(iter(dock._tasks), None)
        if task is None:
            _after_prediction()
            return
        previous = task.on_done

        def finished(t) -> None:
            previous(t)
            _after_prediction()

        task.on_done = finished

    QTimer.singleShot(800, click)  # after the zoom to the basins


def main() -> None:
    window = iface.mainWindow()
    screen = window.screen().availableGeometry() if hasattr(window, "screen") else None
    if screen is not None:
        window.setGeometry(screen)  # no window manager under Xvfb: size the window ourselves
    plugin = plugins.get("stefaland_plugin")
    if plugin is None:
        _ready("error: the StefaLand plugin is not loaded")
        return
    plugin.dock.demoLoaded.connect(_demo_loaded)
    task = plugin.load_demo()
    done = task.on_done

    def finished(t) -> None:
        done(t)
        if not t.ok:
            _ready(f"error: {t.error}")

    task.on_done = finished
    _keep["task"] = task


QTimer.singleShot(500, main)
