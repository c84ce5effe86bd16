"""Process-wide runtime settings."""

from __future__ import annotations

import os

import torch


def set_threads(default: int = 2) -> int:
    """Set torch's CPU threads: ``$STEFALAND_THREADS`` if set, else ``default``; returns the number used.

    Two jobs sharing two cores run much faster with one thread each than with two each (threads that
    wait for each other on an oversubscribed core stall every parallel region).
    """
    threads = int(os.environ.get("STEFALAND_THREADS", default))
    torch.set_num_threads(max(1, threads))
    return threads
