"""Daily streamflow for any location with forcings: CAMELS basins, user gauges or drawn polygons.

Missing static attributes are imputed by the base model (and reported); the frozen encoder runs only on
the windows the requested period (plus LSTM warm-up) needs, once, and every member of the ensemble runs its
head on those states. The prediction is the members' daily mean; the members' 10th-90th percentile is the
"member spread" (how much members trained with different seeds disagree; not a calibrated interval).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.core.atomic_io import write_text_atomic
from backend.core.metrics import kge, nse
from backend.data.basin_arrays import BasinArrays
from backend.data.catalogue import BasinCatalogue
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import window_grid
from backend.model.imputation import impute_attributes, location_from_values
from backend.model.inputs import make_batch
from backend.model.locations import RawLocation, camels_location_inputs
from backend.tasks.streamflow.model import StreamflowEnsemble, StreamflowModel, as_ensemble, member_spread
from backend.tasks.streamflow.networks import DailyInputs


@dataclass
class StreamflowPrediction:
    """A predicted hydrograph (the members' mean), the members' spread and, where observations exist, its skill.

    ``member_spread_p10``/``member_spread_p90``: the 10th and 90th percentile across the ensemble's members,
    day by day (None: taken as the prediction itself, as for an ensemble of one). ``members``: how many.
    """

    location_id: str
    dates: np.ndarray
    streamflow_pred: np.ndarray
    streamflow_obs: np.ndarray | None
    nse: float | None
    kge: float | None
    imputed: list[str] = field(default_factory=list)
    forcing_source: str = ""
    observation_source: str = ""
    member_spread_p10: np.ndarray | None = None
    member_spread_p90: np.ndarray | None = None
    members: int = 1

    def to_csv(self) -> str:
        """CSV text: ``date, streamflow_pred, member_spread_p10, member_spread_p90`` (mm/day), ``streamflow_obs``.

        ``streamflow_obs`` only when observed.
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        has_obs = self.streamflow_obs is not None
        low = self.streamflow_pred if self.member_spread_p10 is None else self.member_spread_p10
        high = self.streamflow_pred if self.member_spread_p90 is None else self.member_spread_p90
        writer.writerow(["date", "streamflow_pred", "member_spread_p10", "member_spread_p90"]
                        + (["streamflow_obs"] if has_obs else []))
        for k, day in enumerate(self.dates):
            row = [str(day), f"{self.streamflow_pred[k]:.4f}", f"{low[k]:.4f}", f"{high[k]:.4f}"]
            if has_obs:
                obs = self.streamflow_obs[k]
                row.append("" if np.isnan(obs) else f"{obs:.4f}")
            writer.writerow(row)
        return buffer.getvalue()


@torch.no_grad()
def predict_location(base: BaseModel, model: StreamflowModel | StreamflowEnsemble, location: RawLocation,
                     start: str, end: str, warmup_days: int,
                     observed: np.ndarray | None = None) -> StreamflowPrediction:
    """Predict daily flow from ``start`` to ``end`` for a location with forcings (raw physical units).

    The encoder runs once; every member's head runs on its states. NSE/KGE score the members' mean.
    """
    ensemble = as_ensemble(model)
    if location.forcings_raw is None or location.dates is None:
        raise ValueError(f"{location.location_id}: streamflow needs daily forcings; none were given")
    dates = location.dates
    lo = int((np.datetime64(start, "D") - dates[0]).astype(int))
    hi = int((np.datetime64(end, "D") - dates[0]).astype(int)) + 1
    if lo < 0 or hi > len(dates) or lo >= hi:
        raise ValueError(f"{location.location_id}: period {start}..{end} is outside the forcings "
                         f"{dates[0]}..{dates[-1]}")
    filled = impute_attributes(base, location.latlon, location.numeric, location.categorical,
                               location.forcings_raw, dates)
    numeric = {k: float(v) for k, v in filled.values.items() if k in base.normalizer.static_names}
    categorical = {k: str(v) for k, v in filled.values.items() if k in base.normalizer.vocabularies}
    data = location_from_values(base, location.latlon, numeric, categorical, location.forcings_raw, dates)
    first = max(0, lo - warmup_days)
    days = np.arange(first, hi)
    cfg = base.config
    grid = window_grid(len(dates), cfg.patch_days, cfg.window_patches)
    needed = np.unique(grid.day_window[days])
    states = None
    if ensemble.encoder_mode == "frozen_pretrained":
        batch = make_batch(data, np.zeros(len(needed), dtype=np.int64), grid.starts[needed], cfg.patch_days,
                           cfg.window_patches)
        encoded = base.model.encode(batch, Visibility.everything_observed(batch)).time
        lookup = np.zeros(len(grid.starts), dtype=np.int64)
        lookup[needed] = np.arange(len(needed))
        states = encoded[torch.from_numpy(lookup[grid.day_window[days]]),
                         torch.from_numpy(grid.day_patch[days])].unsqueeze(0)
    forcings = torch.from_numpy(data.forcings[0, days])
    statics = torch.from_numpy(data.statics[:1])
    ensemble.eval()
    flows = _run_segments(ensemble, states[0] if states is not None else None, forcings, statics, lo - first,
                          warmup_days).clamp(min=0).numpy()
    flow, low, high = member_spread(flows)
    obs = observed[lo:hi] if observed is not None else None
    has_obs = obs is not None and int((~np.isnan(obs)).sum()) >= 2
    return StreamflowPrediction(
        location.location_id, dates[lo:hi], flow, obs if has_obs else None,
        nse(obs, flow) if has_obs else None, kge(obs, flow) if has_obs else None,
        filled.imputed, "", member_spread_p10=low, member_spread_p90=high, members=len(ensemble))


def _run_segments(model: StreamflowEnsemble, states: torch.Tensor | None, forcings: torch.Tensor,
                  statics: torch.Tensor, first_output: int, warmup_days: int,
                  segment_days: int = 1095) -> torch.Tensor:
    """Run the recurrent head over a long record as a batch of segments, each with its own warm-up.

    Each segment of ``segment_days`` output days starts ``warmup_days`` earlier from a zero state, as
    in training; running the segments side by side turns one long sequential pass into a short batched
    one (a 35-year record: 12 segments of about 3.5 years instead of 12,784 sequential steps).
    Returns every member's flow (M, days), not clipped.
    """
    total = forcings.shape[0]
    starts = list(range(first_output, total, segment_days))
    spans = [(max(0, s - warmup_days), s, min(total, s + segment_days)) for s in starts]
    length = max(hi - lo for lo, _, hi in spans)
    pad = [length - (hi - lo) for lo, _, hi in spans]

    def stack(x: torch.Tensor) -> torch.Tensor:  # left-pad shorter segments by repeating the first day
        return torch.stack([torch.cat([x[lo : lo + 1].expand(p, *x.shape[1:]), x[lo:hi]])
                            for (lo, _, hi), p in zip(spans, pad, strict=True)])

    inputs = DailyInputs(stack(states) if states is not None else None, stack(forcings),
                         statics.expand(len(spans), -1))
    out = model.member_flows(inputs)  # (M, segments, length)
    return torch.cat([out[:, k, p + (mid - lo):] for k, ((lo, mid, _), p) in enumerate(zip(spans, pad, strict=True))],
                     dim=1)


def predict_camels_basin(base: BaseModel, model: StreamflowModel | StreamflowEnsemble, gauge_id: str, start: str,
                         end: str, warmup_days: int, catalogue: BasinCatalogue | None = None) -> StreamflowPrediction:
    """Predict a CAMELS basin from its Daymet forcings and attributes; observed flow added when it exists."""
    from backend.data.basin_arrays import load_basin_arrays

    catalogue = catalogue or BasinCatalogue.shared()
    location = camels_location_inputs(gauge_id, catalogue=catalogue)
    if location.forcings_raw is None:
        raise ValueError(f"basin {gauge_id} has attributes but no Daymet forcings")
    arrays = load_basin_arrays(catalogue)
    flow = arrays.streamflow_mm_per_day[arrays.index(gauge_id)]
    observed, source = (flow, "Caravan") if not np.isnan(flow).all() else _usgs_flow(catalogue, gauge_id, arrays)
    result = predict_location(base, model, location, start, end, warmup_days, observed)
    result.forcing_source = f"Daymet basin mean of {gauge_id} (CAMELS)"
    result.observation_source = source if result.streamflow_obs is not None else ""
    return result


def _usgs_flow(catalogue: BasinCatalogue, gauge_id: str, arrays: BasinArrays) -> tuple[np.ndarray | None, str]:
    """Observed flow from a CAMELS-format USGS file when Caravan has none (converted with area_gages2)."""
    from backend.data.camels import basin_area_km2
    from backend.data.usgs import read_usgs_streamflow

    path = catalogue.usgs_files.get(gauge_id)
    if path is None:
        return None, ""
    series = read_usgs_streamflow(path, basin_area_km2(catalogue.attributes, gauge_id))
    aligned = np.full(len(arrays.dates), np.nan, dtype=np.float32)
    offset = int((series.dates[0] - arrays.dates[0]).astype(int))
    lo, hi = max(offset, 0), min(offset + len(series.dates), len(arrays.dates))
    aligned[lo:hi] = series.values["streamflow"][lo - offset : hi - offset]
    return aligned, "USGS (CAMELS format)"


def write_prediction_csv(result: StreamflowPrediction, out: Path, overwrite: bool = False) -> Path:
    """Write the prediction CSV atomically (an existing file is replaced only with ``overwrite``)."""
    return write_text_atomic(Path(out), result.to_csv(), overwrite=overwrite)
