"""Worker methods for streamflow, each ``fn(typed params, report) -> dict`` with a JSON-serialisable result.

The parameter types are in :mod:`backend.service.requests`; the registry in :mod:`backend.service.methods`.

- :func:`predict_request`: one CAMELS basin (or, with ``gauges_csv``/``forcings_dir``, a user gauge).
- :func:`predict_location_request`: any point, with its forcings CSV or the nearest CAMELS basin's forcings.
- :func:`validate_request`: every problem of a user dataset.
- :func:`finetune_request`: fine-tune the streamflow adapter on user gauges.

Base models (by path, in :func:`backend.model.loading.get_base_model`) and adapters (by path, base model and
file modification time, so a re-trained adapter is reloaded) stay loaded between calls.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.errors import CheckpointError
from backend.core.paths import data_root
from backend.data.camels import basin_area_km2
from backend.data.caravan import read_caravan_csv
from backend.data.catalogue import BasinCatalogue
from backend.data.daymet import read_daymet
from backend.data.nearest_basin import nearest_basin
from backend.data.user_forcings import read_gauge_forcings
from backend.data.user_gauges import AREA_ATTRIBUTE, check_user_dataset, load_user_dataset
from backend.data.user_problems import Problems
from backend.data.usgs import read_usgs_streamflow
from backend.data.variables import FORCING_VARIABLES, Kind, input_static_names
from backend.model.checkpoint import BaseModel
from backend.model.loading import get_base_model
from backend.model.locations import RawLocation, split_attributes
from backend.service.requests import (
    FinetuneStreamflowParams,
    PredictLocationParams,
    PredictStreamflowParams,
    ValidateGaugesParams,
    optional_path,
)
from backend.tasks.streamflow.adapter_io import BUNDLED_STREAMFLOW_ADAPTER, load_streamflow_adapter
from backend.tasks.streamflow.gauge_run import FinetuneInputs, prediction_row, run_finetune
from backend.tasks.streamflow.model import StreamflowEnsemble
from backend.tasks.streamflow.predict import StreamflowPrediction, predict_location, write_prediction_csv
from backend.tasks.streamflow.provenance import TrainingRecord, read_training_record
from backend.tasks.streamflow.user_data import predict_user_gauge
from backend.tasks.streamflow.user_finetune import GaugeFinetuneConfig

Report = Callable[[float, str], None]
_ADAPTERS: dict[tuple[str, str, int], tuple[StreamflowEnsemble, dict, TrainingRecord | None]] = {}
#: the answer's honesty fields when the adapter does not say which basins it saw
_UNKNOWN_PROVENANCE = {"in_sample": None, "trained_period": None, "out_of_fold_nse": None, "out_of_fold_source": None}


def _adapter(adapter: str, base: BaseModel) -> tuple[StreamflowEnsemble, dict, TrainingRecord | None]:
    """The adapter file ``adapter`` ("" = the bundled one) with its training record, loaded once per version."""
    path = Path(adapter or BUNDLED_STREAMFLOW_ADAPTER).resolve()
    key = (str(path), base.sha256, path.stat().st_mtime_ns if path.is_file() else 0)
    if key not in _ADAPTERS:
        model, cfg, meta = load_streamflow_adapter(path, base)
        _ADAPTERS.clear()  # one adapter at a time: switching adapters should not pile up memory
        _ADAPTERS[key] = (model, cfg, read_training_record(path, meta))
    return _ADAPTERS[key]


@lru_cache(maxsize=2)
def _catalogue(root: str) -> BasinCatalogue:
    return BasinCatalogue.open(Path(root))


def _camels_location(catalogue: BasinCatalogue, gauge_id: str) -> RawLocation:
    """A CAMELS basin's attributes and Daymet forcings, read from its own files (no all-basin arrays)."""
    table = catalogue.attributes
    if gauge_id not in catalogue.daymet_files:
        raise ValueError(f"basin {gauge_id} has no Daymet forcings in {data_root()}")
    i = table.index(gauge_id)
    numeric = {n: float(table.numeric[n][i]) for n in input_static_names(Kind.NUMERIC)
               if not np.isnan(table.numeric[n][i])}
    categorical = {n: str(table.categorical[n][i]) for n in input_static_names(Kind.CATEGORICAL)
                   if table.categorical[n][i] is not None}
    series = read_daymet(catalogue.daymet_files[gauge_id])
    values = np.stack([series.values[v] for v in FORCING_VARIABLES], axis=1)
    return RawLocation(gauge_id, (float(table.numeric["gauge_lat"][i]), float(table.numeric["gauge_lon"][i])),
                       numeric, categorical, values, series.dates)


