"""Streamflow adapter files: the trained head (and flow scaling), tied to one base model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from backend.core.paths import MODELS_DIR
from backend.model.checkpoint import BaseModel
from backend.tasks.streamflow.model import StreamflowModel
from backend.tasks.streamflow.networks import HeadConfig
from backend.training.adapter_file import load_weights, read_adapter, save_adapter

TASK = "streamflow"
BUNDLED_STREAMFLOW_ADAPTER = MODELS_DIR / "streamflow_adapter.pt"


def save_streamflow_adapter(path: Path, model: StreamflowModel, base: BaseModel, head: HeadConfig,
                            warmup_days: int, meta: dict, overwrite: bool = False) -> Path:
    """Write a trained ``stefaland`` (or ``linear_probe``) head; the frozen encoder is not included."""
    if model.encoder_mode != "frozen_pretrained":
        raise ValueError(f"only frozen-encoder networks make adapters, not {model.name!r}")
    config = {"network": model.name, "head": dataclasses.asdict(head), "warmup_days": warmup_days,
              "n_statics": len(base.normalizer.static_names)}
    return save_adapter(path, TASK, base.sha256, model, config, meta, overwrite=overwrite)


def load_streamflow_adapter(path: Path | None, base: BaseModel) -> tuple[StreamflowModel, dict, dict]:
    """The streamflow model of an adapter file (default: the bundled one), with its config and meta."""
    path = Path(path or BUNDLED_STREAMFLOW_ADAPTER)
    adapter = read_adapter(path, TASK, base.sha256)
    cfg = adapter.config
    model = StreamflowModel(cfg["network"], base, cfg["n_statics"], HeadConfig(**cfg["head"]), 0.0, 1.0)
    load_weights(model, adapter, path)
    return model, cfg, adapter.meta
