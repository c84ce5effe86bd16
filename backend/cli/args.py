"""Small pieces shared by the command-line modules: counts, NAME=VALUE attributes, a silent progress callback."""

from __future__ import annotations

import argparse


def quiet(fraction: float, message: str) -> None:
    """Progress callback of the services: the steps' own bars already show on stderr."""
    del fraction, message


def attribute_values(items: list[str] | None, flag: str) -> dict[str, float | str]:
    """Parse ``NAME=VALUE`` items into ``{name: number or text}``.

    ``["elev_mean=850", "dom_land_cover=Mixed Forests"]`` gives ``{"elev_mean": 850.0, "dom_land_cover": "Mixed
    Forests"}``; ``flag`` names the option in the error raised for an item without a name or ``=``.
    """
    out: dict[str, float | str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE, e.g. elev_mean=850")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            out[name.strip()] = value.strip()
    return out


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (threads, steps, tiles, basins, windows)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value
