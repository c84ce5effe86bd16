"""StefaLand for QGIS: streamflow, soil and landslide predictions from a foundation model run locally.

QGIS calls :func:`classFactory`; everything else is imported only then, so loading is quick.
"""


def classFactory(iface):
    """Create the plugin for the QGIS interface ``iface``."""
    from .plugin import StefaLandPlugin

    return StefaLandPlugin(iface)
