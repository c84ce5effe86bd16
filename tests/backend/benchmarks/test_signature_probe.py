"""Signature probe: the ridge regression and its cross-validation, and the untrained-encoder control."""

from __future__ import annotations

import numpy as np
import pytest

from backend.benchmarks.signature_probe import (
    choose_alpha,
    cross_validated_r2,
    random_encoder,
    ridge_fit,
    ridge_predict,
    signature_target,
    state_features,
    static_token_features,
)


def _folds(n: int, k: int = 5) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(1).permutation(n), k)


def test_ridge_recovers_a_linear_relation_out_of_fold() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)) * [1, 10, 0.1, 1, 1, 1]
    y = x @ np.array([1.0, 0.2, -5.0, 0.0, 0.5, 0.0]) + 3.0 + 0.05 * rng.normal(size=200)
    model = ridge_fit(x, y, alpha=1e-2)
    assert np.allclose(ridge_predict(model, x), y, atol=0.2)
    assert cross_validated_r2(x, y, _folds(200)) > 0.99


def test_noise_features_score_no_better_than_the_mean() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(150, 20)), rng.normal(size=150)
    assert cross_validated_r2(x, y, _folds(150)) < 0.05
    assert choose_alpha(x, y) >= 100  # the inner search shrinks noise features hard


def test_missing_targets_are_skipped_not_counted() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 3))
    y = x[:, 0] * 2.0
    y_missing = y.copy()
    y_missing[::7] = np.nan
    assert cross_validated_r2(x, y_missing, _folds(100)) == pytest.approx(1.0, abs=1e-3)


def test_only_skewed_non_negative_signatures_are_log_transformed() -> None:
    skewed = np.random.default_rng(4).lognormal(0.0, 1.0, size=300)
    values, name = signature_target(skewed)
    assert name == "log1p" and np.allclose(values, np.log1p(skewed))
    symmetric = np.random.default_rng(5).normal(size=300)
    assert signature_target(symmetric)[1] == ""
    assert signature_target(skewed - 5.0)[1] == ""  # negative values: never logged


def test_state_features_are_mean_and_spread_per_location() -> None:
    states = np.zeros((2, 3, 4, 5), dtype=np.float16)
    states[1] = np.arange(4, dtype=np.float16)[None, :, None]
    features = state_features(states)
    assert features.shape == (2, 10)
    assert np.allclose(features[0], 0) and np.allclose(features[1, :5], 1.5)
    assert np.allclose(features[1, 5:], np.std([0, 1, 2, 3]))


@pytest.mark.usefixtures("mini_data")  # the bundled base model (in git) on generated basins
def test_static_token_features_of_camels_basins_differ_between_basins_and_encoders() -> None:
    from backend.benchmarks.streamflow import streamflow_benchmark_data

    _, base, data = streamflow_benchmark_data(3)
    pretrained = static_token_features(base, data.locations, n_windows=2)
    groups = len(base.model.vocab.numeric_groups)
    assert pretrained.shape == (3, (1 + groups) * base.config.d_model) and np.isfinite(pretrained).all()
    assert not np.allclose(pretrained[0], pretrained[1])  # different basins, different tokens
    untrained = static_token_features(random_encoder(base), data.locations, n_windows=2)
    assert not np.allclose(untrained, pretrained)
