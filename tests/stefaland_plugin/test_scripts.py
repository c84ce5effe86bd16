"""make run (headless), make package, and the desktop QGIS under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from plugin_helpers import PROJECT_ROOT, VENV_PYTHON
from qgis.core import QgsVectorLayer


def test_package_zip(tmp_path):
    out = tmp_path / "stefaland_plugin.zip"
    subprocess.run([sys.executable, "scripts/package_plugin.py", "--out", str(out)], cwd=PROJECT_ROOT, check=True,
                   capture_output=True, timeout=60)
    names = zipfile.ZipFile(out).namelist()
    assert out.stat().st_size < 25 * 1024 * 1024
    assert all(n.startswith("stefaland_plugin/") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n]
    for needed in ("__init__.py", "metadata.txt", "icon.svg", "LICENSE", "styles/gauges.qml",
                   "styles/susceptibility_classes.qml", "processing/provider.py"):
        assert f"stefaland_plugin/{needed}" in names, needed
    assert not [n for n in names if n.endswith((".pt", ".gpkg", ".tif", ".csv", ".geojson"))]


def test_headless_run_writes_the_demo_and_a_map(real_data, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    run = subprocess.run([str(VENV_PYTHON), "scripts/run_qgis.py", "--headless", "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "OK       Load CAMELS demo" in run.stdout
    assert "FAILED" not in run.stdout
    assert (tmp_path / "demo" / "camels_gauges.geojson").is_file()
    png = tmp_path / "demo_map.png"
    assert png.is_file() and png.stat().st_size > 20_000
    # the demo, streamflow, landslides, soil composition, soil moisture, missing attributes
    assert "\n6 of 6 steps OK\n" in run.stdout, run.stdout[-3000:]
    for name in ("streamflow_predictions.csv", "streamflow_scores.gpkg", "landslide_susceptibility.tif",
                 "soil_composition.gpkg", "soil_moisture.csv", "attributes_filled.gpkg", "landslide_map.png",
                 "soil_composition_map.png"):
        assert (tmp_path / name).is_file() and (tmp_path / name).stat().st_size > 1000, name
    assert list(tmp_path.glob("hydrograph_*.png")), "no hydrograph PNG"
    scores = QgsVectorLayer(str(tmp_path / "streamflow_scores.gpkg"), "scores", "ogr")
    assert scores.featureCount() == 3 and all(f["sf_nse"] is not None and f["sf_mean_flow"] > 0
                                              for f in scores.getFeatures())


def test_headless_run_without_data_fails_naming_the_missing_folder(tmp_path):
    """No data: the demo's first step FAILS, naming the missing folder, and the run exits non-zero."""
    missing = "/nonexistent"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STEFALAND_DATA=missing)
    env.pop("DISPLAY", None)
    run = subprocess.run([str(VENV_PYTHON), "scripts/run_qgis.py", "--headless", "--out", str(tmp_path / "out")],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode != 0, output
    failed = [line for line in run.stdout.splitlines() if line.strip().startswith("FAILED")]
    assert failed and all(f"{missing}/camels_us" in line for line in failed), output
    assert "Load CAMELS demo" in "\n".join(failed), output
    assert not (tmp_path / "out" / "demo_map.png").exists()


def _startup_status(stdout: str) -> dict:
    """The JSON status ``run_qgis.py --screenshot`` prints after "QGIS startup: <status>"."""
    line = next((line for line in stdout.splitlines() if line.startswith("QGIS startup:")), "")
    return json.loads(line.split(" ", 3)[3]) if line.count(" ") >= 3 else {"status": "missing"}


@pytest.mark.desktop
def test_desktop_qgis_click_a_basin(tmp_path):
    """Workflow 1 in the real QGIS under Xvfb: plugin enabled, "Load CAMELS demo", a demo basin clicked with
    the map tool (twice: cold, then warm); the hydrograph with observed flow and scores is on the screenshot."""
    missing = [tool for tool in ("xvfb-run", "qgis", "import") if shutil.which(tool) is None]
    assert not missing, f"not installed: {', '.join(missing)} (run `make setup`)"
    shot = tmp_path / "workflow1.png"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(VENV_PYTHON), "scripts/run_qgis.py",
                          "--desktop", "--scenario", "basin", "--screenshot", str(shot), "--timeout", "150"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    status = _startup_status(run.stdout)
    assert run.returncode == 0 and status["status"] == "ok", run.stdout[-3000:] + run.stderr[-3000:]
    assert status["gauge"] == "12451000" and status["n_days"] == 1096 and status["has_observations"]
    assert status["nse"] is not None and status["kge"] is not None
    from qgis.PyQt.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 1000)
    colours = {image.pixel(x, y) for x in range(0, 1600, 40) for y in range(0, 1000, 40)}
    assert len(colours) > 10, "the screenshot is blank"
    plot = {image.pixel(x, y) for x in range(1080, 1590, 3) for y in range(230, 700, 3)}  # the hydrograph
    assert len(plot) > 8, "no hydrograph drawn in the panel"
