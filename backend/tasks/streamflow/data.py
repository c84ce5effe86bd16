"""Streamflow training/evaluation data: normalised daily inputs, observed flow and frozen-encoder states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.data.basin_arrays import BasinArrays
from backend.data.camels import AttributeTable
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import WindowGrid, window_grid
from backend.model.inputs import LocationData, camels_location_data


@dataclass
class StreamflowData:
    """Daily records of L basins on a common calendar.

    Attributes:
        locations: normalised forcings/statics of each basin (``LocationData``).
        streamflow_mm_per_day: (L, T) observed flow, NaN where missing or unknown.
        grid: encoder window grid of the calendar.
        states: (L, W, N, d) frozen encoder token states, or None when no model needs them.
    """

    locations: LocationData
    streamflow_mm_per_day: np.ndarray
    grid: WindowGrid
    states: np.ndarray | None = None

    @property
    def ids(self) -> list[str]:
        """Gauge ids of the basins, in row order."""
        return self.locations.ids

    @property
    def dates(self) -> np.ndarray:
        """(T,) calendar days of the record."""
        return self.locations.dates

    def day_index(self, date: str) -> int:
        """Index of a calendar day (raises if outside the record)."""
        i = int((np.datetime64(date, "D") - self.dates[0]).astype(int))
        if not 0 <= i < len(self.dates):
            raise ValueError(f"{date} outside the record {self.dates[0]}..{self.dates[-1]}")
        return i

    def rows(self, gauge_ids: Sequence[str]) -> np.ndarray:
        """Row index of each gauge id (KeyError for an unknown id)."""
        position = {g: i for i, g in enumerate(self.ids)}
        return np.array([position[g] for g in gauge_ids], dtype=np.int64)


def camels_streamflow_data(base: BaseModel, attributes: AttributeTable, arrays: BasinArrays,
                           gauge_ids: Sequence[str]) -> StreamflowData:
    """Streamflow data of CAMELS basins, normalised with the base model's statistics (no states yet)."""
    locations = camels_location_data(base.normalizer, attributes, arrays, gauge_ids)
    flow = arrays.streamflow_mm_per_day[[arrays.index(g) for g in gauge_ids]]
    grid = window_grid(len(arrays.dates), base.config.patch_days, base.config.window_patches)
    return StreamflowData(locations, flow, grid)


def basin_flow_scale(flow: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Per-basin standard deviation of observed flow in days ``lo:hi`` (NaN if fewer than 30 values)."""
    part = flow[:, lo:hi]
    counts = (~np.isnan(part)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        std = np.nanstd(part, axis=1)
    return np.where(counts >= 30, std, np.nan)
