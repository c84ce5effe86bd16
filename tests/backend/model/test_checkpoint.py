"""Base-model checkpoint files: bit-identical round trip, damaged or foreign files refused, atomic writes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mae_fixtures import (
    NORM,
    TINY,
    make_model,
    random_batch,
    visibility,
)

from backend.core.errors import CheckpointError
from backend.model import checkpoint as checkpoint_module
from backend.model.checkpoint import FORMAT, file_sha256, load_base_model, save_base_model
from backend.model.config import MaskingConfig
from backend.model.mae import StefaLandMAE


# --- checkpoint -----------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, StefaLandMAE, str]:
    model = make_model(seed=3)
    path = tmp_path / "base.pt"
    sha = save_base_model(path, model, NORM, {"steps": 7})
    return path, model, sha


def test_checkpoint_round_trip_is_bit_identical(saved, tmp_path):
    path, model, sha = saved
    base = load_base_model(path)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == base.sha256 == file_sha256(path)
    assert base.config == TINY and base.normalizer == NORM and base.path == path
    assert not base.model.training
    batch = random_batch(3, 4, 9)
    vis = visibility(batch, MaskingConfig(), 9)
    with torch.no_grad():
        a, b = model(batch, vis), base.model(batch, vis)
    assert torch.equal(a.forcings, b.forcings) and torch.equal(a.statics, b.statics)
    assert all(torch.equal(x, y) for x, y in zip(a.category_logits, b.category_logits, strict=True))
    # the same weights give the same bytes, hence the same checksum; other weights another one
    assert save_base_model(tmp_path / "again.pt", base.model, base.normalizer, {"steps": 7}) == sha
    assert save_base_model(tmp_path / "other.pt", make_model(seed=4), NORM, {"steps": 7}) != sha
    assert checkpoint_module.read_extra(path) == {"steps": 7}


def test_random_bytes_raise_checkpoint_error(tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="random.pt"):
        load_base_model(path)


def test_truncated_file_raises_checkpoint_error(saved):
    path = saved[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=str(path.name)) as info:
        load_base_model(path)
    assert "not a readable checkpoint" in str(info.value)


def test_missing_file_raises_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.pt.*not found"):
        load_base_model(tmp_path / "nothing.pt")


def _payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_metadata_that_does_not_fit_the_weights_raises(saved):
    path = saved[0]
    payload = _payload(path)
    payload["model_config"] = json.dumps(dataclasses.asdict(dataclasses.replace(TINY, d_model=32)))
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt.*weights do not fit"):
        load_base_model(path)


def test_state_dict_with_a_removed_key_raises(saved):
    path = saved[0]
    payload = _payload(path)
    del payload["state_dict"]["forcing_head.weight"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt.*weights do not fit.*forcing_head.weight"):
        load_base_model(path)


@pytest.mark.parametrize("damage", ["no_state_dict", "state_dict_not_a_dict", "bad_model_config",
                                    "unknown_attribute", "no_normalizer"])
def test_damaged_payload_raises_checkpoint_error(saved, damage):
    path = saved[0]
    payload = _payload(path)
    if damage == "no_state_dict":
        del payload["state_dict"]
    elif damage == "state_dict_not_a_dict":
        payload["state_dict"] = "weights"
    elif damage == "bad_model_config":
        payload["model_config"] = json.dumps(dict(dataclasses.asdict(TINY), heads=3))  # 16 not divisible by 3
    elif damage == "unknown_attribute":
        normalizer = json.loads(payload["normalizer"])
        normalizer["static_names"][0] = "no_such_attribute"
        payload["normalizer"] = json.dumps(normalizer)
    else:
        del payload["normalizer"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt"):
        load_base_model(path)


@pytest.mark.parametrize("content", ["other_format", "plain_dict", "text"])
def test_file_of_another_format_raises(tmp_path, content):
    path = tmp_path / "other.pt"
    if content == "other_format":
        torch.save({"format": "something-else-v3", "state_dict": {}}, path)
    elif content == "plain_dict":
        torch.save(make_model().state_dict(), path)  # a bare state dict, no metadata
    else:
        path.write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="other.pt"):
        load_base_model(path)


def test_checkpoint_is_written_atomically(saved, monkeypatch):
    path, model, sha = saved
    before = path.read_bytes()

    def failing_save(obj, target, *args, **kwargs):
        if isinstance(target, str | Path):
            Path(target).write_bytes(b"half a checkpoint")
        else:
            target.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_base_model(path, make_model(seed=5), NORM)
    with pytest.raises(OSError, match="disk full"):
        save_base_model(path.parent / "new.pt", model, NORM)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["base.pt"]  # no partial or new file left
    monkeypatch.undo()
    assert load_base_model(path).sha256 == sha
