"""Shared fixtures: the real data root (skipping clearly when absent) and the parsed CAMELS tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.paths import data_root

#: Files the real-data tests read, relative to the data root.
CAMELS_ATTRIBUTES = Path("camels_us/camels_attributes_v2.0")
DAYMET_01022500 = Path("camels_us/basin_mean_forcing/daymet/01/01022500_lump_cida_forcing_leap.txt")
USGS_01022500 = Path("camels_us/usgs_streamflow/01/01022500_streamflow_qc.txt")
CARAVAN_01022500 = Path("caravan/timeseries/csv/camels/camels_01022500.csv")


def require_real(*relative: Path) -> Path:
    """The data root, or skip the test naming the first missing file/folder."""
    root = data_root()
    for rel in relative:
        if not (root / rel).exists():
            pytest.skip(f"real data not available: {root / rel} is missing "
                        "(run `make data` or set STEFALAND_DATA)")
    return root


@pytest.fixture(scope="session")
def real_root() -> Path:
    """The data root with the CAMELS attributes present (skips otherwise)."""
    return require_real(CAMELS_ATTRIBUTES / "camels_topo.txt", CAMELS_ATTRIBUTES / "camels_hydro.txt")


@pytest.fixture(scope="session")
def attributes(real_root: Path):
    """The CAMELS attribute table, parsed once per session."""
    from backend.data.camels import load_attributes

    return load_attributes(real_root)


@pytest.fixture(scope="session")
def catalogue(real_root: Path):
    """The basin catalogue of the real data root (file indexes are cached on the object)."""
    from backend.data.catalogue import BasinCatalogue

    require_real(Path("camels_us/basin_mean_forcing/daymet"))
    return BasinCatalogue.open(real_root)


@pytest.fixture(scope="session")
def real_file():
    """``real_file(relative_path)``: the absolute path of a real data file, skipping if it is absent."""

    def get(relative: str | Path) -> Path:
        return require_real(Path(relative)) / relative

    return get


@pytest.fixture
def make_file(tmp_path: Path):
    """``make_file(name, text)``: write a small file under ``tmp_path`` and return its path."""

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return make
