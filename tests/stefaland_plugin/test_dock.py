"""The panel: model switching, fine-tune file checks, demo loading, diagnostics."""

from __future__ import annotations

from plugin_helpers import wait_for
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject
from qgis.PyQt.QtWidgets import QApplication

from stefaland_plugin import settings


def test_new_adapter_becomes_active_and_can_be_switched_back(qgis_iface, tmp_path, out_dir):
    from stefaland_plugin.dock import StefaLandDock

    adapter = tmp_path / "adapter.pt"
    adapter.write_bytes(b"weights")
    dock = StefaLandDock(qgis_iface)
    dock.set_active_adapter(str(adapter))
    assert dock.model_combo.currentIndex() == 1
    assert settings.active_adapter() == str(adapter)
    assert dock.request_settings()["adapter"] == str(adapter)
    dock.model_combo.setCurrentIndex(0)  # back to the bundled model
    assert settings.active_adapter() == ""
    assert dock.request_settings()["adapter"] == ""
    assert dock.model_combo.count() == 2  # the adapter stays on offer
    settings.put(settings.KEY_LATEST_ADAPTER, "")


def test_finetune_dialog_lists_every_problem_and_blocks_start(qgis_iface, tmp_path, out_dir, shared_worker):
    from stefaland_plugin.dock import StefaLandDock
    from stefaland_plugin.finetune_dialog import FinetuneDialog

    dock = StefaLandDock(qgis_iface)
    dialog = FinetuneDialog(dock)
    dialog.check()  # nothing chosen yet
    assert dialog.problems.count() == 3 and not dialog.start_button.isEnabled()
    (tmp_path / "gauges.csv").write_text("gauge_id,lat\nabc,91\n")
    (tmp_path / "flow.csv").write_text("gauge_id,date,streamflow\n")
    (tmp_path / "forcings").mkdir()
    dialog.gauges_csv.setFilePath(str(tmp_path / "gauges.csv"))
    dialog.streamflow_csv.setFilePath(str(tmp_path / "flow.csv"))
    dialog.forcings_dir.setFilePath(str(tmp_path / "forcings"))
    dialog.check()
    assert wait_for(lambda: dialog.check_button.isEnabled(), 120)
    assert dialog.problems.count() >= 1  # the backend's problems
    assert not dialog.start_button.isEnabled()
    problems = [dialog.problems.item(i).text() for i in range(dialog.problems.count())]
    text = "\n".join(problems)
    # located problems: the file, and the gauge's row or the column it lacks (the header has "lat", not "latitude")
    assert ("gauges.csv" in text) and ("abc" in text or "latitude" in text), text
    assert dialog.problems.count() >= 3, text  # every problem, not only the first
    dialog.close()


def test_finetune_dialog_example_checks_clean_and_trains(qgis_iface, real_data, out_dir, shared_worker):
    """The example dataset of docs/user_format.md passes the check; a short fine-tune activates the adapter."""
    from stefaland_plugin.dock import StefaLandDock
    from stefaland_plugin.finetune_dialog import FinetuneDialog

    dock = StefaLandDock(qgis_iface)
    dialog = FinetuneDialog(dock)
    task = dialog.use_example()
    assert wait_for(lambda: dialog.example_button.isEnabled(), 180), dialog.status.text()
    assert task.ok, task.error
    assert dialog.gauges_csv.filePath() == str(out_dir / "example_gauges" / "gauges.csv")
    task = dialog.check()
    assert wait_for(lambda: dialog.check_button.isEnabled(), 120)
    assert task.ok and dialog.start_button.isEnabled(), dialog.status.text()
    assert dialog.list_label.text() == "Problems found: none"
    dialog.training_overrides = {"steps": 2}  # a smoke run: the encoder still encodes every gauge once
    task = dialog.start()
    assert task.params["steps"] == 2
    assert wait_for(lambda: dialog.check_button.isEnabled(), 600), dialog.status.text()
    assert task.ok, task.error
    adapter = task.result["adapter"]
    assert adapter.startswith(str(out_dir / "adapters")) and settings.active_adapter() == adapter
    assert dock.model_combo.currentData() == adapter and dock.request_settings()["adapter"] == adapter
    assert "Median validation NSE" in dialog.problems.item(0).text()
    assert "Optimistic" in dialog.problems.item(1).text()  # early stopping chose on these days too
    assert dialog.problems.count() >= 1 + len(task.result["metrics"])
    again = FinetuneDialog(dock)  # a next fine-tune may start from the active adapter
    assert "adapter" not in again.params() and again.start_from.count() == 2
    again.start_from.setCurrentIndex(1)
    assert again.params()["adapter"] == adapter
    again.close()
    dock.model_combo.setCurrentIndex(0)  # and back to the bundled model
    assert settings.active_adapter() == ""
    settings.put(settings.KEY_LATEST_ADAPTER, "")
    dialog.close()


