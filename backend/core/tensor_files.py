"""Tensor-only files (dicts of tensors, numbers and strings): reproducible atomic saves, safe checked loads.

Loading always uses ``torch.load(weights_only=True)``: no arbitrary pickled objects are ever executed.
"""

from __future__ import annotations

from pathlib import Path

import torch

from backend.core.atomic_io import write_atomic
from backend.core.errors import CheckpointError


def save_tensor_payload(path: Path, payload: dict, overwrite: bool = True) -> Path:
    """Write ``payload`` atomically through a file handle.

    Given a path, torch names the archive's inner folder after the (random) temporary file name, so the
    same weights would give different bytes and a different checksum; a handle keeps the bytes stable.
    """

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)

    return write_atomic(Path(path), write, overwrite=overwrite)


def load_tensor_payload(path: Path, expected_format: str, what: str) -> dict:
    """Read a payload whose ``format`` field is ``expected_format``; anything else raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        raise CheckpointError(f"{path}: not a StefaLand {what} (expected format {expected_format})")
    return payload
