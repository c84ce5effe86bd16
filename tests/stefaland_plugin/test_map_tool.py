"""The "Click a basin" tool: a canvas click on a basin builds the prediction request for its gauge."""

from __future__ import annotations

import pytest
from plugin_helpers import BASINS_GPKG, wait_for
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt

from stefaland_plugin.gauges import normalize_gauge_id
from stefaland_plugin.map_tool import BasinPickTool, find_basin


def click(canvas, tool, map_point: QgsPointXY) -> None:
    """Release the left button over ``map_point`` (canvas CRS), as a user's click does."""
    pixel = canvas.getCoordinateTransform().transform(map_point)
    event = QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(round(pixel.x()), round(pixel.y())),
                             Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tool.canvasReleaseEvent(event)


def show(canvas, layers, extent: QgsRectangle, crs: str = "EPSG:4326") -> None:
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(crs))
    canvas.setLayers(layers)
    canvas.setExtent(extent)


@pytest.fixture
def basins(real_data, qgis_new_project):
    layer = QgsVectorLayer(f"{BASINS_GPKG}|layername=bagis_camels_basins", "basins", "ogr")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def test_normalize_gauge_id():
    assert normalize_gauge_id("01013500") == "01013500"
    assert normalize_gauge_id(1013500) == "01013500"
    assert normalize_gauge_id(6043500.0) == "06043500"
    assert normalize_gauge_id(" 6043500 ") == "06043500"
    assert normalize_gauge_id("abc") is None
    assert normalize_gauge_id(None) is None
    assert normalize_gauge_id(123456789) is None


def test_click_on_demo_basin_builds_the_request(basins, qgis_canvas, tmp_path):
    feature = next(f for f in basins.getFeatures() if f["gauge_id"] == "06043500")
    extent = basins.extent()
    extent.scale(1.05)
    show(qgis_canvas, [basins], extent)
    settings = {"start": "1990-01-01", "end": "1999-12-31", "out_dir": tmp_path, "adapter": ""}
    tool = BasinPickTool(qgis_canvas, lambda: settings)
    requests, names = [], []
    tool.predictionRequested.connect(requests.append)
    tool.basinPicked.connect(lambda gauge, layer: names.append((gauge, layer)))

    click(qgis_canvas, tool, feature.geometry().pointOnSurface().asPoint())

    assert names == [("06043500", "basins")]
    assert requests == [{"method": "predict_streamflow", "label": "Gallatin R nr Gateway", "params": {
        "gauge_id": "06043500", "start": "1990-01-01", "end": "1999-12-31",
        "out_csv": str(tmp_path / "streamflow_06043500_1990-01-01_1999-12-31.csv")}}]


def test_click_outside_every_basin_finds_nothing(basins, qgis_canvas, tmp_path):
    show(qgis_canvas, [basins], QgsRectangle(-80, 30, -70, 40))
    tool = BasinPickTool(qgis_canvas, lambda: {"start": "1990-01-01", "end": "1990-12-31", "out_dir": tmp_path})
    misses, requests = [], []
    tool.nothingFound.connect(misses.append)
    tool.predictionRequested.connect(requests.append)
    click(qgis_canvas, tool, QgsPointXY(-75, 35))
    assert requests == [] and len(misses) == 1 and "gauge_id" in misses[0]


def test_official_outlines_with_integer_hru_id_in_another_crs(qgis_new_project, qgis_canvas, tmp_path):
    """Official CAMELS outlines carry hru_id as an integer without the leading zero."""
    layer = QgsVectorLayer("Polygon?crs=EPSG:3857&field=hru_id:integer", "official", "memory")
    feature = QgsFeature(layer.fields())
    feature.setAttributes([1013500])
    feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(-7640000, 5980000, -7600000, 6010000)))
    layer.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(layer)
    show(qgis_canvas, [layer], QgsRectangle(-7700000, 5950000, -7550000, 6050000), "EPSG:3857")
    tool = BasinPickTool(qgis_canvas, lambda: {"start": "2000-01-01", "end": "2000-12-31", "out_dir": tmp_path,
                                               "adapter": "/x/adapter.pt"})
    requests = []
    tool.predictionRequested.connect(requests.append)
    click(qgis_canvas, tool, QgsPointXY(-7620000, 5995000))
    assert requests[0]["params"]["gauge_id"] == "01013500"
    assert requests[0]["params"]["adapter"] == "/x/adapter.pt"


