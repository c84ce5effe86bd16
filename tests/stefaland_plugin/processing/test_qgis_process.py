"""The Processing provider from the shell: ``qgis_process run stefaland:landslide_susceptibility``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from osgeo import gdal
from plugin_helpers import PROJECT_ROOT

QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")  # Debian's wrapper adds an option the 3.22 runner rejects
RASTER = Path("landslides/ecuador_lsl/ta.tif")  # in the data root
BASE_MODEL = PROJECT_ROOT / "resources" / "models" / "stefaland_base.pt"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, HOME=str(home), QGIS_PLUGINPATH=str(PROJECT_ROOT), QT_QPA_PLATFORM="offscreen")
    # pytest-qgis points these at the repository's .qgis-settings; qgis_process must get a profile of its own
    env["QGIS_CUSTOM_CONFIG_PATH"] = env["QGIS_OPTIONS_PATH"] = str(home / "qgis-profile")
    env["XDG_RUNTIME_DIR"] = str(home / "xdg")
    (home / "xdg").mkdir(mode=0o700, exist_ok=True)
    return env


def test_hazard_map_runs_from_qgis_process(tmp_path, real_file):
    assert QGIS_PROCESS.exists(), f"{QGIS_PROCESS} not installed: run `make setup`"
    assert BASE_MODEL.exists(), f"the bundled model {BASE_MODEL} is missing"
    raster = real_file(RASTER)
    env = _env(tmp_path)  # a throwaway HOME: enabling the plugin must not touch the user's profile
    enable = subprocess.run([str(QGIS_PROCESS), "plugins", "enable", "stefaland_plugin"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert enable.returncode == 0, enable.stdout + enable.stderr
    listed = subprocess.run([str(QGIS_PROCESS), "list"], env=env, capture_output=True, text=True, timeout=120)
    assert "stefaland:landslide_susceptibility" in listed.stdout
    out = tmp_path / "susceptibility.tif"
    run = subprocess.run([str(QGIS_PROCESS), "run", "stefaland:landslide_susceptibility", "--",
                          f"INPUT={raster}", f"OUTPUT={out}"], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "very high" in run.stdout
    source, result = gdal.Open(str(raster)), gdal.Open(str(out))
    assert (result.RasterXSize, result.RasterYSize, result.RasterCount) == (source.RasterXSize,
                                                                           source.RasterYSize, 2)
    assert result.GetGeoTransform() == pytest.approx(source.GetGeoTransform())
    assert "UTM zone 17S" in result.GetProjection()
