"""Landslide readers: the real Ecuador points, raster and NASA catalogue, and generated files for errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal, osr

from backend.core.errors import DataFormatError, DataNotFoundError
from backend.data.covariate_raster import iter_raster_tiles, read_covariate_raster, read_raster_window
from backend.data.landslide_catalogue import parse_glc_date, read_glc_catalogue
from backend.data.landslides import landslides_dir, read_landslide_points, summarize_landslides

LANDSLIDES = landslides_dir()
#: the real-file tests need data/landslides: they are marked real_data and fail (never skip) when it is missing
needs_landslides = pytest.mark.usefixtures("real_landslides")
LSL = LANDSLIDES / "ecuador_lsl" / "lsl.csv"
TA = LANDSLIDES / "ecuador_lsl" / "ta.tif"
ECUADOR = LANDSLIDES / "ecuador_sperrorest" / "ecuador.csv"
GLC = LANDSLIDES / "nasa_glc" / "Global_Landslide_Catalog_Export.csv"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def make_tif(path: Path, bands: int = 2, rows: int = 4, cols: int = 3, nodata: float | None = -9999.0,
             names: list[str] | None = None) -> Path:
    """A small GeoTIFF in EPSG:32717 with 10 m cells; band b holds b*100 + row*cols + col."""
    gdal.UseExceptions()
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, bands, gdal.GDT_Float32)
    dataset.SetGeoTransform((700000.0, 10.0, 0.0, 9560000.0, 0.0, -10.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32717)
    dataset.SetProjection(srs.ExportToWkt())
    for b in range(bands):
        data = (b * 100 + np.arange(rows * cols, dtype=np.float32)).reshape(rows, cols)
        if nodata is not None:
            data[0, 0] = nodata
        band = dataset.GetRasterBand(b + 1)
        band.WriteArray(data)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if names:
            band.SetDescription(names[b])
    dataset.FlushCache()
    dataset = None
    return path


# --------------------------------------------------------------------------------------------- real files

@pytest.fixture
def real_landslides(real_file) -> Path:
    """The real landslide folder (``make data``); a test using it fails naming the folder when it is missing."""
    return real_file("landslides")


@pytest.mark.real_data
@needs_landslides
def test_real_points() -> None:
    lsl = read_landslide_points(LSL)
    assert (len(lsl), lsl.n_landslides, lsl.label_column, lsl.crs) == (350, 175, "lslpts", "EPSG:32717")
    assert list(lsl.covariates) == ["slope", "cplan", "cprof", "elev", "log10_carea"]
    assert lsl.x[0] == pytest.approx(713887.726935) and lsl.y[0] == pytest.approx(9558536.759956)
    assert not lsl.label[0]
    ecuador = read_landslide_points(ECUADOR)
    assert (len(ecuador), ecuador.n_landslides, ecuador.label_column) == (751, 500, "slides")
    assert "dem" in ecuador.covariates and "log.carea" in ecuador.covariates
    assert len(ecuador.covariates) == 10 and ecuador.text_columns == []
    for points in (lsl, ecuador):
        assert (700000 < points.x).all() and (points.x < 730000).all()
        assert (9550000 < points.y).all() and (points.y < 9570000).all()


@pytest.mark.real_data
@needs_landslides
def test_real_raster_matches_the_points() -> None:
    raster = read_covariate_raster(TA)
    assert raster.shape == (5, 415, 383)  # 415 rows, 383 columns
    assert raster.epsg == 32717
    assert raster.band_names == ["slope", "cplan", "cprof", "elev", "log10_carea"]
    assert raster.geotransform[1] == 10.0 and raster.geotransform[5] == -10.0
    assert raster.values.dtype == np.float32
    assert int(np.isnan(raster.values[0]).sum()) == 619
    lsl = read_landslide_points(LSL)
    sampled = raster.sample(lsl.x, lsl.y)
    for name in raster.band_names:  # the points sit at cell centres: the raster holds the CSV's values
        np.testing.assert_allclose(sampled[name], lsl.covariates[name], rtol=1e-6)
    window = read_raster_window(TA, 100, 50, 20, 30)
    np.testing.assert_array_equal(window.values, raster.values[:, 100:120, 50:80])
    rows, cols = window.xy_to_rowcol(np.array([window.geotransform[0] + 5.0]),
                                     np.array([window.geotransform[3] - 5.0]))
    assert (rows[0], cols[0]) == (0, 0)


@pytest.mark.real_data
@needs_landslides
def test_real_glc() -> None:
    events = read_glc_catalogue(GLC)
    assert len(events) == 9564
    assert len(set(events.ids.tolist())) == 9564
    assert events.dates[0] == np.datetime64("2007-01-02")
    assert int(np.isnat(events.dates).sum()) == 1
    assert events.country[0] == "United Kingdom" and events.trigger[0] == "Rain"
    assert events.size[0] == "Medium" and events.location_accuracy[0] == "Known_within_5_km"
    assert events.latitude[0] == pytest.approx(54.5494) and events.longitude[0] == pytest.approx(-3.5875)
    assert np.nanmax(np.abs(events.latitude)) <= 90 and np.nanmax(np.abs(events.longitude)) <= 180
    assert "Landslide" in set(events.landslide_type)


@pytest.mark.real_data
@needs_landslides
def test_summarize_real_landslides() -> None:
    text = "\n".join(summarize_landslides(LANDSLIDES))
    assert "ecuador_lsl/lsl.csv: 350 points, 175 landslides" in text
    assert "ecuador_sperrorest/ecuador.csv: 751 points, 500 landslides" in text
    assert "383 columns x 415 rows, 5 bands" in text and "EPSG:32717" in text
    assert "9,564 events" in text


# ------------------------------------------------------------------------------------------ generated files

def test_points_labels_and_covariates(tmp_path: Path) -> None:
    text = "x,y,slides,a,name,b\n1,2,TRUE,0.5,foo,\n3,4,0,NA,bar,7\n5,6,true,1e3,baz,8\n"
    path = write(tmp_path / "p.csv", text)
    points = read_landslide_points(path, crs="epsg:4326")
    assert points.label.tolist() == [True, False, True]
    assert points.crs == "EPSG:4326" and points.text_columns == ["name"]
    assert list(points.covariates) == ["a", "b"]
    np.testing.assert_array_equal(points.covariates["a"], np.float32([0.5, np.nan, 1000.0]))
    assert np.isnan(points.covariates["b"][0])
    explicit = read_landslide_points(path, x="y", y="x", label="slides")
    assert explicit.x.tolist() == [2.0, 4.0, 6.0]


def test_points_non_numeric_cell(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "x,y,lslpts,slope\n1,2,TRUE,30\n3,4,FALSE,steep\n")
    with pytest.raises(DataFormatError, match="not a number: 'steep'") as info:
        read_landslide_points(path)
    assert (info.value.line, info.value.column) == (3, "slope")
    assert "p.csv, line 3, column 'slope'" in str(info.value)


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("x,y,slope\n1,2,3\n", 1, None, "no label column: expected one of lslpts, slides"),
    ("x,lslpts\n1,TRUE\n", 1, None, "missing column"),
    ("x,y,lslpts,slope\n1,2,TRUE,30\n3,4,FALSE\n", 3, None, "truncated"),
    ("x,y,lslpts\n1,2,TRUE\n3,4,maybe\n", 3, "lslpts", "not a boolean"),
    ("x,y,lslpts\n1,,TRUE\n", 2, "y", "missing value"),
    ("x,y,lslpts\n", 2, None, "no data rows"),
])
def test_points_errors(tmp_path: Path, text: str, line: int, column: str | None, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataFormatError, match=message) as info:
        read_landslide_points(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert "bad.csv" in str(info.value)


def test_explicit_label_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "x,y,lslpts\n1,2,TRUE\n")
    with pytest.raises(DataFormatError, match="missing label column slide"):
        read_landslide_points(path, label="slide")


def test_raster_nodata_names_and_helpers(tmp_path: Path) -> None:
    path = make_tif(tmp_path / "r.tif")
    raster = read_covariate_raster(path)
    assert raster.shape == (2, 4, 3) and raster.band_names == ["band_1", "band_2"]
    assert raster.nodata == [-9999.0, -9999.0] and raster.epsg == 32717
    assert np.isnan(raster.values[:, 0, 0]).all()
    assert raster.values[1, 3, 2] == 111.0
    assert read_covariate_raster(path, band_names=["slope", "elev"]).band("elev")[1, 0] == 103.0
    rows, cols = raster.xy_to_rowcol(np.array([700025.0, 699999.0, 700005.0]),
                                     np.array([9559965.0, 9559995.0, 9559961.0]))
    assert rows.tolist() == [3, -1, 3] and cols.tolist() == [2, -1, 0]
    sampled = raster.sample(np.array([700025.0, 0.0]), np.array([9559965.0, 0.0]))
    assert sampled["band_2"][0] == 111.0 and np.isnan(sampled["band_2"][1])
    with pytest.raises(ValueError, match="3 band names given for 2 bands"):
        read_covariate_raster(path, band_names=["a", "b", "c"])


def test_raster_descriptions_windows_and_tiles(tmp_path: Path) -> None:
    path = make_tif(tmp_path / "d.tif", bands=3, rows=5, cols=7, nodata=None, names=["a", "b", "c"])
    whole = read_covariate_raster(path)
    assert whole.band_names == ["a", "b", "c"] and whole.nodata == [None, None, None]
    window = read_raster_window(path, 2, 3, 3, 4)
    np.testing.assert_array_equal(window.values, whole.values[:, 2:5, 3:7])
    assert window.geotransform[0] == 700030.0 and window.geotransform[3] == 9559980.0
    with pytest.raises(ValueError, match="outside the raster"):
        read_raster_window(path, 3, 0, 3, 1)
    covered = np.zeros((5, 7), dtype=int)
    for row0, col0, tile in iter_raster_tiles(path, tile=3):
        _, nrows, ncols = tile.shape
        covered[row0:row0 + nrows, col0:col0 + ncols] += 1
        np.testing.assert_array_equal(tile.values, whole.values[:, row0:row0 + nrows, col0:col0 + ncols])
    assert (covered == 1).all()


def test_not_a_raster(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.tif", "this is not a raster\n")
    with pytest.raises(DataFormatError, match="not a raster") as info:
        read_covariate_raster(path)
    assert "fake.tif" in str(info.value)
    with pytest.raises(DataNotFoundError):
        read_covariate_raster(tmp_path / "absent.tif")


GLC_HEADER = "id,date,country,landslide_type,trigger,landslide_size,location_accuracy,latitude,longitude\n"


def test_glc_quoted_fields_latin1_and_dates(tmp_path: Path) -> None:
    text = (GLC_HEADER + '1,1/2/2007,"Côte d\'Ivoire, West",Landslide,Rain,Medium,Unknown,5.3,-4.0\n'
            '"3,833",,Peru,Mudslide,,Small,Exact_Location,-10.5,-75.4\n'
            "7,13/45/2010,Chile,Rockfall,Earthquake,Large,Unknown,,\n")
    events = read_glc_catalogue(write(tmp_path / "glc.csv", text, encoding="latin-1"))
    assert events.ids.tolist() == [1, 3833, 7]
    assert events.country[0] == "Côte d'Ivoire, West"
    assert events.dates[0] == np.datetime64("2007-01-02")
    assert np.isnat(events.dates[1]) and np.isnat(events.dates[2])
    assert np.isnan(events.latitude[2]) and events.trigger[1] == ""
    assert parse_glc_date("2016/10/25 00:00:00") == np.datetime64("2016-10-25")


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    (GLC_HEADER + "1,1/2/2007,A,B,C,D,E,5.3\n", 2, None, "expected 9 fields, found 8"),
    (GLC_HEADER + "1,1/2/2007,A,B,C,D,E,5.3,-4\nx1,1/2/2007,A,B,C,D,E,5.3,-4\n", 3, "id", "not an integer"),
    (GLC_HEADER + "1,1/2/2007,A,B,C,D,E,95.3,-4\n", 2, "latitude", "outside"),
    (GLC_HEADER + "1,1/2/2007,A,B,C,D,E,north,-4\n", 2, "latitude", "not a number"),
    ("id,date,country\n1,1/2/2007,A\n", 1, None, "missing column"),
])
def test_glc_errors(tmp_path: Path, text: str, line: int, column: str | None, message: str) -> None:
    with pytest.raises(DataFormatError, match=message) as info:
        read_glc_catalogue(write(tmp_path / "glc.csv", text))
    assert (info.value.line, info.value.column) == (line, column)


def test_summarize_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        summarize_landslides(tmp_path / "absent")
    lines = summarize_landslides(tmp_path)
    assert any("ecuador_lsl/lsl.csv: not found" in line for line in lines)
