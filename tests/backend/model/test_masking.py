"""Masking: whole static groups, contiguous forcing windows, never the whole input, seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mae_fixtures import (
    CATEGORICAL,
    NUMERIC,
    VOCAB,
    random_batch,
    runs,
    visibility,
)

from backend.data.variables import FORCING_VARIABLES, STATIC_BY_NAME, STATIC_GROUPS
from backend.model.batch import Batch, Visibility
from backend.model.config import MaskingConfig


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

