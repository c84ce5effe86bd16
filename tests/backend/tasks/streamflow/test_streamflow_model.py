"""Fine-tuning on user gauges with a tiny random base model and three basins of the generated mini data root
(``tests/fixtures/mini_camels.py``, the data root of every test here): the frozen encoder stays
bit-identical, interrupted runs leave no adapter or the previous complete one, adapters are tied to their base
model, and predictions cover the asked days with non-negative flow."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core import progress as progress_module
from backend.core.config import load_config
from backend.core.errors import CheckpointError
from backend.core.paths import PROJECT_ROOT
from backend.data.catalogue import BasinCatalogue
from backend.data.normalization import Normalizer
from backend.data.variables import FORCING_VARIABLES, Kind, input_static_names
from backend.model.checkpoint import load_base_model, save_base_model
from backend.model.config import ModelConfig
from backend.model.inputs import vocabulary_from
from backend.model.loading import get_base_model
from backend.model.mae import StefaLandMAE
from backend.service import streamflow as streamflow_service
from backend.service.requests import parse_params
from backend.tasks.streamflow.adapter_io import load_streamflow_adapter, save_streamflow_adapter
from backend.tasks.streamflow.gauge_run import (
    ADAPTER_NAME,
    FinetuneInputs,
    FinetuneRunConfig,
    predict_gauges,
    run_finetune,
)
from backend.tasks.streamflow.model import StreamflowModel
from backend.tasks.streamflow.networks import HeadConfig
from backend.tasks.streamflow.user_finetune import GaugeFinetuneConfig

CFG = GaugeFinetuneConfig(steps=6, batch_size=4, loss_days=60, validate_every=3, patience=2, max_seconds=60)
FLOW_PERIOD = ("1996-10-01", "1998-09-30")

pytestmark = pytest.mark.usefixtures("mini_data")  # predictions at a point borrow the nearest basin's forcings


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, mini_catalogue: BasinCatalogue) -> dict[str, Path]:
    """Two tiny random base models (files) with the data's vocabulary, and a warm-start adapter for the first."""
    attributes = mini_catalogue.attributes
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    names = input_static_names(Kind.NUMERIC)
    vocab = {n: sorted({v for v in attributes.categorical[n] if v is not None})
             for n in input_static_names(Kind.CATEGORICAL)}
    norm = Normalizer(list(FORCING_VARIABLES), [3.0, 300.0, 15.0, 3.0, 900.0, 43000.0],
                      [7.0, 100.0, 10.0, 10.0, 600.0, 7000.0], names, [0.0] * len(names), [100.0] * len(names),
                      vocab, 1)
    cfg = ModelConfig(d_model=16, encoder_layers=1, heads=2, feedforward=32, decoder_layers=1, patch_days=7,
                      window_patches=4, location_frequencies=2, dropout=0.0)
    paths = {}
    for name, seed in (("base", 0), ("other", 1)):
        torch.manual_seed(seed)
        paths[name] = root / f"{name}.pt"
        save_base_model(paths[name], StefaLandMAE(cfg, vocabulary_from(norm)), norm)
    base = load_base_model(paths["base"])
    head = HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.0)
    torch.manual_seed(2)
    warm = StreamflowModel("stefaland", base, len(names), head, 1.0, 1.0)
    paths["warm"] = save_streamflow_adapter(root / "warm.pt", warm, base, head, 30, {"test": True})
    return paths


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory, mini_catalogue: BasinCatalogue) -> dict[str, Path]:
    """Three generated CAMELS basins in the user format: two years of flow, six months of forcings before it."""
    from backend.tasks.streamflow.example_gauges import write_example_gauges

    root = tmp_path_factory.mktemp("gauges")
    summary = write_example_gauges(root, n=3, catalogue=mini_catalogue, flow_period=FLOW_PERIOD,
                                   forcing_start="1996-04-01")
    return {"gauges": root / "gauges.csv", "streamflow": root / "streamflow.csv", "forcings": root / "forcings",
            "ids": summary["basins"]}


def _inputs(example: dict, models: dict) -> FinetuneInputs:
    return FinetuneInputs(example["gauges"], example["streamflow"], example["forcings"], models["base"],
                          models["warm"])


