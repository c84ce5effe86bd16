"""The masked autoencoder's inputs and outputs: shapes, static-only locations, location token, masks."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from mae_fixtures import (
    CATEGORICAL,
    N_VARS,
    NUMERIC,
    TINY,
    make_model,
    random_batch,
    visibility,
)

from backend.data.variables import STATIC_GROUPS
from backend.model.batch import Batch, Visibility
from backend.model.config import MaskingConfig
from backend.model.embeddings import LocationToken
from backend.model.inputs import LocationData, make_batch
from backend.model.mae import StefaLandMAE


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

