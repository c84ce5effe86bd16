"""Landslide hazard map: a covariate raster -> a two-band susceptibility GeoTIFF, in tiles.

Output (same size, geotransform and projection as the input):

* band 1 ``landslide probability``: float32 0-1;
* band 2 ``susceptibility class``: 1 (very low) .. 5 (very high), the quintiles of the valid probabilities;
  the class breaks are stored in the dataset metadata (``CLASS_BREAKS``, JSON) and returned.

The probability of a cell depends on that cell only (its own location and covariates): the same cell gets
the same probability in any raster it is part of, whatever the raster's size or extent. The classes are
relative to the map, by design: they are the quintiles of this map's probabilities, so the same cell can
fall in another class in a map of a larger or different area.

A GeoTIFF has one data type and one nodata value for all its bands, so both bands are float32 with nodata
:data:`NODATA` (-9999) wherever any covariate band the model reads is nodata (or NaN).

Memory is bounded by the tile size: three passes over tiles read (1) which cells are complete, (2) the
probabilities, written to band 1 while a 10,000-bin histogram of them is kept, (3) band 1 back to classify
it into band 2. The quintiles come from that histogram (exact to 1e-4). The base model's encoder runs only
on fixed global nodes of (lat, lon, elevation, slope) around the cells present, each node once per run
(:class:`landslide_features.EncoderGrid`); each cell's encoder vector is interpolated at its own lat/lon and
covariates, and the adapter and head run on every cell. The file is written to a temporary name next to
``out`` and renamed when complete: an error or Ctrl-C leaves no partial output.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from backend.core.atomic_io import atomic_path
from backend.core.errors import DataFormatError
from backend.core.progress import ProgressBar
from backend.data.covariate_raster import CovariateRaster, epsg_of, iter_raster_tiles, raster_size, read_raster_window
from backend.tasks.landslide.features import EncoderGrid, to_latlon
from backend.tasks.landslide.model import LandslideModel, torch_threads

NODATA = -9999.0
N_CLASSES = 5
CLASS_NAMES: tuple[str, ...] = ("very low", "low", "moderate", "high", "very high")
BAND_DESCRIPTIONS: tuple[str, str] = ("landslide probability", "susceptibility class (1 very low .. 5 very high)")
HISTOGRAM_BINS = 10_000
#: cells per forward pass of the adapter: bounds the memory of the (cells, 128) state arrays; 8192 cells
#: (4 MB per array) stay in cache and ran 3x faster than 65,536 on the 2-core test machine
CHUNK_CELLS = 8_192
CREATION_OPTIONS = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]
OUTPUT_SUFFIXES = (".tif", ".tiff")


@dataclass
class HazardResult:
    """What a hazard-map run wrote and how long it took.

    The file, the class breaks (6 edges: min, 4 quintiles, max; relative to this map), valid and total cells,
    CRS, the run time in seconds, how many encoder nodes were encoded (``lattice_points``; 0 from scratch) at
    how many distinct (lat, lon) nodes, the tile count, the lat/lon bounds of the valid cells
    (``(lat_min, lon_min, lat_max, lon_max)``, degrees; each cell is encoded at its own location; None from
    scratch, which uses no location) and the seconds spent in each phase.
    """

    out_tif: Path
    breaks: list[float]
    n_valid: int
    n_cells: int
    crs: str
    seconds: float
    lattice_points: int
    tiles: int
    location_nodes: int = 0
    latlon_bounds: tuple[float, float, float, float] | None = None
    phases: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able summary (paths as text, seconds rounded to ms, with the class names)."""
        return {"out_tif": str(self.out_tif), "breaks": self.breaks, "classes": list(CLASS_NAMES),
                "n_valid": self.n_valid, "n_cells": self.n_cells, "crs": self.crs, "seconds": round(self.seconds, 3),
                "lattice_points": self.lattice_points, "tiles": self.tiles,
                "location_nodes": self.location_nodes,
                "latlon_bounds": None if self.latlon_bounds is None else list(self.latlon_bounds),
                "phases": {k: round(v, 3) for k, v in self.phases.items()}}


# --------------------------------------------------------------------------------------------- checks

def check_projected(path: Path, wkt: str) -> str:
    """The CRS label (``EPSG:32717`` or its name); DataFormatError unless projected with metre units."""
    if not wkt:
        raise DataFormatError(path, "the raster has no coordinate reference system; terrain covariates need a "
                              "projected CRS in metres (assign one, e.g. gdal_edit.py -a_srs EPSG:32717)")
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    name = f"EPSG:{epsg_of(wkt)}" if epsg_of(wkt) else (srs.GetName() or "unnamed CRS")
    if not srs.IsProjected():
        raise DataFormatError(path, f"the raster's CRS {name} is geographic (degrees); slope, curvature and "
                              "catchment area must come from a projected CRS in metres: reproject the DEM first "
                              "(e.g. gdalwarp -t_srs EPSG:32717) and derive the covariates from it")
    if not math.isclose(srs.GetLinearUnits(), 1.0, rel_tol=1e-6):
        raise DataFormatError(path, f"the raster's CRS {name} has units of {srs.GetLinearUnitsName()}, "
                              "not metres; reproject it to a metric CRS")
    return name


