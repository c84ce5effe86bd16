"""The plugin object QGIS creates: menu and toolbar action, the panel, the Processing provider."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.gui import QgisInterface
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .settings import icon_path, log
from .tasks import WorkerTask
from .worker_client import shutdown_shared

MENU = "&StefaLand"


class StefaLandPlugin:
    """Created by ``classFactory``; QGIS calls :meth:`initGui` and :meth:`unload`."""

    def __init__(self, iface: QgisInterface) -> None:
        self.iface = iface
        self.actions: list[QAction] = []
        self.dock = None
        self.provider = None

    @staticmethod
    def tr(text: str) -> str:
        """Translate ``text`` in the StefaLand context."""
        return QCoreApplication.translate("StefaLand", text)

    def initProcessing(self) -> None:
        """Register the Processing provider (from initGui, or directly by qgis_process)."""
        if self.provider is not None:
            return
        from .processing.provider import StefaLandProvider

        self.provider = StefaLandProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Register the Processing provider, add the panel and its menu and toolbar action."""
        from .dock import StefaLandDock

        self.initProcessing()
        self.dock = StefaLandDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        action = QAction(QIcon(icon_path()), self.tr("StefaLand panel"), self.iface.mainWindow())
        action.setObjectName("StefaLandPanelAction")
        action.setCheckable(True)
        action.setChecked(True)
        action.triggered.connect(self.dock.setUserVisible)
        self.dock.visibilityChanged.connect(action.setChecked)
        self.iface.addPluginToMenu(MENU, action)
        self.iface.addToolBarIcon(action)
        self.actions.append(action)
        log("plugin loaded")

    def load_demo(self) -> WorkerTask:
        """Show the panel and load the CAMELS demo layers (used by ``make run``)."""
        if self.dock is None:
            raise RuntimeError("initGui has not run")
        self.dock.setUserVisible(True)
        return self.dock.load_demo()

    def unload(self) -> None:
        """Remove the action, the panel and the provider, and stop the worker (plugin unload)."""
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        shutdown_shared()
        log("plugin unloaded")
