"""An example user dataset in the user format, written from real CAMELS basins (``make example-gauges``).

Ten basins with Caravan streamflow are drawn with a fixed seed among those observed on at least 95% of the
days of the CAMELS test period (water years 1990-1999, which the bundled streamflow adapter is not trained
on). Streamflow is converted from mm/day into m3/s, ft3/s and mm/day (rotating per gauge, with the CAMELS
``area_gages2``) so that reading it exercises every unit; forcings are the CAMELS Daymet basin means as
``<id>.csv``; a few attributes are given per gauge, the others are left empty for the model to impute.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from backend.core.atomic_io import write_text_atomic
from backend.data.caravan import read_caravan_csv
from backend.data.catalogue import BasinCatalogue
from backend.data.daymet import read_daymet
from backend.data.splits import TEST_PERIOD
from backend.data.units import to_mm_per_day
from backend.data.user_forcings import FORCING_COLUMNS
from backend.data.variables import FORCING_VARIABLES

EXAMPLE_SEED = 7
FLOW_PERIOD: tuple[str, str] = TEST_PERIOD
#: one year before the flow so the first observed days have a full LSTM warm-up
FORCING_START = "1988-10-01"
UNITS: tuple[str, ...] = ("m3/s", "ft3/s", "mm/day")
MIN_OBSERVED_SHARE = 0.95
#: attribute columns of gauges.csv and which gauges (index modulo the key) give them
GIVEN_ATTRIBUTES: dict[str, int] = {"elev_mean": 1, "frac_forest": 2, "dom_land_cover": 2, "slope_mean": 3,
                                    "sand_frac": 3, "clay_frac": 3, "p_mean": 5}


def choose_example_basins(catalogue: BasinCatalogue, n: int, seed: int = EXAMPLE_SEED,
                          period: tuple[str, str] = FLOW_PERIOD) -> list[str]:
    """``n`` basins with streamflow on >= 95% of the days of ``period``, in a seeded random order."""
    candidates = catalogue.with_streamflow
    order = np.random.default_rng(seed).permutation(len(candidates))
    lo, hi = (np.datetime64(d, "D") for d in period)
    chosen: list[str] = []
    for i in order:
        gauge_id = candidates[int(i)]
        series = read_caravan_csv(catalogue.caravan_files[gauge_id], ("streamflow",)).slice(period[0], period[1])
        days = int((hi - lo).astype(int)) + 1
        if np.isfinite(series.values["streamflow"]).sum() >= MIN_OBSERVED_SHARE * days:
            chosen.append(gauge_id)
        if len(chosen) == n:
            return sorted(chosen)
    raise ValueError(f"only {len(chosen)} basins have streamflow on {MIN_OBSERVED_SHARE:.0%} of {period}")


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def write_example_gauges(out_dir: Path, n: int = 10, catalogue: BasinCatalogue | None = None,
                         flow_period: tuple[str, str] = FLOW_PERIOD, forcing_start: str = FORCING_START,
                         overwrite: bool = False) -> dict[str, object]:
    """Write ``gauges.csv``, ``streamflow.csv`` and ``forcings/<id>.csv`` under ``out_dir`` (each atomically).

    Returns a summary: the basins, the unit of each, the attributes given and the files written.
    """
    catalogue = catalogue or BasinCatalogue.open()
    out_dir = Path(out_dir)
    if not overwrite and (out_dir / "gauges.csv").exists():
        raise FileExistsError(f"{out_dir / 'gauges.csv'}: exists; refusing to overwrite it (use --overwrite)")
    basins = choose_example_basins(catalogue, n, period=flow_period)
    table = catalogue.attributes
    columns = list(GIVEN_ATTRIBUTES)
    gauge_rows = [["id", "latitude", "longitude", "area_km2", *columns]]
    flow_rows = [["date", "id", "value", "unit"]]
    units: dict[str, str] = {}
    written: list[Path] = []
    for k, gauge_id in enumerate(basins):
        row = table.row(gauge_id)
        area = float(row["area_gages2"])
        cells = [gauge_id, f"{row['gauge_lat']:.5f}", f"{row['gauge_lon']:.5f}", f"{area:.2f}"]
        cells += [_format_attribute(row[name]) if k % every == 0 else "" for name, every in GIVEN_ATTRIBUTES.items()]
        gauge_rows.append(cells)
        unit = units[gauge_id] = UNITS[k % len(UNITS)]
        per_unit = float(to_mm_per_day(1.0, unit, area))  # mm/day of one `unit`
        flow = read_caravan_csv(catalogue.caravan_files[gauge_id], ("streamflow",)).slice(*flow_period)
        for day, value in zip(flow.dates, flow.values["streamflow"], strict=True):
            if np.isfinite(value):
                flow_rows.append([str(day), gauge_id, f"{value / per_unit:.6g}", unit])
        forcings = read_daymet(catalogue.daymet_files[gauge_id]).slice(forcing_start, flow_period[1])
        forcing_rows = [list(FORCING_COLUMNS)]
        for t, day in enumerate(forcings.dates):
            forcing_rows.append([str(day)] + [f"{forcings.values[v][t]:.6g}" for v in FORCING_VARIABLES])
        written.append(write_text_atomic(out_dir / "forcings" / f"{gauge_id}.csv", _csv_text(forcing_rows)))
    written.append(write_text_atomic(out_dir / "streamflow.csv", _csv_text(flow_rows)))
    written.append(write_text_atomic(out_dir / "gauges.csv", _csv_text(gauge_rows)))
    return {"basins": basins, "units": units, "given_attributes": {name: [b for k, b in enumerate(basins)
                                                                          if k % every == 0]
                                                                   for name, every in GIVEN_ATTRIBUTES.items()},
            "flow_period": list(flow_period), "forcing_period": [forcing_start, flow_period[1]],
            "files": [str(p) for p in written]}


def _format_attribute(value: float | str | None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)