def test_finetune_request_trains_an_adapter_and_leaves_the_encoder_bit_identical(
        models: dict, example: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEFALAND_BASE_MODEL", str(models["base"]))
    base = get_base_model()  # the very object the fine-tune uses (cached per path)
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    trainable = {n: p.requires_grad for n, p in base.model.named_parameters()}
    fractions: list[float] = []
    monkeypatch.setattr(progress_module, "PROGRESS_CALLBACK", lambda f, m: fractions.append(f))  # as the worker
    result = streamflow_service.finetune_request(parse_params("finetune_streamflow",
        {"gauges_csv": str(example["gauges"]), "streamflow_csv": str(example["streamflow"]),
         "forcings_dir": str(example["forcings"]), "out_dir": str(tmp_path / "mine"), "steps": 4,
         "adapter": str(models["warm"])}), lambda f, m: fractions.append(f))
    after = base.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {n: p.requires_grad for n, p in base.model.named_parameters()} == trainable
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] == 1.0
    assert sorted(result["metrics"]) == example["ids"]
    adapter = Path(result["adapter"])
    model, cfg, meta = load_streamflow_adapter(adapter, base)
    assert cfg["warmup_days"] == 30 and [g["id"] for g in meta["gauges"]] == example["ids"]
    assert all(g["imputed"] and "area_gages2" in g["given"] for g in meta["gauges"])
    saved = load_config(FinetuneRunConfig, adapter.parent / "config.yaml")  # the resolved config reloads
    assert saved.training.steps == 4 and saved.base_sha256 == base.sha256 and saved.warmup_days == 30
    assert "NSE" in (adapter.parent / "report.md").read_text(encoding="utf-8")
    with pytest.raises(CheckpointError, match="trained on base model"):
        load_streamflow_adapter(adapter, load_base_model(models["other"]))


def _partials(folder: Path) -> list[Path]:
    return list(folder.glob(".*.partial")) if folder.exists() else []


