"""Atomic writes: a file appears whole or not at all, and the bundled model folder is protected."""

from __future__ import annotations

import pytest

from backend.core.atomic_io import atomic_path, ensure_not_bundled, write_atomic, write_text_atomic
from backend.core.paths import MODELS_DIR


@pytest.fixture(autouse=True)
def _no_bundle_override(monkeypatch):
    monkeypatch.delenv("STEFALAND_ALLOW_BUNDLE_WRITE", raising=False)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_write_text_atomic_creates_and_replaces(tmp_path):
    path = tmp_path / "sub" / "dir" / "out.txt"
    assert write_text_atomic(path, "first") == path
    assert path.read_text() == "first"
    write_text_atomic(path, "second")
    assert path.read_text() == "second"
    assert _leftovers(path.parent) == []


def test_failed_writer_leaves_old_file_intact(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old contents")
    seen = []

    def writer(tmp):
        seen.append(tmp)
        assert tmp != path and tmp.parent == path.parent  # same folder: the rename is atomic
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(path, writer)
    assert path.read_bytes() == b"old contents"
    assert not seen[0].exists()
    assert _leftovers(tmp_path) == []


def test_failed_writer_creates_nothing(tmp_path):
    path = tmp_path / "new.txt"
    with pytest.raises(ValueError), atomic_path(path) as tmp:
        tmp.write_text("partial")
        raise ValueError("boom")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_success(tmp_path):
    path = tmp_path / "data.bin"
    write_atomic(path, lambda tmp: tmp.write_bytes(b"\x00\x01"))
    assert path.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_overwrite_false_refuses_existing_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("precious")
    called = []
    with pytest.raises(FileExistsError, match="keep.txt"):
        write_atomic(path, called.append, overwrite=False)
    assert called == []  # refused before anything was written
    with pytest.raises(FileExistsError):
        write_text_atomic(path, "replacement", overwrite=False)
    assert path.read_text() == "precious"
    assert _leftovers(tmp_path) == []
    # a new file is fine
    write_text_atomic(tmp_path / "fresh.txt", "ok", overwrite=False)
    assert (tmp_path / "fresh.txt").read_text() == "ok"


@pytest.mark.parametrize("relative", ["model.pt", "sub/adapter.pt", "../models/x/y.json"])
def test_bundled_model_folder_is_protected(relative):
    target = MODELS_DIR / relative
    existed = target.exists()
    with pytest.raises(PermissionError, match="bundled model folder"):
        write_text_atomic(target, "overwritten")
    with pytest.raises(PermissionError):
        ensure_not_bundled(target)
    assert target.exists() == existed
    if MODELS_DIR.is_dir():
        assert not any(p.name.endswith(".partial") for p in MODELS_DIR.rglob("*"))


def test_bundle_write_allowed_only_when_packaging(monkeypatch):
    monkeypatch.setenv("STEFALAND_ALLOW_BUNDLE_WRITE", "1")
    ensure_not_bundled(MODELS_DIR / "model.pt")  # no error
    monkeypatch.setenv("STEFALAND_ALLOW_BUNDLE_WRITE", "yes")
    with pytest.raises(PermissionError):
        ensure_not_bundled(MODELS_DIR / "model.pt")


def test_paths_outside_the_bundle_are_allowed(tmp_path):
    ensure_not_bundled(tmp_path / "models" / "model.pt")
    ensure_not_bundled(MODELS_DIR.parent / "configs" / "x.yaml")


def test_written_file_gets_normal_permissions(tmp_path):
    # the final file must not inherit a private temp-file mode (0600): same mode as a plain write
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = write_text_atomic(tmp_path / "atomic.txt", "x")
    assert atomic.stat().st_mode == plain.stat().st_mode
    write_atomic(tmp_path / "atomic.bin", lambda tmp: tmp.write_bytes(b"x"))
    assert (tmp_path / "atomic.bin").stat().st_mode == plain.stat().st_mode
