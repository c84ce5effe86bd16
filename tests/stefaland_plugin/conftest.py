"""Fixtures for the plugin tests (pytest-qgis starts a headless QGIS before this file runs).

QT_QPA_PLATFORM=offscreen must be set before pytest starts. QgsSettings are redirected to a temporary
folder so the tests never touch the user's QGIS profile.
"""

from __future__ import annotations

import pytest
from plugin_helpers import BASINS_GPKG, DATA, PROJECT_ROOT, VENV_PYTHON
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QSettings


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory, qgis_app):
    folder = tmp_path_factory.mktemp("qgis-settings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture
def out_dir(tmp_path):
    """Point the plugin's output folder at a temporary folder."""
    from stefaland_plugin import settings

    settings.put(settings.KEY_OUTPUT_DIR, str(tmp_path))
    yield tmp_path
    settings.put(settings.KEY_OUTPUT_DIR, "")


@pytest.fixture
def client():
    """A worker client on the real backend (its own process); stopped afterwards."""
    from stefaland_plugin.worker_client import WorkerClient

    if not VENV_PYTHON.exists():
        pytest.fail(f"{VENV_PYTHON} missing: run `make setup`", pytrace=False)
    worker = WorkerClient(VENV_PYTHON, PROJECT_ROOT)
    yield worker
    worker.stop()


@pytest.fixture
def shared_worker():
    """The plugin's shared worker client, shut down after the test."""
    from stefaland_plugin import worker_client

    yield worker_client.shared_client()
    worker_client.shutdown_shared()


@pytest.fixture
def real_data(real_root, real_file):
    """The data root with the CAMELS attributes and the demo basins; the test fails naming what is missing
    (``tests/conftest.py`` marks every test using this fixture ``real_data``)."""
    real_file(BASINS_GPKG.relative_to(DATA))
    return real_root


@pytest.fixture
def stefaland_provider(qgis_processing):
    """The StefaLand Processing provider registered for one test."""
    from stefaland_plugin.processing.provider import StefaLandProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("stefaland") is not None:
        yield registry.providerById("stefaland")
        return
    provider = StefaLandProvider()
    registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)
