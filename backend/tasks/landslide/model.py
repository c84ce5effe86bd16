"""Landslide susceptibility: frozen-encoder features -> residual adapter (covariates as extra) -> logistic head.

Model (:class:`LandslideNet`), for a location with terrain covariates ``c`` (any names, z-scored with the
training points' statistics) and the frozen encoder's location vector ``h`` (:mod:`landslide_features`)::

    s = (h - mean_train(h)) / rms_train(h)          # centred, one common scale: the geometry is kept
    p = sigmoid(head(ResidualAdapter(s, extra=z(c))))

The encoder's location vectors of points within one small study area differ from each other by about 1 %
of their size (they vary mostly along two directions, elevation and slope), so they are centred and divided
by one common scale before the adapter; a single scale, not one per dimension, so near-constant dimensions
are not blown up into noise.

From-scratch variant (``from_scratch=True``): the same adapter and head, with a randomly initialised,
trainable two-layer MLP of the z-scored covariates in place of ``s`` (no base model at all).

Features of training points are exact encoder passes (:func:`landslide_features.encode_static`) at the
centre of the training area (one lat/lon for all points); maps interpolate the same function between fixed
global nodes of (lat, lon, elevation, slope) at each cell's own location (:class:`landslide_features.EncoderGrid`),
so a cell's probability does not depend on the raster it is in. Only the adapter, head and (from scratch)
the MLP are trained; the encoder is frozen.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from backend.core.errors import CheckpointError, DataFormatError
from backend.core.paths import MODELS_DIR
from backend.data.landslides import LandslidePoints
from backend.model.checkpoint import BaseModel
from backend.tasks.landslide.features import (
    EncoderGrid,
    camels_attributes,
    encode_static,
    match_vocabulary,
    to_latlon,
)
from backend.training.adapter import ResidualAdapter
from backend.training.adapter_file import load_weights, read_adapter, save_adapter
from backend.training.fit import FitConfig, FitResult, fit

LOG = logging.getLogger(__name__)

TASK = "landslide"
BUNDLED_ADAPTER = MODELS_DIR / "landslide_adapter.pt"
#: How the bundled adapter is (re)made; quoted in error messages and the model card.
BUNDLE_COMMAND = ("python -m backend landslide-train --points data/landslides/ecuador_lsl/lsl.csv "
                  "--out-adapter resources/models/landslide_adapter.pt  (make landslide-adapter)")


@dataclass
class LandslideConfig:
    """What an adapter file needs to rebuild its network and its inputs.

    Attributes:
        covariates: covariate names (CSV columns / raster band descriptions), in the network's input order.
        vocabulary: CAMELS attribute -> covariate shown to the encoder ({} when ``from_scratch``).
        from_scratch: True = no encoder features (a trainable MLP of the covariates instead).
        d_state, hidden, dropout: network widths.
        latlon: centre (degrees) of the training points: where their features were encoded.
        lattice_nodes: unused: the node counts of the former per-raster lattice. Maps now interpolate between
            fixed global nodes (:class:`EncoderGrid`); kept so that adapter files that store it (the bundled
            one does) still load.
    """

    covariates: list[str]
    vocabulary: dict[str, str]
    from_scratch: bool = False
    d_state: int = 128
    hidden: int = 16
    dropout: float = 0.2
    latlon: list[float] = field(default_factory=lambda: [0.0, 0.0])
    lattice_nodes: dict[str, int] = field(default_factory=dict)


@dataclass
class TrainSettings:
    """Optimisation of one landslide fit (the same for the pretrained and the from-scratch network)."""

    hidden: int = 16
    dropout: float = 0.2
    batch_size: int = 128
    fit: FitConfig = field(default_factory=lambda: FitConfig(steps=1500, learning_rate=1e-3, weight_decay=1e-2,
                                                             validate_every=25, patience=10))


class LandslideNet(nn.Module):
    """Covariates (raw units) and encoder states -> landslide logit.

    Normalisation statistics are buffers, so they travel in the adapter file with the weights.
    """

    def __init__(self, config: LandslideConfig) -> None:
        super().__init__()
        k, d = len(config.covariates), config.d_state
        self.register_buffer("cov_mean", torch.zeros(k))
        self.register_buffer("cov_std", torch.ones(k))
        self.register_buffer("state_mean", torch.zeros(d))
        self.register_buffer("state_scale", torch.ones(()))
        self.scratch = (nn.Sequential(nn.Linear(k, config.hidden), nn.GELU(), nn.Linear(config.hidden, d))
                        if config.from_scratch else None)
        self.adapter = ResidualAdapter(d, k, config.hidden, config.dropout)
        self.head = nn.Linear(d, 1)

    def set_statistics(self, covariates: np.ndarray, states: np.ndarray | None) -> None:
        """z-score statistics of the covariates and centring/scale of the states, from training points."""
        mean, std = np.nanmean(covariates, axis=0), np.nanstd(covariates, axis=0)
        self.cov_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.cov_std.copy_(torch.as_tensor(np.maximum(std, 1e-6), dtype=torch.float32))
        if states is not None:
            centre = states.mean(axis=0)
            rms = float(np.sqrt(((states - centre) ** 2).mean()))
            self.state_mean.copy_(torch.as_tensor(centre, dtype=torch.float32))
            self.state_scale.fill_(max(rms, 1e-8))

    def forward(self, covariates: torch.Tensor, states: torch.Tensor | None) -> torch.Tensor:
        """Covariates (n, k) raw, states (n, d) raw encoder vectors (None from scratch) -> logits (n,)."""
        extra = (covariates - self.cov_mean) / self.cov_std
        if self.scratch is not None:
            hidden = self.scratch(extra)
        else:
            if states is None:
                raise ValueError("this landslide network needs encoder states")
            hidden = (states - self.state_mean) / self.state_scale
        return self.head(self.adapter(hidden, extra)).squeeze(-1)


@dataclass
class LandslideModel:
    """A landslide network with its config and, unless from scratch, the frozen base model."""

    net: LandslideNet
    config: LandslideConfig
    base: BaseModel | None
    fit_result: FitResult | None = None

    def states_exact(self, covariates: np.ndarray, latlon: tuple[float, float] | np.ndarray) -> np.ndarray | None:
        """Exact encoder vectors (n, d) of locations with these raw covariates (columns = config order).

        ``latlon``: one (lat, lon) for every location, or (n, 2), each location's own (degrees).
        """
        if self.config.from_scratch:
            return None
        return encode_static(self._base(), self._vocabulary_columns(covariates), np.array(latlon))

    def encoder_grid(self) -> EncoderGrid | None:
        """A new, empty grid of encoder nodes for this model's covariates (None from scratch)."""
        if self.config.from_scratch:
            return None
        return EncoderGrid.for_base(self._base(), self.config.vocabulary)

    def states_from_grid(self, grid: EncoderGrid | None, covariates: np.ndarray, latlon: np.ndarray
                         ) -> np.ndarray | None:
        """Interpolated encoder vectors (n, d) of locations at ``latlon`` (n, 2) degrees (None from scratch)."""
        if grid is None:
            return None
        return grid.interpolate(latlon, {n: covariates[:, i] for i, n in enumerate(self.config.covariates)})

    @torch.no_grad()
    def probability(self, covariates: np.ndarray, states: np.ndarray | None) -> np.ndarray:
        """Landslide probability (n,) float32 from raw covariates and (unless from scratch) encoder states."""
        self.net.eval()
        c = torch.as_tensor(np.asarray(covariates, np.float32))
        s = None if states is None else torch.as_tensor(np.asarray(states, np.float32))
        return torch.sigmoid(self.net(c, s)).numpy().astype(np.float32)

    def _base(self) -> BaseModel:
        if self.base is None:
            raise ValueError("this landslide model needs the base model")
        return self.base

    def _vocabulary_columns(self, covariates: np.ndarray) -> dict[str, np.ndarray]:
        index = {n: i for i, n in enumerate(self.config.covariates)}
        columns = {name: covariates[:, index[name]] for name in self.config.vocabulary.values()}
        return camels_attributes(self.config.vocabulary, columns)


