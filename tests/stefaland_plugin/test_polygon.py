"""Workflow 4, any polygon: field matching, centroid and area, the drawing tool, and the panel end to end."""

from __future__ import annotations

import pytest
from plugin_helpers import wait_for
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

from stefaland_plugin.polygon import (
    PolygonDrawTool,
    describe_location,
    location_request,
    match_fields,
    polygon_inputs,
)

KNOWN = ["p_mean", "elev_mean", "frac_forest", "slope_mean", "area_gages2", "dom_land_cover"]
# a hexagon of about 15 x 25 km in the Colorado Front Range (no CAMELS outline there)
RING = [(-105.78, 40.06), (-105.62, 40.12), (-105.47, 40.08), (-105.44, 39.96), (-105.57, 39.88),
        (-105.74, 39.92), (-105.78, 40.06)]


def _catchment(crs: str = "EPSG:4326", fields: str = "&field=name:string&field=ELEV_MEAN:double"
               "&field=frac_fores:double&field=owner:string", values=("Upper creek", 2900.0, 0.55, "county")):
    layer = QgsVectorLayer(f"Polygon?crs={crs}{fields}", "catchments", "memory")
    feature = QgsFeature(layer.fields())
    feature.setAttributes(list(values))
    geometry = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in RING]])
    if crs != "EPSG:4326":
        from qgis.core import QgsCoordinateTransform

        geometry.transform(QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                                  QgsCoordinateReferenceSystem(crs), QgsProject.instance()))
    feature.setGeometry(geometry)
    layer.dataProvider().addFeatures([feature])
    return layer


def test_match_fields_case_shapefile_cut_and_area():
    fields = ["NAME", "Elev_Mean", "frac_fores", "slope_mean", "area_km2", "q_mean", "dom_land_c"]
    assert match_fields(fields, KNOWN) == {"elev_mean": "Elev_Mean", "frac_forest": "frac_fores",
                                           "slope_mean": "slope_mean", "area_km2": "area_km2",
                                           "dom_land_cover": "dom_land_c"}
    # a cut name that starts two attribute names is ambiguous: not matched
    assert match_fields(["dom_land_c"], ["dom_land_cover", "dom_land_cover_frac"]) == {}


def test_polygon_inputs_centroid_fields_and_area_in_another_crs(qgis_new_project):
    layer = _catchment("EPSG:3857")
    inputs = polygon_inputs(next(layer.getFeatures()), layer.crs(), KNOWN, "Upper creek")
    assert inputs.lat == pytest.approx(40.0, abs=0.03) and inputs.lon == pytest.approx(-105.6, abs=0.03)
    assert inputs.from_fields == {"elev_mean": "ELEV_MEAN", "frac_forest": "frac_fores"}
    assert inputs.attributes["elev_mean"] == 2900.0 and inputs.attributes["frac_forest"] == 0.55
    assert "owner" not in inputs.attributes and "name" not in inputs.attributes
    assert 500 < inputs.area_km2 < 600  # ellipsoidal (Web Mercator planar would give about 930 km²)
    assert inputs.attributes["area_km2"] == pytest.approx(inputs.area_km2, rel=1e-3)
    assert inputs.from_geometry == ["area_gages2"]
    request = location_request(inputs, "1995-10-01", "1996-09-30", "/tmp/out", adapter="/a.pt",
                               forcings_csv="/f.csv", request_id="Upper creek")
    assert request["method"] == "predict_location"
    params = request["params"]
    assert params["out_csv"] == "/tmp/out/streamflow_Upper_creek_1995-10-01_1996-09-30.csv"
    assert params["adapter"] == "/a.pt" and params["forcings_csv"] == "/f.csv"
    assert (params["lat"], params["lon"]) == (inputs.lat, inputs.lon)
    lines = describe_location({"nearest_basin": {"gauge_id": "06730500", "distance_km": 12.3},
                               "imputed": ["p_mean", "slope_mean"], "ignored": ["owner (not a model attribute)"]},
                              inputs, lambda s: s)
    text = "\n".join(lines)
    assert "nearest CAMELS basin 06730500 (12.3 km" in text
    assert "From fields (2): elev_mean ← ELEV_MEAN, frac_forest ← frac_fores" in text
    assert "From the geometry: area_gages2" in text
    assert "Imputed by the model (2): p_mean, slope_mean" in text and "Ignored: owner" in text


def test_a_field_area_wins_over_the_geometry(qgis_new_project):
    layer = _catchment(fields="&field=name:string&field=area_km2:double", values=("x", 123.0))
    inputs = polygon_inputs(next(layer.getFeatures()), layer.crs(), KNOWN, "x")
    assert inputs.attributes["area_km2"] == 123.0 and inputs.from_geometry == []


def _event(canvas, point: QgsPointXY, button=Qt.MouseButton.LeftButton):
    pixel = canvas.getCoordinateTransform().transform(point)
    return QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(round(pixel.x()), round(pixel.y())),
                            button, button, Qt.KeyboardModifier.NoModifier)


