"""The streamflow benchmark end to end on 12 basins of the generated mini data root with the bundled
base model: results per (fold, model), resumable, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.benchmarks.streamflow import StreamflowBenchmarkConfig, run_benchmark, write_report
from backend.tasks.streamflow.train import StreamflowTrainConfig
from backend.training.fit import FitConfig

pytestmark = pytest.mark.usefixtures("mini_data")


def test_small_benchmark_stores_each_result_resumes_and_reports(tmp_path: Path) -> None:
    cfg = StreamflowBenchmarkConfig(
        k=2, models=["lstm", "linear_probe"], include_pur=False, max_basins=12, max_folds=1,
        train=StreamflowTrainConfig(loss_days=60, warmup_days=30, batch_size=4,
                                    fit=FitConfig(steps=2, validate_every=1, patience=1)),
        run_dir=tmp_path / "run")
    run_benchmark(cfg, part=(1, 1))
    results = sorted((tmp_path / "run" / "results").glob("*.json"))
    assert [p.name for p in results] == ["pub-1of2__linear_probe.json", "pub-1of2__lstm.json"]
    record = json.loads(results[1].read_text())
    assert record["n_test"] == 6 and len(record["per_basin"]) == 6
    assert record["n_train"] + record["n_validation"] == 6
    stamps = [p.stat().st_mtime_ns for p in results]
    run_benchmark(cfg, part=(1, 1))  # resumes: nothing left to run, nothing rewritten
    assert [p.stat().st_mtime_ns for p in results] == stamps
    assert (tmp_path / "run" / "config.yaml").is_file()
    report = write_report(cfg, tmp_path / "report.md")
    assert "| lstm | 1/1 | 6 |" in report and "| linear_probe | 1/1 | 6 |" in report
    per_basin = (tmp_path / "report_per_basin.csv").read_text().splitlines()  # named after its report
    assert per_basin[0] == "fold,model,gauge_id,nse,kge" and len(per_basin) == 1 + 12


def test_benchmark_data_uses_the_base_model_it_is_given(tmp_path: Path) -> None:
    import torch

    from backend.benchmarks.streamflow import streamflow_benchmark_data
    from backend.model.checkpoint import save_base_model
    from backend.model.inputs import vocabulary_from
    from backend.model.loading import get_base_model
    from backend.model.mae import StefaLandMAE

    bundled = get_base_model()
    torch.manual_seed(0)
    untrained = StefaLandMAE(bundled.config, vocabulary_from(bundled.normalizer))
    path = tmp_path / "untrained.pt"
    save_base_model(path, untrained, bundled.normalizer, {"steps": 0})
    _, base, data = streamflow_benchmark_data(3, path)
    assert base.path == path.resolve() and base.sha256 != bundled.sha256
    _, _, bundled_data = streamflow_benchmark_data(3)
    assert data.ids == bundled_data.ids and data.states.shape == bundled_data.states.shape
    first, bundled_first = (np.asarray(d.states[0, 0], dtype=float) for d in (data, bundled_data))
    assert not np.allclose(first, bundled_first)


def test_ensemble_scores_the_members_mean_flow_and_resumes_per_member(tmp_path: Path) -> None:
    from backend.benchmarks.streamflow import run_ensemble, streamflow_benchmark_data
    from backend.data.splits import TEST_PERIOD
    from backend.tasks.streamflow.train import score_predictions

    cfg = StreamflowBenchmarkConfig(
        k=2, models=["lstm"], include_pur=False, max_basins=12, max_folds=1, ensemble=2,
        train=StreamflowTrainConfig(loss_days=60, warmup_days=30, batch_size=4,
                                    fit=FitConfig(steps=2, validate_every=1, patience=1)),
        run_dir=tmp_path / "run")
    run_benchmark(cfg, part=(2, 2))  # the second worker owns the seed-1 member only: nothing to combine yet
    members = tmp_path / "run" / "members"
    assert [p.name for p in members.iterdir()] == ["pub-1of2__lstm__seed1.npy"]
    assert not list((tmp_path / "run" / "results").iterdir())
    run_benchmark(cfg, part=(1, 2))  # seed 0, then every member exists: the ensemble result is written
    record = json.loads((tmp_path / "run" / "results" / "pub-1of2__lstm.json").read_text())
    assert record["ensemble"] == 2 and record["member_seeds"] == [0, 1] and len(record["per_basin"]) == 6
    flows = [np.load(members / f"pub-1of2__lstm__seed{s}.npy") for s in (0, 1)]
    assert flows[0].shape == (6, 3652) and flows[0].dtype == np.float32 and not np.allclose(flows[0], flows[1])
    _, _, data = streamflow_benchmark_data(12)
    test_ids = [row["gauge_id"] for row in record["per_basin"]]
    expected = score_predictions((flows[0] + flows[1]) / 2, data, test_ids, TEST_PERIOD)
    assert [row["nse"] for row in record["per_basin"]] == pytest.approx([row["nse"] for row in expected])
    stamps = {p.name: p.stat().st_mtime_ns for p in members.iterdir()}
    run_ensemble(cfg, tmp_path / "run", None, data, [], (1, 1))  # no folds: nothing trained, nothing rewritten
    run_benchmark(cfg, part=(1, 1))  # resumes: every member exists
    assert {p.name: p.stat().st_mtime_ns for p in members.iterdir()} == stamps
    assert "ensemble of 2 members" in write_report(cfg, tmp_path / "report.md")
