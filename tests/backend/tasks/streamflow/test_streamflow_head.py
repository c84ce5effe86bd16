"""The streamflow head's options (statics into the LSTM, state projection and dropout) and the fit schedules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from backend.core.config import ConfigError, load_config
from backend.tasks.streamflow.networks import AdapterLSTM, DailyInputs, HeadConfig
from backend.training.fit import SCHEDULES, FitConfig, fit

D_STATE, N_FORCINGS, N_STATICS = 12, 6, 5


def _inputs(seed: int, statics: torch.Tensor | None = None) -> DailyInputs:
    generator = torch.Generator().manual_seed(seed)
    return DailyInputs(torch.randn(3, 20, D_STATE, generator=generator),
                       torch.randn(3, 20, N_FORCINGS, generator=generator),
                       statics if statics is not None else torch.randn(3, N_STATICS, generator=generator))


@pytest.mark.parametrize("statics_to_lstm", [False, True])
def test_statics_reach_the_lstm_only_when_asked(statics_to_lstm: bool) -> None:
    torch.manual_seed(0)
    head = AdapterLSTM(D_STATE, N_FORCINGS, N_STATICS, HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.0,
                                                                   statics_to_lstm=statics_to_lstm)).eval()
    a = _inputs(1, torch.zeros(3, N_STATICS))
    b = DailyInputs(a.states, a.forcings, torch.ones(3, N_STATICS))
    # the adapter's correction starts at zero, so at initialisation statics can only act through the LSTM
    changed = not torch.allclose(head(a), head(b))
    assert changed == statics_to_lstm
    assert head(a).shape == (3, 20)


def test_state_projection_sets_the_adapter_and_lstm_widths() -> None:
    head = AdapterLSTM(D_STATE, N_FORCINGS, N_STATICS, HeadConfig(lstm_hidden=8, adapter_hidden=8, state_width=4,
                                                                   statics_to_lstm=True))
    assert isinstance(head.project, nn.Linear) and head.project.out_features == 4
    assert head.lstm.input_size == 4 + N_FORCINGS + N_STATICS
    assert head.adapter.norm.normalized_shape == (4,)
    assert head.eval()(_inputs(2)).shape == (3, 20)


def test_state_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    head = AdapterLSTM(D_STATE, N_FORCINGS, N_STATICS, HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.0,
                                                                   state_dropout=0.9))
    x = _inputs(3)
    assert torch.equal(head.eval()(x), head.eval()(x))
    head.train()
    assert not torch.allclose(head(x), head(x))


def test_cosine_schedule_decays_to_zero_and_constant_keeps_the_rate() -> None:
    for name, final in (("cosine", 0.0), ("constant", 1e-2)):
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-2)
        scheduler = SCHEDULES[name](optimizer, 10)
        for _ in range(10):
            optimizer.step()
            scheduler.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(final, abs=1e-9)


def test_fit_with_cosine_schedule_still_learns_a_line() -> None:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = 3 * x + 1

    def loss(_: np.random.Generator) -> torch.Tensor:
        return ((model(x) - y) ** 2).mean()

    result = fit(model, loss, lambda: -float(loss(np.random.default_rng(0))),
                 FitConfig(steps=300, learning_rate=0.1, validate_every=50, patience=10, schedule="cosine"))
    assert result.best_score > -1e-3


def test_unknown_schedule_is_rejected_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "fit.yaml"
    path.write_text("steps: 10\nschedule: linear\n")
    with pytest.raises(ConfigError, match="schedule"):
        load_config(FitConfig, path)


def test_benchmark_parts_split_the_folds_without_overlap_or_gaps() -> None:
    from backend.benchmarks.streamflow import fold_part
    from backend.data.splits import pub_folds

    folds = pub_folds([f"{i:08d}" for i in range(40)], 5, 0)
    parts = [fold_part(folds, (i, 3)) for i in (1, 2, 3)]
    names = sorted(f.name for part in parts for f in part)
    assert names == sorted(f.name for f in folds)
    assert [f.name for f in parts[0]] == [folds[0].name, folds[3].name]
    with pytest.raises(ValueError, match="between 1 and 3"):
        fold_part(folds, (4, 3))
