"""What the data root holds, read from the files themselves (for ``data summary`` and the worker)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.core.errors import StefaLandError
from backend.data.catalogue import BasinCatalogue
from backend.data.daymet import read_daymet
from backend.data.usgs import read_usgs_streamflow


def _span(dates: np.ndarray) -> str:
    return f"{dates[0]}..{dates[-1]}"


def data_summary(root: Path | None = None) -> list[str]:
    """Lines describing the data under ``root``: basins per source, date ranges, stations, points."""
    cat = BasinCatalogue.open(root)
    lines = [f"data root: {cat.root}"]
    attrs = cat.attributes
    lines.append(f"CAMELS attributes: {len(attrs.gauge_ids)} basins "
                 f"({len(attrs.numeric) + len(attrs.categorical)} columns)")
    hydro = attrs.numeric.get("q_mean")
    if hydro is not None:
        lines.append(f"  hydrologic signatures (targets only, never inputs): {int((~np.isnan(hydro)).sum())} basins")
    first = next(iter(cat.daymet_files.values()))
    daymet = read_daymet(first)
    lines.append(f"Daymet forcings: {len(cat.daymet_files)} basins "
                 f"({len(cat.with_forcings_and_attributes)} also with attributes), "
                 f"{_span(daymet.dates)} ({len(daymet.dates)} days, from {first.name})")
    from backend.data.caravan import read_caravan_csv
    caravan = cat.caravan_files
    if caravan:
        sample = read_caravan_csv(next(iter(caravan.values())), ("streamflow",))
        lines.append(f"Caravan streamflow: {len(caravan)} basins, {_span(sample.dates)} "
                     f"({len(cat.with_streamflow)} usable with forcings and attributes)")
    usgs = cat.usgs_files
    if usgs:
        gid, path = next(iter(usgs.items()))
        series = read_usgs_streamflow(path, float(attrs.numeric["area_gages2"][attrs.index(gid)]))
        lines.append(f"USGS streamflow (CAMELS format): {len(usgs)} basins, {_span(series.dates)}")
    lines.extend(_optional_summaries(cat.root))
    return lines


def _optional_summaries(root: Path) -> list[str]:
    """Summaries of the ISMN and landslide data (each reader reports its own lines)."""
    out: list[str] = []
    for name, func in _EXTRA_SUMMARIES.items():
        try:
            out.extend(func(root))
        except (FileNotFoundError, ImportError, StefaLandError) as exc:
            out.append(f"{name}: not available ({exc})")
    return out


def _ismn_summary(root: Path) -> list[str]:
    from backend.data.ismn_stations import summarize_ismn
    return summarize_ismn(root / "ismn")


def _landslide_summary(root: Path) -> list[str]:
    from backend.data.landslides import summarize_landslides
    return summarize_landslides(root / "landslides")


_EXTRA_SUMMARIES = {"ISMN soil moisture": _ismn_summary, "landslides": _landslide_summary}
