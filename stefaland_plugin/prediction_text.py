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
    else:
        lines.append(tr("No observed streamflow for this gauge and period: no scores."))
    imputed = result.get("imputed") or []
    if imputed:
        lines.append(tr("Imputed inputs ({}): {}").format(len(imputed), ", ".join(map(str, imputed))))
    else:
        lines.append(tr("Imputed inputs: none (every attribute from CAMELS)."))
    if result.get("mean_flow") is not None:
        lines.append(tr("Mean predicted flow: {:.2f} mm/day").format(result["mean_flow"]))
    return lines
