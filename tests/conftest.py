"""Shared fixtures and the test-suite policy: real data is required, never silently skipped.

- Tests that use a real-data fixture (``real_root``, ``attributes``, ``catalogue``, ``real_file``, or the plugin
  tests' ``real_data``) are marked ``real_data`` automatically: ``-m "not real_data and not desktop"`` deselects
  every test that needs ``make data``.
- A selected real-data test whose data is missing FAILS, naming the missing path.
- ``--fail-on-skip`` turns every skipped test (or skipped module) into a failure, so CI can prove nothing skips.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from backend.core.paths import data_root

#: Files the real-data tests read, relative to the data root.
CAMELS_ATTRIBUTES = Path("camels_us/camels_attributes_v2.0")
DAYMET_01022500 = Path("camels_us/basin_mean_forcing/daymet/01/01022500_lump_cida_forcing_leap.txt")
USGS_01022500 = Path("camels_us/usgs_streamflow/01/01022500_streamflow_qc.txt")
CARAVAN_01022500 = Path("caravan/timeseries/csv/camels/camels_01022500.csv")

#: A test that uses one of these fixtures (directly or through another fixture) is marked ``real_data``.
REAL_DATA_FIXTURES = frozenset({"real_root", "attributes", "catalogue", "real_file", "real_data"})


def missing_data_message(path: Path) -> str:
    """The one message of a real-data test whose data is missing."""
    return (f"real data missing: {path} does not exist; run `make data` or set STEFALAND_DATA to the data folder "
            '(or deselect the real-data tests with -m "not real_data")')


def require_real(*relative: Path) -> Path:
    """The data root; fails the test naming the first missing file/folder (relative to the data root)."""
    root = data_root()
    for rel in relative:
        if not (root / rel).exists():
            pytest.fail(missing_data_message(root / rel), pytrace=False)
    return root


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fail-on-skip``: a skipped test is a failure (CI: proves that nothing skips)."""
    parser.addoption("--fail-on-skip", action="store_true", default=False,
                     help="report every skipped test (and skipped module) as a failure")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a real-data fixture ``real_data``."""
    for item in items:
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_skipped(report: pytest.TestReport | pytest.CollectReport) -> None:
    report.longrepr = f"--fail-on-skip: {report.nodeid} was skipped ({_skip_reason(report)})"
    report.outcome = "failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, None, None]:
    """With ``--fail-on-skip``, a skipped test (in setup or in the test itself) is reported as failed."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and item.config.getoption("fail_on_skip"):
        _fail_skipped(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, None, None]:
    """With ``--fail-on-skip``, a module that skips itself while being collected is an error."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and collector.config.getoption("fail_on_skip"):
        _fail_skipped(report)


@pytest.fixture(scope="session")
def real_root() -> Path:
    """The data root with the CAMELS attributes present (fails otherwise)."""
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
    """``real_file(relative_path)``: the absolute path of a real data file, failing if it is absent."""

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
