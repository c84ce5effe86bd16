"""Training never reads the flows of a fold's test basins.

A synthetic record of 12 basins (no real data) is split with ``pub_folds``; one fold is trained briefly with
``train_streamflow``, for every network of the registry. Replacing every test-basin flow by noise and NaN and
training again with the same seed must give bit-identical weights, the same validation score, best step, history
and validation basins. As a control that the comparison can fail, changing one fitted training basin's flows must
change the trained parameters. The encoder states come from forcings and statics only (``encode_records``, as in
the benchmark), so both trainings share them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from landslide_fixtures import tiny_base

from backend.core.runtime import set_threads
from backend.data.splits import Fold, pub_folds
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import encode_records, window_grid
from backend.model.inputs import LocationData
from backend.tasks.streamflow.data import StreamflowData
from backend.tasks.streamflow.model import StreamflowModel
from backend.tasks.streamflow.networks import NETWORKS, HeadConfig
from backend.tasks.streamflow.train import StreamflowTrainConfig, train_streamflow
from backend.training.fit import FitConfig, FitResult

N_BASINS = 12
FIRST_DAY = "2005-10-01"
LAST_DAY = "2008-09-30"
#: inside the calendar and inside the CAMELS training period (1999-10-01 .. 2008-09-30)
PERIOD = ("2006-10-01", "2008-09-30")
SEED = 3
CFG = StreamflowTrainConfig(
    warmup_days=30, loss_days=90, batch_size=6,
    fit=FitConfig(steps=40, learning_rate=5e-3, validate_every=10, patience=10, seed=SEED),
    head=HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.2),
    validation_fraction=0.25,
)


def test_the_registry_holds_the_shipped_model_and_the_lstm_baseline() -> None:
    assert {"stefaland", "lstm"} <= set(NETWORKS)


def _synthetic_data(base: BaseModel) -> StreamflowData:
    """Normalised forcings and statics of 12 basins on three years of days, flow driven by rain, and states."""
    rng = np.random.default_rng(0)
    dates = np.arange(np.datetime64(FIRST_DAY), np.datetime64(LAST_DAY) + 1)
    n_days, n_forcings = len(dates), len(base.normalizer.forcing_names)
    n_statics, n_categories = len(base.normalizer.static_names), len(base.normalizer.vocabularies)
    forcings = rng.normal(0.0, 1.0, (N_BASINS, n_days, n_forcings)).astype(np.float32)
    observed = np.ones_like(forcings, dtype=bool)
    observed[:, 100:110, 1] = False
    statics = rng.normal(0.0, 1.0, (N_BASINS, n_statics)).astype(np.float32)
    statics_observed = rng.random((N_BASINS, n_statics)) > 0.1
    categories = rng.integers(0, 3, (N_BASINS, n_categories)).astype(np.int64)
    latlon = np.stack([rng.uniform(30, 48, N_BASINS), rng.uniform(-120, -70, N_BASINS)], 1).astype(np.float32)
    ids = [f"{10_000_000 + 1_111 * i:08d}" for i in range(N_BASINS)]
    locations = LocationData(ids, statics, statics_observed, categories, latlon, forcings, observed, dates)
    rain = np.clip(forcings[:, :, 0], 0.0, None)
    kernel = np.exp(-np.arange(30) / 7.0)
    flow = np.stack([np.convolve(rain[i], kernel)[:n_days] * (0.5 + 0.1 * i) for i in range(N_BASINS)])
    flow[:, 200:215] = np.nan  # a gap, as in real records
    grid = window_grid(n_days, base.config.patch_days, base.config.window_patches)
    data = StreamflowData(locations, flow.astype(np.float64), grid)
    data.states = encode_records(base, locations)  # as the benchmark does (from forcings and statics only)
    return data


def _with_flows(data: StreamflowData, gauge_ids: list[str], seed: int) -> StreamflowData:
    """A copy of ``data`` whose flows of ``gauge_ids`` are noise on every day, NaN on some."""
    rng = np.random.default_rng(seed)
    flow = data.streamflow_mm_per_day.copy()
    rows = data.rows(gauge_ids)
    noise = rng.lognormal(2.0, 1.5, (len(rows), flow.shape[1]))
    noise[rng.random(noise.shape) < 0.2] = np.nan
    flow[rows] = noise
    return StreamflowData(data.locations, flow, data.grid, data.states)


@pytest.fixture(scope="module")
def setup() -> tuple[BaseModel, StreamflowData, Fold]:
    """The tiny base model, the synthetic data and the first of four PUB folds."""
    set_threads(1)
    torch.set_num_threads(1)
    base = tiny_base()
    data = _synthetic_data(base)
    fold = pub_folds(data.ids, k=4, seed=0)[0]
    return base, data, fold


def _train(name: str, base: BaseModel, data: StreamflowData, fold: Fold
           ) -> tuple[StreamflowModel, FitResult, list[str]]:
    return train_streamflow(name, base, data, list(fold.train), PERIOD, CFG, seed=SEED)


def _same_weights(a: StreamflowModel, b: StreamflowModel) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _same_trained_parameters(a: StreamflowModel, b: StreamflowModel) -> bool:
    """Whether the trainable parameters agree (not only the flow-scaling buffers)."""
    pb = dict(b.named_parameters())
    return all(torch.equal(p, pb[n]) for n, p in a.named_parameters() if p.requires_grad)


@pytest.mark.parametrize("name", sorted(NETWORKS))  # the shipped stefaland, the lstm baseline and the rest
def test_training_does_not_read_test_basin_flows(name: str, setup: tuple[BaseModel, StreamflowData, Fold]) -> None:
    base, data, fold = setup
    assert fold.test and set(fold.train).isdisjoint(fold.test)
    model, result, val_ids = _train(name, base, data, fold)
    assert np.isfinite(result.best_score) and result.best_step > 0
    assert set(val_ids) <= set(fold.train) and set(val_ids).isdisjoint(fold.test)
    assert 0 < len(val_ids) < len(fold.train)

    noisy = _with_flows(data, list(fold.test), seed=1)
    test_rows = data.rows(list(fold.test))
    assert not np.array_equal(noisy.streamflow_mm_per_day[test_rows], data.streamflow_mm_per_day[test_rows],
                              equal_nan=True)
    model_noisy, result_noisy, val_noisy = _train(name, base, noisy, fold)
    assert _same_weights(model, model_noisy)
    assert result_noisy.best_score == result.best_score and result_noisy.best_step == result.best_step
    assert result_noisy.steps_run == result.steps_run and result_noisy.history == result.history
    assert val_noisy == val_ids

    # control: the comparison can fail; one fitted (not validation) training basin's flows do change the weights
    fitted = sorted(set(fold.train) - set(val_ids))[0]
    changed = _with_flows(data, [fitted], seed=2)
    model_changed, _, val_changed = _train(name, base, changed, fold)
    assert val_changed == val_ids
    assert not _same_weights(model, model_changed)
    assert not _same_trained_parameters(model, model_changed)
