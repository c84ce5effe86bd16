"""The catalogue: which basins have attributes, Daymet forcings and observed streamflow."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from backend.core.paths import data_root
from backend.data.camels import AttributeTable, load_attributes
from backend.data.caravan import index_caravan_files
from backend.data.daymet import index_daymet_files
from backend.data.usgs import index_usgs_files

_SHARED: dict[Path, BasinCatalogue] = {}


@dataclass
class BasinCatalogue:
    """Per-basin availability of every data source under one data root."""

    root: Path

    @classmethod
    def open(cls, root: Path | None = None) -> BasinCatalogue:
        """Catalogue of the data root (``$STEFALAND_DATA`` or ``<project>/data``)."""
        return cls(root or data_root())

    @classmethod
    def shared(cls, root: Path | None = None) -> BasinCatalogue:
        """One catalogue per data root for the life of the process (services answering many requests)."""
        resolved = (root or data_root()).resolve()
        if resolved not in _SHARED:
            _SHARED[resolved] = cls(resolved)
        return _SHARED[resolved]

    @cached_property
    def attributes(self) -> AttributeTable:
        return load_attributes(self.root)

    @cached_property
    def daymet_files(self) -> dict[str, Path]:
        return index_daymet_files(self.root)

    @cached_property
    def caravan_files(self) -> dict[str, Path]:
        return index_caravan_files(self.root)

    @cached_property
    def usgs_files(self) -> dict[str, Path]:
        return index_usgs_files(self.root)

    @property
    def with_attributes(self) -> list[str]:
        return list(self.attributes.gauge_ids)

    @property
    def with_forcings_and_attributes(self) -> list[str]:
        """Basins a model can run on: Daymet forcings and CAMELS attributes."""
        have = set(self.attributes.gauge_ids)
        return sorted(g for g in self.daymet_files if g in have)

    @property
    def with_streamflow(self) -> list[str]:
        """Basins usable for streamflow training/evaluation: forcings, attributes and Caravan streamflow."""
        usable = set(self.with_forcings_and_attributes)
        return sorted(g for g in self.caravan_files if g in usable)

    def huc_02(self, gauge_id: str) -> str:
        """The HUC-02 region of a basin (two-digit string)."""
        return str(self.attributes.categorical["huc_02"][self.attributes.index(gauge_id)])
