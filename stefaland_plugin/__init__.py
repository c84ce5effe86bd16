"""StefaLand for QGIS: streamflow, soil and landslide predictions from a foundation model run locally.

QGIS calls :func:`classFactory`; everything else is imported only then, so loading is quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: nothing is imported before QGIS asks for the plugin
    from qgis.gui import QgisInterface

    from .plugin import StefaLandPlugin


def classFactory(iface: QgisInterface) -> StefaLandPlugin:
    """Create the plugin for the QGIS interface ``iface``."""
    from .plugin import StefaLandPlugin

    return StefaLandPlugin(iface)
