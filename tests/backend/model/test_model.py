"""The masked autoencoder: masking, reconstruction loss, the model's inputs/outputs and checkpoint files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.core.errors import CheckpointError
from backend.data.normalization import Normalizer
from backend.data.variables import FORCING_VARIABLES, STATIC_BY_NAME, STATIC_GROUPS, Kind, input_static_names
from backend.model import checkpoint as checkpoint_module
from backend.model.batch import Batch, Visibility
from backend.model.checkpoint import FORMAT, file_sha256, load_base_model, save_base_model
from backend.model.config import MaskingConfig, ModelConfig
from backend.model.embeddings import LocationToken
from backend.model.inputs import LocationData, make_batch, vocabulary_from
from backend.model.losses import LossWeights, reconstruction_loss
from backend.model.mae import Reconstruction, StefaLandMAE
from backend.model.masking import sample_visibility

torch.set_num_threads(1)

N_VARS = len(FORCING_VARIABLES)
NUMERIC = input_static_names(Kind.NUMERIC)
CATEGORICAL = input_static_names(Kind.CATEGORICAL)


def make_normalizer() -> Normalizer:
    """Identity statistics over the real variable vocabulary (three categories per categorical attribute)."""
    return Normalizer(list(FORCING_VARIABLES), [0.0] * N_VARS, [1.0] * N_VARS, list(NUMERIC),
                      [0.0] * len(NUMERIC), [1.0] * len(NUMERIC), {n: ["a", "b", "c"] for n in CATEGORICAL}, 3)


NORM = make_normalizer()
VOCAB = vocabulary_from(NORM)
TINY = ModelConfig(d_model=16, encoder_layers=1, heads=2, feedforward=32, decoder_layers=1, patch_days=7,
                   window_patches=4, location_frequencies=3, dropout=0.1)


def make_model(cfg: ModelConfig = TINY, seed: int = 0) -> StefaLandMAE:
    torch.manual_seed(seed)
    return StefaLandMAE(cfg, VOCAB).eval()


def random_batch(b: int, n: int, seed: int, p: int = 7, missing: float = 0.0) -> Batch:
    """A batch of random z-scores; with ``missing`` > 0 that share of every input is unobserved."""
    g = torch.Generator().manual_seed(seed)
    a, c = len(NUMERIC), len(CATEGORICAL)
    forcings_observed = torch.rand(b, n, N_VARS, p, generator=g) >= missing
    statics_observed = torch.rand(b, a, generator=g) >= missing
    categories = torch.randint(1, 4, (b, c), generator=g)
    categories[torch.rand(b, c, generator=g) < missing] = 0
    forcings = torch.randn(b, n, N_VARS, p, generator=g) * forcings_observed
    statics = torch.randn(b, a, generator=g) * statics_observed
    latlon = torch.stack([torch.rand(b, generator=g) * 25 + 25, torch.rand(b, generator=g) * 55 - 125], 1)
    return Batch(forcings, forcings_observed, torch.randint(0, 366, (b, n), generator=g), statics,
                 statics_observed, categories, latlon)


def visibility(batch: Batch, cfg: MaskingConfig, seed: int, patch_days: int = 7) -> Visibility:
    return sample_visibility(batch, VOCAB.numeric_groups, VOCAB.categorical_groups, cfg, patch_days,
                             np.random.default_rng(seed))


def runs(hidden: np.ndarray) -> list[int]:
    """Lengths of the runs of True in a 1-d boolean array."""
    padded = np.concatenate([[False], hidden, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return (edges[1::2] - edges[0::2]).tolist()


# --- vocabulary -----------------------------------------------------------------------------------------
def test_vocabulary_groups_partition_the_static_attributes():
    assert VOCAB.group_names == list(STATIC_GROUPS)
    assert len(VOCAB.numeric_groups) == len(VOCAB.categorical_groups) == len(STATIC_GROUPS)
    numeric = sorted(i for g in VOCAB.numeric_groups for i in g)
    assert numeric == list(range(len(VOCAB.static_names)))  # every attribute in exactly one group
    categorical = sorted(i for g in VOCAB.categorical_groups for i in g)
    assert categorical == list(range(len(VOCAB.categorical_names)))
    for group, numeric_members, categorical_members in zip(STATIC_GROUPS, VOCAB.numeric_groups,
                                                           VOCAB.categorical_groups, strict=True):
        assert numeric_members, group  # every group has numeric attributes
        assert all(STATIC_BY_NAME[VOCAB.static_names[i]].group == group for i in numeric_members)
        assert all(STATIC_BY_NAME[VOCAB.categorical_names[i]].group == group for i in categorical_members)
    assert VOCAB.static_names == NUMERIC and VOCAB.categorical_names == CATEGORICAL
    assert VOCAB.vocab_sizes == [3] * len(CATEGORICAL)
    assert VOCAB.forcing_names == list(FORCING_VARIABLES)


# --- masking --------------------------------------------------------------------------------------------
def _something_observed(batch: Batch) -> torch.Tensor:
    return (batch.forcings_observed.all(-1).flatten(1).any(1) | batch.statics_observed.any(1)
            | (batch.categories > 0).any(1))


def _something_visible(vis: Visibility) -> torch.Tensor:
    return vis.forcing_tokens.flatten(1).any(1) | vis.statics.any(1) | vis.categories.any(1)


EXTREME_MASKING = [
    MaskingConfig(),
    MaskingConfig(static_group_probability=1.0, all_forcings_probability=1.0, all_statics_probability=1.0),
    MaskingConfig(static_group_probability=1.0, all_forcings_probability=1.0, all_statics_probability=0.0),
    MaskingConfig(static_group_probability=1.0, all_forcings_probability=0.0, all_statics_probability=1.0),
    MaskingConfig(static_group_probability=1.0, forcing_ratio=1.0, all_forcings_probability=0.0,
                  all_statics_probability=1.0),
    MaskingConfig(static_group_probability=0.9, forcing_ratio=1.0, all_forcings_probability=0.5,
                  all_statics_probability=0.5),
]


@pytest.mark.parametrize("cfg", EXTREME_MASKING)
def test_masking_never_hides_the_whole_input(cfg):
    for seed in range(25):
        batch = random_batch(16, 8, seed, missing=0.3 if seed % 2 else 0.0)
        # some static-only samples (no forcings), some forcing-only samples (no statics at all)
        batch.forcings_observed[:4] = False
        batch.forcings[:4] = 0
        batch.statics_observed[4:8] = False
        batch.statics[4:8] = 0
        batch.categories[4:8] = 0
        batch.statics_observed[8:10, 1:] = False  # a single observed attribute
        batch.categories[8:10] = 0
        vis = visibility(batch, cfg, seed)
        observed = _something_observed(batch)
        assert observed.all()
        assert _something_visible(vis).all(), f"seed {seed}: a sample with observed inputs shows nothing"


@pytest.mark.parametrize("cfg", EXTREME_MASKING)
def test_missing_values_are_never_visible(cfg):
    for seed in range(10):
        batch = random_batch(12, 8, seed, missing=0.4)
        vis = visibility(batch, cfg, seed)
        assert not (vis.statics & ~batch.statics_observed).any()
        assert not (vis.categories & (batch.categories == 0)).any()
        # a forcing token is shown only when every one of its days is observed
        assert not (vis.forcing_tokens & ~batch.forcings_observed.all(-1)).any()


@pytest.mark.parametrize("probability", [0.5, 1.0])
def test_static_attributes_are_hidden_in_whole_groups(probability):
    cfg = MaskingConfig(static_group_probability=probability)
    hidden_groups = shown_groups = 0
    for seed in range(20):
        batch = random_batch(16, 8, seed, missing=0.2)
        vis = visibility(batch, cfg, seed)
        for i in range(batch.size):
            for numeric, categorical in zip(VOCAB.numeric_groups, VOCAB.categorical_groups, strict=True):
                states = [bool(vis.statics[i, a]) for a in numeric if batch.statics_observed[i, a]]
                states += [bool(vis.categories[i, c]) for c in categorical if batch.categories[i, c] > 0]
                assert len(set(states)) <= 1, f"seed {seed}, sample {i}: group partly hidden"
                if states:
                    hidden_groups += not states[0]
                    shown_groups += states[0]
    assert hidden_groups > 0
    if probability < 1.0:
        share = hidden_groups / (hidden_groups + shown_groups)
        assert 0.4 < share < 0.75  # 0.5 per group, plus the all-statics scenario


def test_forcing_windows_are_contiguous_runs_of_the_configured_length():
    # target = 4 hidden patches (one minimum-length window), so exactly one window is drawn per variable
    cfg = MaskingConfig(forcing_ratio=4 / 52, min_window_days=28, max_window_days=91,
                        all_forcings_probability=0.0, all_statics_probability=0.0)
    lengths = []
    for seed in range(10):
        vis = visibility(random_batch(8, 52, seed), cfg, seed)
        hidden = ~vis.forcing_tokens.numpy()
        for i in range(hidden.shape[0]):
            for v in range(hidden.shape[2]):
                found = runs(hidden[i, :, v])
                assert len(found) == 1
                lengths.append(found[0])
    assert min(lengths) >= 28 // 7 and max(lengths) <= 91 // 7
    assert len(set(lengths)) > 5  # lengths spread over the range 4..13


def test_forcing_hidden_share_is_about_the_ratio():
    cfg = MaskingConfig(forcing_ratio=0.5, min_window_days=28, max_window_days=91,
                        all_forcings_probability=0.0, all_statics_probability=0.0)
    lo, hi, n = 4, 13, 52
    shares = []
    for seed in range(10):
        vis = visibility(random_batch(8, n, seed), cfg, seed)
        hidden = ~vis.forcing_tokens.numpy()
        for i in range(hidden.shape[0]):
            for v in range(hidden.shape[2]):
                count = int(hidden[i, :, v].sum())
                assert 26 <= count <= 26 + hi - 1  # the last window overshoots by less than one window
                assert all(length >= lo for length in runs(hidden[i, :, v]))
                shares.append(count / n)
        # each variable is masked on its own: the patterns of different variables differ
        assert not all(np.array_equal(hidden[0, :, 0], hidden[0, :, v]) for v in range(1, hidden.shape[2]))
    assert abs(np.mean(shares) - 0.5) < 0.1


def test_all_forcings_scenario_hides_every_forcing_and_keeps_a_static_group():
    cfg = MaskingConfig(static_group_probability=1.0, all_forcings_probability=1.0, all_statics_probability=0.0)
    batch = random_batch(32, 8, 0)
    vis = visibility(batch, cfg, 0)
    assert not vis.forcing_tokens.any()
    assert vis.statics.any(1).all()


def test_masking_is_deterministic_for_a_seeded_generator():
    batch = random_batch(16, 52, 3, missing=0.1)
    a, b, c = (visibility(batch, MaskingConfig(), seed) for seed in (7, 7, 8))
    for name in ("forcing_tokens", "statics", "categories"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.forcing_tokens, c.forcing_tokens)


# --- loss -----------------------------------------------------------------------------------------------
def perfect(batch: Batch) -> Reconstruction:
    logits = [torch.nn.functional.one_hot(batch.categories[:, j], 4).float() * 1e4
              for j in range(batch.categories.shape[1])]
    return Reconstruction(batch.forcings.clone(), batch.statics.clone(), logits)


def test_loss_is_zero_for_perfect_hidden_entries_whatever_the_visible_ones():
    batch = random_batch(6, 4, 0, missing=0.2)
    vis = visibility(batch, MaskingConfig(), 0)
    out = perfect(batch)
    # visible entries wildly wrong, unobserved entries wrong too: neither may count
    shown_days = vis.forcing_tokens.unsqueeze(-1).expand_as(out.forcings)
    out.forcings[shown_days | ~batch.forcings_observed] = 1e6
    out.statics[vis.statics | ~batch.statics_observed] = -1e6
    for j, logits in enumerate(out.category_logits):
        skip = vis.categories[:, j] | (batch.categories[:, j] == 0)
        logits[skip] = torch.tensor([0.0, 1e4, -1e4, 1e4])  # confidently wrong
    assert (~shown_days & batch.forcings_observed).any() and (~vis.statics & batch.statics_observed).any()
    loss = reconstruction_loss(out, batch, vis)
    assert float(loss.forcings) == 0.0 and float(loss.statics) == 0.0
    assert float(loss.categories) < 1e-6
    assert float(loss.total) < 1e-6


def test_loss_counts_a_wrong_hidden_entry():
    batch = random_batch(6, 4, 1)
    vis = visibility(batch, MaskingConfig(all_forcings_probability=0.0, all_statics_probability=0.0), 1)
    base = float(reconstruction_loss(perfect(batch), batch, vis).total)
    hidden_token = (~vis.forcing_tokens).nonzero()[0].tolist()
    out = perfect(batch)
    out.forcings[tuple(hidden_token)][0] += 1.0
    assert float(reconstruction_loss(out, batch, vis).forcings) > 0
    hidden_static = (~vis.statics & batch.statics_observed).nonzero()[0].tolist()
    out = perfect(batch)
    out.statics[tuple(hidden_static)] += 1.0
    assert float(reconstruction_loss(out, batch, vis).statics) > 0
    assert float(reconstruction_loss(out, batch, vis).total) > base


def _two_variable_case() -> tuple[Reconstruction, Batch, Visibility]:
    """Forcing variable 0: 20 hidden days off by 1; variable 1: one hidden day off by 3; others shown."""
    batch = random_batch(1, 4, 2)
    batch.statics_observed[:] = False
    batch.categories[:] = 0
    vis = Visibility(torch.ones(1, 4, N_VARS, dtype=torch.bool), torch.zeros(1, len(NUMERIC), dtype=torch.bool),
                     torch.zeros(1, len(CATEGORICAL), dtype=torch.bool))
    vis.forcing_tokens[0, :3, 0] = False  # 21 hidden days of variable 0
    vis.forcing_tokens[0, 0, 1] = False   # 7 hidden days of variable 1 ...
    batch.forcings_observed[0, 0, 1, 1:] = False  # ... of which one is observed
    out = perfect(batch)
    out.forcings[0, :3, 0] += 1.0
    out.forcings[0, 0, 1, 0] += 3.0
    out.forcings[0, 0, 1, 1:] += 100.0  # unobserved: never counts
    batch.forcings_observed[0, 2, 0, 6] = False  # 20 observed hidden days of variable 0
    out.forcings[0, 2, 0, 6] += 100.0
    return out, batch, vis


def test_loss_averages_per_variable():
    out, batch, vis = _two_variable_case()
    loss = reconstruction_loss(out, batch, vis)
    # per variable: (1 + 9) / 2 = 5; pooled over the 21 entries it would be (20 + 9) / 21
    assert float(loss.forcings) == pytest.approx(5.0, rel=1e-6)
    assert float(loss.statics) == 0.0 and float(loss.categories) == 0.0


def test_loss_per_variable_for_statics_and_weights():
    batch = random_batch(10, 4, 3)
    vis = Visibility.everything_observed(batch)
    vis.statics[:, 0] = False   # attribute 0 hidden in 10 samples, off by 1
    vis.statics[0, 1] = False   # attribute 1 hidden in one sample, off by 2
    vis.forcing_tokens[0, 0, 0] = False
    vis.categories[:, 0] = False
    out = perfect(batch)
    out.statics[:, 0] += 1.0
    out.statics[0, 1] += 2.0
    out.forcings[0, 0, 0] += 0.5
    out.category_logits[0] = torch.zeros(10, 4)  # uniform over 4 classes: cross-entropy log 4
    parts = reconstruction_loss(out, batch, vis, LossWeights(1.0, 0.0, 0.0))
    assert float(parts.statics) == pytest.approx((1 + 4) / 2, rel=1e-6)
    assert float(parts.forcings) == pytest.approx(0.25, rel=1e-6)
    assert float(parts.categories) == pytest.approx(np.log(4), rel=1e-5)
    for weights in (LossWeights(), LossWeights(2.0, 0.0, 0.0), LossWeights(0.0, 3.0, 0.5)):
        total = float(reconstruction_loss(out, batch, vis, weights).total)
        expected = weights.forcings * 0.25 + weights.statics * 2.5 + weights.categories * np.log(4)
        assert total == pytest.approx(expected, rel=1e-5)
    default = float(reconstruction_loss(out, batch, vis).total)
    assert default == pytest.approx(1.0 * 0.25 + 0.5 * 2.5 + 0.1 * np.log(4), rel=1e-5)


def test_loss_with_nothing_hidden_is_zero_and_differentiable():
    model = make_model()
    batch = random_batch(2, 4, 4)
    vis = Visibility.everything_observed(batch)
    loss = reconstruction_loss(model(batch, vis), batch, vis)
    assert float(loss.total) == 0.0


def test_loss_trains_the_model():
    model = make_model().train()
    batch = random_batch(4, 4, 5)
    vis = visibility(batch, MaskingConfig(), 5)
    loss = reconstruction_loss(model(batch, vis), batch, vis)
    loss.total.backward()
    assert torch.isfinite(loss.total)
    assert model.forcing_head.weight.grad is not None and model.forcing_head.weight.grad.abs().sum() > 0


# --- model ----------------------------------------------------------------------------------------------
def test_output_shapes():
    model = make_model()
    batch = random_batch(3, 4, 0)
    enc = model.encode(batch, Visibility.everything_observed(batch))
    n_groups = len(STATIC_GROUPS)
    assert enc.states.shape == (3, 1 + n_groups + 4, 16)
    assert enc.location.shape == (3, 16) and enc.static_groups.shape == (3, n_groups, 16)
    assert enc.time.shape == (3, 4, 16)
    assert enc.location_vector().shape == (3, 16) and enc.window_vector().shape == (3, 16)
    out = model.decode(enc)
    assert out.forcings.shape == (3, 4, N_VARS, 7)
    assert out.statics.shape == (3, len(NUMERIC))
    assert [tuple(lg.shape) for lg in out.category_logits] == [(3, 4)] * len(CATEGORICAL)


def test_static_only_locations_encode_and_decode():
    model = make_model()
    rng = np.random.default_rng(0)
    a, c = len(NUMERIC), len(CATEGORICAL)
    data = LocationData(["x", "y"], rng.normal(size=(2, a)).astype(np.float32), np.ones((2, a), bool),
                        np.ones((2, c), np.int64), np.array([[40.0, -100.0], [35.0, -80.0]], np.float32))
    batch = make_batch(data, np.array([0, 1]), None, TINY.patch_days, TINY.window_patches)
    assert batch.forcings.shape == (2, 4, N_VARS, 7) and not batch.forcings_observed.any()
    vis = Visibility.everything_observed(batch)
    assert not vis.forcing_tokens.any()
    with torch.no_grad():
        enc = model.encode(batch, vis)
        out = model.decode(enc)
    assert torch.isfinite(enc.states).all() and torch.isfinite(out.forcings).all()
    assert torch.isfinite(out.statics).all()
    assert not torch.allclose(enc.location_vector()[0], enc.location_vector()[1])


def test_location_token_responds_to_latitude_and_longitude():
    torch.manual_seed(0)
    token = LocationToken(3, 16).eval()
    latlon = torch.tensor([[40.0, -100.0], [41.0, -100.0], [40.0, -101.0], [40.0, 180.0], [40.0, -180.0]])
    out = token(latlon)[:, 0]
    assert not torch.allclose(out[0], out[1], atol=1e-4)  # latitude moves it
    assert not torch.allclose(out[0], out[2], atol=1e-4)  # longitude moves it
    assert torch.allclose(out[3], out[4], atol=1e-4)      # +-180 degrees is the same place
    model = make_model()
    batch = random_batch(1, 4, 0)
    moved = dataclasses.replace(batch, latlon=batch.latlon + torch.tensor([[5.0, 5.0]]))
    with torch.no_grad():
        a = model.encode(batch, Visibility.everything_observed(batch))
        b = model.encode(moved, Visibility.everything_observed(moved))
    assert not torch.allclose(a.location, b.location, atol=1e-4)


def _encode(model: StefaLandMAE, batch: Batch, vis: Visibility) -> torch.Tensor:
    with torch.no_grad():
        return model.encode(batch, vis).states


def test_hidden_values_have_no_influence_on_the_encoding():
    model = make_model()
    batch = random_batch(4, 4, 6)
    vis = visibility(batch, MaskingConfig(all_forcings_probability=0.0, all_statics_probability=0.0), 6)
    reference = _encode(model, batch, vis)
    changed = dataclasses.replace(batch, forcings=batch.forcings.clone(), statics=batch.statics.clone(),
                                  categories=batch.categories.clone())
    changed.forcings[~vis.forcing_tokens] = 123.0
    changed.statics[~vis.statics] = -55.0
    changed.categories[~vis.categories & (batch.categories > 0)] = 1 + batch.categories[
        ~vis.categories & (batch.categories > 0)] % 3
    assert not torch.equal(changed.forcings, batch.forcings) and not torch.equal(changed.statics, batch.statics)
    assert torch.equal(_encode(model, changed, vis), reference)
    # a visible value does move the encoding
    shown = vis.statics.nonzero()[0].tolist()
    changed.statics[tuple(shown)] += 1.0
    assert not torch.equal(_encode(model, changed, vis), reference)


# --- checkpoint -----------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, StefaLandMAE, str]:
    model = make_model(seed=3)
    path = tmp_path / "base.pt"
    sha = save_base_model(path, model, NORM, {"steps": 7})
    return path, model, sha


def test_checkpoint_round_trip_is_bit_identical(saved, tmp_path):
    path, model, sha = saved
    base = load_base_model(path)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest() == base.sha256 == file_sha256(path)
    assert base.config == TINY and base.normalizer == NORM and base.path == path
    assert not base.model.training
    batch = random_batch(3, 4, 9)
    vis = visibility(batch, MaskingConfig(), 9)
    with torch.no_grad():
        a, b = model(batch, vis), base.model(batch, vis)
    assert torch.equal(a.forcings, b.forcings) and torch.equal(a.statics, b.statics)
    assert all(torch.equal(x, y) for x, y in zip(a.category_logits, b.category_logits, strict=True))
    # the same weights give the same bytes, hence the same checksum; other weights another one
    assert save_base_model(tmp_path / "again.pt", base.model, base.normalizer, {"steps": 7}) == sha
    assert save_base_model(tmp_path / "other.pt", make_model(seed=4), NORM, {"steps": 7}) != sha
    assert checkpoint_module.read_extra(path) == {"steps": 7}


def test_random_bytes_raise_checkpoint_error(tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CheckpointError, match="random.pt"):
        load_base_model(path)


def test_truncated_file_raises_checkpoint_error(saved):
    path = saved[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=str(path.name)) as info:
        load_base_model(path)
    assert "not a readable checkpoint" in str(info.value)


def test_missing_file_raises_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.pt.*not found"):
        load_base_model(tmp_path / "nothing.pt")


def _payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_metadata_that_does_not_fit_the_weights_raises(saved):
    path = saved[0]
    payload = _payload(path)
    payload["model_config"] = json.dumps(dataclasses.asdict(dataclasses.replace(TINY, d_model=32)))
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt.*weights do not fit"):
        load_base_model(path)


def test_state_dict_with_a_removed_key_raises(saved):
    path = saved[0]
    payload = _payload(path)
    del payload["state_dict"]["forcing_head.weight"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt.*weights do not fit.*forcing_head.weight"):
        load_base_model(path)


@pytest.mark.parametrize("damage", ["no_state_dict", "state_dict_not_a_dict", "bad_model_config",
                                    "unknown_attribute", "no_normalizer"])
def test_damaged_payload_raises_checkpoint_error(saved, damage):
    path = saved[0]
    payload = _payload(path)
    if damage == "no_state_dict":
        del payload["state_dict"]
    elif damage == "state_dict_not_a_dict":
        payload["state_dict"] = "weights"
    elif damage == "bad_model_config":
        payload["model_config"] = json.dumps(dict(dataclasses.asdict(TINY), heads=3))  # 16 not divisible by 3
    elif damage == "unknown_attribute":
        normalizer = json.loads(payload["normalizer"])
        normalizer["static_names"][0] = "no_such_attribute"
        payload["normalizer"] = json.dumps(normalizer)
    else:
        del payload["normalizer"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="base.pt"):
        load_base_model(path)


@pytest.mark.parametrize("content", ["other_format", "plain_dict", "text"])
def test_file_of_another_format_raises(tmp_path, content):
    path = tmp_path / "other.pt"
    if content == "other_format":
        torch.save({"format": "something-else-v3", "state_dict": {}}, path)
    elif content == "plain_dict":
        torch.save(make_model().state_dict(), path)  # a bare state dict, no metadata
    else:
        path.write_text(json.dumps({"format": FORMAT}), encoding="utf-8")
    with pytest.raises(CheckpointError, match="other.pt"):
        load_base_model(path)


def test_checkpoint_is_written_atomically(saved, monkeypatch):
    path, model, sha = saved
    before = path.read_bytes()

    def failing_save(obj, target, *args, **kwargs):
        if isinstance(target, str | Path):
            Path(target).write_bytes(b"half a checkpoint")
        else:
            target.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_base_model(path, make_model(seed=5), NORM)
    with pytest.raises(OSError, match="disk full"):
        save_base_model(path.parent / "new.pt", model, NORM)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["base.pt"]  # no partial or new file left
    monkeypatch.undo()
    assert load_base_model(path).sha256 == sha
