"""Helpers of the landslide and hazard tests: a tiny random base model, small GeoTIFFs, small models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from osgeo import gdal, osr

from backend.data.normalization import Normalizer
from backend.data.variables import FORCING_VARIABLES, Kind, input_static_names
from backend.model.checkpoint import BaseModel
from backend.model.config import ModelConfig
from backend.model.inputs import vocabulary_from
from backend.model.mae import StefaLandMAE
from backend.tasks.landslide.model import LandslideModel, new_model

LSL_BANDS = ["slope", "cplan", "cprof", "elev", "log10_carea"]


def tiny_base(seed: int = 0) -> BaseModel:
    """A randomly initialised, very small base model with the real vocabulary (fast, no file)."""
    names = input_static_names(Kind.NUMERIC)
    means = [1000.0 if n == "elev_mean" else 50.0 if n == "slope_mean" else 0.0 for n in names]
    stds = [800.0 if n == "elev_mean" else 50.0 if n == "slope_mean" else 1.0 for n in names]
    vocab = {n: ["a", "b"] for n in input_static_names(Kind.CATEGORICAL)}
    norm = Normalizer(list(FORCING_VARIABLES), [0.0] * len(FORCING_VARIABLES), [1.0] * len(FORCING_VARIABLES),
                      names, means, stds, vocab, 10)
    cfg = ModelConfig(d_model=16, encoder_layers=1, heads=2, feedforward=32, window_patches=4,
                      location_frequencies=4, dropout=0.0)
    torch.manual_seed(seed)
    model = StefaLandMAE(cfg, vocabulary_from(norm)).eval()
    return BaseModel(model, norm, cfg, f"tiny-{seed}", None)


def lsl_like(n: int, seed: int = 0) -> np.ndarray:
    """(n, 5) covariates in the ranges of the Ecuador points (band order :data:`LSL_BANDS`)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(5, 60, n), rng.normal(0, 0.05, n), rng.normal(0, 0.03, n),
                     rng.uniform(1700, 3100, n), rng.uniform(2, 5, n)], axis=1).astype(np.float32)


def small_model(base: BaseModel | None, seed: int = 0) -> LandslideModel:
    """An untrained landslide model (random head) with statistics of :func:`lsl_like` data."""
    model = new_model(LSL_BANDS, base, (-3.99, -79.07))
    covariates = lsl_like(200, seed)
    states = model.states_exact(covariates, (-3.99, -79.07))
    model.net.set_statistics(covariates, states)
    with torch.no_grad():
        model.net.head.weight.normal_(0, 1, generator=torch.Generator().manual_seed(seed))
        model.net.adapter.correction[-1].weight.normal_(0, 0.3, generator=torch.Generator().manual_seed(seed + 1))
    model.net.eval()
    return model


def make_raster(path: Path, rows: int = 37, cols: int = 29, epsg: int | None = 32717,
                names: list[str] | None = None, nodata: float | None = -9999.0, seed: int = 0,
                origin: tuple[float, float] = (712000.0, 9561000.0), cell: float = 10.0) -> Path:
    """A float32 covariate GeoTIFF (bands described by name); cells (0, 0), (rows-1, 3) and a block are nodata
    in one band each (NaN when ``nodata`` is None)."""
    gdal.UseExceptions()
    names = LSL_BANDS if names is None else names
    values = lsl_like(rows * cols, seed).T.reshape(5, rows, cols)
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, len(names), gdal.GDT_Float32)
    dataset.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    if epsg is not None:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        dataset.SetProjection(srs.ExportToWkt())
    marker = np.nan if nodata is None else nodata
    for b, name in enumerate(names):
        data = values[LSL_BANDS.index(name) if name in LSL_BANDS else b].copy()
        if b == 0:
            data[0, 0] = marker
        if b == len(names) - 1:
            data[rows - 1, 3] = marker
            data[5:8, 10:14] = marker
        band = dataset.GetRasterBand(b + 1)
        band.WriteArray(data)
        band.SetDescription(name)
        if nodata is not None:
            band.SetNoDataValue(nodata)
    dataset.FlushCache()
    dataset = None
    return path


def lsl_values(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """(5, rows, cols) float32 covariates as :func:`make_raster` writes them (band order :data:`LSL_BANDS`)."""
    return lsl_like(rows * cols, seed).T.reshape(5, rows, cols).copy()


def write_covariates(path: Path, values: np.ndarray, origin: tuple[float, float] = (712000.0, 9561000.0),
                     cell: float = 10.0, epsg: int = 32717) -> Path:
    """A float32 covariate GeoTIFF of ``values`` (5, rows, cols) in :data:`LSL_BANDS` order, every cell complete;
    ``origin`` is the top-left corner (x, y) in ``epsg``."""
    gdal.UseExceptions()
    bands, rows, cols = values.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, bands, gdal.GDT_Float32)
    dataset.SetGeoTransform((origin[0], cell, 0.0, origin[1], 0.0, -cell))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset.SetProjection(srs.ExportToWkt())
    for b, name in enumerate(LSL_BANDS[:bands]):
        band = dataset.GetRasterBand(b + 1)
        band.WriteArray(values[b])
        band.SetDescription(name)
        band.SetNoDataValue(-9999.0)
    dataset.FlushCache()
    dataset = None
    return path
