"""The QPainter hydrograph: CSV reading, axis ticks, and a rendering that is not blank."""

from __future__ import annotations

import math
from datetime import date, timedelta

from qgis.PyQt.QtGui import QColor

from stefaland_plugin.hydrograph import (
    PREDICTED_COLOR,
    SPREAD_COLOR,
    Hydrograph,
    HydrographWidget,
    date_ticks,
    nice_step,
    read_prediction_csv,
)
from stefaland_plugin.prediction_text import describe_prediction


def test_read_prediction_csv_with_and_without_observations(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,streamflow_pred_mm_per_day,streamflow_obs_mm_per_day\n"
                    "1990-01-01,1.5,1.2\n1990-01-02,2.0,\n1990-01-03,nan,0.9\n")
    data = read_prediction_csv(path, "t")
    assert data.dates == [date(1990, 1, 1), date(1990, 1, 2), date(1990, 1, 3)]
    assert data.predicted == [1.5, 2.0, None]
    assert data.observed == [1.2, None, 0.9] and data.has_observed
    path.write_text("date,q_sim\n1990-01-01,1.0\n")
    data = read_prediction_csv(path)
    assert data.observed == [] and not data.has_observed


def test_ticks():
    assert nice_step(10) == 2
    assert nice_step(0.7) == 0.2
    years = date_ticks(date(1990, 1, 1), date(1999, 12, 31))
    assert [label for _, label in years][:2] == ["1990", "1991"] and len(years) == 10
    months = date_ticks(date(1995, 1, 15), date(1995, 6, 30))
    assert [label for _, label in months] == ["1995-02", "1995-03", "1995-04", "1995-05", "1995-06"]


def test_rendering_draws_the_predicted_line(qgis_app, tmp_path):
    days = [date(1990, 1, 1) + timedelta(days=i) for i in range(3652)]
    predicted = [1.0 + math.sin(i / 58.0) ** 2 * 4 for i in range(len(days))]
    observed = [None if i % 400 < 30 else p * 0.9 for i, p in enumerate(predicted)]
    widget = HydrographWidget()
    widget.resize(460, 280)
    widget.set_hydrograph(Hydrograph(days, predicted, observed, "Gauge 06043500", nse=0.71, kge=0.64))
    image = widget.grab().toImage()
    image.save(str(tmp_path / "hydrograph.png"))
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)}
    assert QColor(PREDICTED_COLOR).name() in colours or len(colours) > 20
    widget.show_message("nothing")
    assert widget.hydrograph is None


def test_describe_prediction():
    text = "\n".join(describe_prediction({"imputed": ["soil_depth_pelletier"], "forcing_source": "Daymet",
                                          "has_observations": False, "n_days": 365}, lambda s: s))
    assert "Imputed inputs (1): soil_depth_pelletier" in text and "Forcings: Daymet" in text
    assert "No observed streamflow" in text
    text = "\n".join(describe_prediction({"imputed": [], "has_observations": True, "mean_flow": 1.234},
                                         lambda s: s))
    assert "Imputed inputs: none" in text and "Observed streamflow overlaid" in text and "1.23 mm/day" in text


def test_in_sample_scores_say_so_with_the_out_of_fold_nse():
    result = {"imputed": [], "has_observations": True, "in_sample": True,
              "trained_period": ["1999-10-01", "2008-09-30"], "out_of_fold_nse": 0.594,
              "out_of_fold_source": "PUB benchmark"}
    text = "\n".join(describe_prediction(result, lambda s: s))
    assert "In-sample" in text and "1999-10-01..2008-09-30" in text and "NSE 0.59 (PUB benchmark)" in text
    text = "\n".join(describe_prediction({**result, "in_sample": False}, lambda s: s))
    assert "In-sample" not in text and "held out" in text
    text = "\n".join(describe_prediction({"imputed": [], "has_observations": True}, lambda s: s))
    assert "may be in-sample" in text  # an adapter without a record: never silently out-of-sample


def test_read_prediction_csv_with_the_member_spread(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("date,streamflow_pred,member_spread_p10,member_spread_p90,streamflow_obs\n"
                    "1990-01-01,1.5,1.2,1.9,1.2\n1990-01-02,2.0,,,\n")
    data = read_prediction_csv(path)
    assert data.predicted == [1.5, 2.0] and data.observed == [1.2, None]
    assert data.spread_low == [1.2, None] and data.spread_high == [1.9, None] and data.has_spread
    path.write_text("date,streamflow_pred,member_spread_p10,member_spread_p90\n1990-01-01,1.5,1.5,1.5\n")
    assert not read_prediction_csv(path).has_spread  # an ensemble of one: no band
    path.write_text("date,streamflow_pred\n1990-01-01,1.5\n")  # an old CSV
    data = read_prediction_csv(path)
    assert data.spread_low == [] and not data.has_spread and data.predicted == [1.5]


def _spread_pixels(data: Hydrograph, tmp_path, name: str) -> int:
    widget = HydrographWidget()
    widget.resize(460, 280)
    widget.set_hydrograph(data)
    image = widget.grab().toImage()
    image.save(str(tmp_path / name))
    band = QColor(SPREAD_COLOR).name()
    return sum(image.pixelColor(x, y).name() == band for x in range(image.width()) for y in range(image.height()))


def test_rendering_paints_the_member_spread_band_behind_the_line(qgis_app, tmp_path):
    days = [date(1990, 1, 1) + timedelta(days=i) for i in range(730)]
    predicted = [2.0 + math.sin(i / 40.0) for i in range(len(days))]
    low = [p - 0.6 for p in predicted]
    high = [p + 0.8 for p in predicted]
    with_band = Hydrograph(days, predicted, [], "Gauge", spread_low=low, spread_high=high)
    painted = _spread_pixels(with_band, tmp_path, "band.png")
    assert painted > 3000  # a band of about a fifth of the plot's height over its whole width
    no_spread = Hydrograph(days, predicted, [], "Gauge", spread_low=predicted, spread_high=predicted)
    assert _spread_pixels(no_spread, tmp_path, "no_band.png") == 0
    assert _spread_pixels(Hydrograph(days, predicted, [], "Gauge"), tmp_path, "old.png") == 0


def test_tick_labels_print_every_step_exactly():
    from stefaland_plugin.hydrograph import tick_decimals

    assert [tick_decimals(s) for s in (2.5, 0.25, 5.0, 50.0, 0.5, 0.02, 1.0)] == [1, 2, 0, 0, 1, 2, 0]
    labels = [f"{i * 2.5:.{tick_decimals(2.5)}f}" for i in range(6)]
    assert labels == ["0.0", "2.5", "5.0", "7.5", "10.0", "12.5"]  # was 0, 2, 5, 8, 10, 12
