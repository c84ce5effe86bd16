"""StefaLand backend: data readers, the masked autoencoder, training, prediction and a worker process.

Pure Python (torch, numpy, shapely, pyyaml, GDAL for rasters); never imports qgis.
"""

__version__ = "0.1.0"
