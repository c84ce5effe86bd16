"""A cell's hazard probability depends on that cell only, never on the raster's size or where its edges fall.

The same cells (same map position, same covariates) are written as a small raster, as the top-left quarter
of a 2 x 2 mosaic of it, and in the middle of a larger raster of other terrain; a control computes the same
maps the way the hazard map did before (one encoder lattice at the raster centre, spanning the raster's own
elevation and slope ranges) and shows that it fails the same checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from landslide_fixtures import LSL_BANDS, lsl_values, small_model, tiny_base, write_covariates
from osgeo import gdal

from backend.data.covariate_raster import raster_size, read_raster_window
from backend.tasks.landslide.features import (
    LATITUDE_AXIS,
    LONGITUDE_AXIS,
    camels_attributes,
    encode_static,
    to_latlon,
)
from backend.tasks.landslide.hazard import cell_latlon, write_hazard_map

ROWS, COLS = 37, 29
ORIGIN = (712000.0, 9561000.0)  # near ta.tif's corner (UTM 17S), 10 m cells
CELL = 10.0
#: where the small raster sits inside the large one (rows, cols)
INSET = (40, 30)


@pytest.fixture(scope="module")
def model():
    return small_model(tiny_base())


@pytest.fixture(scope="module")
def rasters(tmp_path_factory) -> dict[str, Path]:
    """The small raster, a 2 x 2 mosaic of it (the small one in its top-left quarter) and a 120 x 100 raster of
    other terrain with the small one inset at :data:`INSET`; the small raster's cells at the same map
    positions in all three."""
    folder = tmp_path_factory.mktemp("extent")
    small = lsl_values(ROWS, COLS, seed=0)
    large = lsl_values(120, 100, seed=7)
    large[LSL_BANDS.index("elev")] = 2 * large[LSL_BANDS.index("elev")] - 2500  # other terrain: 900-3700 m
    large[:, INSET[0]:INSET[0] + ROWS, INSET[1]:INSET[1] + COLS] = small
    large_origin = (ORIGIN[0] - INSET[1] * CELL, ORIGIN[1] + INSET[0] * CELL)
    return {"small": write_covariates(folder / "small.tif", small, ORIGIN),
            "mosaic": write_covariates(folder / "mosaic.tif", np.tile(small, (1, 2, 2)), ORIGIN),
            "large": write_covariates(folder / "large.tif", large, large_origin)}


def _probability(path: Path) -> np.ndarray:
    dataset = gdal.Open(str(path))  # held while the band is read
    return dataset.GetRasterBand(1).ReadAsArray()


def _inset(name: str, values: np.ndarray) -> np.ndarray:
    """The small raster's cells in a map of ``name``."""
    if name == "large":
        return values[INSET[0]:INSET[0] + ROWS, INSET[1]:INSET[1] + COLS]
    return values[:ROWS, :COLS]


