"""Saving and loading the base model: one tensor-only file (state dict + JSON strings), checked on load.

Files are read with ``torch.load(weights_only=True)``: no pickle of arbitrary objects.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from backend.core.errors import CheckpointError
from backend.core.tensor_files import load_tensor_payload, save_tensor_payload
from backend.data.normalization import Normalizer
from backend.model.config import ModelConfig
from backend.model.inputs import vocabulary_from
from backend.model.mae import StefaLandMAE

FORMAT = "stefaland-base-v1"


@dataclass
class BaseModel:
    """A loaded base model with its normalisation statistics and the file's checksum."""

    model: StefaLandMAE
    normalizer: Normalizer
    config: ModelConfig
    sha256: str
    path: Path | None = None


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_base_model(path: Path, model: StefaLandMAE, normalizer: Normalizer, extra: dict | None = None) -> str:
    """Write the model atomically; returns the file's SHA-256."""
    payload = {
        "format": FORMAT,
        "model_config": json.dumps(dataclasses.asdict(model.cfg)),
        "normalizer": json.dumps(normalizer.to_dict()),
        "extra": json.dumps(extra or {}),
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
    }
    save_tensor_payload(Path(path), payload)
    return file_sha256(Path(path))


def load_base_model(path: Path) -> BaseModel:
    """Load a base model; a corrupt file, another format or wrong shapes raise :class:`CheckpointError`."""
    path = Path(path)
    payload = load_tensor_payload(path, FORMAT, "checkpoint")
    try:
        cfg = ModelConfig(**json.loads(payload["model_config"]))
        normalizer = Normalizer(**json.loads(payload["normalizer"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid metadata ({exc})") from None
    try:
        model = StefaLandMAE(cfg, vocabulary_from(normalizer))
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise CheckpointError(f"{path}: invalid metadata ({type(exc).__name__}: {exc})") from None
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except (KeyError, TypeError, RuntimeError) as exc:
        first = str(exc).splitlines()[0:3]
        raise CheckpointError(f"{path}: weights do not fit the model ({' '.join(first)})") from None
    model.eval()
    return BaseModel(model, normalizer, cfg, file_sha256(path), path)


def read_extra(path: Path) -> dict:
    """The free-form metadata stored with a checkpoint (training info)."""
    payload = load_tensor_payload(Path(path), FORMAT, "checkpoint")
    return json.loads(payload.get("extra", "{}"))
