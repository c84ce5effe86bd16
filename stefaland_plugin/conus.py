"""The contiguous United States: its extent and the equal-area CRS (CONUS Albers) the demo shows it in."""

from __future__ import annotations

from collections.abc import Iterable

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRectangle

#: the contiguous United States (WGS84 lon/lat) and the CRS the demo shows it in (CONUS Albers)
CONUS_EXTENT = (-125.0, 24.0, -66.5, 49.6)
CONUS_CRS = "EPSG:5070"

#: the coordinate operation QGIS offers first from WGS84 to CONUS Albers ("Inverse of NAD83 to WGS 84 (1) +
#: Conus Albers", accuracy 4 m); chosen up front so QGIS does not ask (listing the operations would make
#: PROJ probe grid files that are not installed)
WGS84_TO_CONUS_ALBERS = ("+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=aea +lat_0=23 "
                         "+lon_0=-96 +lat_1=29.5 +lat_2=45.5 +x_0=0 +y_0=0 +ellps=GRS80")


def use_conus_albers(project: QgsProject, layer_crses: Iterable[QgsCoordinateReferenceSystem]) -> None:
    """Set the project CRS to CONUS Albers with the WGS84 operation chosen (QGIS would otherwise ask)."""
    target = QgsCoordinateReferenceSystem(CONUS_CRS)
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    context = project.transformContext()
    if any(crs == wgs84 for crs in layer_crses) and not context.hasTransform(wgs84, target):
        context.addCoordinateOperation(wgs84, target, WGS84_TO_CONUS_ALBERS)
        project.setTransformContext(context)
    project.setCrs(target)


def conus_extent(crs: QgsCoordinateReferenceSystem) -> QgsRectangle:
    """The contiguous US in ``crs`` (the bounding box of :data:`CONUS_EXTENT` transformed from WGS84)."""
    to_crs = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), crs, QgsProject.instance())
    return to_crs.transformBoundingBox(QgsRectangle(*CONUS_EXTENT))
