"""Helpers shared by the plugin tests (a unique module name: other test folders have their own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, QEvent

from backend.core.paths import data_root

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA = data_root()  # the worker's data root too: ``$STEFALAND_DATA`` if set, else data/
VENV_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
BASINS_GPKG = DATA / "basins" / "camels_west_63_basins.gpkg"


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Process Qt events until ``predicate()`` is true; False on timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.02)
    QCoreApplication.processEvents()
    return predicate()


def flush_deletes() -> None:
    """Run pending deleteLater() calls."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()

