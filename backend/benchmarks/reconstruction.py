"""Reconstruction benchmark on the basins withheld from pretraining.

For each static group: hide the group, reconstruct it from everything else, and score R² per attribute
across the withheld basins against (a) the training mean and (b) the nearest training basin's values.
For forcings: hide a 63-day window (9 weekly tokens, the nearest whole-token length to 60 days) and
score NSE against the basin's own day-of-year climatology (from its other years).

With ``--out docs/X.md`` the scores per group and variable (and the run's facts) are stored in
``results/X/scores.json`` (committed), from which ``--report-only`` rebuilds the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from backend.benchmarks import (
    add_report_arguments,
    headline,
    read_stored_results,
    stored_results_path,
    write_report_keeping_reading,
)
from backend.core.atomic_io import write_text_atomic
from backend.core.geo import haversine_km
from backend.core.metrics import nse, r2
from backend.core.progress import progress
from backend.core.runtime import set_threads
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.model.batch import Visibility
from backend.model.checkpoint import BaseModel
from backend.model.imputation import reconstruct_statics
from backend.model.inputs import camels_location_data, make_batch


@dataclass
class GroupScore:
    """Reconstruction of one static group: StefaLand's R² and the two baselines'."""

    group: str
    attributes: int
    model_r2: float
    mean_r2: float
    nearest_r2: float


@dataclass
class ForcingScore:
    """Reconstruction of one forcing variable in hidden windows: StefaLand's NSE and climatology's."""

    variable: str
    windows: int
    model_nse: float
    model_nse_all_hidden: float
    climatology_nse: float


def static_group_scores(base: BaseModel, train_ids: list[str], test_ids: list[str],
                        catalogue: BasinCatalogue) -> list[GroupScore]:
    """R² of masked-group reconstruction vs the training mean and the nearest training basin."""
    arrays = load_basin_arrays(catalogue)
    norm = base.normalizer
    test = camels_location_data(norm, catalogue.attributes, arrays, test_ids)
    train_statics, train_observed = norm.statics(catalogue.attributes, train_ids)
    train_latlon = np.stack([catalogue.attributes.numeric["gauge_lat"][[catalogue.attributes.index(g)
                                                                         for g in train_ids]],
                             catalogue.attributes.numeric["gauge_lon"][[catalogue.attributes.index(g)
                                                                         for g in train_ids]]], 1)
    scores = []
    for g, (group, members) in enumerate(norm.static_groups().items()):
        hidden_cats = np.zeros(len(norm.vocabularies), bool)
        for j in base.model.vocab.categorical_groups[g]:
            hidden_cats[j] = True
        predictions = np.full((len(test_ids), len(members)), np.nan)
        for row in progress(range(len(test_ids)), f"reconstruct {group}"):
            visible = np.ones(len(norm.static_names), bool)
            visible[members] = False
            z, _ = reconstruct_statics(base, test, row, visible, ~hidden_cats)
            predictions[row] = z[members]
        truth = np.where(test.statics_observed[:, members], test.statics[:, members], np.nan)
        dist = haversine_km(test.latlon[:, None, 0], test.latlon[:, None, 1], train_latlon[None, :, 0],
                            train_latlon[None, :, 1])
        nearest = np.where(train_observed, train_statics, np.nan)[dist.argmin(axis=1)][:, members]
        train_mean = np.nanmean(np.where(train_observed, train_statics, np.nan)[:, members], axis=0)
        model, mean, near = [], [], []
        for k in range(len(members)):
            model.append(r2(truth[:, k], predictions[:, k]))
            mean.append(r2(truth[:, k], np.full(len(test_ids), train_mean[k])))
            near.append(r2(truth[:, k], nearest[:, k]))
        scores.append(GroupScore(group, len(members), float(np.nanmean(model)), float(np.nanmean(mean)),
                                 float(np.nanmean(near))))
    return scores


@torch.no_grad()
def forcing_window_scores(base: BaseModel, test_ids: list[str], catalogue: BasinCatalogue,
                          windows_per_basin: int = 4, seed: int = 7) -> list[ForcingScore]:
    """NSE of reconstructing a hidden 63-day window per forcing vs day-of-year climatology."""
    arrays = load_basin_arrays(catalogue)
    norm, cfg = base.normalizer, base.config
    data = camels_location_data(norm, catalogue.attributes, arrays, test_ids)
    rng = np.random.default_rng(seed)
    hide_patches = 9
    n_vars = len(norm.forcing_names)
    days_of_year = (arrays.dates - arrays.dates.astype("datetime64[Y]")).astype(int)
    years = arrays.dates.astype("datetime64[Y]").astype(int)
    model_nse = {v: [] for v in range(n_vars)}
    all_hidden_nse = {v: [] for v in range(n_vars)}
    clim_nse = {v: [] for v in range(n_vars)}
    for row in progress(range(len(test_ids)), "forcing windows"):
        starts = rng.integers(0, len(arrays.dates) - cfg.window_days, size=windows_per_basin)
        first_patch = rng.integers(0, cfg.window_patches - hide_patches, size=windows_per_basin)
        raw = arrays.forcings[arrays.index(test_ids[row])]
        for start, p0 in zip(starts, first_patch, strict=True):
            batch = make_batch(data, np.full(n_vars + 1, row), np.full(n_vars + 1, start), cfg.patch_days,
                               cfg.window_patches)
            visible = Visibility.everything_observed(batch)
            for v in range(n_vars):  # sample v hides variable v only; the last sample hides all variables
                visible.forcing_tokens[v, p0 : p0 + hide_patches, v] = False
            visible.forcing_tokens[n_vars, p0 : p0 + hide_patches, :] = False
            out = base.model(batch, visible).forcings  # (S, N, V, P)
            d0 = start + p0 * cfg.patch_days
            days = slice(d0, d0 + hide_patches * cfg.patch_days)
            window_years = set(years[days].tolist())
            others = ~np.isin(years, list(window_years))
            for v in range(n_vars):
                observed = raw[days, v]
                recon_z = out[v, p0 : p0 + hide_patches, v].reshape(-1).numpy()
                recon_all = out[n_vars, p0 : p0 + hide_patches, v].reshape(-1).numpy()
                clim = _doy_climatology(raw[:, v], days_of_year, others)[days_of_year[days]]
                model_nse[v].append(nse(observed, recon_z * norm.forcing_std[v] + norm.forcing_mean[v]))
                all_hidden_nse[v].append(nse(observed, recon_all * norm.forcing_std[v] + norm.forcing_mean[v]))
                clim_nse[v].append(nse(observed, clim))
    return [ForcingScore(norm.forcing_names[v], len(model_nse[v]), float(np.nanmedian(model_nse[v])),
                         float(np.nanmedian(all_hidden_nse[v])), float(np.nanmedian(clim_nse[v])))
            for v in range(n_vars)]


def _doy_climatology(values: np.ndarray, doy: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Mean per day of year over the kept days, smoothed with a 15-day circular moving average."""
    sums = np.bincount(doy[keep], weights=np.nan_to_num(values[keep]), minlength=366)
    counts = np.bincount(doy[keep], weights=~np.isnan(values[keep]), minlength=366)
    mean = sums / np.maximum(counts, 1)
    kernel = np.ones(15) / 15
    padded = np.concatenate([mean[-7:], mean, mean[:7]])
    return np.convolve(padded, kernel, mode="valid")


