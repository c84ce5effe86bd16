"""Shared pieces of the masked-autoencoder tests: the real vocabulary with identity statistics, a tiny model,
random batches and masks.
"""

from __future__ import annotations

import numpy as np
import torch

from backend.data.normalization import Normalizer
from backend.data.variables import FORCING_VARIABLES, Kind, input_static_names
from backend.model.batch import Batch, Visibility
from backend.model.config import MaskingConfig, ModelConfig
from backend.model.inputs import vocabulary_from
from backend.model.mae import StefaLandMAE
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