def _camels_observed(catalogue: BasinCatalogue, gauge_id: str, dates: np.ndarray) -> np.ndarray | None:
    """Observed flow (mm/day) on ``dates``: Caravan, else the CAMELS-format USGS file (as the demo layer says)."""
    if gauge_id in catalogue.caravan_files:
        series = read_caravan_csv(catalogue.caravan_files[gauge_id], ("streamflow",))
    elif gauge_id in catalogue.usgs_files:
        series = read_usgs_streamflow(catalogue.usgs_files[gauge_id], basin_area_km2(catalogue.attributes, gauge_id))
    else:
        return None
    out = np.full(len(dates), np.nan, dtype=np.float32)
    index = (series.dates - dates[0]).astype(np.int64)
    inside = (index >= 0) & (index < len(dates))
    out[index[inside]] = series.values["streamflow"][inside]
    return out if np.isfinite(out).any() else None


def _written(result: StreamflowPrediction, out_csv: str, overwrite: bool) -> dict[str, Any]:
    """Write the prediction CSV and return the answer's row (with ``gauge_id``)."""
    path = write_prediction_csv(result, Path(out_csv), overwrite=overwrite)
    row = prediction_row(result, path)
    row["gauge_id"] = row.pop("id")
    return row


def predict_request(params: PredictStreamflowParams, report: Report) -> dict[str, Any]:
    """Worker method ``predict_streamflow``: a CAMELS basin, or a gauge of the user's dataset.

    Result: csv, gauge_id, n_days, nse, kge (None without observations), has_observations, imputed,
    forcing_source, mean_flow, members (how many members the model has: the CSV's streamflow_pred is their
    mean, member_spread_p10/p90 their 10th-90th percentile); in_sample (the adapter saw this basin's flows: its
    scores are a fit, not a prediction; None if the adapter does not say), trained_period, and out_of_fold_nse
    with its source (the benchmark's score of the same configuration with this basin held out, where there is one).
    """
    gauge_id = params.gauge_id
    report(0.05, "loading the models")
    base = get_base_model(optional_path(params.model))
    model, cfg, record = _adapter(params.adapter, base)
    warmup = int(cfg["warmup_days"])
    report(0.3, f"predicting {gauge_id}")
    if params.gauges_csv:
        dataset = load_user_dataset(Path(params.gauges_csv), optional_path(params.streamflow_csv),
                                    Path(params.forcings_dir), base.normalizer.vocabularies)
        result = predict_user_gauge(base, model, dataset, gauge_id, params.start, params.end, warmup)
    else:
        catalogue = _catalogue(str(data_root()))
        location = _camels_location(catalogue, gauge_id)
        observed = _camels_observed(catalogue, gauge_id, location.dates)
        result = predict_location(base, model, location, params.start, params.end, warmup, observed)
        result.forcing_source = f"Daymet basin mean of {gauge_id} (CAMELS)"
    row = _written(result, params.out_csv, params.overwrite)
    row.update(record.score_context(gauge_id) if record else _UNKNOWN_PROVENANCE)
    return row