def test_interrupted_finetune_leaves_no_adapter_or_the_previous_complete_one(
        models: dict, example: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, out = _inputs(example, models), tmp_path / "adapter"
    calls = []

    def interrupt_at_step_3() -> bool:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        run_finetune(inputs, out, CFG, should_stop=interrupt_at_step_3)
    assert not (out / ADAPTER_NAME).exists() and not _partials(out)

    run_finetune(inputs, out, CFG)  # restarted: completes
    complete = (out / ADAPTER_NAME).read_bytes()

    def interrupt_now() -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_finetune(inputs, out, CFG, overwrite=True, should_stop=interrupt_now)
    assert (out / ADAPTER_NAME).read_bytes() == complete

    def half_save(obj: object, handle, *args: object, **kwargs: object) -> None:
        handle.write(b"PK\x03\x04 half an archive")  # dies while writing the new adapter file
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(torch, "save", half_save)
        run_finetune(inputs, out, CFG, overwrite=True)
    assert (out / ADAPTER_NAME).read_bytes() == complete and not _partials(out)
    load_streamflow_adapter(out / ADAPTER_NAME, load_base_model(models["base"]))


def test_sigterm_stops_the_finetune_command_without_an_adapter(models: dict, example: dict, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    env = {**os.environ, "STEFALAND_BASE_MODEL": str(models["base"])}
    command = [sys.executable, "-m", "backend", "finetune", "--gauges", str(example["gauges"]),
               "--streamflow", str(example["streamflow"]), "--forcings", str(example["forcings"]),
               "--out-dir", str(out), "--adapter", str(models["warm"]), "--steps", "1000000", "--max-seconds", "600"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=PROJECT_ROOT)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "fine-tune on gauges" in line:  # the progress line of the first training step: inside the loop
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest
    assert not (out / ADAPTER_NAME).exists() and not _partials(out)


def test_predictions_cover_the_asked_days_with_non_negative_flow(models: dict, example: dict,
                                                                 tmp_path: Path) -> None:
    rows = predict_gauges(example["gauges"], example["forcings"], example["streamflow"], tmp_path, "1997-06-01",
                          "1997-08-31", adapter=models["warm"], model=models["base"])
    assert [r["id"] for r in rows] == example["ids"]
    expected = [str(d) for d in np.arange(np.datetime64("1997-06-01"), np.datetime64("1997-09-01"))]
    for row in rows:
        with open(row["csv"], newline="", encoding="utf-8") as handle:
            table = list(csv.DictReader(handle))
        assert [r["date"] for r in table] == expected and row["n_days"] == 92
        assert all(float(r["streamflow_pred"]) >= 0 for r in table)
        assert all(r["streamflow_obs"] != "" for r in table) and row["nse"] is not None
    with pytest.raises(ValueError, match="outside the forcings"):  # before the forcings begin
        from backend.data.user_gauges import load_user_dataset
        from backend.tasks.streamflow.user_data import predict_user_gauge

        base = get_base_model(models["base"])
        model, _, _ = load_streamflow_adapter(models["warm"], base)
        dataset = load_user_dataset(example["gauges"], None, example["forcings"])
        predict_user_gauge(base, model, dataset, example["ids"][0], "1990-01-01", "1990-12-31", 30)


def test_worker_location_predictions_say_where_forcings_came_from(models: dict, example: dict,
                                                                   tmp_path: Path) -> None:
    common = {"start": "1997-01-01", "end": "1997-01-31", "model": str(models["base"]),
              "adapter": str(models["warm"]), "attributes": {"area_km2": 250, "elev_mean": 400, "shoe_size": 9}}
    own = streamflow_service.predict_location_request(parse_params("predict_location",
        {**common, "lat": 42.3, "lon": -74.4, "forcings_csv": str(example["forcings"] / f"{example['ids'][0]}.csv"),
         "out_csv": str(tmp_path / "own.csv")}), lambda f, m: None)
    assert own["n_days"] == 31 and own["nearest_basin"] is None and "forcings CSV" in own["forcing_source"]
    assert own["given"] == ["area_gages2", "elev_mean"] and own["ignored"] == ["shoe_size (not a model attribute)"]
    assert "p_mean" in own["imputed"] and own["nse"] is None and own["mean_flow"] >= 0
    borrowed = streamflow_service.predict_location_request(parse_params("predict_location",
        {**common, "lat": 40.0, "lon": -105.3, "out_csv": str(tmp_path / "near.csv")}), lambda f, m: None)
    nearest = borrowed["nearest_basin"]
    assert nearest["distance_km"] < 200 and nearest["gauge_id"] in borrowed["forcing_source"]
    gauge = streamflow_service.predict_request(parse_params("predict_streamflow",
        {"gauge_id": example["ids"][0], "start": "1997-06-01", "end": "1997-06-30", "model": str(models["base"]),
         "adapter": str(models["warm"]), "out_csv": str(tmp_path / "gauge.csv"), "gauges_csv": str(example["gauges"]),
         "streamflow_csv": str(example["streamflow"]), "forcings_dir": str(example["forcings"])}), lambda f, m: None)
    assert gauge["n_days"] == 30 and gauge["has_observations"] and gauge["gauge_id"] == example["ids"][0]
    assert streamflow_service.validate_request(parse_params("validate_gauges",
        {"gauges_csv": str(example["gauges"]), "streamflow_csv": str(example["streamflow"]),
         "forcings_dir": str(example["forcings"]), "model": str(models["base"])}), lambda f, m: None)["problems"] == []


def test_finetune_of_an_ensemble_adapter_fine_tunes_every_member(models: dict, example: dict,
                                                                  tmp_path: Path) -> None:
    from backend.tasks.streamflow.model import StreamflowEnsemble

    base = load_base_model(models["base"])
    warm_single, _, _ = load_streamflow_adapter(models["warm"], base)
    head = HeadConfig(lstm_hidden=8, adapter_hidden=8, dropout=0.0)
    members = []
    for seed in range(3):
        torch.manual_seed(10 + seed)
        members.append(StreamflowModel("stefaland", base, len(input_static_names(Kind.NUMERIC)), head, 1.0, 1.0))
    warm = save_streamflow_adapter(tmp_path / "warm_ensemble.pt", StreamflowEnsemble(members), base, head, 30, {})
    fractions: list[float] = []
    summary = run_finetune(FinetuneInputs(example["gauges"], example["streamflow"], example["forcings"],
                                          models["base"], warm), tmp_path / "out", CFG,
                           report=lambda f, m: fractions.append(f))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    model, cfg, meta = load_streamflow_adapter(tmp_path / "out" / ADAPTER_NAME, base)
    assert len(model) == 3 and cfg["members"] == 3 and len(warm_single) == 1
    assert [m["seed"] for m in meta["members"]] == [CFG.seed, CFG.seed + 1, CFG.seed + 2]
    assert [m["member"] for m in summary["members"]] == [0, 1, 2] and len(summary["best_step"]) == 3
    for m, member in enumerate(model.members):  # member m started from the warm start's member m
        got = member.state_dict()
        distance = [sum(float((w.state_dict()[k] - got[k]).abs().sum()) for k in got) for w in members]
        assert int(np.argmin(distance)) == m
        assert (distance[m] == 0.0) == meta["members"][m]["kept_warm_start"]
    rows = predict_gauges(example["gauges"], example["forcings"], example["streamflow"], tmp_path / "pred",
                          "1997-06-01", "1997-06-30", adapter=tmp_path / "out" / ADAPTER_NAME, model=models["base"])
    assert all(r["members"] == 3 for r in rows)
    with open(rows[0]["csv"], newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["date", "streamflow_pred", "member_spread_p10", "member_spread_p90", "streamflow_obs"]
    assert all(float(r["member_spread_p10"]) <= float(r["member_spread_p90"]) for r in table)