def test_load_demo_adds_styled_layers(qgis_iface, qgis_new_project, real_data, out_dir, shared_worker):
    from stefaland_plugin.dock import StefaLandDock

    dock = StefaLandDock(qgis_iface)
    loaded = []
    dock.demoLoaded.connect(loaded.append)
    dock.load_demo()
    assert wait_for(lambda: loaded, 60), dock.status_label.text()
    names = sorted(layer.name() for layer in QgsProject.instance().mapLayers().values())
    assert names == ["CAMELS basins (63 western)", "CAMELS gauges"]
    gauges = QgsProject.instance().mapLayersByName("CAMELS gauges")[0]
    assert gauges.renderer().type() == "RuleRenderer" and gauges.featureCount() == 671
    assert (out_dir / "demo" / "camels_gauges.geojson").is_file()
    assert "671 gauges" in dock.status_label.text()
    # a new project shows the contiguous US (not only the western basins) in CONUS Albers, without asking
    canvas = qgis_iface.mapCanvas()
    assert wait_for(lambda: QgsProject.instance().crs().authid() == "EPSG:5070", 10)
    canvas.setDestinationCrs(QgsProject.instance().crs())  # pytest-qgis's canvas does not follow the project
    dock.zoom_to_conus()
    to_canvas = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), canvas.mapSettings().destinationCrs(),
                                       QgsProject.instance())
    extent = canvas.extent()
    for lon, lat in ((-124.5, 48.5), (-67.5, 45.0), (-80.5, 25.2), (-117.0, 32.6), (-97.5, 26.0)):  # the corners
        assert extent.contains(to_canvas.transform(QgsPointXY(lon, lat))), (lon, lat)
    gauges_extent = canvas.mapSettings().layerExtentToOutputExtent(gauges, gauges.extent())
    assert extent.contains(gauges_extent)
    # the US fills the view in one direction (the other follows the canvas's shape)
    assert min(extent.width() / gauges_extent.width(), extent.height() / gauges_extent.height()) < 1.5


def test_diagnostics_report_and_copy(qgis_iface, out_dir, shared_worker):
    from stefaland_plugin.diagnostics import DiagnosticsDialog
    from stefaland_plugin.dock import StefaLandDock

    dock = StefaLandDock(qgis_iface)
    dialog = DiagnosticsDialog(dock)
    assert wait_for(lambda: "Worker pid" in dialog.report(), 60), dialog.report()
    text = dialog.report()
    for needed in ("StefaLand plugin 0.1.0", "QGIS 3.", "Worker interpreter", "torch", "Methods:"):
        assert needed in text
    dialog.copy()
    assert QApplication.clipboard().text() == text
    dialog.close()


def test_finetune_result_says_its_validation_scores_are_optimistic():
    from stefaland_plugin.finetune_dialog import result_lines

    lines = result_lines({"median_validation_nse": 0.8, "median_validation_nse_before": 0.6,
                          "metrics": {"g1": 0.8}}, lambda s: s)
    assert lines[0].startswith("Median validation NSE 0.800") and "stopping step" in lines[1]
    assert lines[2] == "Gauge g1: validation NSE 0.800"
