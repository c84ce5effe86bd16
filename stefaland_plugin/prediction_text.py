"""Text the panel shows about a streamflow prediction: the model's label and the lines under the hydrograph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def adapter_label(path: str) -> str:
    """``adapter_20240101/streamflow_adapter.pt`` -> ``adapter_20240101`` (the folder names a fine-tune)."""
    adapter = Path(path)
    return adapter.parent.name if adapter.name == "streamflow_adapter.pt" and adapter.parent.name else adapter.name


def describe_prediction(result: dict[str, Any], tr: Callable[[str], str]) -> list[str]:
    """The lines under the hydrograph of a basin: forcings, observations, imputed inputs."""
    lines = []
    if result.get("forcing_source"):
        lines.append(tr("Forcings: {}").format(result["forcing_source"]))
    if result.get("has_observations"):
        lines.append(tr("Observed streamflow overlaid (grey); scores over the days observed."))
        lines.extend(score_honesty(result, tr))
    else:
        lines.append(tr("No observed streamflow for this gauge and period: no scores."))
    imputed = result.get("imputed") or []
    if imputed:
        lines.append(tr("Imputed inputs ({}): {}").format(len(imputed), ", ".join(map(str, imputed))))
    else:
        lines.append(tr("Imputed inputs: none (every attribute from CAMELS)."))
    if result.get("mean_flow") is not None:
        lines.append(tr("Mean predicted flow: {:.2f} mm/day").format(result["mean_flow"]))
    members = result.get("members")
    if isinstance(members, int) and members > 1:
        lines.append(tr("Model: an ensemble of {} members; the line is their daily mean, the light band their "
                        "spread (10–90%): how much they disagree, not a calibrated interval.").format(members))
    return lines


def score_honesty(result: dict[str, Any], tr: Callable[[str], str]) -> list[str]:
    """Whether the scores are in-sample (the model saw this basin's flows), and the basin's out-of-fold NSE."""
    lines = []
    if result.get("in_sample"):
        period = result.get("trained_period") or []
        lines.append(tr("In-sample: the model was trained on this basin's observed flows{}, so these scores show "
                        "the fit, not how well it predicts an ungauged basin.").format(
                            tr(" of {}..{}").format(*period) if len(period) == 2 else ""))
    elif result.get("in_sample") is None:
        lines.append(tr("The adapter does not record which basins it was trained on: the scores may be in-sample."))
    if result.get("out_of_fold_nse") is not None:
        lines.append(tr("With this basin held out, the same model scored NSE {:.2f} ({}).").format(
            result["out_of_fold_nse"], result.get("out_of_fold_source") or tr("benchmark")))
    return lines
