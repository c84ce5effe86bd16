"""The model's input batch: normalised values plus masks saying what is observed and what is visible."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch


@dataclass
class Batch:
    """Inputs for B locations.

    Attributes:
        forcings: (B, N, V, P) z-scored forcings in patches of P days (0 where missing).
        forcings_observed: (B, N, V, P) True where the day's value exists.
        patch_doy: (B, N) day of year (0-365) of each patch's first day.
        statics: (B, A) z-scored numeric static attributes (0 where missing).
        statics_observed: (B, A) True where the attribute is known.
        categories: (B, C) category indices (0 = unknown).
        latlon: (B, 2) latitude and longitude in degrees.
    """

    forcings: torch.Tensor
    forcings_observed: torch.Tensor
    patch_doy: torch.Tensor
    statics: torch.Tensor
    statics_observed: torch.Tensor
    categories: torch.Tensor
    latlon: torch.Tensor

    @property
    def size(self) -> int:
        """Number of locations B in the batch."""
        return int(self.statics.shape[0])

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor moved to ``device``."""
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass
class Visibility:
    """What the encoder may see: observed and not masked.

    Attributes:
        forcing_tokens: (B, N, V) True where a variable's patch is shown to the encoder.
        statics: (B, A) True where a numeric attribute is shown.
        categories: (B, C) True where a categorical attribute is shown.
    """

    forcing_tokens: torch.Tensor
    statics: torch.Tensor
    categories: torch.Tensor

    @classmethod
    def everything_observed(cls, batch: Batch) -> Visibility:
        """Show every observed input (inference: nothing masked on purpose)."""
        return cls(batch.forcings_observed.all(dim=-1), batch.statics_observed.clone(), batch.categories > 0)
