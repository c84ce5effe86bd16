"""Adapter files: small, tensor-only, and tied to the base model they were trained on (by checksum)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from backend.core.errors import CheckpointError
from backend.core.tensor_files import load_tensor_payload, save_tensor_payload

ADAPTER_FORMAT = "stefaland-adapter-v1"


@dataclass
class AdapterFile:
    """What an adapter file holds besides its weights."""

    task: str
    base_sha256: str
    config: dict
    meta: dict
    state_dict: dict[str, torch.Tensor]


def save_adapter(path: Path, task: str, base_sha256: str, module: nn.Module, config: dict,
                 meta: dict | None = None, overwrite: bool = True) -> Path:
    """Write an adapter (only the trainable head/adapter weights) atomically."""
    payload = {
        "format": ADAPTER_FORMAT,
        "task": task,
        "base_sha256": base_sha256,
        "config": json.dumps(config),
        "meta": json.dumps(meta or {}),
        "state_dict": {k: v.detach().clone() for k, v in module.state_dict().items()},
    }
    return save_tensor_payload(Path(path), payload, overwrite=overwrite)


def read_adapter(path: Path, task: str, base_sha256: str | None) -> AdapterFile:
    """Read an adapter; fails clearly if it is corrupt, for another task, or for another base model.

    ``base_sha256=None`` skips the base check (for adapters that need no base model, e.g. baselines).
    """
    path = Path(path)
    payload = load_tensor_payload(path, ADAPTER_FORMAT, "adapter file")
    if payload["task"] != task:
        raise CheckpointError(f"{path}: adapter is for task {payload['task']!r}, not {task!r}")
    if base_sha256 is not None and payload["base_sha256"] and payload["base_sha256"] != base_sha256:
        raise CheckpointError(f"{path}: adapter was trained on base model {payload['base_sha256'][:12]}, "
                              f"but the loaded base model is {base_sha256[:12]}")
    return AdapterFile(payload["task"], payload["base_sha256"], json.loads(payload["config"]),
                       json.loads(payload["meta"]), payload["state_dict"])


def load_weights(module: nn.Module, adapter: AdapterFile, path: Path) -> nn.Module:
    """Put an adapter's weights into a module built from its config; shape mismatches fail clearly."""
    try:
        module.load_state_dict(adapter.state_dict, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: adapter weights do not fit ({str(exc).splitlines()[0]})") from None
    return module.eval()
