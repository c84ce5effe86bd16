"""Landslide task: covariate mapping, encoder features and the lattice, the network, adapter files, spatial CV."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from landslide_fixtures import LSL_BANDS, lsl_like, small_model, tiny_base

from backend.core.errors import CheckpointError
from backend.data.covariate_raster import read_raster_window
from backend.data.landslides import read_landslide_points
from backend.model.checkpoint import BaseModel
from backend.model.imputation import location_embeddings, location_from_values
from backend.tasks.landslide.cv import (
    LogisticRegression,
    PointSet,
    kmeans_blocks,
    roc_auc,
    spatial_folds,
)
from backend.tasks.landslide.features import (
    EncoderLattice,
    camels_attributes,
    degrees_to_m_per_km,
    encode_static,
    match_vocabulary,
    to_latlon,
)
from backend.tasks.landslide.hazard import band_indices, scan_ranges
from backend.tasks.landslide.model import (
    TrainSettings,
    area_centre,
    covariate_matrix,
    lattice_difference,
    load_landslide_model,
    new_model,
    save_landslide_adapter,
    train,
)
from backend.training.fit import FitConfig

LSL = Path("landslides/ecuador_lsl/lsl.csv")  # the real points and mapping raster, relative to the data root
TA = Path("landslides/ecuador_lsl/ta.tif")
FAST = TrainSettings(fit=FitConfig(steps=150, learning_rate=3e-3, validate_every=50, patience=3))


def test_covariates_map_onto_the_camels_vocabulary() -> None:
    assert match_vocabulary(LSL_BANDS) == {"elev_mean": "elev", "slope_mean": "slope"}
    sperrorest = ["dem", "slope", "hcurv", "vcurv", "carea", "cslope", "distroad", "distdeforest",
                  "distslidespast", "log.carea"]
    assert match_vocabulary(sperrorest) == {"elev_mean": "dem", "slope_mean": "slope"}
    assert match_vocabulary(["cplan"]) == {}
    assert degrees_to_m_per_km(np.array([0.0, 45.0])) == pytest.approx([0.0, 1000.0])
    assert np.isfinite(degrees_to_m_per_km(np.array([90.0])))


def test_utm_south_to_latlon() -> None:
    # gdalinfo: ta.tif's centre (713877.727, 9558936.760) EPSG:32717 is 79°4'25.18"W, 3°59'17.20"S
    lat, lon = to_latlon(np.array([713877.727]), np.array([9558936.760]), "EPSG:32717")[0]
    assert (lat, lon) == pytest.approx((-(3 + 59 / 60 + 17.20 / 3600), -(79 + 4 / 60 + 25.18 / 3600)), abs=1e-5)
    with pytest.raises(ValueError, match="unknown coordinate reference system"):
        to_latlon(np.array([0.0]), np.array([0.0]), "EPSG:not-a-code")


def test_batched_encoding_equals_the_location_embedding_api() -> None:
    base = tiny_base()
    values = {"elev_mean": np.array([2100.0, 2900.0]), "slope_mean": degrees_to_m_per_km(np.array([20.0, 40.0]))}
    batched = encode_static(base, values, np.array([-3.99, -79.07]))
    for i in range(2):
        one = location_from_values(base, (-3.99, -79.07), {k: float(v[i]) for k, v in values.items()}, {})
        assert batched[i] == pytest.approx(location_embeddings(base, one)[0], abs=1e-5)


def test_lattice_is_exact_at_nodes_and_between_for_linear_functions() -> None:
    axes = [np.linspace(1000.0, 3000.0, 5), np.linspace(0.0, 60.0, 7)]
    e, s = np.meshgrid(*axes, indexing="ij")
    vectors = np.stack([e, s, 2 * e - s], axis=-1).astype(np.float32)  # linear in both covariates
    lattice = EncoderLattice({"elev_mean": "elev", "slope_mean": "slope"}, axes, vectors, (0.0, 0.0))
    rng = np.random.default_rng(0)
    elev, slope = rng.uniform(1000, 3000, 50), rng.uniform(0, 60, 50)
    got = lattice.interpolate({"elev": elev, "slope": slope})
    assert got == pytest.approx(np.stack([elev, slope, 2 * elev - slope], 1), rel=1e-5, abs=1e-3)
    clamped = lattice.interpolate({"elev": np.array([5000.0]), "slope": np.array([-10.0])})
    assert clamped[0] == pytest.approx([3000.0, 0.0, 6000.0])


def test_lattice_of_the_encoder_follows_exact_encoding() -> None:
    base = tiny_base()
    vocabulary = {"elev_mean": "elev", "slope_mean": "slope"}
    lattice = EncoderLattice.build(base, vocabulary, {"elev": (1700.0, 3100.0), "slope": (5.0, 60.0)}, (-3.99, -79.07))
    assert lattice.points == 8 * 32
    covariates = {"elev": np.array([1850.0, 2500.0]), "slope": np.array([12.0, 47.0])}
    exact = encode_static(base, camels_attributes(vocabulary, covariates), np.array([-3.99, -79.07]))
    spread = np.linalg.norm(lattice.vectors[0, 0] - lattice.vectors[-1, -1])
    assert np.linalg.norm(lattice.interpolate(covariates) - exact, axis=1).max() < 0.05 * spread


def test_training_learns_and_the_adapter_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    covariates = lsl_like(300, seed=1)
    labels = (covariates[:, 0] - 30) / 10 + rng.normal(0, 0.5, 300) > 0  # steeper = more slides
    base = tiny_base()
    for use_base in (base, None):
        model = new_model(LSL_BANDS, use_base, (-3.99, -79.07), FAST)
        states = model.states_exact(covariates, (-3.99, -79.07))
        validation = np.arange(300) % 5 == 0
        train(model, covariates, states, labels, validation, FAST)
        probability = model.probability(covariates, states)
        assert roc_auc(labels[validation], probability[validation]) > 0.85
        path = save_landslide_adapter(tmp_path / "a.pt", model, {"note": "test"})
        loaded = load_landslide_model(path, lambda b=use_base: b)
        assert loaded.config.from_scratch is (use_base is None)
        assert np.array_equal(loaded.probability(covariates, states), probability)
    tied = save_landslide_adapter(tmp_path / "b.pt", small_model(base))
    other_base = BaseModel(base.model, base.normalizer, base.config, "another-sha", None)
    with pytest.raises(CheckpointError, match="base model"):
        load_landslide_model(tied, lambda: other_base)
    with pytest.raises(CheckpointError, match="not found"):
        load_landslide_model(tmp_path / "missing.pt", tiny_base)


def test_new_models_are_seeded() -> None:
    one = new_model(LSL_BANDS, None, (0.0, 0.0), FAST)
    two = new_model(LSL_BANDS, None, (0.0, 0.0), FAST)
    other = new_model(LSL_BANDS, None, (0.0, 0.0), replace(FAST, fit=replace(FAST.fit, seed=5)))
    w = [m.net.adapter.correction[0].weight for m in (one, two, other)]
    assert torch.equal(w[0], w[1]) and not torch.equal(w[0], w[2])


def test_kmeans_blocks_are_seeded_and_spatial() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [5000, 0], [0, 5000], [5000, 5000]])
    xy = np.concatenate([c + rng.normal(0, 200, (30, 2)) for c in centres])
    labels = kmeans_blocks(xy[:, 0], xy[:, 1], 4, seed=3)
    assert np.array_equal(labels, kmeans_blocks(xy[:, 0], xy[:, 1], 4, seed=3))
    for group in range(4):  # each true cluster is one block
        assert len(set(labels[group * 30:(group + 1) * 30])) == 1
    assert len(set(labels)) == 4
    with pytest.raises(ValueError, match="blocks"):
        kmeans_blocks(xy[:3, 0], xy[:3, 1], 4, seed=0)


def test_spatial_folds_never_mix_test_and_training() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 4000, 200), rng.uniform(0, 4000, 200)
    points = PointSet("p", lsl_like(200), LSL_BANDS, rng.random(200) > 0.5, x, y, (0.0, 0.0))
    folds = spatial_folds(points, 5, [0, 1])
    assert len(folds) == 10
    for repetition in (0, 1):
        tested = np.sum([f.test for f in folds if f.repetition == repetition], axis=0)
        assert np.all(tested == 1)  # every point is tested exactly once per repetition
    for fold in folds:
        assert not np.any(fold.test & fold.train) and not np.any(fold.validation & ~fold.train)
        assert 0 < fold.validation.sum() < fold.train.sum()


def test_auc_matches_pairwise_counting_and_logistic_regression_recovers_a_model() -> None:
    rng = np.random.default_rng(2)
    labels = rng.random(200) > 0.4
    scores = np.round(rng.random(200) + labels * 0.3, 1)  # with ties
    pairs = scores[labels][:, None] - scores[~labels][None, :]
    assert roc_auc(labels, scores) == pytest.approx(((pairs > 0) + 0.5 * (pairs == 0)).mean())
    assert roc_auc(labels, labels.astype(float)) == 1.0 and np.isnan(roc_auc(np.ones(3, bool), np.ones(3)))
    x = rng.normal(0, 1, (4000, 2))
    p = 1 / (1 + np.exp(-(0.5 + 2 * x[:, 0] - x[:, 1])))
    model = LogisticRegression.fit(x, rng.random(4000) < p)
    assert model.coef == pytest.approx([0.5, 2.0, -1.0], abs=0.2)


@pytest.mark.real_data
def test_lattice_predictions_match_exact_encoding_on_the_ecuador_points(real_file) -> None:
    """The hazard map's lattice features give the same probabilities as exact per-point encoding (both at the
    area centre) for the 350 points, with a model trained on them on the base model in use
    ($STEFALAND_BASE_MODEL or the bundled one). Fails when the real points or raster are missing (`make data`)."""
    from backend.model.loading import get_base_model

    lsl, ta = real_file(LSL), real_file(TA)
    try:
        base = get_base_model()
    except CheckpointError as exc:
        pytest.fail(f"no base model to test with ({exc}): the bundled resources/models/stefaland_base.pt is in git, "
                    "or set STEFALAND_BASE_MODEL", pytrace=False)
    points = read_landslide_points(lsl)
    covariates, names = covariate_matrix(points)
    centre = area_centre(points)
    model = new_model(names, base, centre, FAST)
    states = model.states_exact(covariates, centre)
    train(model, covariates, states, points.label, kmeans_blocks(points.x, points.y, 5, 0) == 0, FAST)
    assert model.probability(covariates, states).std() > 0.05  # a model that actually separates the points
    header = read_raster_window(ta, 0, 0, 1, 1)  # the lattice spans the mapping raster's range (as the map's)
    ranges, _ = scan_ranges(ta, band_indices(ta, header.band_names, names), names, 256)
    difference = lattice_difference(model, covariates, centre, ranges)
    assert difference.mean() < 0.01 and difference.max() < 0.05, (difference.mean(), difference.max())
