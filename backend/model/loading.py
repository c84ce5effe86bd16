"""Loading base models: the bundled one, ``$STEFALAND_BASE_MODEL`` or a path, each loaded once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from backend.core.paths import MODELS_DIR
from backend.model.checkpoint import BaseModel, load_base_model

BUNDLED_BASE = MODELS_DIR / "stefaland_base.pt"


@lru_cache(maxsize=2)
def _cached_base(path: str) -> BaseModel:
    return load_base_model(Path(path))


def get_base_model(path: Path | None = None) -> BaseModel:
    """The base model at ``path``, else ``$STEFALAND_BASE_MODEL``, else the bundled one; loaded once per process."""
    chosen = path or os.environ.get("STEFALAND_BASE_MODEL") or BUNDLED_BASE
    return _cached_base(str(Path(chosen).resolve()))
