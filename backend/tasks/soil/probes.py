"""Soil moisture probes: the ISMN stations usable with the Daymet forcings, user probe CSVs, nearest basin.

A probe is a point with a daily volumetric soil moisture series (m³/m³). Forcings and statics come from
the nearest CAMELS basin, where "basin location" is its gauge (``gauge_lat``/``gauge_lon`` of
``camels_topo.txt``), not the basin centroid (no polygons for most basins).

User format (the same layout as the gauge files of the streamflow fine-tune): a sites CSV
``id,lat,lon`` (``gauge_id`` or ``probe_id`` accepted for ``id``) and a values CSV
``id,date,soil_moisture`` with ISO dates and volumetric soil moisture in m³/m³.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.core.errors import DataFormatError
from backend.data.camels import AttributeTable
from backend.data.ismn import ismn_dir
from backend.data.ismn_stations import find_ismn_stations, top_layer_soil_moisture
from backend.data.nearest_basin import nearest_basin
from backend.data.tabular import parse_float, read_delimited

#: Daymet (and so every CAMELS forcing series) covers these days only.
DAYMET_PERIOD: tuple[str, str] = ("1980-01-01", "2014-12-31")
#: A probe farther than this from every CAMELS gauge is outside the region the forcings describe.
MAX_BASIN_KM = 300.0
ID_COLUMNS: tuple[str, ...] = ("id", "probe_id", "gauge_id")


@dataclass
class Probe:
    """One probe's daily soil moisture (m³/m³, NaN = missing) on consecutive days."""

    probe_id: str
    lat: float
    lon: float
    dates: np.ndarray
    values: np.ndarray
    meta: dict[str, str | float] = field(default_factory=dict)

    @property
    def valid_days(self) -> int:
        """Number of days with a measured (finite) value."""
        return int(np.isfinite(self.values).sum())


def within_daymet(probe: Probe) -> Probe:
    """The probe's days inside the Daymet period."""
    lo, hi = (np.datetime64(d, "D") for d in DAYMET_PERIOD)
    keep = (probe.dates >= lo) & (probe.dates <= hi)
    return Probe(probe.probe_id, probe.lat, probe.lon, probe.dates[keep], probe.values[keep], dict(probe.meta))


def ismn_probes(attributes: AttributeTable, candidates: list[str], folder: Path | None = None,
                max_km: float = MAX_BASIN_KM) -> tuple[list[Probe], list[str]]:
    """ISMN stations usable here (top layer, daily, inside the Daymet period, near a CAMELS gauge).

    Returns the usable probes (sorted by id) and one line per station left out, saying why.
    """
    usable: list[Probe] = []
    skipped: list[str] = []
    for station in find_ismn_stations(folder or ismn_dir()):
        daily = top_layer_soil_moisture(station)
        values = daily.values["soil_moisture"]
        probe = Probe(station.location_id, station.latitude, station.longitude, daily.dates, values,
                      {"depth_from_m": daily.meta["depth_from_m"], "depth_to_m": daily.meta["depth_to_m"],
                       "sensor": daily.meta["sensor"]})
        inside = within_daymet(probe)
        near = nearest_basin(probe.lat, probe.lon, attributes, candidates)
        span = f"{daily.dates[0]}..{daily.dates[-1]}" if len(daily.dates) else "no data"
        if inside.valid_days == 0:
            skipped.append(f"{probe.probe_id}: data {span} is outside the Daymet period "
                           f"{DAYMET_PERIOD[0][:4]}-{DAYMET_PERIOD[1][:4]}")
        elif near.distance_km > max_km:
            skipped.append(f"{probe.probe_id}: nearest CAMELS gauge {near.gauge_id} is {near.distance_km:.0f} km "
                           f"away (> {max_km:.0f} km; outside the CAMELS-US/Daymet domain)")
        else:
            usable.append(inside)
    return sorted(usable, key=lambda p: p.probe_id), skipped


def _id_column(header: list[str], path: Path) -> str:
    for name in ID_COLUMNS:
        if name in header:
            return name
    raise DataFormatError(path, f"no id column (one of {', '.join(ID_COLUMNS)}); found {', '.join(header)}",
                          line=1)


def read_probe_csvs(sites_csv: Path, values_csv: Path) -> list[Probe]:
    """Probes from the user format (sites ``id,lat,lon``; values ``id,date,soil_moisture`` in m³/m³)."""
    sites_csv, values_csv = Path(sites_csv), Path(values_csv)
    header, rows = read_delimited(sites_csv, ",", required=("lat", "lon"))
    id_col = _id_column(header, sites_csv)
    sites: dict[str, tuple[float, float]] = {}
    for row in rows:
        lat = parse_float(row.cells["lat"], sites_csv, row.line, "lat", allow_missing=False)
        lon = parse_float(row.cells["lon"], sites_csv, row.line, "lon", allow_missing=False)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise DataFormatError(sites_csv, f"lat/lon {lat}, {lon} out of range", row.line)
        sites[row.cells[id_col]] = (lat, lon)
    header, rows = read_delimited(values_csv, ",", required=("date", "soil_moisture"))
    id_col = _id_column(header, values_csv)
    records: dict[str, dict[np.datetime64, float]] = {}
    for row in rows:
        pid = row.cells[id_col]
        if pid not in sites:
            raise DataFormatError(values_csv, f"probe {pid!r} is not in {sites_csv.name}", row.line, id_col)
        try:
            day = np.datetime64(row.cells["date"], "D")
        except ValueError:
            raise DataFormatError(values_csv, f"not a date: {row.cells['date']!r}", row.line, "date") from None
        value = parse_float(row.cells["soil_moisture"], values_csv, row.line, "soil_moisture")
        if np.isfinite(value) and not 0.0 <= value <= 1.0:
            raise DataFormatError(values_csv, f"{value} is not a volumetric soil moisture in m³/m³ (0-1); "
                                  "convert percent to m³/m³", row.line, "soil_moisture")
        records.setdefault(pid, {})[day] = value
    probes = []
    for pid, (lat, lon) in sites.items():
        days = records.get(pid)
        if not days:
            continue
        first, last = min(days), max(days)
        dates = np.arange(first, last + 1)
        values = np.full(len(dates), np.nan, np.float32)
        for day, value in days.items():
            values[int((day - first).astype(int))] = value
        probes.append(Probe(pid, lat, lon, dates, values, {"source": str(values_csv)}))
    if not probes:
        raise DataFormatError(values_csv, "no soil moisture values for any probe of the sites file")
    return sorted(probes, key=lambda p: p.probe_id)
