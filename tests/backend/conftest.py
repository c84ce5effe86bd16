"""Fixtures of the backend tests: a tiny generated CAMELS-US + Caravan data root (no ``make data`` needed).

Tests that exercise code paths (command answers, files written, error messages, shapes) run on
:mod:`fixtures.mini_camels`; tests of agreement with the real data use the real-data fixtures of
``tests/conftest.py`` and are marked ``real_data``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mini_camels import write_mini_camels

from backend.data.catalogue import BasinCatalogue


@pytest.fixture(scope="session")
def mini_data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated data root (written once per session); the environment is left alone (see ``mini_data``)."""
    return write_mini_camels(tmp_path_factory.mktemp("mini_data"))


@pytest.fixture
def mini_data(mini_data_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The generated data root, made the data root of this test (``STEFALAND_DATA``)."""
    monkeypatch.setenv("STEFALAND_DATA", str(mini_data_root))
    return mini_data_root


@pytest.fixture(scope="session")
def mini_catalogue(mini_data_root: Path) -> BasinCatalogue:
    """The basin catalogue of the generated data root."""
    return BasinCatalogue.open(mini_data_root)
