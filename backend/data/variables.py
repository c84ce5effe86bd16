"""The variable vocabulary: which attributes and forcings exist, their groups, roles and transforms.

Hydrologic signatures (``camels_hydro.txt``) are computed from observed streamflow. They are marked
as ``target`` and :func:`input_static_names` can never return them: using them as inputs leaks the
target into the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a variable may be used for."""

    INPUT = "input"          # a model input
    LOCATION = "location"    # latitude/longitude: enters through the location token
    TARGET = "target"        # streamflow-derived: targets/diagnostics only, never an input
    METADATA = "metadata"    # names, regions


class Kind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class StaticVariable:
    """A static attribute: its CAMELS file group, role, kind and the transform before z-scoring."""

    name: str
    group: str
    role: Role = Role.INPUT
    kind: Kind = Kind.NUMERIC
    log: bool = False  # z-score log10(x + 1e-3) instead of x (heavy-tailed quantities)
    unit: str = ""


def _numeric(group: str, *names: str, log: tuple[str, ...] = ()) -> list[StaticVariable]:
    return [StaticVariable(n, group, log=n in log) for n in names]


def _categorical(group: str, *names: str) -> list[StaticVariable]:
    return [StaticVariable(n, group, kind=Kind.CATEGORICAL) for n in names]


STATIC_GROUPS: tuple[str, ...] = ("clim", "topo", "soil", "geol", "vege")

STATIC_VARIABLES: tuple[StaticVariable, ...] = tuple(
    _numeric("clim", "p_mean", "pet_mean", "p_seasonality", "frac_snow", "aridity", "high_prec_freq",
             "high_prec_dur", "low_prec_freq", "low_prec_dur", log=("aridity",))
    + _categorical("clim", "high_prec_timing", "low_prec_timing")
    + _numeric("topo", "elev_mean", "slope_mean", "area_gages2", log=("area_gages2",))
    + [StaticVariable("gauge_lat", "topo", Role.LOCATION, unit="degrees_north"),
       StaticVariable("gauge_lon", "topo", Role.LOCATION, unit="degrees_east"),
       StaticVariable("area_geospa_fabric", "topo", Role.METADATA, unit="km2")]
    + _numeric("soil", "soil_depth_pelletier", "soil_depth_statsgo", "soil_porosity", "soil_conductivity",
               "max_water_content", "sand_frac", "silt_frac", "clay_frac", "water_frac", "organic_frac",
               "other_frac", log=("soil_depth_pelletier",))
    + _numeric("geol", "glim_1st_class_frac", "glim_2nd_class_frac", "carbonate_rocks_frac",
               "geol_porostiy", "geol_permeability")
    + _categorical("geol", "geol_1st_class", "geol_2nd_class")
    + _numeric("vege", "frac_forest", "lai_max", "lai_diff", "gvf_max", "gvf_diff", "dom_land_cover_frac",
               "root_depth_50", "root_depth_99")
    + _categorical("vege", "dom_land_cover")
    + [StaticVariable(n, "hydro", Role.TARGET) for n in (
        "q_mean", "runoff_ratio", "slope_fdc", "baseflow_index", "stream_elas", "q5", "q95",
        "high_q_freq", "high_q_dur", "low_q_freq", "low_q_dur", "zero_q_freq", "hfd_mean")]
    + [StaticVariable("huc_02", "name", Role.METADATA, Kind.CATEGORICAL),
       StaticVariable("gauge_name", "name", Role.METADATA, Kind.CATEGORICAL)]
)

STATIC_BY_NAME: dict[str, StaticVariable] = {v.name: v for v in STATIC_VARIABLES}

#: Daymet forcings used as model inputs (``swe`` is a modelled state and is left out), with units.
FORCING_VARIABLES: dict[str, str] = {
    "prcp": "mm/day", "srad": "W/m2", "tmax": "degC", "tmin": "degC", "vp": "Pa", "dayl": "s",
}


def input_static_names(kind: Kind | None = None, group: str | None = None) -> list[str]:
    """Names of static attributes usable as model inputs, optionally of one kind and group.

    Never includes streamflow-derived signatures (role ``target``) nor location or metadata.
    """
    names = [v.name for v in STATIC_VARIABLES
             if v.role is Role.INPUT and (kind is None or v.kind is kind)
             and (group is None or v.group == group)]
    leaked = [n for n in names if STATIC_BY_NAME[n].group == "hydro"]
    if leaked:  # the table above is wrong: signatures are computed from the flow the models predict
        raise RuntimeError(f"variable table: streamflow signature(s) {', '.join(leaked)} have role input; "
                           "hydro attributes must have role target")
    return names


def target_names() -> list[str]:
    """Streamflow-derived signatures: targets and diagnostics only."""
    return [v.name for v in STATIC_VARIABLES if v.role is Role.TARGET]
