"""The panel: model switching, fine-tune file checks, demo loading, diagnostics."""

from __future__ import annotations

from plugin_helpers import wait_for
from qgis.core import QgsProject
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
    assert dialog.problems.count() >= 1  # the backend's problems, or why it cannot check yet
    assert not dialog.start_button.isEnabled()
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
