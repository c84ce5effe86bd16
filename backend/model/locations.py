"""Raw inputs of one location from the CAMELS data (attributes, forcings), optionally with groups hidden."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.variables import STATIC_BY_NAME, STATIC_GROUPS, Kind, input_static_names
from backend.model.checkpoint import BaseModel


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


def split_attributes(base: BaseModel, attributes: Mapping[str, Any], *, empty_text_missing: bool = False,
                     aliases: Mapping[str, str] | None = None, refused_groups: Mapping[str, str] | None = None,
                     name_unknown_categories: bool = False) -> tuple[dict[str, float], dict[str, str], list[str]]:
    """Attributes a user gives -> numeric inputs, categorical inputs, and ignored names (with the reason).

    None and NaN values are skipped (and ``""`` with ``empty_text_missing``); ``aliases`` renames a given
    name first. An attribute of a group in ``refused_groups`` is ignored with that group's reason. The base
    model's static names are numeric inputs, known categories of its categorical attributes categorical
    ones; an unknown category is ignored as such with ``name_unknown_categories``, and anything else is
    ignored as not a model attribute.
    """
    norm = base.normalizer
    numeric: dict[str, float] = {}
    categorical: dict[str, str] = {}
    ignored: list[str] = []
    for name, value in attributes.items():
        if value is None or (empty_text_missing and value == "") or (isinstance(value, float) and np.isnan(value)):
            continue
        name = (aliases or {}).get(name, name)
        var = STATIC_BY_NAME.get(name)
        if var is not None and refused_groups and var.group in refused_groups:
            ignored.append(f"{name} ({refused_groups[var.group]})")
        elif name in norm.static_names:
            numeric[name] = float(value)
        elif name in norm.vocabularies and str(value) in norm.vocabularies[name]:
            categorical[name] = str(value)
        elif name_unknown_categories and name in norm.vocabularies:
            ignored.append(f"{name} (unknown category {value!r})")
        else:
            ignored.append(f"{name} (not a model attribute)")
    return numeric, categorical, ignored
