"""Helpers shared by the plugin tests (a unique module name: other test folders have their own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, QEvent

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA = PROJECT_ROOT / "data"
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


def backend_not_ready(message: str) -> bool:
    """The backend refuses because it cannot do this yet: method missing, or its model not trained yet."""
    from stefaland_plugin.worker_client import backend_not_ready as not_ready

    return not_ready(message, PROJECT_ROOT / "resources" / "models")
