"""Pretraining on a tiny fake CAMELS data root: run files, train-only statistics, split, resume, learning."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core.config import load_config
from backend.data.basin_arrays import load_basin_arrays
from backend.data.catalogue import BasinCatalogue
from backend.data.normalization import Normalizer, transform_static
from backend.data.splits import holdout_split
from backend.data.variables import STATIC_VARIABLES
from backend.model.checkpoint import load_base_model
from backend.model.config import MaskingConfig, ModelConfig
from backend.model.losses import reconstruction_loss
from backend.training.pretrain import PretrainConfig, Pretrainer

torch.set_num_threads(1)

N_BASINS = 12
N_DAYS = 800
GAUGE_IDS = [f"{1013500 + 1111 * i:08d}" for i in range(N_BASINS)]
NO_FORCINGS = "09999999"  # attributes but no forcing file: never used for pretraining
CATEGORIES = {
    "high_prec_timing": ["djf", "jja", "son"], "low_prec_timing": ["mam", "son", "djf"],
    "geol_1st_class": ["siliciclastic sedimentary rocks", "carbonate sedimentary rocks", "metamorphics"],
    "geol_2nd_class": ["unconsolidated sediments", "plutonic rocks"],
    "dom_land_cover": ["Mixed Forests", "Cropland", "Grasslands"],
}
FILE_OF_GROUP = {"clim": "clim", "topo": "topo", "soil": "soil", "geol": "geol", "vege": "vege", "hydro": "hydro",
                 "name": "name"}


def _attribute_value(name: str, i: int, rng: np.random.Generator) -> str:
    if name in CATEGORIES:
        return "NA" if (name == "dom_land_cover" and i == 1) else CATEGORIES[name][i % len(CATEGORIES[name])]
    if name == "huc_02":
        return f"{1 + i % 3:02d}"
    if name == "gauge_name":
        return f"Fake River {i} near Somewhere, ST"
    if name == "gauge_lat":
        return f"{30 + 1.5 * i:.4f}"
    if name == "gauge_lon":
        return f"{-120 + 4.0 * i:.4f}"
    if name == "root_depth_50" and i == 2:
        return "NA"
    # distinct per basin, so statistics over different basins differ; positive for the log-scaled ones
    return f"{(1.0 + 0.3 * i + 0.05 * (sum(map(ord, name)) % 7)) * (1.0 + 0.1 * rng.random()):.5f}"


def write_fake_root(root: Path) -> Path:
    """A CAMELS-like data root: the seven attribute files with the real columns and Daymet forcing files."""
    rng = np.random.default_rng(0)
    ids = [*GAUGE_IDS, NO_FORCINGS]
    folder = root / "camels_us" / "camels_attributes_v2.0"
    folder.mkdir(parents=True)
    for file_group in ("name", "topo", "clim", "soil", "geol", "vege", "hydro"):
        columns = [v.name for v in STATIC_VARIABLES if FILE_OF_GROUP[v.group] == file_group]
        lines = [";".join(["gauge_id", *columns])]
        lines += [";".join([gid, *(_attribute_value(c, i, rng) for c in columns)]) for i, gid in enumerate(ids)]
        (folder / f"camels_{file_group}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    dates = np.arange(np.datetime64("1980-01-01"), np.datetime64("1980-01-01") + N_DAYS)
    season = np.sin(2 * np.pi * np.arange(N_DAYS) / 365.25)
    for i, gid in enumerate(GAUGE_IDS):
        noise = rng.normal(size=(5, N_DAYS))
        dayl = 43000 + 12000 * season
        prcp = np.maximum(0.0, 2 + 2 * season + i * 0.3 + 1.5 * noise[0])
        srad = 250 + 120 * season + 5 * i + 10 * noise[1]
        tmax = 12 + 14 * season + 1.5 * i + noise[2]
        tmin = tmax - 9 + noise[3]
        vp = 700 + 400 * season + 20 * i + 30 * noise[4]
        rows = []
        for k, day in enumerate(dates.astype(dt.date)):
            values = (dayl[k], prcp[k], srad[k], 0.0, tmax[k], tmin[k], vp[k])
            cells = "\t".join("nan" if (i == 3 and 100 <= k < 110 and c == 1) else f"{v:.2f}"
                              for c, v in enumerate(values))
            rows.append(f"{day.year} {day.month:02d} {day.day:02d} 12\t{cells}")
        header = (f"{30 + 1.5 * i:.2f}\n 100.0\n 500000000\n"
                  "Year Mnth Day Hr dayl(s) prcp(mm/day) srad(W/m2) swe(mm) tmax(C) tmin(C) vp(Pa)\n")
        path = root / "camels_us" / "basin_mean_forcing" / "daymet" / f"{i % 3 + 1:02d}"
        path.mkdir(parents=True, exist_ok=True)
        (path / f"{gid}_lump_cida_forcing_leap.txt").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def fake_catalogue(tmp_path_factory) -> BasinCatalogue:
    """The catalogue of the fake root (not named ``catalogue``: that fixture is the real data's)."""
    root = write_fake_root(tmp_path_factory.mktemp("fake_data"))
    return BasinCatalogue.open(root)


def tiny_config(**changes) -> PretrainConfig:
    model = ModelConfig(d_model=16, encoder_layers=1, heads=2, feedforward=32, decoder_layers=1, patch_days=7,
                        window_patches=4, location_frequencies=3, dropout=0.1)
    masking = MaskingConfig(min_window_days=7, max_window_days=14)
    cfg = PretrainConfig(seed=3, holdout_fraction=0.25, holdout_seed=11, model=model, masking=masking,
                         batch_size=8, steps=30, learning_rate=3e-3, warmup_steps=3, checkpoint_every=10,
                         validate_every=10, validation_batches=2, threads=1, max_minutes=10.0)
    return dataclasses.replace(cfg, **changes)


def fixed_loss(trainer: Pretrainer) -> float:
    """Masked-reconstruction loss on fixed training batches (eval mode): comparable across steps."""
    trainer.model.eval()
    total = 0.0
    with torch.no_grad():
        for k in range(6):
            batch, visible = trainer._batch(trainer.train, np.random.default_rng([123, k]))
            total += float(reconstruction_loss(trainer.model(batch, visible), batch, visible, trainer.cfg.loss).total)
    return total / 6


@pytest.fixture(scope="module")
def finished(fake_catalogue, tmp_path_factory) -> dict:
    """One 30-step run, with the fixed-batch loss before and after."""
    run_dir = tmp_path_factory.mktemp("run")
    trainer = Pretrainer(tiny_config(), run_dir, fake_catalogue)
    before = fixed_loss(trainer)
    model_path = trainer.run()
    return {"trainer": trainer, "run_dir": run_dir, "model_path": model_path, "before": before,
            "after": fixed_loss(trainer)}


def read_log(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --- run folder -----------------------------------------------------------------------------------------
def test_run_writes_every_file(finished):
    run_dir, trainer = finished["run_dir"], finished["trainer"]
    for name in ("config.yaml", "normalizer.json", "split.json", "loss_log.csv", "training_state.pt", "model.pt",
                 "summary.json"):
        assert (run_dir / name).is_file(), name
    assert finished["model_path"] == run_dir / "model.pt"
    assert not list(run_dir.glob(".*partial"))
    assert load_config(PretrainConfig, run_dir / "config.yaml") == tiny_config()
    state = torch.load(run_dir / "training_state.pt", weights_only=True)
    assert state["step"] == 30 == trainer.step
    log = read_log(run_dir / "loss_log.csv")
    assert [int(r["step"]) for r in log] == [10, 20, 30]
    assert all(r["val_loss"] and np.isfinite(float(r["loss"])) for r in log)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 30 and summary["pretrain_basins"] == len(trainer.train_ids)


def test_saved_model_matches_the_trained_one(finished):
    trainer = finished["trainer"]
    base = load_base_model(finished["model_path"])
    assert base.normalizer == Normalizer.load(finished["run_dir"] / "normalizer.json") == trainer.normalizer
    assert base.config == trainer.cfg.model
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, base.model.state_dict()[name]), name
    assert json.loads((finished["run_dir"] / "summary.json").read_text())["sha256"] == base.sha256


def test_normalizer_is_fitted_on_pretraining_basins_only(finished, fake_catalogue):
    trainer = finished["trainer"]
    saved = Normalizer.load(finished["run_dir"] / "normalizer.json")
    assert saved.n_locations == len(trainer.train_ids)
    attributes = fake_catalogue.attributes
    arrays = load_basin_arrays(fake_catalogue)
    rows = [attributes.index(g) for g in trainer.train_ids]
    every_row = [attributes.index(g) for g in fake_catalogue.with_forcings_and_attributes]
    for name in ("elev_mean", "aridity", "root_depth_50"):
        i = saved.static_names.index(name)
        values = transform_static(name, attributes.numeric[name])
        assert saved.static_mean[i] == pytest.approx(np.nanmean(values[rows]), rel=1e-9)
        assert saved.static_std[i] == pytest.approx(np.nanstd(values[rows]), rel=1e-9)
        assert abs(saved.static_mean[i] - np.nanmean(values[every_row])) > 1e-3  # the held-out ones differ
    forcing_rows = [arrays.index(g) for g in trainer.train_ids]
    train_forcings = arrays.forcings[forcing_rows].reshape(-1, arrays.forcings.shape[-1]).astype(np.float64)
    assert np.allclose(saved.forcing_mean, np.nanmean(train_forcings, axis=0), rtol=1e-9)
    all_tmax = np.nanmean(arrays.forcings[..., saved.forcing_names.index("tmax")])
    assert abs(saved.forcing_mean[saved.forcing_names.index("tmax")] - all_tmax) > 1e-2
    assert saved.vocabularies["dom_land_cover"] == sorted(
        {attributes.categorical["dom_land_cover"][r] for r in rows} - {None})


def test_split_holds_out_exactly_the_seeded_fraction(finished, fake_catalogue):
    trainer = finished["trainer"]
    ids = fake_catalogue.with_forcings_and_attributes
    assert ids == sorted(GAUGE_IDS) and NO_FORCINGS not in ids
    kept, held = holdout_split(ids, 0.25, 11)
    assert trainer.holdout_ids == held and trainer.train_ids == kept
    assert len(held) == round(0.25 * N_BASINS) == 3
    assert not set(held) & set(kept) and sorted(held + kept) == ids
    split = json.loads((finished["run_dir"] / "split.json").read_text())
    assert split["holdout_basins"] == held and split["pretrain_basins"] == kept
    assert split["holdout_seed"] == 11
    assert split["period"] == ["1980-01-01", str(np.datetime64("1980-01-01") + N_DAYS - 1)]
    assert trainer.train.ids == kept and trainer.holdout.ids == held


@pytest.mark.parametrize(("fraction", "seed", "expected"), [(0.25, 11, 3), (0.5, 11, 6), (0.1, 7, 1)])
def test_holdout_fraction_and_seed(fake_catalogue, tmp_path, fraction, seed, expected):
    trainer = Pretrainer(tiny_config(holdout_fraction=fraction, holdout_seed=seed), tmp_path, fake_catalogue)
    assert len(trainer.holdout_ids) == expected
    assert trainer.holdout_ids == holdout_split(fake_catalogue.with_forcings_and_attributes, fraction, seed)[1]
    again = Pretrainer(tiny_config(holdout_fraction=fraction, holdout_seed=seed), tmp_path / "b", fake_catalogue)
    assert again.holdout_ids == trainer.holdout_ids


def test_different_holdout_seeds_hold_out_different_basins(fake_catalogue, tmp_path):
    a = Pretrainer(tiny_config(holdout_seed=1), tmp_path / "a", fake_catalogue)
    b = Pretrainer(tiny_config(holdout_seed=2), tmp_path / "b", fake_catalogue)
    assert a.holdout_ids != b.holdout_ids and len(a.holdout_ids) == len(b.holdout_ids)


# --- learning -------------------------------------------------------------------------------------------
def test_loss_decreases(finished):
    before, after = finished["before"], finished["after"]
    assert np.isfinite(before) and np.isfinite(after)
    assert after < 0.8 * before, f"fixed-batch loss {before:.3f} -> {after:.3f} after 30 steps"


# --- resuming -------------------------------------------------------------------------------------------
def _weights(trainer: Pretrainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], rtol=0, atol=1e-6), name