def test_gauge_points_win_over_the_basin_around_them(basins, qgis_canvas):
    points = QgsVectorLayer("Point?crs=EPSG:4326&field=gauge_id:string", "gauges", "memory")
    feature = QgsFeature(points.fields())
    inside = next(iter(basins.getFeatures()))
    point = inside.geometry().pointOnSurface().asPoint()
    feature.setAttributes(["09999999"])
    feature.setGeometry(QgsGeometry.fromPointXY(point))
    points.dataProvider().addFeatures([feature])
    QgsProject.instance().addMapLayer(points)
    extent = inside.geometry().boundingBox()
    extent.scale(1.5)
    show(qgis_canvas, [points, basins], extent)
    assert find_basin(qgis_canvas, point).gauge_id == "09999999"
    near = QgsPointXY(point.x() + 3 * qgis_canvas.mapUnitsPerPixel(), point.y())
    assert find_basin(qgis_canvas, near).gauge_id == "09999999"


def own_point(layer, feature) -> QgsPointXY:
    """A point of ``feature`` inside no other feature of the layer (CAMELS outlines overlap a little)."""
    geometry = feature.geometry()
    for other in layer.getFeatures():
        if other.id() != feature.id() and other.geometry().intersects(geometry):
            geometry = geometry.difference(other.geometry())
    return geometry.pointOnSurface().asPoint()


GAUGE = "13011500"  # Pacific Creek at Moran, Wyoming: one of the 63 outlines, observed flow in Caravan


def test_click_in_the_dock_runs_the_prediction_end_to_end(basins, qgis_iface, out_dir, shared_worker):
    """Real worker, real backend: the click is answered with the basin's hydrograph."""
    from stefaland_plugin.dock import StefaLandDock

    dock = StefaLandDock(qgis_iface)
    canvas = qgis_iface.mapCanvas()
    feature = next(f for f in basins.getFeatures() if f["gauge_id"] == GAUGE)
    extent = feature.geometry().boundingBox()
    extent.scale(3)  # zoomed in on the basin, as a user would to click a small one
    show(canvas, [basins], extent)
    shown, failed = [], []
    dock.predictionShown.connect(shown.append)
    dock.predictionFailed.connect(failed.append)
    dock.set_period("1995-10-01", "1996-09-30")
    dock.pick_button.setChecked(True)
    assert canvas.mapTool() is dock.map_tool
    click(canvas, dock.map_tool, own_point(basins, feature))
    assert dock.last_request["params"]["gauge_id"] == GAUGE
    assert wait_for(lambda: shown or failed, 300), "the prediction did not finish"
    assert shown and not failed, failed
    result = dock.last_result
    assert dock.hydrograph.hydrograph is not None
    assert len(dock.hydrograph.hydrograph.dates) == result["n_days"] == 366
    assert result["has_observations"] and dock.hydrograph.hydrograph.has_observed  # Caravan has this basin
    assert dock.hydrograph.hydrograph.nse == result["nse"] is not None
    assert GAUGE in dock.hydrograph.hydrograph.title and "Pacific" in dock.hydrograph.hydrograph.title
    details = dock.details.toPlainText()
    assert "Imputed inputs" in details and f"Daymet basin mean of {GAUGE}" in details
    assert "the backend answered in" in dock.status_label.text()
    # warm: the models are loaded now; the backend part of a click is fast
    dock.start_prediction(dock.last_request)
    assert wait_for(lambda: len(shown) == 2 or failed, 120)
    assert len(shown) == 2 and not failed, failed
    dock.shutdown()
