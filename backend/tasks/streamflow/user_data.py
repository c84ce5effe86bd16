"""User gauges as model inputs: attribute imputation, a common calendar, the time split, and predictions.

Fine-tuning validates in time, not across gauges (a user has few): for every gauge, the last
``validation_fraction`` (default 20%) of the span between its first and last observed day (inside its
forcings) is the validation part; the earlier days are trained on. Forcings before the validation part may
warm up the LSTM there (inputs only, never observed flow).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.data.user_gauges import UserDataset, UserGauge
from backend.model.checkpoint import BaseModel
from backend.model.encoder_states import window_grid
from backend.model.imputation import impute_attributes, location_from_values
from backend.model.inputs import LocationData
from backend.model.locations import RawLocation
from backend.tasks.streamflow.data import StreamflowData
from backend.tasks.streamflow.model import StreamflowEnsemble, StreamflowModel
from backend.tasks.streamflow.predict import StreamflowPrediction, predict_location

#: fewest observed days a gauge's validation part needs for an NSE
MIN_VALIDATION_DAYS = 30


@dataclass
class GaugeSplit:
    """Day indices (on the common calendar) of one gauge's training, validation and forcing spans.

    Training is ``[train_lo, train_hi)``, validation ``[val_lo, val_hi)``, and ``[forcing_lo, forcing_hi)`` the
    days that have forcings.
    """

    train_lo: int
    train_hi: int
    val_lo: int
    val_hi: int
    forcing_lo: int
    forcing_hi: int


@dataclass
class PreparedGauges:
    """The gauges a fine-tune uses, on one calendar, with what was imputed and what was left out (and why)."""

    data: StreamflowData
    splits: dict[str, GaugeSplit]
    imputed: dict[str, list[str]] = field(default_factory=dict)
    given: dict[str, list[str]] = field(default_factory=dict)
    forcing_source: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def raw_location(gauge: UserGauge, dataset: UserDataset) -> RawLocation:
    """A user gauge in physical units: its given attributes (area included) and its own forcing record."""
    forcings = dataset.forcings.get(gauge.gauge_id)
    return RawLocation(gauge.gauge_id, (gauge.latitude, gauge.longitude), gauge.given_numeric,
                       dict(gauge.categorical), forcings.values if forcings else None,
                       forcings.dates if forcings else None)


def _split(first: int, last: int, forcing_lo: int, forcing_hi: int, fraction: float) -> GaugeSplit:
    cut = first + int(round((1.0 - fraction) * (last + 1 - first)))
    return GaugeSplit(first, cut, cut, last + 1, forcing_lo, forcing_hi)


def gauge_split(dates: np.ndarray, forcing_dates: np.ndarray, flow: tuple[np.ndarray, np.ndarray] | None,
                fraction: float, warmup_days: int, loss_days: int) -> GaugeSplit | str:
    """The time split of one gauge on calendar ``dates``, or why it cannot be trained on.

    Training sequences are ``warmup_days + loss_days`` long, start no earlier than the forcings nor than
    ``warmup_days`` before the first observed day, and end inside the training part.
    """
    if flow is None:
        return "no observed flow"
    days = flow[0][(flow[0] >= forcing_dates[0]) & (flow[0] <= forcing_dates[-1])]
    if len(days) == 0:
        return (f"no observed flow inside its forcings ({forcing_dates[0]}..{forcing_dates[-1]}); the flow "
                f"covers {flow[0][0]}..{flow[0][-1]}")
    offset = lambda day: int((day - dates[0]).astype(int))  # noqa: E731
    split = _split(offset(days[0]), offset(days[-1]), offset(forcing_dates[0]), offset(forcing_dates[-1]) + 1,
                   fraction)
    observed_val = int(((days >= dates[split.val_lo]) & (days < dates[0] + split.val_hi)).sum())
    usable = split.train_hi - sequence_start(split, warmup_days)
    if usable < warmup_days + loss_days:
        return (f"too short: training needs {warmup_days + loss_days} days of forcings up to the validation "
                f"part (LSTM warm-up {warmup_days} + {loss_days} days with loss), found {usable}")
    if observed_val < MIN_VALIDATION_DAYS:
        return f"too few observed days in the validation part ({observed_val} < {MIN_VALIDATION_DAYS})"
    return split


def sequence_start(split: GaugeSplit, warmup_days: int) -> int:
    """The earliest day a training sequence of this gauge may start on."""
    return max(split.forcing_lo, split.train_lo - warmup_days)


def prepare_gauges(base: BaseModel, dataset: UserDataset, validation_fraction: float, warmup_days: int,
                   loss_days: int) -> PreparedGauges:
    """Impute, align and split in time the gauges that can be trained on.

    Every gauge's missing attributes are imputed (from location, given attributes and forcings); the gauges
    that can be trained on are put onto one calendar and each is split in time. Encoder states are not
    computed here.
    """
    cal_lo = min(f.dates[0] for f in dataset.forcings.values())
    cal_hi = max(f.dates[-1] for f in dataset.forcings.values())
    dates = np.arange(cal_lo, cal_hi + np.timedelta64(1, "D"))
    splits: dict[str, GaugeSplit] = {}
    skipped: dict[str, str] = {}
    for gauge in dataset.gauges:
        forcing = dataset.forcings[gauge.gauge_id]
        result = gauge_split(dates, forcing.dates, dataset.flow.get(gauge.gauge_id), validation_fraction,
                             warmup_days, loss_days)
        if isinstance(result, str):
            skipped[gauge.gauge_id] = result
        else:
            splits[gauge.gauge_id] = result
    if not splits:
        reasons = "; ".join(f"{g}: {r}" for g, r in skipped.items())
        raise ValueError(f"no gauge can be fine-tuned on ({reasons})")
    imputed: dict[str, list[str]] = {}
    given: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    rows: list[LocationData] = []
    flow = np.full((len(splits), len(dates)), np.nan, dtype=np.float32)
    for k, gauge_id in enumerate(splits):
        gauge, forcing = dataset.gauge(gauge_id), dataset.forcings[gauge_id]
        filled = impute_attributes(base, (gauge.latitude, gauge.longitude), gauge.given_numeric,
                                   gauge.categorical, forcing.values, forcing.dates)
        imputed[gauge_id], given[gauge_id], sources[gauge_id] = filled.imputed, filled.given, forcing.source
        on_calendar = np.full((len(dates), forcing.values.shape[1]), np.nan, dtype=np.float32)
        lo = int((forcing.dates[0] - dates[0]).astype(int))
        on_calendar[lo: lo + len(forcing.dates)] = forcing.values
        numeric = {n: float(v) for n, v in filled.values.items() if n in base.normalizer.static_names}
        categorical = {n: str(v) for n, v in filled.values.items() if n in base.normalizer.vocabularies}
        row = location_from_values(base, (gauge.latitude, gauge.longitude), numeric, categorical, on_calendar, dates)
        row.ids = [gauge_id]
        rows.append(row)
        observed = dataset.observed_on(gauge_id, dates)
        flow[k] = observed if observed is not None else np.nan
    locations = LocationData(
        [r.ids[0] for r in rows], np.concatenate([r.statics for r in rows]),
        np.concatenate([r.statics_observed for r in rows]), np.concatenate([r.categories for r in rows]),
        np.concatenate([r.latlon for r in rows]), np.concatenate([r.forcings for r in rows]),
        np.concatenate([r.forcings_observed for r in rows]), dates)
    grid = window_grid(len(dates), base.config.patch_days, base.config.window_patches)
    return PreparedGauges(StreamflowData(locations, flow, grid), splits, imputed, given, sources, skipped)


def predict_user_gauge(base: BaseModel, model: StreamflowModel | StreamflowEnsemble, dataset: UserDataset,
                       gauge_id: str, start: str | None, end: str | None, warmup_days: int) -> StreamflowPrediction:
    """Predict one user gauge from its forcings.

    ``start``/``end`` default to its forcing record (after ``warmup_days``). Observed flow, when the dataset has
    it, is added with NSE/KGE.
    """
    gauge = dataset.gauge(gauge_id)
    location = raw_location(gauge, dataset)
    if location.dates is None:
        raise ValueError(f"gauge {gauge_id}: no forcings")
    first = location.dates[min(warmup_days, len(location.dates) - 1)]
    start = start or str(first)
    end = end or str(location.dates[-1])
    result = predict_location(base, model, location, start, end, warmup_days,
                              dataset.observed_on(gauge_id, location.dates))
    result.forcing_source = dataset.forcings[gauge_id].source
    return result