RESUME = {"steps": 12, "checkpoint_every": 5, "validate_every": 3}


@pytest.fixture(scope="module")
def uninterrupted(fake_catalogue, tmp_path_factory) -> dict:
    run_dir = tmp_path_factory.mktemp("straight")
    trainer = Pretrainer(tiny_config(**RESUME), run_dir, fake_catalogue)
    trainer.run()
    return {"weights": _weights(trainer), "log": read_log(run_dir / "loss_log.csv"),
            "optimizer": trainer.optimizer.state_dict()}


def _compare_logs(resumed: list[dict[str, str]], straight: list[dict[str, str]]) -> None:
    assert [r["step"] for r in resumed] == [r["step"] for r in straight] == ["3", "6", "9", "10", "12"]
    for a, b in zip(resumed, straight, strict=True):
        assert {k: v for k, v in a.items() if k != "elapsed_s"} == {k: v for k, v in b.items() if k != "elapsed_s"}


def test_run_stopped_by_sigterm_resumes_to_the_same_weights(fake_catalogue, tmp_path, uninterrupted, monkeypatch):
    trainer = Pretrainer(tiny_config(**RESUME), tmp_path, fake_catalogue)
    step = trainer.train_step

    def step_then_terminate() -> dict[str, float]:
        parts = step()
        if trainer.step == 7:
            os.kill(os.getpid(), signal.SIGTERM)
        return parts

    monkeypatch.setattr(trainer, "train_step", step_then_terminate)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert trainer.step == 7
    assert torch.load(tmp_path / "training_state.pt", weights_only=True)["step"] == 7
    assert not (tmp_path / "model.pt").exists()
    resumed = Pretrainer(tiny_config(**RESUME), tmp_path, fake_catalogue)
    assert resumed.step == 7
    resumed.run()
    assert resumed.step == 12
    _assert_same_weights(_weights(resumed), uninterrupted["weights"])
    _compare_logs(read_log(tmp_path / "loss_log.csv"), uninterrupted["log"])


