"""Typed YAML configuration: unknown keys and bad types are rejected by name; save/load round-trips."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from backend.core.config import from_dict, load_config, save_config, to_dict
from backend.core.errors import ConfigError


@dataclass
class Optim:
    lr: float = 1e-3
    epochs: int = 10
    schedule: Literal["cosine", "step"] = "cosine"


@dataclass
class Data:
    root: Path = Path("data")
    start: dt.date = dt.date(1999, 10, 1)
    variables: list[str] = field(default_factory=lambda: ["prcp", "tmax"])
    hidden: tuple[int, ...] = (64, 64)
    cache: Path | None = None


@dataclass
class Experiment:
    name: str
    seed: int = 0
    data: Data = field(default_factory=Data)
    optim: Optim = field(default_factory=Optim)
    weights: dict[str, float] = field(default_factory=dict)


def test_defaults_and_conversion():
    cfg = from_dict(Experiment, {"name": "a", "data": {"root": "/tmp/x", "start": "2001-02-03",
                                                         "hidden": [8, 16]},
                                 "optim": {"lr": 1}, "weights": {"q": 2}})
    assert cfg.name == "a" and cfg.seed == 0
    assert cfg.data.root == Path("/tmp/x") and isinstance(cfg.data.root, Path)
    assert cfg.data.start == dt.date(2001, 2, 3)
    assert cfg.data.hidden == (8, 16)
    assert cfg.data.variables == ["prcp", "tmax"]
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    assert cfg.weights == {"q": 2.0}
    assert cfg.data.cache is None
    assert from_dict(Data, {"cache": "c"}).cache == Path("c")


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="'epoch'"):
        from_dict(Experiment, {"name": "a", "epoch": 3})


def test_unknown_nested_key_has_dotted_path():
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, {"name": "a", "optim": {"learning_rate": 0.1}})
    message = str(info.value)
    assert "optim.learning_rate" in message
    assert "lr" in message  # the known keys are listed


@pytest.mark.parametrize(("data", "key"), [
    ({"name": "a", "seed": "7"}, "seed"),
    ({"name": "a", "seed": 1.5}, "seed"),
    ({"name": "a", "seed": True}, "seed"),
    ({"name": 3}, "name"),
    ({"name": "a", "optim": {"epochs": "ten"}}, "optim.epochs"),
    ({"name": "a", "optim": {"lr": "fast"}}, "optim.lr"),
    ({"name": "a", "optim": {"schedule": "linear"}}, "optim.schedule"),
    ({"name": "a", "data": {"start": "1999-13-01"}}, "data.start"),
    ({"name": "a", "data": {"root": 5}}, "data.root"),
    ({"name": "a", "data": {"variables": "prcp"}}, "data.variables"),
    ({"name": "a", "data": {"variables": ["prcp", 3]}}, "data.variables[1]"),
    ({"name": "a", "data": "here"}, "data"),
    ({"name": "a", "weights": {"q": "heavy"}}, "weights.q"),
])
def test_type_errors_name_the_key(data, key):
    with pytest.raises(ConfigError) as info:
        from_dict(Experiment, data)
    assert key in str(info.value)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="name"):
        from_dict(Experiment, {"seed": 1})


def test_save_then_load_round_trips(tmp_path):
    cfg = Experiment(name="run", seed=3,
                     data=Data(root=tmp_path / "d", start=dt.date(1989, 10, 1), variables=["prcp"],
                               hidden=(1, 2, 3), cache=tmp_path / "c"),
                     optim=Optim(lr=0.5, epochs=2, schedule="step"), weights={"q": 1.5})
    path = save_config(cfg, tmp_path / "out" / "config.yaml")
    assert path.is_file()
    plain = yaml.safe_load(path.read_text())
    assert plain["data"]["start"] == "1989-10-01" and plain["data"]["root"] == str(tmp_path / "d")
    assert load_config(Experiment, path) == cfg
    assert to_dict(load_config(Experiment, path)) == to_dict(cfg)


def test_load_config_overrides_and_errors_name_the_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: base\nseed: 1\ndata:\n  start: 2000-01-01\n", encoding="utf-8")
    cfg = load_config(Experiment, path, overrides={"seed": 9})
    assert cfg.seed == 9 and cfg.data.start == dt.date(2000, 1, 1)

    path.write_text("name: base\noptim:\n  lr: 0.1\n  momentum: 0.9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(Experiment, path)
    assert "exp.yaml" in str(info.value) and "optim.momentum" in str(info.value)

    with pytest.raises(ConfigError, match="not found"):
        load_config(Experiment, tmp_path / "absent.yaml")

    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_config(Experiment, path)

    path.write_text("- name\n- seed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="exp.yaml"):
        load_config(Experiment, path)


def test_empty_file_uses_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_config(Data, path) == Data()