def band_indices(path: Path, band_names: list[str], covariates: list[str]) -> list[int]:
    """Index of the band of each covariate the model needs; DataFormatError naming missing bands."""
    missing = [c for c in covariates if c not in band_names]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise DataFormatError(path, f"missing covariate band{plural} {', '.join(repr(m) for m in missing)}: the "
                              f"landslide model needs bands {', '.join(covariates)} (band descriptions), the raster "
                              f"has {', '.join(band_names)}")
    return [band_names.index(c) for c in covariates]


def check_output(raster: Path, out: Path) -> None:
    """Refuse to write over the input, or to a name that is not a GeoTIFF."""
    if Path(out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the susceptibility map is a GeoTIFF; give a .tif file name")
    same = Path(out).resolve() == Path(raster).resolve() or (
        Path(out).exists() and Path(out).samefile(raster))
    if same:
        raise ValueError(f"{out}: is the input raster; refusing to overwrite it")


# --------------------------------------------------------------------------------------------- passes

def _cells(window: CovariateRaster, bands: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(cells, k) covariates of a tile in model order and the (rows, cols) mask of complete cells."""
    values = window.values[bands]
    valid = np.isfinite(values).all(axis=0)
    return values.reshape(len(bands), -1).T, valid


def scan_ranges(path: Path, bands: list[int], names: list[str], tile: int) -> tuple[dict[str, tuple[float, float]],
                                                                                    int]:
    """Min and max of each covariate over complete cells, and how many cells are complete."""
    low = np.full(len(bands), np.inf)
    high = np.full(len(bands), -np.inf)
    count = 0
    for _, _, window in iter_raster_tiles(path, tile):
        cells, valid = _cells(window, bands)
        good = cells[valid.ravel()]
        if len(good):
            low, high = np.minimum(low, good.min(axis=0)), np.maximum(high, good.max(axis=0))
            count += len(good)
    return {n: (float(low[i]), float(high[i])) for i, n in enumerate(names)}, count


def tile_windows(rows: int, cols: int, tile: int) -> Iterator[tuple[int, int, int, int]]:
    """``(row0, col0, nrows, ncols)`` of the tiles, in the order of :func:`iter_raster_tiles`."""
    for row0 in range(0, rows, tile):
        for col0 in range(0, cols, tile):
            yield row0, col0, min(tile, rows - row0), min(tile, cols - col0)


def cell_latlon(window: CovariateRaster) -> np.ndarray:
    """(rows * cols, 2) lat, lon (degrees, WGS84) of the centres of a window's cells, row by row."""
    x0, dx, rx, y0, ry, dy = window.geotransform
    rows, cols = window.values.shape[1:]
    row, col = np.meshgrid(np.arange(rows, dtype=np.float64) + 0.5, np.arange(cols, dtype=np.float64) + 0.5,
                           indexing="ij")
    x, y = x0 + col * dx + row * rx, y0 + col * ry + row * dy
    return to_latlon(x.ravel(), y.ravel(), window.crs_wkt)


def _probabilities(model: LandslideModel, grid: EncoderGrid | None, cells: np.ndarray,
                   latlon: np.ndarray | None) -> np.ndarray:
    out = np.empty(len(cells), np.float32)
    for start in range(0, len(cells), CHUNK_CELLS):
        part = cells[start:start + CHUNK_CELLS]
        where = None if latlon is None else latlon[start:start + CHUNK_CELLS]
        out[start:start + len(part)] = model.probability(part, model.states_from_grid(grid, part, where))
    return out


def quantile_breaks(histogram: np.ndarray, n_classes: int = N_CLASSES) -> list[float]:
    """Class edges (n_classes + 1) from a histogram of probabilities on [0, 1].

    The edges are the first and last non-empty bins' outer edges and the upper edge of the bin where each
    quantile k/n_classes is reached.
    """
    total = int(histogram.sum())
    if total == 0:
        raise ValueError("no valid cells to classify")
    edges = np.linspace(0.0, 1.0, len(histogram) + 1)
    cumulative = np.cumsum(histogram)
    filled = np.flatnonzero(histogram)
    breaks = [float(edges[filled[0]])]
    for k in range(1, n_classes):
        breaks.append(float(edges[int(np.searchsorted(cumulative, total * k / n_classes)) + 1]))
    breaks.append(float(edges[filled[-1] + 1]))
    return breaks


def classify(probability: np.ndarray, breaks: list[float]) -> np.ndarray:
    """Class 1..n (float32) of each probability; NODATA stays NODATA."""
    classes = (1 + np.searchsorted(np.asarray(breaks[1:-1]), probability, side="right")).astype(np.float32)
    classes[probability == NODATA] = NODATA
    return classes


def _create(tmp: Path, like: CovariateRaster, rows: int, cols: int) -> gdal.Dataset:
    gdal.UseExceptions()
    dataset = gdal.GetDriverByName("GTiff").Create(str(tmp), cols, rows, 2, gdal.GDT_Float32, CREATION_OPTIONS)
    x0, dx, rx, y0, ry, dy = like.geotransform
    dataset.SetGeoTransform((x0, dx, rx, y0, ry, dy))
    dataset.SetProjection(like.crs_wkt)
    for b, description in enumerate(BAND_DESCRIPTIONS, start=1):
        band = dataset.GetRasterBand(b)
        band.SetNoDataValue(NODATA)
        band.SetDescription(description)
    return dataset


def write_hazard_map(raster: Path, out: Path, model: LandslideModel, tile: int = 256, threads: int = 1
                     ) -> HazardResult:
    """Map landslide probability and susceptibility class of every cell of ``raster`` into ``out``.

    ``threads``: torch threads while mapping (restored afterwards). One by default: on the 2-core machine,
    shared with other work, two threads made the encoder 2x and the cell pass up to 5x slower.

    Each cell's probability depends on its own location and covariates only; the classes are the quintiles
    of this map. The encoder runs once per node of the fixed grid around the cells present, so its cost grows
    with the mapped area and terrain (1,689 nodes, about 4 s on 2 cores, for the 4 x 4 km of ta.tif).

    Raises DataFormatError for a raster without a projected metric CRS or without a band the model needs
    (naming the band and the file), ValueError if ``out`` is the input or not a .tif.
    """
    with torch_threads(threads):
        return _write_hazard_map(Path(raster), Path(out), model, tile)


def _write_hazard_map(raster: Path, out: Path, model: LandslideModel, tile: int) -> HazardResult:
    start = time.perf_counter()
    check_output(raster, out)
    _, rows, cols = raster_size(raster)
    header = read_raster_window(raster, 0, 0, 1, 1)
    crs = check_projected(raster, header.crs_wkt)
    bands = band_indices(raster, header.band_names, model.config.covariates)
    phases = {"checks": time.perf_counter() - start}
    _, n_valid = scan_ranges(raster, bands, model.config.covariates, tile)
    phases["scan"] = time.perf_counter() - start - sum(phases.values())
    if n_valid == 0:
        raise DataFormatError(raster, "no cell has every covariate (all nodata)")
    grid = model.encoder_grid()
    low, high = np.full(2, np.inf), np.full(2, -np.inf)
    n_tiles = math.ceil(rows / tile) * math.ceil(cols / tile)
    bar = ProgressBar("hazard map", 2 * n_tiles)
    histogram = np.zeros(HISTOGRAM_BINS, np.int64)
    with atomic_path(out) as tmp:
        dataset = _create(tmp, header, rows, cols)
        try:
            for done, (row0, col0, window) in enumerate(iter_raster_tiles(raster, tile), start=1):
                cells, valid = _cells(window, bands)
                latlon = None
                if grid is not None and valid.any():
                    latlon = cell_latlon(window)[valid.ravel()]
                    low, high = np.minimum(low, latlon.min(axis=0)), np.maximum(high, latlon.max(axis=0))
                probability = np.full(valid.size, NODATA, np.float32)
                probability[valid.ravel()] = _probabilities(model, grid, cells[valid.ravel()], latlon)
                histogram += np.bincount(np.minimum((probability[valid.ravel()] * HISTOGRAM_BINS).astype(np.int64),
                                                    HISTOGRAM_BINS - 1), minlength=HISTOGRAM_BINS)
                dataset.GetRasterBand(1).WriteArray(probability.reshape(valid.shape), col0, row0)
                bar.update(done, "probability")
            breaks = [round(b, 6) for b in quantile_breaks(histogram)]  # as stored in the metadata
            encoder = grid.encode_seconds if grid is not None else 0.0
            phases["encoder nodes"] = encoder
            phases["probabilities"] = time.perf_counter() - start - sum(phases.values())
            for done, (row0, col0, nrows, ncols) in enumerate(tile_windows(rows, cols, tile), start=n_tiles + 1):
                probability = dataset.GetRasterBand(1).ReadAsArray(col0, row0, ncols, nrows)
                dataset.GetRasterBand(2).WriteArray(classify(probability, breaks), col0, row0)
                bar.update(done, "classes")
            dataset.SetMetadata({"CLASS_BREAKS": json.dumps(breaks),
                                 "CLASS_METHOD": "quantile (quintiles of the valid probabilities of this map: "
                                                 "relative to the map; the probabilities are not)",
                                 "CLASS_NAMES": json.dumps(list(CLASS_NAMES)),
                                 "LANDSLIDE_MODEL": "from scratch" if model.config.from_scratch else "StefaLand",
                                 "BASE_MODEL_SHA256": model.base.sha256 if model.base is not None else "",
                                 "SOURCE_RASTER": raster.name})
            dataset.FlushCache()
        finally:
            dataset = None  # closes the file before it is renamed (or removed on an error)
        bar.close()
    phases["classes + write"] = time.perf_counter() - start - sum(phases.values())
    bounds = None if grid is None else (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    return HazardResult(out, breaks, n_valid, rows * cols, crs, time.perf_counter() - start,
                        grid.nodes if grid is not None else 0, n_tiles, grid.location_nodes if grid is not None else 0,
                        bounds, phases)
