"""Streamflow adapter files: the trained heads (and flow scaling) of an ensemble, tied to one base model.

One file holds every member of a :class:`~backend.tasks.streamflow.model.StreamflowEnsemble` (``members.<m>.``
prefixed weights; ``config["members"]`` says how many). A file without ``members`` in its config (the format of
single adapters, e.g. older fine-tunes) holds one model and loads as an ensemble of one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from backend.core.errors import CheckpointError
from backend.core.paths import MODELS_DIR
from backend.model.checkpoint import BaseModel
from backend.tasks.streamflow.model import StreamflowEnsemble, StreamflowModel, as_ensemble
from backend.tasks.streamflow.networks import HeadConfig
from backend.training.adapter_file import load_weights, read_adapter, save_adapter

TASK = "streamflow"
BUNDLED_STREAMFLOW_ADAPTER = MODELS_DIR / "streamflow_adapter.pt"


def save_streamflow_adapter(path: Path, model: StreamflowModel | StreamflowEnsemble, base: BaseModel,
                            head: HeadConfig, warmup_days: int, meta: dict, overwrite: bool = False) -> Path:
    """Write trained ``stefaland`` (or ``linear_probe``) heads, every member of ``model``; no encoder weights.

    A single model is written as an ensemble of one.
    """
    ensemble = as_ensemble(model)
    if ensemble.encoder_mode != "frozen_pretrained":
        raise ValueError(f"only frozen-encoder networks make adapters, not {ensemble.name!r}")
    config = {"network": ensemble.name, "head": dataclasses.asdict(head), "warmup_days": warmup_days,
              "n_statics": len(base.normalizer.static_names), "members": len(ensemble)}
    return save_adapter(path, TASK, base.sha256, ensemble, config, meta, overwrite=overwrite)


def load_streamflow_adapter(path: Path | None, base: BaseModel) -> tuple[StreamflowEnsemble, dict, dict]:
    """The streamflow ensemble of an adapter file (default: the bundled one), with its config and meta.

    ``config["members"]`` is set (1 for a single-model file).
    """
    path = Path(path or BUNDLED_STREAMFLOW_ADAPTER)
    adapter = read_adapter(path, TASK, base.sha256)
    cfg = dict(adapter.config)
    head = HeadConfig(**cfg["head"])

    def member() -> StreamflowModel:
        return StreamflowModel(cfg["network"], base, cfg["n_statics"], head, 0.0, 1.0)

    if "members" not in cfg:  # a single model's file
        single = load_weights(member(), adapter, path)
        cfg["members"] = 1
        return StreamflowEnsemble([single]).eval(), cfg, adapter.meta
    n = cfg["members"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise CheckpointError(f"{path}: adapter config says {n!r} members; expected a positive integer")
    ensemble = load_weights(StreamflowEnsemble([member() for _ in range(n)]), adapter, path)
    return ensemble, cfg, adapter.meta  # type: ignore[return-value]
