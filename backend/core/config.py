"""Typed YAML configuration: dataclasses, unknown keys rejected by name, resolved copy saved per run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from backend.core.atomic_io import write_text_atomic
from backend.core.errors import ConfigError

C = TypeVar("C")


def from_dict(cls: type[C], data: dict[str, Any], where: str = "") -> C:
    """Build dataclass ``cls`` from a dict, checking every key and type.

    Unknown keys raise :class:`ConfigError` naming the key (with its dotted path); values are
    converted to the declared types (``Path``, ``datetime.date``, nested dataclasses, lists, tuples).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [k for k in data if k not in fields]
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"unknown config key {where + unknown[0]!r} (known keys: {known})")
    values = {k: _convert(hints[k], v, f"{where}{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _convert(kind: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if dataclasses.is_dataclass(kind):
        return from_dict(kind, value, f"{key}.")
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_convert(inner, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a mapping, got {value!r}")
        return {str(k): _convert(args[1], v, f"{key}.{k}") if args else v for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"config key {key!r}: {value!r} is not one of {list(args)}")
        return value
    if kind is Any:
        return value
    if kind is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"config key {key!r}: expected a path, got {value!r}")
        return Path(value)
    if kind is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"config key {key!r}: not a date (YYYY-MM-DD): {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"config key {key!r}: expected {kind.__name__}, got {value!r}")
        return value
    raise ConfigError(f"config key {key!r}: unsupported type {kind}")


def to_dict(config: Any) -> dict[str, Any]:
    """A plain dict (paths and dates as strings) of a config dataclass, for YAML output."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Path | dt.date):
            return str(value)
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)


def load_config(cls: type[C], path: Path, overrides: dict[str, Any] | None = None) -> C:
    """Read a YAML file into ``cls``; ``overrides`` (top-level keys) replace file values."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    data.update(overrides or {})
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def save_config(config: Any, path: Path) -> Path:
    """Write the resolved config as YAML next to a run's outputs (atomically)."""
    return write_text_atomic(path, yaml.safe_dump(to_dict(config), sort_keys=False))