def run_reconstruction_benchmark(base: BaseModel, split: dict, out: Path | None) -> str:
    """Run both parts on the withheld basins and return (and optionally write) the Markdown report.

    With ``out`` the scores are stored in ``results/<out name>/scores.json`` first, then the report is written
    from them.
    """
    set_threads(2)
    catalogue = BasinCatalogue.open()
    t0 = time.monotonic()
    groups = static_group_scores(base, split["pretrain_basins"], split["holdout_basins"], catalogue)
    forcings = forcing_window_scores(base, split["holdout_basins"], catalogue)
    record = {"holdout_basins": len(split["holdout_basins"]), "pretrain_basins": len(split["pretrain_basins"]),
              "holdout_seed": split["holdout_seed"], "model_sha": base.sha256[:16],
              "minutes": (time.monotonic() - t0) / 60, "groups": [asdict(g) for g in groups],
              "forcings": [asdict(f) for f in forcings]}
    if out is not None:
        write_text_atomic(stored_results_path(out, RESULTS_FILE), json.dumps(record, indent=1) + "\n")
    report = reconstruction_report(record)
    if out is not None:
        write_report_keeping_reading(out, report)
    return report


#: the stored scores of a report ``docs/X.md``: ``results/X/scores.json``
RESULTS_FILE = "scores.json"


