"""Hazard map: grid, values, classes, nodata, CRS and band checks, atomic output; on small generated rasters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from landslide_fixtures import LSL_BANDS, make_raster, small_model, tiny_base
from osgeo import gdal, osr

import backend.tasks.landslide.hazard as hazard
from backend.cli import main as cli_main
from backend.core.errors import DataFormatError
from backend.service.landslide import hazard_request
from backend.service.requests import parse_params
from backend.tasks.landslide.hazard import NODATA, classify, quantile_breaks, write_hazard_map
from backend.tasks.landslide.model import save_landslide_adapter

gdal.UseExceptions()


@pytest.fixture(scope="module")
def model():
    """A small StefaLand landslide model on a tiny random base model."""
    return small_model(tiny_base())


@pytest.fixture(scope="module")
def scratch_model():
    return small_model(None)


def _read(path: Path) -> tuple[gdal.Dataset, np.ndarray, np.ndarray]:
    dataset = gdal.Open(str(path))
    return dataset, dataset.GetRasterBand(1).ReadAsArray(), dataset.GetRasterBand(2).ReadAsArray()


def _input_nodata(path: Path) -> np.ndarray:
    dataset = gdal.Open(str(path))
    missing = np.zeros((dataset.RasterYSize, dataset.RasterXSize), bool)
    for b in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(b)
        values = band.ReadAsArray()
        missing |= np.isnan(values) if band.GetNoDataValue() is None else values == band.GetNoDataValue()
    return missing


@pytest.mark.parametrize("nodata", [-9999.0, None], ids=["nodata-value", "nan-without-nodata"])
def test_output_has_the_input_grid_and_valid_values(tmp_path: Path, model, nodata) -> None:
    raster = make_raster(tmp_path / "cov.tif", nodata=nodata)
    out = tmp_path / "susceptibility.tif"
    result = write_hazard_map(raster, out, model, tile=16)  # 16-cell tiles: several, with ragged edges
    source, (dataset, probability, classes) = gdal.Open(str(raster)), _read(out)
    assert (dataset.RasterXSize, dataset.RasterYSize, dataset.RasterCount) == (29, 37, 2)
    assert dataset.GetGeoTransform() == source.GetGeoTransform()
    assert osr.SpatialReference(dataset.GetProjection()).IsSame(osr.SpatialReference(source.GetProjection()))
    missing = _input_nodata(raster)
    assert missing.sum() == 2 + 12 and result.n_valid == missing.size - missing.sum()
    assert np.all(probability[missing] == NODATA) and np.all(classes[missing] == NODATA)
    assert dataset.GetRasterBand(1).GetNoDataValue() == NODATA
    valid = probability[~missing]
    assert np.all((valid >= 0) & (valid <= 1)) and valid.std() > 0
    assert set(np.unique(classes[~missing])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    counts = np.bincount(classes[~missing].astype(int), minlength=6)[1:]
    assert np.all(np.abs(counts / counts.sum() - 0.2) < 0.03)  # quintiles: about a fifth each
    breaks = json.loads(dataset.GetMetadataItem("CLASS_BREAKS"))
    assert breaks == pytest.approx(result.breaks, abs=1e-6) and breaks == sorted(breaks) and len(breaks) == 6
    assert breaks[0] <= valid.min() + 1e-4 and breaks[-1] >= valid.max() - 1e-4
    assert dataset.GetRasterBand(1).GetDescription() == "landslide probability"
    assert result.crs == "EPSG:32717" and result.lattice_points > 0 and result.location_nodes > 0
    assert result.to_dict()["location_nodes"] == result.location_nodes and "centre_latlon" not in result.to_dict()
    assert {p.name for p in tmp_path.iterdir()} == {"cov.tif", "susceptibility.tif"}  # no sidecar, no partial file


def test_classes_follow_the_breaks(tmp_path: Path, scratch_model) -> None:
    out = tmp_path / "s.tif"
    result = write_hazard_map(make_raster(tmp_path / "cov.tif"), out, scratch_model, tile=8)
    _, probability, classes = _read(out)
    valid = probability != NODATA
    inner = np.asarray(result.breaks[1:-1])
    expected = 1 + (probability[valid][:, None] >= inner[None, :]).sum(axis=1)
    assert np.array_equal(classes[valid], expected)


def test_geographic_crs_is_refused(tmp_path: Path, model) -> None:
    raster = make_raster(tmp_path / "degrees.tif", epsg=4326, origin=(-79.09, -3.97), cell=0.0001)
    out = tmp_path / "s.tif"
    with pytest.raises(DataFormatError, match="geographic") as info:
        write_hazard_map(raster, out, model)
    assert "degrees.tif" in str(info.value) and not out.exists()


def test_raster_without_crs_is_refused(tmp_path: Path, model) -> None:
    raster = make_raster(tmp_path / "nocrs.tif", epsg=None)
    with pytest.raises(DataFormatError, match="no coordinate reference system"):
        write_hazard_map(raster, tmp_path / "s.tif", model)


def test_missing_band_is_named(tmp_path: Path, model) -> None:
    raster = make_raster(tmp_path / "four.tif", names=["slope", "cplan", "cprof", "log10_carea"])
    out = tmp_path / "s.tif"
    with pytest.raises(DataFormatError, match="missing covariate band 'elev'") as info:
        write_hazard_map(raster, out, model)
    assert "four.tif" in str(info.value) and not out.exists()


def test_other_projected_crs_than_the_points(tmp_path: Path, model) -> None:
    """A raster in UTM 17N (false northing 0) at the same place as one in UTM 17S (the points' CRS): the
    output keeps the raster's own CRS, and the encoder sees the same place."""
    south = make_raster(tmp_path / "south.tif")
    north = make_raster(tmp_path / "north.tif", epsg=32617, origin=(712000.0, 9561000.0 - 10_000_000.0))
    r_south = write_hazard_map(south, tmp_path / "s_south.tif", model)
    r_north = write_hazard_map(north, tmp_path / "s_north.tif", model)
    assert r_north.crs == "EPSG:32617" and r_south.crs == "EPSG:32717"
    assert osr.SpatialReference(gdal.Open(str(tmp_path / "s_north.tif")).GetProjection()).GetAuthorityCode(None) \
        == "32617"
    assert r_north.latlon_bounds == pytest.approx(r_south.latlon_bounds, abs=1e-6)
    assert r_north.location_nodes == r_south.location_nodes > 0
    # gdalinfo puts ta.tif's corner (711962.7, 9561011.8) at 3°58'9.80"S 79°5'27.41"W; the cell centres lie
    # 42 to 322 m east and 17 to 377 m south of it (1 m = 9.04e-6 degrees there)
    assert r_south.latlon_bounds == pytest.approx((-3.96939 - 377 * 9.04e-6, -79.09095 + 42 * 9.04e-6,
                                                   -3.96939 - 17 * 9.04e-6, -79.09095 + 322 * 9.04e-6), abs=1e-4)
    _, p_south, _ = _read(tmp_path / "s_south.tif")
    _, p_north, _ = _read(tmp_path / "s_north.tif")
    assert np.allclose(p_south, p_north, atol=1e-5)


def test_refuses_to_overwrite_the_input(tmp_path: Path, model) -> None:
    raster = make_raster(tmp_path / "cov.tif")
    before = raster.read_bytes()
    with pytest.raises(ValueError, match="input raster"):
        write_hazard_map(raster, raster, model)
    with pytest.raises(ValueError, match="GeoTIFF"):
        write_hazard_map(raster, tmp_path / "s.png", model)
    assert raster.read_bytes() == before


def test_interrupt_leaves_no_output(tmp_path: Path, model, monkeypatch) -> None:
    raster = make_raster(tmp_path / "cov.tif")
    out = tmp_path / "s.tif"
    calls = []
    original = hazard._probabilities

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(hazard, "_probabilities", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_hazard_map(raster, out, model, tile=8)
    assert len(calls) == 2
    assert {p.name for p in tmp_path.iterdir()} == {"cov.tif"}


def test_quantile_breaks_and_classify() -> None:
    values = np.linspace(0.0, 1.0, 10_001)[:-1]
    histogram = np.bincount((values * 10_000).astype(int), minlength=10_000)
    breaks = quantile_breaks(histogram)
    assert breaks == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], abs=2e-4)
    classes = classify(np.array([0.05, 0.25, 0.5, 0.7, 0.95, NODATA], np.float32), breaks)
    assert classes.tolist() == [1, 2, 3, 4, 5, NODATA]
    with pytest.raises(ValueError, match="no valid cells"):
        quantile_breaks(np.zeros(10, np.int64))


