"""Worker method ``soil_moisture``: daily soil moisture (m³/m³) at points with the bundled adapter.

Each point borrows the Daymet forcings and statics of its nearest CAMELS basin (the answer says which and
how far); its own latitude/longitude feed the location token. Only 1980-01-01..2014-12-31 (Daymet) can
be predicted. The GRU is run from up to a year before ``start`` so the first days have a warmed-up state.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.atomic_io import atomic_path
from backend.core.paths import MODELS_DIR
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.model.loading import get_base_model
from backend.service.requests import SoilMoistureParams, optional_path
from backend.tasks.soil.moisture import WARMUP_DAYS, load_model, point_inputs, predict_series
from backend.tasks.soil.probes import DAYMET_PERIOD

ADAPTER_PATH = MODELS_DIR / "soil_moisture_adapter.pt"
FAR_KM = 150.0


def check_period(start: str, end: str) -> tuple[np.datetime64, np.datetime64]:
    """Parse and check ``start..end`` against the Daymet period (clear errors)."""
    try:
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
    except ValueError:
        raise ValueError(f"dates must be YYYY-MM-DD, got {start!r}, {end!r}") from None
    first, last = (np.datetime64(d, "D") for d in DAYMET_PERIOD)
    if hi < lo:
        raise ValueError(f"end {end} is before start {start}")
    if lo < first or hi > last:
        raise ValueError(f"period {start}..{end} is outside the Daymet forcings ({DAYMET_PERIOD[0]}.."
                         f"{DAYMET_PERIOD[1]}); choose dates inside it")
    return lo, hi


def soil_moisture_request(params: SoilMoistureParams, report: Callable[[float, str], None]) -> dict[str, Any]:
    """Worker method ``soil_moisture``: points [{id, lat, lon}] -> one CSV ``out_csv`` (id,date,soil_moisture)."""
    points = list(params.points)
    if not points:
        raise ValueError("no points given")
    if not params.out_csv:
        raise ValueError("out_csv is required")
    lo, hi = check_period(params.start, params.end)
    base = get_base_model(optional_path(params.model))
    adapter = Path(params.adapter or ADAPTER_PATH)
    model, meta = load_model(adapter, base)
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    warm_start = max(lo - np.timedelta64(WARMUP_DAYS, "D"), arrays.dates[0])
    series: list[tuple[str, np.ndarray, np.ndarray]] = []
    answers = []
    for i, point in enumerate(points):
        report(0.9 * i / len(points), f"soil moisture {i + 1}/{len(points)}")
        lat, lon = float(point["lat"]), float(point["lon"])
        pid = str(point.get("id", i))
        inputs = point_inputs(base, pid, lat, lon, catalogue.attributes, arrays, warm_start, hi)
        keep = inputs.dates >= lo
        values = predict_series(model, inputs)[keep]
        series.append((pid, inputs.dates[keep], values))
        answer = {"id": pid, "forcing_basin": inputs.basin.gauge_id,
                  "forcing_basin_km": round(inputs.basin.distance_km, 1), "days": int(keep.sum()),
                  "mean": round(float(values.mean()), 4)}
        if inputs.basin.distance_km > FAR_KM:
            answer["warning"] = (f"nearest CAMELS basin is {inputs.basin.distance_km:.0f} km away: its forcings "
                                 "may not describe this point")
        answers.append(answer)
    out = Path(params.out_csv)
    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "date", "soil_moisture"])
        for pid, dates, values in series:
            writer.writerows([pid, str(d), f"{v:.4f}"] for d, v in zip(dates, values, strict=True))
    report(1.0, "done")
    return {"csv": str(out), "unit": "m3/m3", "points": answers, "adapter": str(adapter),
            "trained_on": meta.get("stations", [])}
