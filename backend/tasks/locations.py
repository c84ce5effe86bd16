"""Raw inputs of one location from the CAMELS data (attributes, forcings), optionally with groups hidden."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.variables import STATIC_BY_NAME, STATIC_GROUPS, Kind, input_static_names


@dataclass
class RawLocation:
    """Physical-unit inputs of one location."""

    location_id: str
    latlon: tuple[float, float]
    numeric: dict[str, float]
    categorical: dict[str, str]
    forcings_raw: np.ndarray | None
    dates: np.ndarray | None


def camels_location_inputs(gauge_id: str, hide_groups: Sequence[str] = (),
                           catalogue: BasinCatalogue | None = None) -> RawLocation:
    """A CAMELS basin's attributes and Daymet forcings; ``hide_groups`` drops whole static groups."""
    unknown = [g for g in hide_groups if g not in STATIC_GROUPS]
    if unknown:
        raise ValueError(f"unknown static group(s) {unknown}; groups are {list(STATIC_GROUPS)}")
    catalogue = catalogue or BasinCatalogue.shared()
    table = catalogue.attributes
    i = table.index(gauge_id)
    numeric = {n: float(table.numeric[n][i]) for n in input_static_names(Kind.NUMERIC)
               if STATIC_BY_NAME[n].group not in hide_groups and not np.isnan(table.numeric[n][i])}
    categorical = {n: table.categorical[n][i] for n in input_static_names(Kind.CATEGORICAL)
                   if STATIC_BY_NAME[n].group not in hide_groups and table.categorical[n][i] is not None}
    arrays = load_basin_arrays(catalogue)
    forcings = arrays.forcings[arrays.index(gauge_id)] if gauge_id in arrays.gauge_ids else None
    return RawLocation(gauge_id, (float(table.numeric["gauge_lat"][i]), float(table.numeric["gauge_lon"][i])),
                       numeric, categorical, forcings, arrays.dates if forcings is not None else None)
