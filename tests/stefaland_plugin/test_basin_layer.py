"""Workflow 3b: basins -> graduated layers of soil composition or mean flow, written to a GeoPackage."""

from __future__ import annotations

from plugin_helpers import BASINS_GPKG, wait_for
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer

from stefaland_plugin.layers import apply_style, write_result_layer


def _basins(subset: str) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{BASINS_GPKG}|layername=bagis_camels_basins", "CAMELS basins (63 western)", "ogr")
    layer.setSubsetString(subset)
    QgsProject.instance().addMapLayer(layer)
    return layer


def test_write_result_layer_and_graduated_styles(tmp_path, qgis_new_project):
    source = QgsVectorLayer("Polygon?crs=EPSG:4326&field=fid:integer&field=gauge_id:string", "src", "memory")
    features = []
    for k in range(3):
        feature = QgsFeature(source.fields())
        feature.setAttributes([k + 1, f"0000000{k}"])
        feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(k, 0), QgsPointXY(k + 1, 0), QgsPointXY(k, 1)]]))
        features.append(feature)
    source.dataProvider().addFeatures(features)
    features = list(source.getFeatures())
    values = {features[0].id(): [0.3, "a"], features[2].id(): [3.5, "b"]}
    layer = write_result_layer(features, source.fields(), source.crs(), source.wkbType(),
                               [("mean_flow", "double"), ("forcing", "string")], values, tmp_path / "flow.gpkg",
                               "flow")
    assert layer.isValid() and layer.featureCount() == 2  # the feature without a value is left out
    assert [f.name() for f in layer.fields()] == ["fid", "gauge_id", "mean_flow", "forcing"]  # the gpkg's own fid
    assert sorted(f["mean_flow"] for f in layer.getFeatures()) == [0.3, 3.5]
    assert apply_style(layer, "mean_flow_polygon")
    renderer = layer.renderer()
    assert renderer.type() == "graduatedSymbol" and renderer.classAttribute() == "mean_flow"
    assert renderer.ranges()[0].label().endswith("mm/day")
    points = QgsVectorLayer("Point?crs=EPSG:4326&field=clay_pct:double", "p", "memory")
    assert apply_style(points, "soil_composition") and points.renderer().classAttribute() == "clay_pct"
    assert apply_style(points, "mean_flow") and points.renderer().classAttribute() == "mean_flow"


def test_basins_to_soil_composition_layer(qgis_iface, qgis_new_project, real_data, out_dir, shared_worker):
    from stefaland_plugin.basin_layer_dialog import SOIL, BasinLayerDialog
    from stefaland_plugin.dock import StefaLandDock

    layer = _basins("gauge_id IN ('13011500', '06043500', '12451000')")
    dock = StefaLandDock(qgis_iface)
    dialog = BasinLayerDialog(dock)
    assert dialog.layer_combo.currentLayer() is layer  # a basin layer is preselected
    dialog.quantity.setCurrentIndex(dialog.quantity.findData(SOIL))
    assert dialog.output_file.filePath() == str(out_dir / "soil_composition.gpkg")
    task = dialog.run()
    assert wait_for(lambda: dialog.run_button.isEnabled(), 300), dialog.status.text()
    assert task.ok, task.error
    result = dialog.output_layer
    assert result is not None and result.featureCount() == 3
    assert result.renderer().type() == "graduatedSymbol" and result.renderer().classAttribute() == "clay_pct"
    for feature in result.getFeatures():
        total = feature["sand_pct"] + feature["silt_pct"] + feature["clay_pct"]
        assert abs(total - 100) < 0.5 and feature["forcing_basin"] and feature["n_imputed"] >= 0
    assert QgsProject.instance().mapLayersByName("Soil composition – CAMELS basins (63 western)")
    assert "Done: 3 of 3 features" in dialog.status.text()
    dialog.close()


def test_basins_to_mean_flow_layer(qgis_iface, qgis_new_project, real_data, out_dir, shared_worker):
    from stefaland_plugin.basin_layer_dialog import MEAN_FLOW, BasinLayerDialog
    from stefaland_plugin.dock import StefaLandDock

    layer = _basins("gauge_id IN ('13011500', '12451000')")
    dock = StefaLandDock(qgis_iface)
    dock.set_period("1995-10-01", "1996-09-30")
    dialog = BasinLayerDialog(dock)
    dialog.layer_combo.setLayer(layer)
    dialog.quantity.setCurrentIndex(dialog.quantity.findData(MEAN_FLOW))
    assert dialog.output_file.filePath().endswith("mean_flow_1995-10-01_1996-09-30.gpkg")
    task = dialog.run()
    ids = sorted(i["gauge_id"] for i in task.items)  # both basins of the layer, in whichever order it lists them
    assert (task.method == "predict_streamflow") and (ids == ["12451000", "13011500"]), (task.method, task.items)
    assert wait_for(lambda: dialog.run_button.isEnabled(), 300), dialog.status.text()
    assert task.ok, task.error
    result = dialog.output_layer
    assert result.featureCount() == 2 and result.renderer().classAttribute() == "mean_flow"
    for feature in result.getFeatures():
        assert feature["mean_flow"] > 0 and feature["n_days"] == 366 and feature["has_obs"] == 1
        assert feature["forcing"].startswith("Daymet basin mean of")
    dialog.close()
