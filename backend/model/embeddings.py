"""Attribute-based tokens: each variable has its own embedding (value -> d) and its own mask embedding."""

from __future__ import annotations

import math

import torch
from torch import nn


class ForcingTokens(nn.Module):
    """One token per patch of days: the sum of each forcing variable's own patch embedding.

    A variable whose patch is hidden contributes its learned mask embedding instead. A day-of-year
    encoding and the patch position are added so the encoder knows the season and the order.
    """

    def __init__(self, n_variables: int, patch_days: int, n_patches: int, d_model: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_variables, patch_days, d_model) / math.sqrt(patch_days))
        self.bias = nn.Parameter(torch.zeros(n_variables, d_model))
        self.mask = nn.Parameter(torch.randn(n_variables, d_model) * 0.02)
        self.position = nn.Parameter(torch.randn(n_patches, d_model) * 0.02)
        self.season = nn.Linear(4, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, forcings: torch.Tensor, visible: torch.Tensor, patch_doy: torch.Tensor) -> torch.Tensor:
        """Forcings (B, N, V, P), visible (B, N, V), patch_doy (B, N) -> tokens (B, N, d)."""
        values = torch.einsum("bnvp,vpd->bnvd", forcings, self.weight) + self.bias
        per_variable = torch.where(visible.unsqueeze(-1), values, self.mask.expand_as(values))
        angle = 2 * math.pi * patch_doy.float() / 365.25
        season = torch.stack([angle.sin(), angle.cos(), (2 * angle).sin(), (2 * angle).cos()], dim=-1)
        n = forcings.shape[1]
        return self.norm(per_variable.sum(dim=2) + self.season(season) + self.position[:n])


class StaticTokens(nn.Module):
    """One token per static attribute group (clim, topo, soil, geol, vege).

    Each numeric attribute a has its own embedding ``value * w_a + b_a``; each categorical attribute its
    own category table. Hidden attributes contribute their mask embedding. A group token is the sum of
    its attributes plus a group embedding, so attention can learn interactions across groups.
    """

    def __init__(self, numeric_groups: list[list[int]], categorical_groups: list[list[int]],
                 vocab_sizes: list[int], d_model: int) -> None:
        super().__init__()
        n_numeric = sum(len(g) for g in numeric_groups)
        self.numeric_weight = nn.Parameter(torch.randn(n_numeric, d_model) * 0.5)
        self.numeric_bias = nn.Parameter(torch.zeros(n_numeric, d_model))
        self.numeric_mask = nn.Parameter(torch.randn(n_numeric, d_model) * 0.02)
        self.category_tables = nn.ModuleList(nn.Embedding(size + 1, d_model) for size in vocab_sizes)
        self.category_mask = nn.Parameter(torch.randn(max(len(vocab_sizes), 1), d_model) * 0.02)
        self.group_embedding = nn.Parameter(torch.randn(len(numeric_groups), d_model) * 0.02)
        n_groups = len(numeric_groups)
        numeric_assign = torch.zeros(n_groups, n_numeric)
        for g, members in enumerate(numeric_groups):
            numeric_assign[g, members] = 1.0
        category_assign = torch.zeros(n_groups, len(vocab_sizes))
        for g, members in enumerate(categorical_groups):
            category_assign[g, members] = 1.0
        self.register_buffer("numeric_assign", numeric_assign, persistent=False)
        self.register_buffer("category_assign", category_assign, persistent=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, statics: torch.Tensor, statics_visible: torch.Tensor, categories: torch.Tensor,
                categories_visible: torch.Tensor) -> torch.Tensor:
        """Statics (B, A), categories (B, C) and their visibility -> group tokens (B, G, d)."""
        numeric = statics.unsqueeze(-1) * self.numeric_weight + self.numeric_bias
        numeric = torch.where(statics_visible.unsqueeze(-1), numeric, self.numeric_mask.expand_as(numeric))
        tokens = torch.einsum("ga,bad->bgd", self.numeric_assign, numeric)
        if self.category_tables:
            cats = torch.stack([table(categories[:, j]) for j, table in enumerate(self.category_tables)], dim=1)
            mask = self.category_mask[: cats.shape[1]].expand_as(cats)
            cats = torch.where(categories_visible.unsqueeze(-1), cats, mask)
            tokens = tokens + torch.einsum("gc,bcd->bgd", self.category_assign, cats)
        return self.norm(tokens + self.group_embedding)


class LocationToken(nn.Module):
    """Latitude/longitude as a point on the unit sphere, encoded with multi-frequency sinusoids."""

    def __init__(self, frequencies: int, d_model: int) -> None:
        super().__init__()
        self.register_buffer("scales", 2.0 ** torch.arange(frequencies, dtype=torch.float32), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(3 + 6 * frequencies, d_model), nn.GELU(), nn.Linear(d_model, d_model))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, latlon: torch.Tensor) -> torch.Tensor:
        """Latlon (B, 2) in degrees -> one token (B, 1, d)."""
        lat, lon = torch.deg2rad(latlon[:, 0]), torch.deg2rad(latlon[:, 1])
        xyz = torch.stack([lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()], dim=-1)
        scaled = xyz.unsqueeze(-1) * self.scales * math.pi  # (B, 3, F)
        features = torch.cat([xyz, scaled.sin().flatten(1), scaled.cos().flatten(1)], dim=-1)
        return self.norm(self.mlp(features)).unsqueeze(1)
