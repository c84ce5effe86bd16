"""The worker's typed request schema: every method has one, and bad params are refused by field name."""

from __future__ import annotations

import io
import json

import pytest

from backend.service.methods import METHODS, resolve
from backend.service.requests import PARAMS, PredictStreamflowParams, RequestError, parse_params
from backend.service.worker import Channel, handle


def test_every_method_has_a_schema_and_every_schema_a_method() -> None:
    assert set(PARAMS) == set(METHODS)
    for name in METHODS:
        assert callable(resolve(name)), name


def test_valid_params_become_typed_with_defaults() -> None:
    typed = parse_params("predict_streamflow", {"gauge_id": "01022500", "start": "1990-01-01",
                                                "end": "1990-12-31", "out_csv": "/tmp/x.csv"})
    assert isinstance(typed, PredictStreamflowParams)
    assert typed.gauge_id == "01022500" and typed.adapter == "" and typed.overwrite is True
    located = parse_params("predict_location", {"lat": 40, "lon": -105.5, "start": "1990-01-01",
                                                "end": "1990-01-31", "out_csv": "/tmp/y.csv"})
    assert located.lat == 40 and located.attributes == {}


@pytest.mark.parametrize(("params", "message"), [
    ({"gauge_id": "1", "start": "a", "end": "b", "out_csv": "c", "adaptor": "x"}, "unknown field(s) 'adaptor'"),
    ({"gauge_id": "1", "start": "a", "end": "b"}, "missing required field(s) 'out_csv'"),
    ({"gauge_id": 1022500, "start": "a", "end": "b", "out_csv": "c"}, "field 'gauge_id' must be text"),
    ({"gauge_id": "1", "start": "a", "end": "b", "out_csv": "c", "overwrite": "yes"},
     "field 'overwrite' must be true/false"),
])
def test_bad_params_are_refused_naming_the_field(params: dict, message: str) -> None:
    with pytest.raises(RequestError, match=f"^predict_streamflow: {message}".replace("(", r"\(").replace(")", r"\)")):
        parse_params("predict_streamflow", params)


def test_numbers_are_not_booleans_or_text() -> None:
    base = {"start": "a", "end": "b", "out_csv": "c"}
    with pytest.raises(RequestError, match="field 'lat' must be a finite number"):
        parse_params("predict_location", {**base, "lat": True, "lon": 0.0})
    with pytest.raises(RequestError, match="field 'lon' must be a finite number"):
        parse_params("predict_location", {**base, "lat": 1.0, "lon": "0"})
    with pytest.raises(RequestError, match="field 'attributes' must be an object"):
        parse_params("predict_location", {**base, "lat": 1.0, "lon": 0.0, "attributes": [1]})


def test_the_worker_answers_a_bad_request_with_a_request_error() -> None:
    out = io.StringIO()
    handle(json.dumps({"id": "r1", "method": "hazard_map", "params": {"raster": "a.tif"}}), Channel(out))
    answer = json.loads(out.getvalue())
    assert answer["type"] == "error" and answer["error_type"] == "RequestError"
    assert "missing required field(s) 'out_tif'" in answer["error"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(RequestError, match="field 'lat' must be a finite number"):
        parse_params("predict_location", {"start": "a", "end": "b", "out_csv": "c", "lat": value, "lon": 0.0})


def test_hostile_lines_get_an_error_and_the_worker_goes_on() -> None:
    from backend.service import worker

    out = io.StringIO()
    channel = Channel(out)
    handle("[" * 5000 + "]" * 5000, channel)  # nested far too deep for a request
    handle('{"id": "n", "method": "ping", "params": {"delay_s": NaN}}', channel)  # refused by its schema, with its id
    stream = io.BytesIO(b"x" * (worker.MAX_REQUEST_BYTES + 10) + b"\n" + json.dumps(
        {"id": "ok", "method": "ping", "params": {}}).encode() + b"\n")
    worker.serve(stream, channel)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["type"] for a in answers] == ["error", "error", "error", "result"]
    assert "nested too deeply" in answers[0]["error"]
    assert answers[1]["id"] == "n" and answers[1]["error_type"] == "RequestError" and "finite" in answers[1]["error"]
    assert "longer than 16 MiB" in answers[2]["error"] and answers[3]["id"] == "ok"
