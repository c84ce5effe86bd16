"""The Processing algorithms against the real worker and the real data."""

from __future__ import annotations

import pytest
from plugin_helpers import BASINS_GPKG
from qgis.core import QgsFeature, QgsGeometry, QgsProcessingException, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QVariant


def test_load_camels_demo_produces_valid_layers(stefaland_provider, real_data, shared_worker, tmp_path):
    import processing

    result = processing.run("stefaland:load_camels_demo", {"OUTPUT_FOLDER": str(tmp_path)})
    gauges = QgsVectorLayer(result["GAUGES"], "gauges", "ogr")
    basins = QgsVectorLayer(result["BASINS"], "basins", "ogr")
    assert gauges.isValid() and basins.isValid()
    assert gauges.featureCount() == 671
    assert basins.featureCount() == 63
    assert gauges.crs().authid() == "EPSG:4326"
    fields = gauges.fields()
    assert fields.field("gauge_id").type() == QVariant.Type.String
    for name in ("gauge_name", "huc_02", "area_km2", "elev_mean", "has_streamflow"):
        assert fields.indexOf(name) >= 0, name
    by_id = {f["gauge_id"]: f for f in gauges.getFeatures()}
    fish = by_id["01013500"]  # Fish River near Fort Kent, Maine: first row of camels_topo.txt
    assert fish["gauge_name"].startswith("Fish River")
    assert abs(fish.geometry().asPoint().y() - 47.23739) < 1e-5
    assert bool(fish["has_streamflow"])
    assert sum(bool(f["has_streamflow"]) for f in by_id.values()) == int(result["SUMMARY"].split(", ")[1].split()[0])
    assert set(f["gauge_id"] for f in basins.getFeatures()) <= set(by_id)
    assert not list(tmp_path.glob(".*.partial"))


def _predict(tmp_path, start="1995-01-01", end="1995-12-31"):
    import processing

    layer = QgsVectorLayer(f"{BASINS_GPKG}|layername=bagis_camels_basins", "basins", "ogr")
    layer.setSubsetString("gauge_id = '06043500'")
    QgsProject.instance().addMapLayer(layer)
    return processing.run("stefaland:predict_streamflow", {
        "INPUT": layer, "START": start, "END": end,
        "OUTPUT_CSV": str(tmp_path / "flow.csv"), "OUTPUT": "memory:"})


def test_predict_streamflow_writes_the_csv_and_scores(stefaland_provider, real_data, shared_worker, tmp_path,
                                                       qgis_new_project):
    result = _predict(tmp_path)
    lines = (tmp_path / "flow.csv").read_text().splitlines()
    assert lines[0].startswith("gauge_id,")
    assert len(lines) == 1 + 365
    scored = result["OUTPUT"]
    assert scored.featureCount() == 1
    feature = next(scored.getFeatures())
    assert feature["sf_gauge_id"] == "06043500"
    assert feature["sf_in_sample"] == 0  # no Caravan flows: the bundled adapter never saw this basin


def test_landslide_map_writes_the_susceptibility_raster(stefaland_provider, real_file, shared_worker, tmp_path):
    import processing

    tif = real_file("landslides/ecuador_lsl/ta.tif")
    out = tmp_path / "susceptibility.tif"
    result = processing.run("stefaland:landslide_susceptibility", {"INPUT": str(tif), "OUTPUT": str(out)})
    assert result["OUTPUT"] == str(out) and out.is_file()


def test_predict_rejects_layers_without_gauge_ids(stefaland_provider, qgis_new_project, tmp_path):
    import processing

    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", "no ids", "memory")
    with pytest.raises(QgsProcessingException, match="no gauge_id or hru_id field"):
        processing.run("stefaland:predict_streamflow", {"INPUT": layer, "START": "1995-01-01", "END": "1995-12-31",
                                                          "OUTPUT_CSV": str(tmp_path / "x.csv"), "OUTPUT": "memory:"})


def _polygon_layer():
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326&field=name:string&field=elev_mean:double", "polygons", "memory")
    features = []
    for name, wkt, elev in (("upper", "POLYGON((-69.9 46.5,-69.5 46.5,-69.5 46.8,-69.9 46.8,-69.9 46.5))", 420.0),
                            ("lower", "POLYGON((-69.4 46.2,-69.1 46.2,-69.1 46.4,-69.4 46.4,-69.4 46.2))", None),
                            ("empty", None, None)):
        feature = QgsFeature(layer.fields())
        feature.setAttributes([name, elev])
        if wkt:
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(layer)
    return layer


def test_predict_polygon_streamflow_gives_every_polygon_a_hydrograph(stefaland_provider, real_data, shared_worker,
                                                                      tmp_path, qgis_new_project):
    import processing

    params = {"INPUT": _polygon_layer(), "NAME_FIELD": "name", "START": "1995-01-01", "END": "1995-12-31",
              "OUTPUT_CSV": str(tmp_path / "polygons.csv"), "OUTPUT": "memory:"}
    result = processing.run("stefaland:predict_polygon_streamflow", params)
    lines = (tmp_path / "polygons.csv").read_text().splitlines()
    assert lines[0] == "location,date,streamflow_pred,member_spread_p10,member_spread_p90"
    assert len(lines) == 1 + 2 * 365  # the polygon without geometry is reported and skipped
    assert {line.split(",")[0] for line in lines[1:]} == {"upper", "lower"}
    out = {f["sf_location"]: f for f in result["OUTPUT"].getFeatures()}
    assert set(out) == {"upper", "lower"} and result["N_LOCATIONS"] == "2"
    assert "elev_mean (elev_mean)" in out["upper"]["sf_from_fields"]
    assert "elev_mean" in out["lower"]["sf_imputed"] and "elev_mean" not in out["upper"]["sf_imputed"]
    assert 700 < out["upper"]["sf_area_km2"] < 1300  # 0.4 x 0.3 degrees at 46.6 N
    assert "nearest CAMELS basin" in out["upper"]["sf_forcing"]
    assert out["upper"]["sf_mean_flow"] >= 0


def test_unique_polygon_names_number_the_repeats():
    from stefaland_plugin.processing.polygon_algorithm import unique_names

    assert unique_names(["a", "b", "a", "a"]) == ["a", "b", "a #2", "a #3"]
