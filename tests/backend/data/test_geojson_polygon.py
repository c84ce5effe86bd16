"""Catchment polygons from GeoJSON: centroid, spherical area, properties, and clear errors naming the file;
``predict --polygon`` and ``--point`` on the bundled models (and the generated mini data root)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from backend.cli import main
from backend.data.geojson_polygon import read_polygon

BOX = [[[-69.9, 46.5], [-69.5, 46.5], [-69.5, 46.8], [-69.9, 46.8], [-69.9, 46.5]]]


def _write(tmp_path: Path, document: object, name: str = "catchment.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _feature(coordinates: list = BOX, kind: str = "Polygon", **properties: object) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": {"type": kind, "coordinates": coordinates}}


def test_one_degree_box_at_the_equator_has_the_spherical_area(tmp_path: Path) -> None:
    square = [[[0, -0.5], [1, -0.5], [1, 0.5], [0, 0.5], [0, -0.5]]]
    polygon = read_polygon(_write(tmp_path, _feature(square)))
    assert polygon.area_km2 == pytest.approx(12364, rel=0.002)  # (pi / 180 * 6371 km)^2 x cos(~0)
    assert (polygon.lat, polygon.lon) == pytest.approx((0.0, 0.5))


def test_feature_collection_gives_name_properties_and_centroid(tmp_path: Path) -> None:
    path = _write(tmp_path, {"type": "FeatureCollection", "features": [_feature(name="Upper Fish", elev_mean=420)]})
    polygon = read_polygon(path)
    assert polygon.name == "Upper Fish" and polygon.properties["elev_mean"] == 420
    assert (polygon.lat, polygon.lon) == pytest.approx((46.65, -69.7))
    assert 1000 < polygon.area_km2 < 1050  # 0.4 x 0.3 degrees at 46.65 N


@pytest.mark.parametrize(("document", "message"), [
    ({"type": "FeatureCollection", "features": [_feature(), _feature()]}, "2 features"),
    (_feature([-69.7, 46.6], "Point"), "not a Polygon"),
    ({**_feature(), "crs": {"type": "name", "properties": {"name": "EPSG:32619"}}}, "EPSG:32619"),
    (_feature([[[0, 0], [1]]]), "malformed"),
])
def test_bad_polygon_files_name_the_file_and_the_problem(tmp_path: Path, document: object, message: str) -> None:
    path = _write(tmp_path, document)
    with pytest.raises(ValueError, match=message) as info:
        read_polygon(path)
    assert str(path) in str(info.value)


def test_a_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="broken.geojson: not a readable GeoJSON"):
        read_polygon(path)


@pytest.mark.usefixtures("mini_data")  # the nearest basin's forcings come from the generated data root
def test_predict_polygon_uses_its_attributes_and_area_and_imputes_the_rest(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, _feature(name="Upper Fish", elev_mean=420))
    out = tmp_path / "flow.csv"
    assert main(["predict", "--polygon", str(path), "--start", "1995-01-01", "--end", "1995-03-31",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 90 and list(rows[0]) == ["date", "streamflow_pred", "member_spread_p10", "member_spread_p90"]
    assert all(float(r["streamflow_pred"]) >= 0 for r in rows)
    printed = capsys.readouterr().out
    given = next(line for line in printed.splitlines() if line.startswith("attributes given"))
    assert "elev_mean" in given and "area_gages2" in given and "name" not in given
    assert "nearest CAMELS basin" in printed and "ignored" not in printed
    assert main(["predict", "--polygon", str(path), "--start", "1995-01-01", "--end", "1995-03-31",
                 "--out", str(out)]) == 2  # never overwrites the user's file


@pytest.mark.usefixtures("mini_data")
def test_predict_point_rejects_a_malformed_point_and_attribute(tmp_path: Path, capsys) -> None:
    out = tmp_path / "flow.csv"
    assert main(["predict", "--point", "46.6", "--start", "1995-01-01", "--end", "1995-01-31",
                 "--out", str(out)]) == 2
    assert "LAT,LON" in capsys.readouterr().err
    assert main(["predict", "--point", "46.6,-69.7", "--attribute", "elev_mean", "--start", "1995-01-01",
                 "--end", "1995-01-31", "--out", str(out)]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err and not out.exists()
