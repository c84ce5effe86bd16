"""Soil moisture benchmark: leave-one-station-out over the ISMN probes usable with Daymet.

For each held-out station, three predictions of its daily top-layer soil moisture are scored:

- StefaLand: frozen encoder time tokens + daily forcings -> residual adapter -> GRU, trained on the other
  stations (early stopping on the last 20% of each training station's record).
- Precipitation regression (persistence-free): ridge on antecedent precipitation indices of the nearest
  basin's Daymet precipitation, fitted on the other stations.
- The station's own day-of-year climatology from its other calendar years (it uses the station's own
  observations, which the other two never see; absent where the station has no other year).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.benchmarks import RESULTS_LIVE, headline, write_report_keeping_reading
from backend.core.metrics import correlation
from backend.core.runtime import set_threads
from backend.data.basin_arrays import BasinArrays, load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.variables import FORCING_VARIABLES
from backend.model.checkpoint import BaseModel
from backend.tasks.soil.moisture import ProbeInputs, predict_series, probe_inputs, time_block_masks, train_model
from backend.tasks.soil.probes import DAYMET_PERIOD, Probe, ismn_probes
from backend.training.fit import FitConfig
from backend.training.tabular_baselines import ridge_cv

API_DECAYS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95, 0.98)


def antecedent_precipitation(prcp: np.ndarray, decays: tuple[float, ...] = API_DECAYS) -> np.ndarray:
    """API_k(t) = k * API_k(t-1) + P(t) for each decay k: (T, len(decays)); missing precipitation counts as 0."""
    p = np.nan_to_num(np.asarray(prcp, dtype=np.float64))
    out = np.zeros((len(p), len(decays)))
    k = np.asarray(decays)
    state = np.zeros(len(decays))
    for t, value in enumerate(p):
        state = k * state + value
        out[t] = state
    return out


def loyo_climatology(dates: np.ndarray, values: np.ndarray, smooth_days: int = 31) -> np.ndarray:
    """Each day's day-of-year mean from the station's *other* calendar years (circularly smoothed).

    NaN where no other year has data within the smoothing window.
    """
    years = dates.astype("datetime64[Y]").astype(int)
    doy = np.minimum((dates - dates.astype("datetime64[Y]")).astype(int), 364)
    kernel = np.ones(smooth_days)
    half = smooth_days // 2
    out = np.full(len(values), np.nan)
    ok = np.isfinite(values)
    for year in np.unique(years):
        other = ok & (years != year)
        sums = np.bincount(doy[other], weights=values[other], minlength=365)
        counts = np.bincount(doy[other], minlength=365).astype(float)
        wrap = lambda a: np.convolve(np.concatenate([a[-half:], a, a[:half]]), kernel, mode="valid")  # noqa: E731
        s, c = wrap(sums), wrap(counts)
        clim = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        here = years == year
        out[here] = clim[doy[here]]
    return out


@dataclass
class Scores:
    """Daily-series skill at one station: days scored, correlation, RMSE and unbiased RMSE (m³/m³)."""

    days: int
    r: float
    rmse: float
    ubrmse: float


def score(obs: np.ndarray, sim: np.ndarray) -> Scores:
    """Scores on the days where both are finite."""
    keep = np.isfinite(obs) & np.isfinite(sim)
    o, s = obs[keep].astype(np.float64), sim[keep].astype(np.float64)
    if len(o) < 2:
        return Scores(int(len(o)), float("nan"), float("nan"), float("nan"))
    return Scores(int(len(o)), correlation(o, s), float(np.sqrt(np.mean((s - o) ** 2))),
                  float(np.sqrt(np.mean(((s - s.mean()) - (o - o.mean())) ** 2))))


def _api_features(inputs: ProbeInputs, arrays: BasinArrays) -> np.ndarray:
    prcp = arrays.forcings[arrays.index(inputs.basin.gauge_id), :, list(FORCING_VARIABLES).index("prcp")]
    first = int((inputs.dates[0] - arrays.dates[0]).astype(int))
    return antecedent_precipitation(prcp)[first:first + len(inputs.dates)]


def _stefaland(train: list[ProbeInputs], test: ProbeInputs, seed: int, steps: int) -> np.ndarray:
    masks = [time_block_masks(p.target) for p in train]
    model, _, _ = train_model(train, [m[0] for m in masks], [m[1] for m in masks],
                              FitConfig(steps=steps, learning_rate=2e-3, validate_every=25, patience=4, seed=seed),
                              label=f"StefaLand (test {test.probe_id})")
    return predict_series(model, test)


def _api(train: list[ProbeInputs], test: ProbeInputs, api: dict[str, np.ndarray]) -> np.ndarray:
    x = np.concatenate([api[p.probe_id][np.isfinite(p.target)] for p in train])
    y = np.concatenate([p.target[np.isfinite(p.target)] for p in train])
    return ridge_cv(x, y[:, None]).predict(api[test.probe_id])[:, 0]


def run_benchmark(base: BaseModel, seed: int = 0, steps: int = 400, out: Path | None = None,
                  extra_seeds: int = 2) -> str:
    """Leave-one-station-out over the usable ISMN stations; returns (and optionally writes) the report.

    The tables use ``seed``; StefaLand is also retrained with ``extra_seeds`` more seeds to show how much
    its summary moves with the seed alone.
    """
    set_threads(2)
    t_start = time.monotonic()
    catalogue = BasinCatalogue.open()
    arrays = load_basin_arrays(catalogue)
    attributes = catalogue.attributes
    probes, skipped = ismn_probes(attributes, list(arrays.gauge_ids))
    t0 = time.monotonic()
    inputs = [probe_inputs(base, p, attributes, arrays) for p in probes]
    feature_seconds = time.monotonic() - t0
    api = {p.probe_id: _api_features(p, arrays) for p in inputs}
    methods: dict[str, Callable[[list[ProbeInputs], ProbeInputs, int], np.ndarray]] = {
        "StefaLand": lambda tr, te, i: _stefaland(tr, te, seed + i, steps),
        "precipitation regression (API ridge)": lambda tr, te, i: _api(tr, te, api),
        "own day-of-year climatology (other years)": lambda tr, te, i: loyo_climatology(te.dates, te.target),
    }
    results: dict[str, list[Scores]] = {m: [] for m in methods}
    on_clim_days: list[Scores] = []
    seconds = dict.fromkeys(methods, 0.0)
    for i, test in enumerate(inputs):
        train = [p for p in inputs if p is not test]
        predictions = {}
        for name, method in methods.items():
            t0 = time.monotonic()
            predictions[name] = method(train, test, i)
            seconds[name] += time.monotonic() - t0
            results[name].append(score(test.target, predictions[name]))
        clim = predictions["own day-of-year climatology (other years)"]
        on_clim_days.append(score(np.where(np.isfinite(clim), test.target, np.nan), predictions["StefaLand"]))
    spread = {seed: results["StefaLand"]}
    for extra in range(1, extra_seeds + 1):
        s = seed + 1000 * extra
        spread[s] = [score(test.target, _stefaland([p for p in inputs if p is not test], test, s + i, steps))
                     for i, test in enumerate(inputs)]
    report = _report(base, probes, skipped, inputs, results, on_clim_days, seconds, feature_seconds, seed, steps,
                     (time.monotonic() - t_start) / 60, spread)
    if out is not None:
        write_report_keeping_reading(out, report)
    return report


def _median(values: list[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    return f"{np.median(finite):.3f} ({len(finite)} stations)" if finite else "n/a (0 stations)"


def _fmt(s: Scores) -> str:
    return "n/a | n/a | n/a" if not np.isfinite(s.r) else f"{s.r:.2f} | {s.rmse:.3f} | {s.ubrmse:.3f}"


def _report(base: BaseModel, probes: list[Probe], skipped: list[str], inputs: list[ProbeInputs],
            results: dict[str, list[Scores]], on_clim_days: list[Scores], seconds: dict[str, float],
            feature_seconds: float, seed: int, steps: int, minutes: float,
            spread: dict[int, list[Scores]]) -> str:
    n = len(inputs)
    lines = [
        "# Soil moisture benchmark (ISMN, leave one station out)", "",
        "Command: `make benchmark-tasks` (`python -m backend benchmark soil-moisture --out "
        "docs/benchmark_soil_moisture.md`).", "", RESULTS_LIVE, "",
        f"- Data: {n} ISMN stations, top-layer volumetric soil moisture (m³/m³), hourly records averaged to "
        "daily means (ISMN flags G/U kept, at least 12 valid hours a day). Only data inside the Daymet period "
        f"{DAYMET_PERIOD[0]}..{DAYMET_PERIOD[1]} is usable.",
        f"- Split: leave one station out ({n} folds); the StefaLand head is early-stopped on the last 20% of "
        f"each *training* station's record (never the test station). Seed {seed}, at most {steps} steps.",
        "- Inputs: forcings (Daymet) and statics of the nearest CAMELS basin; the station's own latitude/"
        "longitude for the location token. Basin location = the CAMELS gauge point (`gauge_lat`/`gauge_lon`), "
        "not the basin centroid: distances are to the gauge.",
        f"- Base model sha256 `{base.sha256[:16]}`. Took {minutes:.1f} min (frozen features for all stations "
        f"{feature_seconds:.1f} s; StefaLand training {seconds['StefaLand']:.0f} s over all folds for one seed).", "",
        "This is a small real set: six stations in three regions, so every figure below is a median over "
        "at most six numbers. It shows the mechanism (a user fine-tunes the same way on their own probes), "
        "not a general skill estimate.", "",
        "## Stations", "",
        "| station | depth (m) | days with data | period | nearest CAMELS basin | distance to its gauge (km) |",
        "|---|---|---|---|---|---|",
    ]
    for probe, p in zip(probes, inputs, strict=True):
        obs = probe.dates[np.isfinite(probe.values)]
        lines.append(f"| {probe.probe_id} | {probe.meta['depth_from_m']:g}-{probe.meta['depth_to_m']:g} | "
                     f"{probe.valid_days} | {obs[0]}..{obs[-1]} | {p.basin.gauge_id} | {p.basin.distance_km:.0f} |")
    lines += ["", "Left out: " + ("; ".join(skipped) if skipped else "none") + ".", "",
              "## Per station (r, RMSE, unbiased RMSE in m³/m³)", "",
              "| station | days | StefaLand r | RMSE | ubRMSE | API regression r | RMSE | ubRMSE | climatology days "
              "| clim r | RMSE | ubRMSE | StefaLand r on clim days |", "|---" * 13 + "|"]
    names = list(results)
    for i, p in enumerate(inputs):
        s, a, c = (results[m][i] for m in names)
        lines.append(f"| {p.probe_id} | {s.days} | {_fmt(s)} | {_fmt(a)} | {c.days} | {_fmt(c)} | "
                     + (f"{on_clim_days[i].r:.2f} |" if np.isfinite(on_clim_days[i].r) else "n/a |"))
    lines += ["", "## Summary: median over held-out stations (station count beside each figure)", "",
              "| method | median r | median RMSE | median ubRMSE |", "|---|---|---|---|"]
    for name in names:
        rows = results[name]
        lines.append(f"| {name} | {_median([s.r for s in rows])} | {_median([s.rmse for s in rows])} | "
                     f"{_median([s.ubrmse for s in rows])} |")
    lines.append(f"| StefaLand on the climatology's days | {_median([s.r for s in on_clim_days])} | "
                 f"{_median([s.rmse for s in on_clim_days])} | {_median([s.ubrmse for s in on_clim_days])} |")
    stefa, api = results[names[0]], results[names[1]]
    wins = sum(a.r < b.r for a, b in zip(api, stefa, strict=True) if np.isfinite(a.r) and np.isfinite(b.r))
    ub_wins = sum(a.ubrmse > b.ubrmse for a, b in zip(api, stefa, strict=True)
                  if np.isfinite(a.ubrmse) and np.isfinite(b.ubrmse))
    lines += ["", "StefaLand retrained with other seeds (same folds), median over held-out stations: "
              + "; ".join(f"seed {s}: r {_median([x.r for x in rows])}, ubRMSE "
                          f"{_median([x.ubrmse for x in rows])}" for s, rows in spread.items()) + "."]
    lines += ["", f"Reading (seed {seed}): StefaLand has the higher correlation than the precipitation regression "
              f"at {wins} of {n} held-out stations and the lower ubRMSE at {ub_wins} of {n}."]
    lines += ["", "RMSE includes the station's mean level, which neither StefaLand nor the regression can know "
              "for an unseen probe (sensor, installation and soil differ); ubRMSE removes it. The climatology "
              "uses the station's own observations from its other years, so it knows the level: a strong "
              "reference, not a competitor available for an unmonitored point.", ""]
    figures: dict[str, float | str] = {}
    for metric in ("r", "ubrmse"):
        for key, name in zip(METHOD_KEYS, names, strict=False):
            figures[f"median_{metric}_{key}"] = _median_value([getattr(s, metric) for s in results[name]])
    lines += [headline(figures), ""]
    return "\n".join(lines)


#: headline names of the methods, in the order of the results (StefaLand, API regression, climatology)
METHOD_KEYS = ("stefaland", "api", "climatology")


def _median_value(values: list[float]) -> float:
    """Median of the finite values (NaN when there are none)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def main(argv: list[str]) -> int:
    """``python -m backend benchmark soil-moisture [--model M] [--seed N] [--steps S] [--out F]``."""
    from backend.model.loading import get_base_model

    parser = argparse.ArgumentParser(prog="python -m backend benchmark soil-moisture")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--extra-seeds", type=int, default=2, help="retrain StefaLand with this many more seeds")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    print(run_benchmark(get_base_model(args.model), args.seed, args.steps, args.out, args.extra_seeds))
    return 0