def test_draw_tool_emits_a_closed_polygon(qgis_canvas):
    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    qgis_canvas.setExtent(QgsRectangle(-106, 39.5, -105, 40.5))
    tool = PolygonDrawTool(qgis_canvas)
    drawn, hints = [], []
    tool.polygonDrawn.connect(drawn.append)
    tool.hint.connect(hints.append)
    for x, y in RING[:2]:
        tool.canvasReleaseEvent(_event(qgis_canvas, QgsPointXY(x, y)))
    tool.canvasReleaseEvent(_event(qgis_canvas, QgsPointXY(-105.5, 40), Qt.MouseButton.RightButton))
    assert drawn == [] and "three vertices" in hints[-1]  # two vertices are not a polygon
    for x, y in RING[2:-1]:
        tool.canvasReleaseEvent(_event(qgis_canvas, QgsPointXY(x, y)))
    tool.canvasReleaseEvent(_event(qgis_canvas, QgsPointXY(-105.5, 40), Qt.MouseButton.RightButton))
    assert len(drawn) == 1 and tool.points == []
    assert drawn[0].area() == pytest.approx(QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in RING]]).area(),
                                            rel=0.08)  # vertices snap to whole pixels


def test_click_on_a_polygon_without_gauge_id_predicts_it_as_a_location(qgis_iface, qgis_new_project, real_data,
                                                                        out_dir, shared_worker):
    """Real worker: the map tool finds no gauge, picks the polygon; the panel says where every input came from."""
    from stefaland_plugin.dock import StefaLandDock

    layer = _catchment()
    QgsProject.instance().addMapLayer(layer)
    dock = StefaLandDock(qgis_iface)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setLayers([layer])
    canvas.setExtent(QgsRectangle(-106.5, 39.5, -104.5, 40.5))
    dock.set_period("1995-10-01", "1996-09-30")
    shown, failed = [], []
    dock.predictionShown.connect(shown.append)
    dock.predictionFailed.connect(failed.append)
    dock.pick_button.setChecked(True)
    dock.map_tool.canvasReleaseEvent(_event(canvas, QgsPointXY(-105.6, 40.0)))
    assert layer.selectedFeatureIds() == [next(layer.getFeatures()).id()]
    assert wait_for(lambda: shown or failed, 300), "no answer"
    assert shown and not failed, failed
    params = dock.last_request["params"]
    assert dock.last_request["method"] == "predict_location" and "forcings_csv" not in params
    assert params["attributes"]["elev_mean"] == 2900.0 and params["attributes"]["frac_forest"] == 0.55
    result = dock.last_result
    assert result["nearest_basin"]["gauge_id"] and result["n_days"] == 366
    assert "elev_mean" not in result["imputed"] and "p_mean" in result["imputed"]
    assert sorted(result["given"]) == ["area_gages2", "elev_mean", "frac_forest"]
    text = dock.details.toPlainText()
    assert f"nearest CAMELS basin {result['nearest_basin']['gauge_id']}" in text
    assert "From fields (2): elev_mean ← ELEV_MEAN, frac_forest ← frac_fores" in text
    assert f"Imputed by the model ({len(result['imputed'])})" in text
    assert dock.hydrograph.hydrograph.title == "Upper creek"
    assert dock.polygons.attribute_names and "p_mean" in dock.polygons.attribute_names

    # the same polygon with forcings from a CSV of the user's: the panel names the file
    csv = out_dir / "forcings.csv"
    lines = ["date,prcp,srad,tmax,tmin,vp,dayl"]
    from datetime import date, timedelta

    day = date(1994, 1, 1)
    for k in range(3 * 365):
        lines.append(f"{day + timedelta(days=k)},{(k % 7) * 1.5},{200 + k % 50},{10 + k % 15},{k % 10 - 2},800,40000")
    csv.write_text("\n".join(lines) + "\n")
    dock.polygons.set_forcings_csv(str(csv))
    assert dock.polygons.csv_action.isChecked()
    dock.polygons.predict_feature(layer, next(layer.getFeatures()))
    assert wait_for(lambda: len(shown) + len(failed) == 2, 120)
    assert not failed, failed
    assert dock.last_request["params"]["forcings_csv"] == str(csv)
    assert dock.last_result["nearest_basin"] is None
    assert "forcings.csv (forcings CSV)" in dock.details.toPlainText()
    dock.polygons.set_forcings_csv("")
    dock.shutdown()


def test_drawn_polygon_goes_into_a_layer_and_is_predicted(qgis_iface, qgis_new_project, real_data, out_dir,
                                                          shared_worker):
    from stefaland_plugin.dock import StefaLandDock

    dock = StefaLandDock(qgis_iface)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setExtent(QgsRectangle(-106.5, 39.5, -104.5, 40.5))
    dock.set_period("1995-10-01", "1995-12-31")
    dock.polygons.start_drawing()
    assert canvas.mapTool() is dock.polygons.draw_tool
    shown, failed = [], []
    dock.predictionShown.connect(shown.append)
    dock.predictionFailed.connect(failed.append)
    for x, y in RING[:-1]:
        dock.polygons.draw_tool.canvasReleaseEvent(_event(canvas, QgsPointXY(x, y)))
    dock.polygons.draw_tool.canvasReleaseEvent(_event(canvas, QgsPointXY(x, y), Qt.MouseButton.RightButton))
    drawn = QgsProject.instance().mapLayersByName("Drawn polygons")
    assert len(drawn) == 1 and drawn[0].featureCount() == 1
    assert next(drawn[0].getFeatures())["name"] == "Polygon 1"
    assert canvas.mapTool() is not dock.polygons.draw_tool
    assert wait_for(lambda: shown or failed, 300), "no answer"
    assert shown and not failed, failed
    assert dock.last_request["params"]["id"] == "Polygon 1"
    assert "area_km2" in dock.last_request["params"]["attributes"]
    dock.shutdown()