@pytest.fixture(scope="module")
def maps(rasters, model, tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("maps")
    tiles = {"small": 256, "mosaic": 16, "large": 32}  # other tilings too
    return {name: _probability(write_hazard_map(path, folder / f"{name}_p.tif", model, tile=tiles[name]).out_tif)
            for name, path in rasters.items()}


def _old_centre_lattice(model, path: Path) -> np.ndarray:
    """Probabilities the way the hazard map computed them before: 8 elevations x 32 slopes spanning this
    raster's ranges, all encoded at this raster's centre, interpolated bilinearly."""
    _, rows, cols = raster_size(path)
    window = read_raster_window(path, 0, 0, rows, cols)
    x0, dx, _, y0, _, dy = window.geotransform
    centre = to_latlon(np.array([x0 + dx * cols / 2]), np.array([y0 + dy * rows / 2]), window.crs_wkt)[0]
    covariates = window.values.reshape(len(LSL_BANDS), -1).T
    names = model.config.vocabulary.values()  # elev, slope
    values = [covariates[:, LSL_BANDS.index(n)].astype(np.float64) for n in names]
    axes = [np.linspace(v.min(), v.max(), count) for v, count in zip(values, (8, 32), strict=True)]
    grids = np.meshgrid(*axes, indexing="ij")
    nodes = encode_static(model.base, camels_attributes(model.config.vocabulary,
                                                        {n: g.ravel() for n, g in zip(names, grids, strict=True)}),
                          centre).reshape(8, 32, -1)
    lower, fraction = [], []
    for axis, v in zip(axes, values, strict=True):
        index = np.clip(np.searchsorted(axis, v, side="right") - 1, 0, len(axis) - 2)
        lower.append(index)
        fraction.append(np.clip((v - axis[index]) / (axis[index + 1] - axis[index]), 0, 1)[:, None])
    (i, j), (f, g) = lower, fraction
    states = ((1 - f) * (1 - g) * nodes[i, j] + (1 - f) * g * nodes[i, j + 1] + f * (1 - g) * nodes[i + 1, j]
              + f * g * nodes[i + 1, j + 1])
    return model.probability(covariates, states).reshape(rows, cols)


def test_the_same_cells_get_the_same_probabilities_in_any_raster(maps) -> None:
    small = maps["small"]
    assert small.std() > 0.01  # a map that varies
    for name in ("mosaic", "large"):
        assert np.abs(_inset(name, maps[name]) - small).max() <= 1e-6, name
    assert maps["large"].shape == (120, 100) and maps["mosaic"].shape == (2 * ROWS, 2 * COLS)


def test_a_cell_alone_gets_its_map_probability(rasters, maps, model) -> None:
    """The probability of a cell computed for that cell alone (its own location and covariates, a fresh grid of
    encoder nodes) is the one in the map: nothing else in the raster enters it."""
    window = read_raster_window(rasters["large"], 0, 0, 120, 100)
    covariates = window.values.reshape(len(LSL_BANDS), -1).T
    latlon = cell_latlon(window)
    for cell in (0, 57, 40 * 100 + 30, 77 * 100 + 58, 120 * 100 - 1):
        alone = model.probability(covariates[cell:cell + 1],
                                  model.states_from_grid(model.encoder_grid(), covariates[cell:cell + 1],
                                                         latlon[cell:cell + 1]))
        assert abs(float(alone[0]) - float(maps["large"].ravel()[cell])) <= 1e-6, cell


def test_copies_a_few_hundred_metres_apart_differ_only_through_the_location_nodes(rasters, maps, model) -> None:
    """The mosaic's four copies of the same terrain lie 290 m and 370 m apart, inside one interpolation cell of
    the location nodes: their encoder vectors differ only by the bilinear interpolation across that cell (at
    most twice the fraction of the cell between them times the spread of the location corners), and the map's mean stays
    that of the small raster."""
    window = read_raster_window(rasters["mosaic"], 0, 0, 2 * ROWS, 2 * COLS)
    latlon = cell_latlon(window)
    for axis, column in ((LATITUDE_AXIS, 0), (LONGITUDE_AXIS, 1)):
        assert np.unique(axis.bracket(latlon[:, column])[0]).size == 1  # one interpolation cell
    covariates = window.values.reshape(len(LSL_BANDS), -1).T
    grid = model.encoder_grid()
    states = model.states_from_grid(grid, covariates, latlon).reshape(2 * ROWS, 2 * COLS, -1)
    first, east = states[:ROWS, :COLS], states[:ROWS, COLS:]
    # the same covariates at the corners of the location cell: the most the location can move a vector there
    lat0, lon0 = (LATITUDE_AXIS.value(LATITUDE_AXIS.bracket(latlon[:1, 0])[0]),
                  LONGITUDE_AXIS.value(LONGITUDE_AXIS.bracket(latlon[:1, 1])[0]))
    cells = covariates.reshape(2 * ROWS, 2 * COLS, -1)[:ROWS, :COLS].reshape(-1, len(LSL_BANDS))
    corners = [model.states_from_grid(grid, cells, np.tile([lat0[0] + a * LATITUDE_AXIS.spacing,
                                                            lon0[0] + b * LONGITUDE_AXIS.spacing], (len(cells), 1)))
               for a in (0, 1) for b in (0, 1)]
    spread = np.max([np.linalg.norm(c - d, axis=1) for c in corners for d in corners], axis=0)  # per cell
    moved = np.linalg.norm((east - first).reshape(-1, states.shape[-1]), axis=1)
    ll = latlon.reshape(2 * ROWS, 2 * COLS, 2)
    fractions = (np.abs(ll[:ROWS, COLS:] - ll[:ROWS, :COLS]) / LATITUDE_AXIS.spacing).sum(axis=-1).ravel()
    # bilinear weights move by at most 2 x (the fractions moved) in all: the bound of the interpolation
    assert np.all(moved <= 2 * fractions * spread + 1e-6) and moved.max() > 0 and fractions.max() < 0.3
    # the written map: each copy as its vectors imply, and a mean that does not move with the extent
    mosaic = maps["mosaic"]
    implied = model.probability(covariates, states.reshape(-1, states.shape[-1])).reshape(mosaic.shape)
    assert np.abs(mosaic - implied).max() <= 1e-6
    copies = [mosaic[r:r + ROWS, c:c + COLS] for r in (0, ROWS) for c in (0, COLS)]
    assert max(abs(float(c.mean()) - float(maps["small"].mean())) for c in copies) < 0.01
    assert abs(float(mosaic.mean()) - float(maps["small"].mean())) < 0.01


def test_control_the_old_centre_lattice_fails_these_checks(rasters, maps, model) -> None:
    """Computed the old way, the same cells get other probabilities in the mosaic and in the large raster (by
    far more than the 1e-6 the new maps keep), so the checks above would have failed."""
    old = {name: _old_centre_lattice(model, path) for name, path in rasters.items()}
    for name in ("mosaic", "large"):
        difference = np.abs(_inset(name, old[name]) - old["small"])
        assert difference.max() > 1e-3, (name, difference.max())
        assert np.abs(_inset(name, maps[name]) - maps["small"]).max() <= 1e-6
