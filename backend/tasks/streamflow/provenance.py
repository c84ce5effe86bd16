"""Which basins' flows a streamflow adapter has seen, and their out-of-fold scores: what makes a score honest.

A score on a basin whose flows trained the adapter (or chose its early-stopping step) is in-sample: it says
how well the model fits, not how well it predicts an ungauged basin. Every answer that carries a score says
whether it is in-sample and, where the benchmark scored the same configuration with the basin held out, that
out-of-fold NSE beside it.

The record lives beside the adapter as ``<adapter>.basins.json`` (written by the bundle step, and for the
bundled adapter by ``python -m backend streamflow-adapter-record``); a user's fine-tuned adapter lists its
gauges in its own metadata.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.atomic_io import write_text_atomic

#: the record of an adapter ``X.pt`` is ``X.basins.json``
RECORD_SUFFIX = ".basins.json"


@dataclass(frozen=True)
class TrainingRecord:
    """The basins whose flows an adapter saw, over which period, and out-of-fold NSE of held-out runs.

    Attributes:
        seen: gauge ids whose observed flows were fitted or used for early stopping.
        period: (start, end) ISO dates of the flows used, or None when it differs per gauge.
        out_of_fold_nse: gauge id -> NSE of the same configuration trained without that basin.
        out_of_fold_source: where those scores come from (benchmark, split, period, seeds).
    """

    seen: frozenset[str]
    period: tuple[str, str] | None = None
    out_of_fold_nse: dict[str, float] = field(default_factory=dict)
    out_of_fold_source: str = ""

    def score_context(self, gauge_id: str) -> dict[str, Any]:
        """The answer fields saying whether a score on ``gauge_id`` is in-sample, and its out-of-fold NSE."""
        return {"in_sample": gauge_id in self.seen,
                "trained_period": list(self.period) if self.period and gauge_id in self.seen else None,
                "out_of_fold_nse": self.out_of_fold_nse.get(gauge_id),
                "out_of_fold_source": self.out_of_fold_source if gauge_id in self.out_of_fold_nse else None}


def record_path(adapter: Path) -> Path:
    """The training record beside an adapter file: ``X.pt`` -> ``X.basins.json``."""
    return Path(adapter).with_suffix(RECORD_SUFFIX)


def write_training_record(adapter: Path, seen: list[str], period: tuple[str, str],
                          out_of_fold_nse: dict[str, float], out_of_fold_source: str) -> Path:
    """Write the record of ``adapter`` atomically (sorted ids, 4-decimal scores)."""
    payload = {"seen": sorted(seen), "period": list(period),
               "out_of_fold_source": out_of_fold_source,
               "out_of_fold_nse": {g: round(float(v), 4) for g, v in sorted(out_of_fold_nse.items())}}
    return write_text_atomic(record_path(adapter), json.dumps(payload, indent=1) + "\n")


def read_training_record(adapter: Path, meta: dict[str, Any]) -> TrainingRecord | None:
    """The record of an adapter: its ``.basins.json``, else the gauges its metadata lists (user fine-tunes).

    Returns None when neither says which basins the adapter saw (then no score can be called out-of-sample).
    """
    path = record_path(adapter)
    if path.is_file():
        payload = json.loads(path.read_text(encoding="utf-8"))
        period = tuple(payload["period"]) if payload.get("period") else None
        return TrainingRecord(frozenset(payload["seen"]), period,  # type: ignore[arg-type]
                              {str(g): float(v) for g, v in payload.get("out_of_fold_nse", {}).items()},
                              str(payload.get("out_of_fold_source", "")))
    gauges = meta.get("gauges")
    if isinstance(gauges, list):
        return TrainingRecord(frozenset(str(g["id"]) if isinstance(g, dict) else str(g) for g in gauges))
    return None


def out_of_fold_scores(per_basin_csv: Path, model: str, fold_prefix: str = "pub") -> dict[str, float]:
    """Per-basin NSE of ``model`` in the folds named ``fold_prefix*`` of a benchmark's per-basin CSV.

    Raises:
        ValueError: a basin appears in two such folds (the folds would not be a partition).
    """
    scores: dict[str, float] = {}
    with open(per_basin_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["model"] != model or not row["fold"].startswith(fold_prefix):
                continue
            if row["gauge_id"] in scores:
                raise ValueError(f"{per_basin_csv}: {row['gauge_id']} is a test basin of two {fold_prefix} folds")
            scores[row["gauge_id"]] = float(row["nse"])
    return scores


def describe_score_context(context: dict[str, Any]) -> str:
    """One line for a user: is the score in-sample, and what is the basin's out-of-fold NSE."""
    oof = context.get("out_of_fold_nse")
    held_out = (f"; with this basin held out, the same configuration scored NSE {oof:.3f} "
                f"({context.get('out_of_fold_source')})") if oof is not None else ""
    if context.get("in_sample"):
        period = context.get("trained_period")
        when = f" of {period[0]}..{period[1]}" if period else ""
        return (f"in-sample: the model was trained on this basin's observed flows{when}, so its score is a fit, "
                f"not a prediction for an ungauged basin{held_out}")
    if context.get("in_sample") is None:
        return "the adapter does not record which basins it was trained on: the score may be in-sample"
    return "out-of-sample: the model never saw this basin's flows" + held_out
