"""Atomic file writing: a new file appears whole or not at all, and never replaces a protected file."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from backend.core.paths import MODELS_DIR


def ensure_not_bundled(path: Path) -> None:
    """Refuse to write into the bundled model folder (``resources/models``) outside packaging."""
    if os.environ.get("STEFALAND_ALLOW_BUNDLE_WRITE") == "1":
        return
    resolved = Path(path).resolve()
    if MODELS_DIR.resolve() in resolved.parents:
        raise PermissionError(f"{path}: refusing to overwrite the bundled model folder {MODELS_DIR}")


@contextlib.contextmanager
def atomic_path(path: Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path`` atomically.

    With ``overwrite=False`` an existing ``path`` raises FileExistsError before anything is written.
    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    ensure_not_bundled(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path}: exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    # not tempfile.mkstemp: its 0600 mode would end up on the final file; os.open honours the umask
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.partial"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Path, text: str, overwrite: bool = True) -> Path:
    """Write text to ``path`` atomically."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def save_npy_atomic(path: Path, values: np.ndarray) -> Path:
    """Write ``values`` as .npy at exactly ``path`` (np.save on a name would append '.npy'), atomically."""
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.save(handle, values, allow_pickle=False)
    return Path(path)


def write_atomic(path: Path, writer: Callable[[Path], None], overwrite: bool = True) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)