def predict_location_request(params: PredictLocationParams, report: Report) -> dict[str, Any]:
    """Worker method ``predict_location``: any point, with its forcings CSV or the nearest basin's forcings.

    The forcings CSV has the columns ``date,prcp,srad,tmax,tmin,vp,dayl``. Without one, the Daymet forcings
    of the nearest CAMELS basin (by gauge location) are used, and the answer says which.

    Result: like :func:`predict_request`, plus given/imputed/ignored attributes and nearest_basin.
    """
    lat, lon = params.lat, params.lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"lat/lon {lat}, {lon} out of range (WGS84 degrees)")
    report(0.05, "loading the models")
    base = get_base_model(optional_path(params.model))
    model, cfg, _ = _adapter(params.adapter, base)
    numeric, categorical, ignored = split_attributes(
        base, dict(params.attributes), empty_text_missing=True, aliases={"area_km2": AREA_ATTRIBUTE},
        name_unknown_categories=True)
    nearest = None
    if params.forcings_csv:
        problems = Problems()
        forcings = read_gauge_forcings("csv", Path(params.forcings_csv), problems)
        problems.raise_first()
        values, dates, source = forcings.values, forcings.dates, f"{params.forcings_csv} (forcings CSV)"
    else:
        catalogue = _catalogue(str(data_root()))
        basin = nearest_basin(lat, lon, catalogue.attributes, catalogue.with_forcings_and_attributes)
        series = read_daymet(catalogue.daymet_files[basin.gauge_id])
        values = np.stack([series.values[v] for v in FORCING_VARIABLES], axis=1)
        dates = series.dates
        nearest = {"gauge_id": basin.gauge_id, "distance_km": round(basin.distance_km, 1)}
        source = (f"Daymet basin mean of the nearest CAMELS basin {basin.gauge_id} "
                  f"({basin.distance_km:.0f} km from the point)")
    location = RawLocation(params.id or "location", (lat, lon), numeric, categorical, values, dates)
    report(0.3, "imputing attributes and predicting")
    result = predict_location(base, model, location, params.start, params.end, int(cfg["warmup_days"]))
    result.forcing_source = source
    row = _written(result, params.out_csv, params.overwrite)
    row.update({"given": sorted(numeric) + sorted(categorical), "ignored": ignored, "nearest_basin": nearest,
                "in_sample": False, "trained_period": None, "out_of_fold_nse": None, "out_of_fold_source": None})
    return row


def validate_request(params: ValidateGaugesParams, report: Report) -> dict[str, Any]:
    """Worker method ``validate_gauges``: every problem of a user dataset -> {"problems": [...], "notes": [...]}.

    Categorical attribute values are checked against the base model's categories when it can be loaded.
    """
    report(0.1, "checking the files")
    try:
        vocabularies = get_base_model(optional_path(params.model)).normalizer.vocabularies
    except CheckpointError:
        vocabularies = None
    problems, notes = check_user_dataset(Path(params.gauges_csv), optional_path(params.streamflow_csv),
                                         Path(params.forcings_dir), vocabularies)
    return {"problems": problems, "notes": notes}


def finetune_request(params: FinetuneStreamflowParams, report: Report) -> dict[str, Any]:
    """Worker method ``finetune_streamflow``: fine-tune the streamflow adapter on the user's gauges.

    Result: adapter (path), metrics {gauge id: validation NSE}, report (path of report.md), the medians
    before/after, kept_warm_start, skipped gauges and notes.
    """
    inputs = FinetuneInputs(Path(params.gauges_csv), Path(params.streamflow_csv), Path(params.forcings_dir),
                            optional_path(params.model), optional_path(params.adapter))
    cfg = GaugeFinetuneConfig(steps=params.steps) if params.steps else GaugeFinetuneConfig()
    out_dir = Path(params.out_dir)
    summary = run_finetune(inputs, out_dir, cfg, overwrite=params.overwrite, report=report)
    return {"adapter": summary["adapter"], "report": str(out_dir / "report.md"),
            "metrics": {g["id"]: g["validation_nse"] for g in summary["gauges"]},
            "median_validation_nse": summary["median_validation_nse"],
            "median_validation_nse_before": summary["median_validation_nse_before"],
            "kept_warm_start": summary["kept_warm_start"], "skipped": summary["skipped"],
            "notes": summary["notes"], "seconds": summary["total_seconds"]}
