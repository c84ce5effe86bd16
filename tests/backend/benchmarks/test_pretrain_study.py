"""Pretraining-study report: paired differences against the control and the table from run folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from backend.benchmarks.pretrain_study import paired_difference, paired_difference_interval, study_report


def _variant(study: Path, name: str, nse: dict[str, float], basins: int = 604) -> None:
    folder = study / name / "benchmark" / "results"
    folder.mkdir(parents=True)
    rows = [{"gauge_id": g, "nse": v, "kge": 0.0} for g, v in nse.items()]
    (folder / "pub-1of5__stefaland.json").write_text(json.dumps({"per_basin": rows}))
    (folder / "pub-1of5__lstm.json").write_text(json.dumps({"per_basin": [{"gauge_id": "x", "nse": 9.0}]}))
    summary = {"pretrain_basins": basins, "steps": 1500, "training_seconds": 600.0,
               "final_validation": {"val_forcings": 0.25, "val_statics": 0.4}}
    (study / name / "summary.json").write_text(json.dumps(summary))
    r2 = {"q_mean": {"pretrained encoder": 0.9}, "baseflow_index": {"pretrained encoder": 0.5}}
    (study / name / "signature_probe.json").write_text(json.dumps({"r2": r2}))


def test_paired_difference_uses_only_basins_scored_in_both() -> None:
    delta, better, n = paired_difference({"a": 0.5, "b": 0.7, "c": 0.1, "d": np.nan}, {"a": 0.4, "b": 0.8, "d": 0.3})
    assert n == 2 and delta == pytest.approx(0.0) and better == 0.5  # diffs +0.1 and -0.1
    assert paired_difference({"a": 0.5}, {})[2] == 0


def test_report_lists_every_variant_and_compares_with_the_control(tmp_path: Path) -> None:
    _variant(tmp_path, "control", {"a": 0.5, "b": 0.6, "c": 0.7})
    _variant(tmp_path, "half_data", {"a": 0.6, "b": 0.7, "c": 0.6}, basins=302)
    reference = tmp_path / "bench" / "results"
    reference.mkdir(parents=True)
    for fold, gauges in (("pub-1of5", ["a", "b"]), ("pub-4of5", ["c"])):  # pub-4of5 is outside the study
        rows = [{"gauge_id": g, "nse": 0.9} for g in gauges]
        (reference / f"{fold}__lstm.json").write_text(json.dumps({"per_basin": rows}))
    report = study_report(tmp_path, references={"lstm": ("baseline", reference, "lstm"),
                                                "missing": ("not there", tmp_path / "nowhere", "lstm")})
    assert "| control |" in report and "| 3 | 0.600 | 0.600 | (reference) | (reference) |" in report
    half = next(line for line in report.splitlines() if line.startswith("| half_data |"))
    assert "| 302 | 1500 | 10.0 | 0.250 / 0.400 | 0.700 | 3 | 0.600 | 0.633 | +0.100 [-0.100, +0.100] | 67% |" in half
    assert "| untrained |" in report and "not run" in report  # listed even before it ran
    # study folds only (pub-4of5 left out), paired with the control
    assert "| lstm | baseline | 2 | 0.900 | 0.900 | +0.350 [+0.300, +0.400] | 100% |" in report
    assert "| missing | not there | not run |" in report


def test_paired_interval_holds_the_median_and_narrows_with_more_basins() -> None:
    rng = np.random.default_rng(3)
    assert paired_difference_interval({"a": 0.7, "b": 0.5}, {"a": 0.5, "b": 0.3}) == pytest.approx((0.2, 0.2))
    widths = []
    for n in (20, 400):
        ids = [str(i) for i in range(n)]
        reference = dict(zip(ids, rng.uniform(0.0, 1.0, n), strict=True))
        scores = {g: v + 0.05 + rng.normal(0.0, 0.1) for g, v in reference.items()}
        low, high = paired_difference_interval(scores, reference)
        assert low <= paired_difference(scores, reference)[0] <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2
    assert np.isnan(paired_difference_interval({"a": 0.5}, {})[0])