def test_run_that_crashed_resumes_from_the_last_checkpoint(fake_catalogue, tmp_path, uninterrupted, monkeypatch):
    trainer = Pretrainer(tiny_config(**RESUME), tmp_path, fake_catalogue)
    step = trainer.train_step

    def crash_at_eight() -> dict[str, float]:
        if trainer.step == 8:
            raise RuntimeError("power cut")
        return step()

    monkeypatch.setattr(trainer, "train_step", crash_at_eight)
    with pytest.raises(RuntimeError, match="power cut"):
        trainer.run()
    # steps 6-8 ran after the last checkpoint (step 5) and logged step 6: they are done again on resume
    assert [r["step"] for r in read_log(tmp_path / "loss_log.csv")] == ["3", "6"]
    resumed = Pretrainer(tiny_config(**RESUME), tmp_path, fake_catalogue)
    assert resumed.step == 5
    assert [r["step"] for r in read_log(tmp_path / "loss_log.csv")] == ["3"]
    resumed.run()
    _assert_same_weights(_weights(resumed), uninterrupted["weights"])
    _compare_logs(read_log(tmp_path / "loss_log.csv"), uninterrupted["log"])
    assert resumed.optimizer.state_dict()["state"].keys() == uninterrupted["optimizer"]["state"].keys()


