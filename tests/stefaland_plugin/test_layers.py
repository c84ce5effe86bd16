"""Result files become styled layers: susceptibility GeoTIFF, demo layers, CSV tables."""

from __future__ import annotations

import numpy as np
from osgeo import gdal, osr

from stefaland_plugin.layers import csv_table, susceptibility_layers, write_csvt


def _hazard_tif(path, bands=2):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 20, 10, bands, gdal.GDT_Float32)
    ds.SetGeoTransform((700000, 10, 0, 9500000, 0, -10))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    ds.SetProjection(srs.ExportToWkt())
    probability = np.linspace(0, 1, 200, dtype=np.float32).reshape(10, 20)
    ds.GetRasterBand(1).WriteArray(probability)
    if bands == 2:
        ds.GetRasterBand(2).WriteArray(np.minimum(5, 1 + (probability * 5).astype(np.int32)).astype(np.float32))
    ds = None
    return path


def test_susceptibility_layers_with_class_breaks(tmp_path):
    tif = _hazard_tif(tmp_path / "hazard.tif")
    continuous, classes = susceptibility_layers(tif, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert continuous.renderer().type() == "singlebandpseudocolor" and continuous.renderer().band() == 1
    assert classes.renderer().type() == "paletted" and classes.renderer().band() == 2
    labels = [c.label for c in classes.renderer().classes()]
    assert labels[0] == "Very low (0.00–0.20)" and labels[-1] == "Very high (0.80–1.00)"


def test_single_band_output_shows_the_probability_only(tmp_path):
    layers = susceptibility_layers(_hazard_tif(tmp_path / "p.tif", bands=1))
    assert [layer.renderer().type() for layer in layers] == ["singlebandpseudocolor"]


def test_csv_table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("gauge_id,date,streamflow_pred\n06043500,1995-01-01,1.25\n")
    write_csvt(path)
    layer = csv_table(path)
    assert layer.featureCount() == 1 and not layer.isSpatial()
    row = next(layer.getFeatures())
    assert row["gauge_id"] == "06043500"
    assert row["streamflow_pred"] == 1.25
    assert row["date"].toString("yyyy-MM-dd") == "1995-01-01"
