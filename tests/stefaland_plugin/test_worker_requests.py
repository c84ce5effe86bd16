"""The plugin's request builders agree with the backend's typed schema: one builder per worker method."""

from __future__ import annotations

import inspect

import pytest

from backend.service.methods import METHODS
from backend.service.requests import PARAMS, RequestError, parse_params
from stefaland_plugin import worker_requests as wr

#: one full call of every builder, with every optional argument set
FULL_CALLS = {
    "ping": dict(delay_s=0.5, echo="hi"),
    "data_summary": dict(root="/data"),
    "attribute_names": dict(model="/m/base.pt"),
    "example_gauges": dict(out_dir="/out", n=3, overwrite=True),
    "demo_layers": dict(out_dir="/out", root="/data"),
    "predict_streamflow": dict(gauge_id="01022500", start="1990-01-01", end="1990-12-31", out_csv="/o.csv",
                               adapter="/a.pt", model="/m.pt", gauges_csv="/g.csv", streamflow_csv="/s.csv",
                               forcings_dir="/f"),
    "predict_location": dict(lat=40.0, lon=-105.0, start="1990-01-01", end="1990-12-31", out_csv="/o.csv",
                             attributes={"elev_mean": 1000.0}, forcings_csv="/f.csv", location_id="p1",
                             adapter="/a.pt", model="/m.pt"),
    "validate_gauges": dict(gauges_csv="/g.csv", forcings_dir="/f", streamflow_csv="/s.csv", model="/m.pt"),
    "finetune_streamflow": dict(gauges_csv="/g.csv", streamflow_csv="/s.csv", forcings_dir="/f", out_dir="/o",
                                adapter="/a.pt", model="/m.pt", steps=5, overwrite=True),
    "hazard_map": dict(raster="/r.tif", out_tif="/o.tif", adapter="/a.pt", model="/m.pt"),
    "soil_composition": dict(points=[{"id": "1", "lat": 40.0, "lon": -105.0}], adapter="/a.pt", model="/m.pt"),
    "soil_moisture": dict(points=[{"id": "1", "lat": 40.0, "lon": -105.0}], start="1990-01-01", end="1990-12-31",
                          out_csv="/o.csv", adapter="/a.pt", model="/m.pt"),
    "impute_attributes": dict(lat=40.0, lon=-105.0, attributes={"elev_mean": 1000.0}, model="/m.pt"),
}


def test_one_builder_per_worker_method() -> None:
    assert set(wr.BUILDERS) == set(METHODS) == set(PARAMS) == set(FULL_CALLS)


@pytest.mark.parametrize("method", sorted(FULL_CALLS))
def test_builders_make_requests_the_backend_accepts(method: str) -> None:
    builder = wr.BUILDERS[method]
    full = builder(**FULL_CALLS[method])
    assert full.method == method
    typed = parse_params(method, full.params)  # raises on any unknown, missing or mistyped field
    for name, value in full.params.items():
        assert getattr(typed, name) == value
    required = {k: v for k, v in FULL_CALLS[method].items()
                if inspect.signature(builder).parameters[k].default is inspect.Parameter.empty}
    minimal = builder(**required)
    parse_params(method, minimal.params)
    assert set(minimal.params) <= set(full.params)


def test_a_hand_written_request_with_a_typo_is_refused() -> None:
    request = wr.predict_streamflow("01022500", "1990-01-01", "1990-12-31", "/o.csv")
    with pytest.raises(RequestError, match="unknown field"):
        parse_params(request.method, {**request.params, "adaptor": "/a.pt"})
