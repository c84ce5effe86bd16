"""The Processing provider ``stefaland``; algorithm modules are imported only in loadAlgorithms."""

from __future__ import annotations

import importlib

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..settings import icon_path, plugin_version

#: module (in this package) -> algorithm classes
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "demo_algorithm": ("LoadDemoAlgorithm",),
    "streamflow_algorithms": ("PredictStreamflowAlgorithm", "FinetuneAlgorithm"),
    "polygon_algorithm": ("PredictPolygonStreamflowAlgorithm",),
    "landslide_algorithm": ("LandslideSusceptibilityAlgorithm",),
    "soil_algorithms": ("SoilCompositionAlgorithm", "SoilMoistureAlgorithm", "FillAttributesAlgorithm"),
}


class StefaLandProvider(QgsProcessingProvider):
    """The ``stefaland`` provider: the algorithms of :data:`ALGORITHMS`."""

    def id(self) -> str:
        """The provider's id (algorithm ids are ``stefaland:<name>``)."""
        return "stefaland"

    def name(self) -> str:
        """The provider's name in the toolbox."""
        return "StefaLand"

    def longName(self) -> str:
        """The name with the plugin's version."""
        return f"StefaLand {plugin_version()}"

    def icon(self) -> QIcon:
        """The StefaLand icon."""
        return QIcon(icon_path())

    def loadAlgorithms(self) -> None:
        """Import the algorithm modules and add one instance of each algorithm."""
        for module_name, classes in ALGORITHMS.items():
            module = importlib.import_module(f"{__package__}.{module_name}")
            for class_name in classes:
                self.addAlgorithm(getattr(module, class_name)())
