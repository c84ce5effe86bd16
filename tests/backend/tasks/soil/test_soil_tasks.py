"""Soil composition and soil moisture tasks: compositional outputs, baselines, hidden soil, probes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core.errors import CheckpointError, DataFormatError
from backend.core.geo import nearest_location
from backend.data.camels import AttributeTable
from backend.data.nearest_basin import nearest_basin
from backend.data.normalization import Normalizer
from backend.data.variables import FORCING_VARIABLES, Kind, input_static_names
from backend.model.checkpoint import BaseModel
from backend.model.config import ModelConfig
from backend.model.imputation import reconstruct_statics
from backend.model.inputs import LocationData, vocabulary_from
from backend.model.mae import StefaLandMAE
from backend.tasks.soil import composition as sc
from backend.tasks.soil.moisture import (
    SoilMoistureModel,
    daily_states,
    load_model,
    predict_series,
    save_model,
    time_block_masks,
)
from backend.tasks.soil.probes import read_probe_csvs
from backend.training.tabular_baselines import knn_cv, knn_predict, ridge_cv, ridge_fit

# ------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def tiny_base() -> BaseModel:
    """A small randomly initialised base model with the real variable vocabulary (no file, no data)."""
    names = input_static_names(Kind.NUMERIC)
    vocab = {n: ["a", "b", "c"] for n in input_static_names(Kind.CATEGORICAL)}
    norm = Normalizer(list(FORCING_VARIABLES), [0.0] * 6, [1.0] * 6, names, [0.0] * len(names),
                      [1.0] * len(names), vocab, 1)
    cfg = ModelConfig(d_model=16, encoder_layers=1, heads=2, feedforward=32, decoder_layers=1, patch_days=7,
                      window_patches=4, location_frequencies=2, dropout=0.0)
    torch.manual_seed(0)
    return BaseModel(StefaLandMAE(cfg, vocabulary_from(norm)).eval(), norm, cfg, "ab" * 32)


def _locations(base: BaseModel, n: int = 3, days: int = 90, seed: int = 1) -> LocationData:
    rng = np.random.default_rng(seed)
    a = len(base.normalizer.static_names)
    return LocationData([f"L{i}" for i in range(n)], rng.normal(size=(n, a)).astype(np.float32),
                        np.ones((n, a), bool), np.ones((n, len(base.normalizer.vocabularies)), np.int64),
                        rng.uniform([30, -110], [45, -80], size=(n, 2)).astype(np.float32),
                        rng.normal(size=(n, days, 6)).astype(np.float32), np.ones((n, days, 6), bool),
                        np.arange(np.datetime64("2000-01-01"), np.datetime64("2000-01-01") + days))


# ------------------------------------------------------------------------------------------ compositions

@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0, 1e4])
def test_compose_sums_to_100_for_arbitrary_logits(scale: float) -> None:
    logits = torch.from_numpy(np.random.default_rng(3).normal(size=(500, 3)) * scale)
    out = sc.compose(logits)
    assert torch.all(out >= 0)
    np.testing.assert_allclose(out.sum(-1).numpy(), 100.0, rtol=0, atol=1e-9)


def test_head_output_sums_to_100_for_arbitrary_inputs() -> None:
    torch.manual_seed(0)
    head = sc.SoilCompositionHead(16, 5, hidden=8, prior=[40, 40, 20])
    with torch.no_grad():
        head.out.weight.normal_(std=5.0)  # far from the initial mean composition
        out = head(torch.randn(200, 16) * 100, torch.randn(200, 5) * 100)
    np.testing.assert_allclose(out.sum(-1).numpy(), 100.0, atol=1e-3)
    assert out.std(0).min() > 0.1  # not a constant: the sum is enforced, not the values


def test_renormalise_sums_to_100_even_with_negatives_and_zeros() -> None:
    values = np.array([[10.0, 30.0, 10.0], [-5.0, 20.0, 20.0], [0.0, 0.0, 0.0], [1e-9, 2e-9, 0.0]])
    out = sc.renormalise(values)
    np.testing.assert_allclose(out.sum(-1), 100.0, atol=1e-9)
    np.testing.assert_allclose(out[0], [20.0, 60.0, 20.0])
    np.testing.assert_allclose(out[1], [0.0, 50.0, 50.0])
    np.testing.assert_allclose(out[2], [100 / 3] * 3)


# ------------------------------------------------------------------------------------------ baselines

def test_ridge_recovers_known_linear_map() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)) * [1, 2, 3, 4] + [5, 0, -2, 1]
    true = np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0], [-1.0, 1.0]])
    y = x @ true + [7.0, -3.0]
    model = ridge_fit(x, y, 1e-8)
    np.testing.assert_allclose(model.predict(x[:20]), y[:20], atol=1e-5)
    assert ridge_cv(x, y + rng.normal(scale=0.01, size=y.shape)).penalty <= 1.0  # little noise: little penalty


def test_knn_recovers_neighbours_and_picks_k() -> None:
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]])
    labels = rng.integers(0, 3, 240)
    x = centres[labels] + rng.normal(size=(240, 2))
    y = labels[:, None].astype(float) * np.array([[1.0, 10.0]])
    pred = knn_predict(x, y, centres, 5)
    np.testing.assert_allclose(pred, np.array([[0, 0], [1, 10], [2, 20]], float))
    pred_cv, k = knn_cv(x, y, centres + 0.1)
    np.testing.assert_allclose(pred_cv, np.array([[0, 0], [1, 10], [2, 20]], float))
    assert k >= 1


def test_nearest_location_and_basin() -> None:
    idx, km = nearest_location(np.array([40.0, 35.0, 45.0]), np.array([-100.0, -90.0, -120.0]),
                               np.array([35.1, 44.0]), np.array([-90.1, -119.0]))
    assert idx.tolist() == [1, 2]
    assert 5 < km[0] < 20 and 100 < km[1] < 200
    table = AttributeTable(["01000000", "02000000", "03000000"],
                           numeric={"gauge_lat": np.array([40.0, 35.0, 45.0]),
                                    "gauge_lon": np.array([-100.0, -90.0, -120.0])})
    near = nearest_basin(40.01, -100.0, table, ["01000000", "03000000"])
    assert near.gauge_id == "01000000" and near.distance_km == pytest.approx(1.11, abs=0.02)
    assert nearest_basin(35.0, -90.0, table, ["01000000", "03000000"]).gauge_id == "01000000"  # candidates only


# ------------------------------------------------------------------------------------------ hidden soil

def test_soil_group_is_really_hidden(tiny_base: BaseModel) -> None:
    data = _locations(tiny_base)
    first = sc.soil_features(tiny_base, data, max_windows=3)
    soil = tiny_base.normalizer.static_groups()["soil"]
    changed = _locations(tiny_base)
    changed.statics[:, soil] = np.random.default_rng(9).normal(size=(3, len(soil))) * 5
    changed.statics_observed[0, soil] = False  # missing or present: it must not matter either
    second = sc.soil_features(tiny_base, changed, max_windows=3)
    np.testing.assert_array_equal(first.states, second.states)
    np.testing.assert_array_equal(first.extra, second.extra)
    np.testing.assert_allclose(first.zero_shot, second.zero_shot)
    clim = tiny_base.normalizer.static_groups()["clim"]
    other = _locations(tiny_base)
    other.statics[:, clim] += 3.0  # a visible group does change the features: the test can fail
    third = sc.soil_features(tiny_base, other, max_windows=3)
    assert np.abs(third.states - first.states).max() > 1e-4
    assert not set(soil) & set(np.flatnonzero(sc.hidden_masks(tiny_base)[0]).tolist())


def test_zero_shot_matches_reconstruct_statics(tiny_base: BaseModel) -> None:
    data = _locations(tiny_base, n=2)
    features = sc.soil_features(tiny_base, data, max_windows=3)
    vis_statics, vis_categories, _ = sc.hidden_masks(tiny_base)
    norm = tiny_base.normalizer
    idx = [norm.static_names.index(c) for c in sc.COMPONENTS]
    for row in range(2):
        z, _ = reconstruct_statics(tiny_base, data, row, vis_statics, vis_categories, max_windows=3)
        expected = sc.renormalise(norm.statics_inverse(z[None].astype(np.float64))[0, idx])
        np.testing.assert_allclose(features.zero_shot[row], expected, atol=1e-4)
    np.testing.assert_allclose(features.zero_shot.sum(1), 100.0, atol=1e-9)


def test_head_trains_saves_and_is_tied_to_its_base(tiny_base: BaseModel, tmp_path: Path) -> None:
    from backend.training.fit import FitConfig

    rng = np.random.default_rng(0)
    n = 120
    states = np.repeat(rng.normal(size=(n, 1, 16)), 2, axis=1).astype(np.float32)
    sand = 45 + 15 * states[:, 0, 0]  # composition driven linearly by two features
    clay = 20 + 5 * states[:, 0, 1]
    targets = sc.renormalise(np.stack([sand, 100 - sand - clay, clay], 1))
    feats = sc.SoilFeatures([str(i) for i in range(n)], states, rng.normal(size=(n, 3)).astype(np.float32),
                            np.full((n, 3), 100 / 3), np.zeros((n, 2)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        head, result = sc.train_head(feats, targets, np.arange(90), np.arange(90, n),
                                     FitConfig(steps=120, learning_rate=1e-2, validate_every=40, patience=3),
                                     batch_size=32, hidden=16)
    finally:
        torch.set_num_threads(threads)
    assert result.best_score > 0.5
    path = sc.save_head(tmp_path / "soil.pt", head, tiny_base, sc.head_config(feats, hidden=16), {"x": 1})
    loaded, meta = sc.load_head(path, tiny_base)
    np.testing.assert_allclose(sc.predict_composition(loaded, feats), sc.predict_composition(head, feats), atol=1e-5)
    other = BaseModel(tiny_base.model, tiny_base.normalizer, tiny_base.config, "cd" * 32)
    with pytest.raises(CheckpointError, match="base model"):
        sc.load_head(path, other)


# ------------------------------------------------------------------------------------------ soil moisture

def test_daily_states_cover_every_day_with_its_week(tiny_base: BaseModel) -> None:
    data = _locations(tiny_base, n=1, days=100)
    states = daily_states(tiny_base, data, 5, 70)
    assert states.shape == (66, 16) and np.abs(states).sum(1).min() > 0
    first_week = states[:7]  # days 5..11 of window 5..32: one token each 7 days
    np.testing.assert_array_equal(first_week, np.repeat(first_week[:1], 7, axis=0))
    assert np.abs(states[7] - states[6]).max() > 0


def test_soil_moisture_model_runs_and_round_trips(tiny_base: BaseModel, tmp_path: Path) -> None:
    from backend.data.nearest_basin import NearestBasin
    from backend.tasks.soil.moisture import ProbeInputs

    torch.manual_seed(0)
    config = {"d_state": 16, "d_extra": 6, "hidden": 8, "rnn": 4, "dropout": 0.0, "mean": 0.2, "scale": 0.05}
    model = SoilMoistureModel(16, 6, 8, 4, 0.0, 0.2, 0.05)
    inputs = ProbeInputs("p", 40.0, -100.0, NearestBasin("01000000", 3.0), np.arange(50),
                         np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32),
                         np.zeros((50, 6), np.float32), np.full(50, np.nan, np.float32))
    pred = predict_series(model, inputs)
    assert pred.shape == (50,) and np.isfinite(pred).all()
    path = save_model(tmp_path / "sm.pt", model, tiny_base, config, {"stations": []})
    loaded, _ = load_model(path, tiny_base)
    np.testing.assert_allclose(predict_series(loaded, inputs), pred, atol=1e-6)


def test_time_block_masks_split_observed_days() -> None:
    target = np.full(100, np.nan)
    target[10:60] = 0.2
    train, val = time_block_masks(target, 0.2)
    assert train.sum() == 40 and val.sum() == 10 and not (train & val).any()
    assert np.flatnonzero(val).min() > np.flatnonzero(train).max()


def test_antecedent_precipitation_and_loyo_climatology() -> None:
    from backend.benchmarks.soil_moisture import antecedent_precipitation, loyo_climatology

    api = antecedent_precipitation(np.array([10.0, 0.0, 0.0, np.nan]), (0.5, 1.0))
    np.testing.assert_allclose(api, [[10, 10], [5, 10], [2.5, 10], [1.25, 10]])
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2004-01-01"))
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    values = (years - 2000).astype(float)  # 1, 2, 3 per year
    clim = loyo_climatology(dates, values)
    np.testing.assert_allclose(clim[years == 2001], 2.5)  # mean of the other two years only
    np.testing.assert_allclose(clim[years == 2003], 1.5)
    single = loyo_climatology(dates[:300], values[:300])
    assert np.isnan(single).all()  # one year: no other year to learn from


def test_probe_csvs_read_and_reject_percent(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lat,lon\nA,34.2,-105.4\nB,38.1,-120.8\n")
    values = tmp_path / "values.csv"
    values.write_text("id,date,soil_moisture\nA,2010-01-01,0.21\nA,2010-01-03,0.25\nB,2011-05-01,NA\n"
                      "B,2011-05-02,0.3\n")
    probes = read_probe_csvs(sites, values)
    assert [p.probe_id for p in probes] == ["A", "B"]
    assert len(probes[0].dates) == 3 and np.isnan(probes[0].values[1]) and probes[0].valid_days == 2
    values.write_text("id,date,soil_moisture\nA,2010-01-01,21.0\n")
    with pytest.raises(DataFormatError, match="m³/m³"):
        read_probe_csvs(sites, values)
    values.write_text("id,date,soil_moisture\nZ,2010-01-01,0.2\n")
    with pytest.raises(DataFormatError, match="not in sites.csv"):
        read_probe_csvs(sites, values)


def test_soil_moisture_period_is_checked() -> None:
    from backend.service.soil_moisture import check_period

    assert check_period("2010-01-01", "2010-12-31")[0] == np.datetime64("2010-01-01")
    with pytest.raises(ValueError, match="outside the Daymet"):
        check_period("2017-08-10", "2018-08-09")
    with pytest.raises(ValueError, match="before start"):
        check_period("2010-02-01", "2010-01-01")
