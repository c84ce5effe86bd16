"""A PNG picture of a susceptibility GeoTIFF (probability and classes side by side), with matplotlib."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from osgeo import gdal

from backend.core.atomic_io import write_atomic
from backend.tasks.landslide.hazard import CLASS_NAMES, NODATA

CLASS_COLOURS = ("#1a9641", "#a6d96a", "#ffffbf", "#fdae61", "#d7191c")


def render_png(tif: Path, png: Path, title: str) -> Path:
    """Two panels in map coordinates (km): probability 0-1 with a colour bar and the five classes.

    The classes are the quintiles of this map's probabilities (relative to the map); the probabilities are not.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    gdal.UseExceptions()
    dataset = gdal.Open(str(tif))
    probability = np.ma.masked_equal(dataset.GetRasterBand(1).ReadAsArray(), NODATA)
    classes = np.ma.masked_equal(dataset.GetRasterBand(2).ReadAsArray(), NODATA)
    breaks = json.loads(dataset.GetMetadataItem("CLASS_BREAKS") or "[]")
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    extent = [v / 1000.0 for v in (x0, x0 + dx * dataset.RasterXSize, y0 + dy * dataset.RasterYSize, y0)]
    crs = dataset.GetSpatialRef().GetName() if dataset.GetSpatialRef() else "unknown CRS"
    dataset = None

    figure, axes = plt.subplots(1, 2, figsize=(12, 5.6), constrained_layout=True)
    image = axes[0].imshow(probability, extent=extent, cmap="YlOrRd", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.colorbar(image, ax=axes[0], shrink=0.85, label="probability of a landslide")
    axes[0].set_title("Landslide probability")
    colours = ListedColormap(CLASS_COLOURS)
    classed = axes[1].imshow(classes, extent=extent, cmap=colours, norm=BoundaryNorm(np.arange(0.5, 6.5), 5),
                             interpolation="nearest")
    bar = figure.colorbar(classed, ax=axes[1], shrink=0.85, ticks=np.arange(1, 6))
    labels = [f"{name}\n{breaks[k]:.2f}–{breaks[k + 1]:.2f}" if len(breaks) == 6 else name
              for k, name in enumerate(CLASS_NAMES)]
    bar.ax.set_yticklabels(labels, fontsize=8)
    axes[1].set_title("Susceptibility class (quintiles of this map)")
    for ax in axes:
        ax.set_xlabel(f"easting (km, {crs})")
        ax.set_ylabel("northing (km)")
        ax.ticklabel_format(useOffset=False, style="plain")
    figure.suptitle(title)
    write_atomic(Path(png), lambda tmp: figure.savefig(tmp, dpi=110, format="png"))
    plt.close(figure)
    return Path(png)