def test_cli_and_worker_method(tmp_path: Path, scratch_model, capsys) -> None:
    adapter = save_landslide_adapter(tmp_path / "a.pt", scratch_model)
    raster = make_raster(tmp_path / "cov.tif")
    assert cli_main(["hazard", "--raster", str(raster), "--out", str(tmp_path / "cli.tif"),
                     "--adapter", str(adapter), "--png", str(tmp_path / "map.png")]) == 0
    assert "wrote" in capsys.readouterr().out and gdal.Open(str(tmp_path / "cli.tif")).RasterCount == 2
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reports = []
    params = parse_params("hazard_map", {"raster": str(raster), "out_tif": str(tmp_path / "w.tif"),
                                         "adapter": str(adapter)})
    result = hazard_request(params, lambda f, m: reports.append(f))
    assert result["out_tif"] == str(tmp_path / "w.tif") and len(result["breaks"]) == 6
    assert result["crs"] == "EPSG:32717" and result["n_valid"] == 29 * 37 - 14 and reports[-1] == 1.0
    bad = make_raster(tmp_path / "bad.tif", names=LSL_BANDS[:4])
    assert cli_main(["hazard", "--raster", str(bad), "--out", str(tmp_path / "x.tif"), "--adapter", str(adapter)]) == 2
    assert "log10_carea" in capsys.readouterr().err
