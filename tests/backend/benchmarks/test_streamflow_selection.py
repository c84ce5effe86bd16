"""Per-fold selection reads no test basin of its fold, and chooses by a rule fixed in advance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.synthetic_streamflow import synthetic_streamflow_data, with_noisy_flows
from landslide_fixtures import tiny_base

from backend.benchmarks.streamflow_design import DesignVariant
from backend.benchmarks.streamflow_selection import (
    StreamflowSelectionConfig,
    choose,
    hide_test_flows,
    outer_folds,
    score_candidate,
    write_choice,
    write_report,
)
from backend.core.config import load_config
from backend.core.runtime import set_threads
from backend.data.splits import pub_folds
from backend.tasks.streamflow.networks import HeadConfig
from backend.tasks.streamflow.train import StreamflowTrainConfig
from backend.training.fit import FitConfig

CFG = StreamflowSelectionConfig(
    k=4, train=StreamflowTrainConfig(
        warmup_days=30, loss_days=90, batch_size=6, validation_fraction=0.25,
        fit=FitConfig(steps=30, learning_rate=5e-3, validate_every=10, patience=10, seed=3),
        head=HeadConfig(lstm_hidden=8, adapter_hidden=8)),
    candidates=[DesignVariant("shipped", "stefaland"), DesignVariant("states_zeroed", "adapter_without_encoder")])


@pytest.fixture(scope="module")
def setup() -> tuple:
    set_threads(1)
    torch.set_num_threads(1)
    base = tiny_base()
    data = synthetic_streamflow_data(base, 12, "1998-10-01", "2008-09-30")  # covers the training period
    return base, data, pub_folds(data.ids, k=4, seed=0)[0]


def test_hidden_copy_has_no_test_flows_and_leaves_the_original(setup: tuple) -> None:
    _, data, fold = setup
    before = data.streamflow_mm_per_day.copy()
    hidden = hide_test_flows(data, fold)
    assert np.isnan(hidden.streamflow_mm_per_day[data.rows(list(fold.test))]).all()
    train_rows = data.rows(list(fold.train))
    np.testing.assert_array_equal(hidden.streamflow_mm_per_day[train_rows], before[train_rows])
    np.testing.assert_array_equal(data.streamflow_mm_per_day, before)


@pytest.mark.parametrize("candidate", CFG.candidates, ids=[c.name for c in CFG.candidates])
def test_the_selection_score_does_not_depend_on_test_basin_flows(setup: tuple, candidate: DesignVariant) -> None:
    base, data, fold = setup
    record = score_candidate(base, data, fold, candidate, CFG)
    assert set(record["inner_validation_ids"]) <= set(fold.train)
    assert set(record["inner_validation_ids"]).isdisjoint(fold.test)
    noisy = score_candidate(base, with_noisy_flows(data, list(fold.test), seed=1), fold, candidate, CFG)
    keep = [k for k in record if k != "seconds"]
    assert {k: noisy[k] for k in keep} == {k: record[k] for k in keep}
    # control: the score does move with a training basin's flows (the comparison can fail)
    fitted = sorted(set(fold.train) - set(record["inner_validation_ids"]))[0]
    moved = score_candidate(base, with_noisy_flows(data, [fitted], seed=2), fold, candidate, CFG)
    assert moved["best_inner_validation_median_nse"] != record["best_inner_validation_median_nse"]


def test_choice_rule_best_score_ties_to_the_first_listed_and_incomplete_folds_wait() -> None:
    results = [{"fold": "pub-1", "variant": "a", "best_inner_validation_median_nse": 0.600},
               {"fold": "pub-1", "variant": "b", "best_inner_validation_median_nse": 0.604},  # a tie: a wins
               {"fold": "pub-2", "variant": "a", "best_inner_validation_median_nse": 0.60},
               {"fold": "pub-2", "variant": "b", "best_inner_validation_median_nse": 0.65},  # b clearly better
               {"fold": "pub-3", "variant": "a", "best_inner_validation_median_nse": 0.70}]  # b not run yet
    chosen = choose(results, ["a", "b"], tie_margin=0.005)
    assert chosen["pub-1"]["variant"] == "a" and chosen["pub-2"]["variant"] == "b" and "pub-3" not in chosen
    assert choose(results, ["b", "a"], tie_margin=0.005)["pub-1"]["variant"] == "b"


def test_report_and_choice_come_from_the_results_folder_only(tmp_path: Path) -> None:
    cfg = StreamflowSelectionConfig(candidates=CFG.candidates, results_dir=tmp_path)
    for fold, scores in {"pub-1of5": (0.61, 0.66), "pub-2of5": (0.62, 0.60)}.items():
        for candidate, score in zip(CFG.candidates, scores, strict=True):
            (tmp_path / f"{fold}__{candidate.name}.json").write_text(json.dumps(
                {"fold": fold, "variant": candidate.name, "best_inner_validation_median_nse": score,
                 "best_step": 100}))
    assert {f: c["variant"] for f, c in write_choice(cfg).items()} == {"pub-1of5": "states_zeroed",
                                                                      "pub-2of5": "shipped"}
    assert json.loads((tmp_path / "selection.json").read_text())["pub-2of5"]["variant"] == "shipped"
    report = write_report(cfg, Path("resources/configs/streamflow_selection.yaml"), None)
    assert "| pub-1of5 | 0.610 (step 100) | 0.660 (step 100) | states_zeroed |" in report
    assert report.rstrip().splitlines()[-1] == "headline: chosen_shipped=1 chosen_states_zeroed=1 folds_chosen=2"


def test_the_committed_config_is_fixed_and_quick_screens_three_pub_folds() -> None:
    cfg = load_config(StreamflowSelectionConfig, Path("resources/configs/streamflow_selection.yaml"))
    assert cfg.candidates[0].name == "shipped" and cfg.train.validation_fraction == 0.2
    ids = [f"{i:08d}" for i in range(40)]
    assert [f.name for f in outer_folds(cfg, ids, None, quick=True)] == ["pub-1of5", "pub-2of5", "pub-3of5"]


def test_reports_say_how_many_scored_basins_had_their_inputs_in_pretraining() -> None:
    from backend.benchmarks.streamflow import pretraining_sentence
    from backend.core.paths import MODELS_DIR

    split = json.loads((MODELS_DIR / "stefaland_base.split.json").read_text())
    basins = set(split["pretrain_basins"][:3]) | set(split["holdout_basins"][:2])
    text = pretraining_sentence(None, basins, ["stefaland", "lstm"])
    assert "3 of the 5 test basins" in text and f"{len(split['pretrain_basins'])} CAMELS basins" in text
    assert "2 of the 2 inner validation basins" in pretraining_sentence(
        None, set(split["pretrain_basins"][:2]), ["stefaland"], "inner validation basins")
    assert pretraining_sentence(None, basins, ["lstm"]).startswith("No model here uses the pretrained encoder")
