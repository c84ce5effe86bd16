"""Honest scores: which basins an adapter saw, and the out-of-fold NSE shown beside an in-sample score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.core.paths import MODELS_DIR
from backend.tasks.streamflow.provenance import (
    describe_score_context,
    out_of_fold_scores,
    read_training_record,
    record_path,
    write_training_record,
)

BUNDLED = MODELS_DIR / "streamflow_adapter.pt"


def test_record_round_trip_and_score_context(tmp_path: Path) -> None:
    adapter = tmp_path / "a.pt"
    write_training_record(adapter, ["02", "01"], ("1999-10-01", "2008-09-30"), {"01": 0.61234, "03": 0.4}, "bench")
    assert record_path(adapter) == tmp_path / "a.basins.json"
    record = read_training_record(adapter, {})
    assert record is not None and record.seen == {"01", "02"}
    seen = record.score_context("01")
    assert seen == {"in_sample": True, "trained_period": ["1999-10-01", "2008-09-30"], "out_of_fold_nse": 0.6123,
                    "out_of_fold_source": "bench"}
    unseen = record.score_context("03")
    assert unseen["in_sample"] is False and unseen["trained_period"] is None and unseen["out_of_fold_nse"] == 0.4
    assert "in-sample" in describe_score_context(seen) and "0.612" in describe_score_context(seen)
    assert describe_score_context(unseen).startswith("out-of-sample")
    assert "may be in-sample" in describe_score_context({"in_sample": None})


def test_a_fine_tuned_adapter_is_in_sample_on_its_own_gauges(tmp_path: Path) -> None:
    record = read_training_record(tmp_path / "mine.pt", {"gauges": [{"id": "g1", "validation_nse": 0.8}]})
    assert record is not None and record.score_context("g1")["in_sample"] is True
    assert record.score_context("g2")["in_sample"] is False
    assert read_training_record(tmp_path / "other.pt", {}) is None  # no record: unknown, not out-of-sample


def test_out_of_fold_scores_refuse_a_basin_in_two_folds(tmp_path: Path) -> None:
    csv = tmp_path / "per_basin.csv"
    csv.write_text("fold,model,gauge_id,nse,kge\npub-1,m,01,0.5,0.4\npub-2,m,02,0.6,0.5\npur-x,m,01,0.1,0.1\n"
                   "pub-1,other,01,0.9,0.9\n")
    assert out_of_fold_scores(csv, "m") == {"01": 0.5, "02": 0.6}
    csv.write_text(csv.read_text() + "pub-3,m,01,0.2,0.2\n")
    with pytest.raises(ValueError, match="two pub folds"):
        out_of_fold_scores(csv, "m")


def test_the_bundled_adapter_record_matches_its_metadata() -> None:
    """Every basin the bundled adapter saw has an out-of-fold score, and the counts agree with the adapter."""
    import torch

    payload = json.loads(record_path(BUNDLED).read_text(encoding="utf-8"))
    meta = torch.load(BUNDLED, weights_only=True)["meta"]
    meta = json.loads(meta) if isinstance(meta, str) else meta
    seen = set(payload["seen"])
    assert len(seen) - len(meta["validation_basins"]) == meta["basins"]
    assert set(meta["validation_basins"]) <= seen
    assert set(payload["out_of_fold_nse"]) == seen
    assert payload["period"] == ["1999-10-01", "2008-09-30"]
