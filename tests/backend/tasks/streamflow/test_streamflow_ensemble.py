"""The streamflow seed ensemble: one adapter file holds every member, an old single-model file loads as an
ensemble of one, and a prediction is the members' daily mean with their 10th-90th percentile (no real data:
a tiny random base model and synthetic forcings)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from landslide_fixtures import tiny_base

from backend.core.config import load_config
from backend.core.errors import ConfigError
from backend.core.paths import PROJECT_ROOT
from backend.data.variables import FORCING_VARIABLES
from backend.model.checkpoint import BaseModel
from backend.model.locations import RawLocation
from backend.tasks.streamflow.adapter_io import TASK, load_streamflow_adapter, save_streamflow_adapter
from backend.tasks.streamflow.bundle import StreamflowBundleConfig, member_config
from backend.tasks.streamflow.model import StreamflowEnsemble, StreamflowModel, as_ensemble, member_spread
from backend.tasks.streamflow.networks import HeadConfig
from backend.tasks.streamflow.predict import predict_location
from backend.training.adapter_file import save_adapter

HEAD = HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.0)
WARMUP = 30


@pytest.fixture(scope="module")
def base() -> BaseModel:
    torch.set_num_threads(1)
    return tiny_base(0)


def _member(base: BaseModel, seed: int) -> StreamflowModel:
    torch.manual_seed(seed)
    model = StreamflowModel("stefaland", base, len(base.normalizer.static_names), HEAD, 1.0 + seed, 2.0)
    with torch.no_grad():  # a visible difference between members: output bias and flow mean
        model.head.out.bias.fill_(0.5 * seed)
    return model.eval()


def _location(n_days: int = 400) -> RawLocation:
    rng = np.random.default_rng(0)
    days = np.arange(np.datetime64("2000-01-01"), np.datetime64("2000-01-01") + n_days)
    doy = np.arange(n_days) / 365.0
    forcings = np.stack([rng.gamma(0.6, 4.0, n_days), 300 + 100 * np.sin(6.28 * doy), 15 + 10 * np.sin(6.28 * doy),
                         3 + 10 * np.sin(6.28 * doy), 900 + 300 * np.sin(6.28 * doy),
                         43000 + 7000 * np.sin(6.28 * doy)], axis=1).astype(np.float32)
    assert forcings.shape[1] == len(FORCING_VARIABLES)
    return RawLocation("synthetic", (44.0, -70.0), {"elev_mean": 400.0}, {}, forcings, days)


def test_ensemble_file_round_trip(base: BaseModel, tmp_path: Path) -> None:
    ensemble = StreamflowEnsemble([_member(base, s) for s in range(3)])
    meta = {"members": [{"seed": s, "best_step": 10 * s} for s in range(3)]}
    path = save_streamflow_adapter(tmp_path / "ens.pt", ensemble, base, HEAD, WARMUP, meta)
    loaded, cfg, got_meta = load_streamflow_adapter(path, base)
    assert isinstance(loaded, StreamflowEnsemble) and len(loaded) == 3 and cfg["members"] == 3
    assert got_meta == meta and cfg["warmup_days"] == WARMUP
    saved, again = ensemble.state_dict(), loaded.state_dict()
    assert saved.keys() == again.keys() and all(torch.equal(saved[k], again[k]) for k in saved)
    assert any(k.startswith("members.2.head.") for k in saved)
    assert float(loaded.members[1].flow_mean) == 2.0  # each member keeps its own flow scaling


def test_old_single_model_file_loads_as_an_ensemble_of_one(base: BaseModel, tmp_path: Path) -> None:
    single = _member(base, 1)
    config = {"network": "stefaland", "head": dataclasses.asdict(HEAD), "warmup_days": WARMUP,
              "n_statics": len(base.normalizer.static_names)}  # the format before ensembles: no "members"
    path = save_adapter(tmp_path / "old.pt", TASK, base.sha256, single, config, {"basins": 5})
    loaded, cfg, meta = load_streamflow_adapter(path, base)
    assert len(loaded) == 1 and cfg["members"] == 1 and meta == {"basins": 5}
    old = single.state_dict()
    assert all(torch.equal(old[k], loaded.members[0].state_dict()[k]) for k in old)
    one = predict_location(base, single, _location(), "2000-03-01", "2000-12-31", WARMUP)
    same = predict_location(base, loaded, _location(), "2000-03-01", "2000-12-31", WARMUP)
    np.testing.assert_array_equal(one.streamflow_pred, same.streamflow_pred)


def test_prediction_is_the_members_mean_with_their_spread(base: BaseModel) -> None:
    members = [_member(base, s) for s in range(3)]
    result = predict_location(base, StreamflowEnsemble(members), _location(), "2000-03-01", "2000-12-31", WARMUP)
    each = np.stack([predict_location(base, m, _location(), "2000-03-01", "2000-12-31", WARMUP).streamflow_pred
                     for m in members])
    assert result.members == 3 and len(result.dates) == 306
    np.testing.assert_allclose(result.streamflow_pred, each.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.member_spread_p10, np.percentile(each, 10, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.member_spread_p90, np.percentile(each, 90, axis=0), rtol=1e-5, atol=1e-6)
    assert np.all(result.member_spread_p10 <= result.member_spread_p90)
    assert np.all(result.member_spread_p10 < result.member_spread_p90 - 1e-3)  # the members do differ
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert list(rows[0]) == ["date", "streamflow_pred", "member_spread_p10", "member_spread_p90"]
    assert all(float(r["member_spread_p10"]) <= float(r["member_spread_p90"]) for r in rows)


def test_an_ensemble_of_one_has_no_spread(base: BaseModel) -> None:
    result = predict_location(base, _member(base, 0), _location(), "2000-03-01", "2000-06-30", WARMUP)
    assert result.members == 1
    np.testing.assert_array_equal(result.member_spread_p10, result.streamflow_pred)
    np.testing.assert_array_equal(result.member_spread_p90, result.streamflow_pred)
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert all(r["member_spread_p10"] == r["streamflow_pred"] == r["member_spread_p90"] for r in rows)


def test_member_spread_by_hand() -> None:
    flows = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], dtype=np.float32)
    mean, low, high = member_spread(flows)
    np.testing.assert_allclose(mean, [1.0, 1.0])
    np.testing.assert_allclose(low, [0.2, 1.0])   # linear between the lowest two members
    np.testing.assert_allclose(high, [1.8, 1.0])
    mean, low, high = member_spread(flows[:1])
    assert np.array_equal(mean, flows[0]) and np.array_equal(low, flows[0]) and np.array_equal(high, flows[0])


def test_ensemble_shares_the_encoder_inputs_and_averages_its_members(base: BaseModel) -> None:
    ensemble = as_ensemble(StreamflowEnsemble([_member(base, s) for s in range(2)]))
    assert len(ensemble) == 2 and ensemble.name == "stefaland" and ensemble.encoder_mode == "frozen_pretrained"
    with pytest.raises(ValueError, match="at least one"):
        StreamflowEnsemble([])


def test_bundle_config_has_three_members_and_rejects_unknown_keys(tmp_path: Path) -> None:
    cfg = load_config(StreamflowBundleConfig, PROJECT_ROOT / "resources" / "configs" / "streamflow_adapter.yaml")
    assert cfg.members == 3
    seeds = [member_config(cfg, m) for m in range(cfg.members)]
    assert [seed for _, seed in seeds] == [0, 1, 2]
    assert [c.fit.seed for c, _ in seeds] == [cfg.fit.seed, cfg.fit.seed + 1, cfg.fit.seed + 2]
    assert all(c.head == cfg.head and c.fit.steps == cfg.fit.steps for c, _ in seeds)
    bad = tmp_path / "bad.yaml"
    bad.write_text("members: 3\nmembres: 2\n")
    with pytest.raises(ConfigError, match="membres"):
        load_config(StreamflowBundleConfig, bad)
    bad.write_text("members: 0\n")
    with pytest.raises(ConfigError, match="members"):
        load_config(StreamflowBundleConfig, bad)