def test_resumed_run_that_is_already_finished_does_not_train_more(fake_catalogue, finished):
    again = Pretrainer(tiny_config(), finished["run_dir"], fake_catalogue)
    assert again.step == 30
    _assert_same_weights(_weights(again), _weights(finished["trainer"]))



def test_basin_fraction_pretrains_on_a_seeded_subset_and_keeps_the_holdout(fake_catalogue, tmp_path):
    full = Pretrainer(tiny_config(holdout_fraction=0.25, holdout_seed=11), tmp_path / "full", fake_catalogue)
    half = Pretrainer(tiny_config(holdout_fraction=0.25, holdout_seed=11, basin_fraction=0.5), tmp_path / "half",
                      fake_catalogue)
    assert half.holdout_ids == full.holdout_ids  # same withheld basins: validation losses stay comparable
    assert len(half.train_ids) == round(0.5 * len(full.train_ids)) and set(half.train_ids) < set(full.train_ids)
    assert half.train.ids == half.train_ids
    split = json.loads((tmp_path / "half" / "split.json").read_text())
    assert split["pretrain_basins"] == half.train_ids
    with pytest.raises(ValueError, match="basin_fraction"):
        Pretrainer(tiny_config(basin_fraction=0.0), tmp_path / "zero", fake_catalogue)