def reconstruction_report(record: dict) -> str:
    """The Markdown report of a stored record (:func:`run_reconstruction_benchmark`), ending with its headline."""
    groups = [GroupScore(**g) for g in record["groups"]]
    forcings = [ForcingScore(**f) for f in record["forcings"]]
    beats = sum(g.model_r2 > max(g.mean_r2, g.nearest_r2) for g in groups)
    lines = [
        "# Reconstruction benchmark (pretrained base model)", "",
        "Command: `make benchmark-pretrain` (`python -m backend benchmark pretrain --out "
        "docs/benchmark_pretrain.md`).", "",
        f"Data: real CAMELS-US attributes and Daymet forcings; {record['holdout_basins']} basins withheld "
        f"from pretraining (seeded 10%, seed {record['holdout_seed']}); baselines use the "
        f"{record['pretrain_basins']} pretraining basins. Model sha256 `{record['model_sha']}`. "
        f"Took {record['minutes']:.1f} min.", "",
        "## Static groups: hide the whole group, reconstruct it from the other groups, forcings and location", "",
        "R² per attribute across the withheld basins (in z-score units; log10 for log-transformed attributes), "
        "averaged over the group's numeric attributes.", "",
        "| group | attributes | StefaLand R² | training mean R² | nearest training basin R² |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {g.group} | {g.attributes} | {g.model_r2:.3f} | {g.mean_r2:.3f} | {g.nearest_r2:.3f} |"
              for g in groups]
    lines += ["", f"StefaLand beats both baselines on {beats} of {len(groups)} groups.", "",
              "## Forcings: hide a 63-day window (9 weekly tokens), reconstruct it", "",
              "Median NSE over basin-windows (4 random windows per withheld basin, seed 7). "
              "'one hidden' hides only that variable (the others stay visible); 'all hidden' hides every "
              "forcing in the window. Climatology: the basin's own day-of-year mean from its other years "
              "(15-day smoothing).", "",
              "| variable | windows | StefaLand NSE (one hidden) | StefaLand NSE (all hidden) | climatology NSE |",
              "|---|---|---|---|---|"]
    lines += [f"| {f.variable} | {f.windows} | {f.model_nse:.3f} | {f.model_nse_all_hidden:.3f} | "
              f"{f.climatology_nse:.3f} |" for f in forcings]
    lines += ["", headline({**{f"r2_{g.group}": g.model_r2 for g in groups},
                            **{f"nse_one_hidden_{f.variable}": f.model_nse for f in forcings}})]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``python -m backend benchmark pretrain [--model M] [--split S] [--out docs/X.md] [--report-only]``.

    ``--report-only`` rebuilds the report from ``results/<out name>/scores.json`` without running.
    """
    import argparse

    from backend.model.loading import BUNDLED_BASE, get_base_model

    parser = argparse.ArgumentParser(prog="python -m backend benchmark pretrain")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--split", type=Path, default=None, help="JSON with pretrain_basins/holdout_basins")
    add_report_arguments(parser, RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.report_only:
        report = reconstruction_report(read_stored_results(parser, args.out, RESULTS_FILE))
        write_report_keeping_reading(args.out, report)
        print(report)
        return 0
    base = get_base_model(args.model)
    split_path = args.split or Path(str(args.model or BUNDLED_BASE).replace(".pt", ".split.json"))
    split = json.loads(Path(split_path).read_text())
    print(run_reconstruction_benchmark(base, split, args.out))
    return 0
