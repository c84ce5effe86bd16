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
from fixtures.synthetic_streamflow import synthetic_streamflow_data, with_noisy_flows
from landslide_fixtures import tiny_base

from backend.core.runtime import set_threads
from backend.data.splits import Fold, pub_folds
from backend.model.checkpoint import BaseModel
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


@pytest.fixture(scope="module")
def setup() -> tuple[BaseModel, StreamflowData, Fold]:
    """The tiny base model, the synthetic data and the first of four PUB folds."""
    set_threads(1)
    torch.set_num_threads(1)
    base = tiny_base()
    data = synthetic_streamflow_data(base, N_BASINS, FIRST_DAY, LAST_DAY)
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

    noisy = with_noisy_flows(data, list(fold.test), seed=1)
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
    changed = with_noisy_flows(data, [fitted], seed=2)
    model_changed, _, val_changed = _train(name, base, changed, fold)
    assert val_changed == val_ids
    assert not _same_weights(model, model_changed)
    assert not _same_trained_parameters(model, model_changed)
