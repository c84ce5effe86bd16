"""The plugin loads and unloads cleanly, quickly, and without starting the worker."""

from __future__ import annotations

import configparser
import subprocess
import sys

from plugin_helpers import PROJECT_ROOT, flush_deletes
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QAction, QDockWidget

EXPECTED_ALGORITHMS = {
    "stefaland:load_camels_demo", "stefaland:predict_streamflow", "stefaland:finetune_on_gauges",
    "stefaland:landslide_susceptibility", "stefaland:soil_composition", "stefaland:soil_moisture",
    "stefaland:fill_missing_attributes", "stefaland:predict_polygon_streamflow",
}


def _ours(window, kind, prefix="StefaLand"):
    return [w for w in window.findChildren(kind) if w.objectName().startswith(prefix)]


def test_load_and_unload_leave_nothing_behind(qgis_iface, qgis_processing):
    import stefaland_plugin
    from stefaland_plugin import worker_client

    registry = QgsApplication.processingRegistry()
    window = qgis_iface.mainWindow()
    plugin = stefaland_plugin.classFactory(qgis_iface)
    plugin.initGui()
    provider = registry.providerById("stefaland")
    assert provider is not None
    assert {a.id() for a in provider.algorithms()} == EXPECTED_ALGORITHMS
    assert len(_ours(window, QAction)) == 1
    assert len(_ours(window, QDockWidget)) == 1
    assert worker_client._shared is None, "loading the plugin must not start the worker"

    plugin.dock.pick_button.setChecked(True)
    assert qgis_iface.mapCanvas().mapTool() is plugin.dock.map_tool

    plugin.unload()
    flush_deletes()
    assert registry.providerById("stefaland") is None
    assert _ours(window, QAction) == []
    assert _ours(window, QDockWidget) == []
    assert qgis_iface.mapCanvas().mapTool() is None
    assert plugin.actions == [] and plugin.dock is None


def test_import_is_light_and_never_imports_torch():
    """Importing the plugin's modules pulls in no torch and no backend module.

    (The real measurement lives in scripts/benchmark_plugin.py.)
    """
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import stefaland_plugin.plugin, stefaland_plugin.dock, stefaland_plugin.processing.provider\n"
        "dt = time.perf_counter() - t\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('backend')]\n"
        "print(dt, bad)\n"
    )
    warmup = "import qgis.core, qgis.gui\n"  # QGIS's own import cost is not ours
    out = subprocess.run([sys.executable, "-c", warmup + code], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         timeout=60, check=True).stdout.split(" ", 1)
    bad = out[1].strip()
    assert bad == "[]"  # the import time itself is measured by scripts/benchmark_plugin.py, not asserted here


def test_metadata_copy_matches_the_source_and_has_required_fields():
    source = (PROJECT_ROOT / "metadata.txt").read_text(encoding="utf-8")
    assert (PROJECT_ROOT / "stefaland_plugin" / "metadata.txt").read_text(encoding="utf-8") == source
    parser = configparser.ConfigParser()
    parser.read_string(source)
    general = parser["general"]
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                "repository", "tracker", "category", "hasProcessingProvider", "icon"):
        assert general.get(key), key
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["version"] == "0.1.0"
    assert general["hasProcessingProvider"] == "yes"
    assert general["category"] == "Analysis"
    assert (PROJECT_ROOT / "stefaland_plugin" / general["icon"]).is_file()
    icon = (PROJECT_ROOT / "resources" / "icons" / "stefaland.svg").read_bytes()
    assert (PROJECT_ROOT / "stefaland_plugin" / "icon.svg").read_bytes() == icon


def test_styles_load_in_qgis():
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    from stefaland_plugin import layers

    vector = QgsVectorLayer("Point?crs=EPSG:4326&field=has_streamflow:integer&field=clay_pct:double", "v", "memory")
    polygons = QgsVectorLayer("Polygon?crs=EPSG:4326&field=clay_pct:double", "p", "memory")
    assert layers.apply_style(vector, layers.STYLE_GAUGES)
    assert vector.renderer().type() == "RuleRenderer"
    assert layers.apply_style(polygons, layers.STYLE_BASINS)
    assert layers.apply_style(vector, layers.STYLE_SOIL)
    assert vector.renderer().type() == "graduatedSymbol"
    assert layers.apply_style(polygons, "soil_composition_polygon")
    tif = PROJECT_ROOT / "data" / "landslides" / "ecuador_lsl" / "ta.tif"
    if tif.is_file():
        raster = QgsRasterLayer(str(tif), "r", "gdal")
        assert layers.apply_style(raster, layers.STYLE_SUSCEPTIBILITY)
        assert raster.renderer().type() == "singlebandpseudocolor"
        assert layers.apply_style(raster, layers.STYLE_SUSCEPTIBILITY_CLASSES)
        assert raster.renderer().type() == "paletted"
        assert raster.renderer().band() == 2