# --------------------------------------------------------------------------------------------- data

def covariate_matrix(points: LandslidePoints, names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """(n, k) float32 covariates of the points (``names`` or every numeric column) and the names used."""
    names = list(points.covariates) if names is None else list(names)
    missing = [n for n in names if n not in points.covariates]
    if missing:
        raise DataFormatError(points.path, f"missing covariate column(s) {', '.join(missing)}; "
                              f"found {', '.join(points.covariates)}", line=1)
    return np.stack([points.covariates[n] for n in names], axis=1).astype(np.float32), names


def complete_rows(covariates: np.ndarray) -> np.ndarray:
    """Boolean mask of rows with every covariate present."""
    return np.isfinite(covariates).all(axis=1)


def area_centre(points: LandslidePoints) -> tuple[float, float]:
    """Mean lat/lon (degrees) of the points: where their encoder features are computed."""
    latlon = to_latlon(points.x, points.y, points.crs)
    return float(latlon[:, 0].mean()), float(latlon[:, 1].mean())


def grid_difference(model: LandslideModel, covariates: np.ndarray, latlon: np.ndarray) -> np.ndarray:
    """|p(grid features) - p(exact features)| (n,) for locations with these raw covariates.

    Both features are computed at ``latlon`` ((n, 2) each location's own, or (2,) one for all, degrees): the
    exact ones by :func:`encode_static`, the others interpolated between the fixed nodes of a fresh
    :class:`EncoderGrid`, as the hazard map does.
    """
    latlon = np.broadcast_to(np.asarray(latlon, dtype=np.float64).reshape(-1, 2), (len(covariates), 2))
    exact = model.probability(covariates, model.states_exact(covariates, latlon))
    grid = model.probability(covariates, model.states_from_grid(model.encoder_grid(), covariates, latlon))
    return np.abs(grid - exact)


# --------------------------------------------------------------------------------------------- training

def new_model(covariate_names: list[str], base: BaseModel | None, latlon: tuple[float, float],
              settings: TrainSettings | None = None) -> LandslideModel:
    """An untrained model: from scratch if ``base`` is None, else on the frozen base model.

    Its weights are initialised from ``settings.fit.seed`` (the global torch random state is left as it was).
    """
    settings = settings or TrainSettings()
    vocabulary = match_vocabulary(covariate_names) if base is not None else {}
    if base is not None and not vocabulary:
        LOG.warning("no covariate matches the base model's vocabulary (%s): the encoder sees only lat/lon",
                    ", ".join(covariate_names))
    d_state = base.config.d_model if base is not None else 128
    config = LandslideConfig(list(covariate_names), vocabulary, base is None, d_state, settings.hidden,
                             settings.dropout, [float(latlon[0]), float(latlon[1])])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.fit.seed)
        net = LandslideNet(config)
    return LandslideModel(net, config, base)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run with ``count`` torch threads, then restore the previous count.

    The landslide networks are too small to gain from more; on a busy 2-core machine extra threads make each
    step several times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _bce(net: LandslideNet, covariates: torch.Tensor, states: torch.Tensor | None, labels: torch.Tensor
         ) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(net(covariates, states), labels)


