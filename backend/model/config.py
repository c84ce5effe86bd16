"""Hyperparameters of the model and of masking (typed, loaded from YAML by backend.core.config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    """Size of the masked autoencoder.

    Attributes:
        d_model: token width.
        encoder_layers, heads, feedforward: transformer encoder shape (pre-norm).
        decoder_layers: the light decoder's transformer layers.
        patch_days: days per forcing token (7 = one token per week).
        window_patches: forcing tokens per sample (52 x 7 = 364 days).
        location_frequencies: sinusoid frequencies per axis in the location encoding.
        dropout: dropout in the transformer layers.
    """

    d_model: int = 128
    encoder_layers: int = 4
    heads: int = 4
    feedforward: int = 256
    decoder_layers: int = 1
    patch_days: int = 7
    window_patches: int = 52
    location_frequencies: int = 8
    dropout: float = 0.1

    @property
    def window_days(self) -> int:
        """Length of the model's input window in days (``patch_days * window_patches``)."""
        return self.patch_days * self.window_patches


@dataclass
class MaskingConfig:
    """How pretraining hides inputs.

    Attributes:
        static_group_probability: chance each static group (clim, topo, soil, geol, vege) is hidden.
        forcing_ratio: share of each forcing's days hidden, in contiguous windows.
        min_window_days, max_window_days: length range of each hidden forcing window.
        all_forcings_probability: chance a sample hides every forcing (locations without time series).
        all_statics_probability: chance a sample hides every static group.
    """

    static_group_probability: float = 0.5
    forcing_ratio: float = 0.5
    min_window_days: int = 28
    max_window_days: int = 91
    all_forcings_probability: float = 0.1
    all_statics_probability: float = 0.1