def train(model: LandslideModel, covariates: np.ndarray, states: np.ndarray | None, labels: np.ndarray,
          validation: np.ndarray | None, settings: TrainSettings | None = None, label: str = "landslide"
          ) -> FitResult:
    """Fit the adapter and head (and the from-scratch MLP) on the rows not in ``validation``.

    Args:
        model: the untrained model from :func:`new_model`; its ``fit_result`` is set.
        covariates: (n, k) raw covariates.
        states: (n, d) encoder vectors (None from scratch).
        labels: (n,) bool.
        validation: boolean mask of rows used only for early stopping (score: minus the mean log-loss);
            None trains on every row for exactly ``settings.fit.steps`` steps (no early stopping).
        settings: network size, batch size and optimisation (default :class:`TrainSettings`).
        label: progress bar label.

    Returns:
        The fit's best validation score, step and history.
    """
    settings = settings or TrainSettings()
    fit_rows = ~validation if validation is not None else np.ones(len(labels), bool)
    model.net.set_statistics(covariates[fit_rows], None if states is None else states[fit_rows])
    c = torch.as_tensor(covariates, dtype=torch.float32)
    s = None if states is None else torch.as_tensor(states, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.float32)
    train_index = np.flatnonzero(fit_rows)

    def loss_on_batch(rng: np.random.Generator) -> torch.Tensor:
        rows = torch.as_tensor(rng.choice(train_index, size=min(settings.batch_size, train_index.size),
                                          replace=False))
        return _bce(model.net, c[rows], None if s is None else s[rows], y[rows])

    if validation is not None:
        val = torch.as_tensor(np.flatnonzero(validation))

        def validation_score() -> float:
            return -float(_bce(model.net, c[val], None if s is None else s[val], y[val]))
        cfg = settings.fit
    else:
        def validation_score() -> float:
            return 0.0
        cfg = FitConfig(**{**asdict(settings.fit), "validate_every": settings.fit.steps, "patience": 1})
    with torch_threads(1):
        result = fit(model.net, loss_on_batch, validation_score, cfg, label=label)
    model.fit_result = result
    return result


# --------------------------------------------------------------------------------------------- files

def save_landslide_adapter(path: Path, model: LandslideModel, meta: dict | None = None) -> Path:
    """Write the trained network (weights + normalisation buffers) tied to its base model's checksum."""
    base_sha = model.base.sha256 if model.base is not None else ""
    return save_adapter(Path(path), TASK, base_sha, model.net, asdict(model.config), meta)


def load_landslide_model(path: Path | None, base_loader: Callable[[], BaseModel]) -> LandslideModel:
    """Read an adapter (default: the bundled one) and build its model.

    ``base_loader()`` returns the base model; it is only called for adapters that need one, and the
    adapter must have been trained on that very base model (checked by checksum).
    """
    path = Path(path) if path is not None else BUNDLED_ADAPTER
    if not path.is_file():
        hint = f"; make it with: {BUNDLE_COMMAND}" if path == BUNDLED_ADAPTER else ""
        raise CheckpointError(f"{path}: landslide adapter not found{hint}")
    adapter = read_adapter(path, TASK, None)
    try:
        config = LandslideConfig(**adapter.config)
    except TypeError as exc:
        raise CheckpointError(f"{path}: not a landslide adapter configuration ({exc})") from None
    base = None if config.from_scratch else base_loader()
    if base is not None and adapter.base_sha256 != base.sha256:
        hint = f"; re-train it on this base model: {BUNDLE_COMMAND}" if path == BUNDLED_ADAPTER else ""
        raise CheckpointError(f"{path}: adapter was trained on base model {adapter.base_sha256[:12] or '(none)'}, "
                              f"but the loaded base model is {base.sha256[:12]}{hint}")
    model = LandslideModel(LandslideNet(config), config, base)
    load_weights(model.net, adapter, path)
    return model
