"""The StefaLand masked autoencoder: location, static-group and forcing tokens -> encoder -> decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from backend.model.batch import Batch, Visibility
from backend.model.config import ModelConfig
from backend.model.embeddings import ForcingTokens, LocationToken, StaticTokens


@dataclass
class Vocabulary:
    """The variables a model was built for (fixed by the normalisation statistics)."""

    forcing_names: list[str]
    static_names: list[str]
    numeric_groups: list[list[int]]       # static group -> indices into static_names
    categorical_names: list[str]
    categorical_groups: list[list[int]]   # static group -> indices into categorical_names
    vocab_sizes: list[int]
    group_names: list[str]


@dataclass
class Reconstruction:
    """Decoder outputs in normalised units: forcings (B, N, V, P), statics (B, A), category logits."""

    forcings: torch.Tensor
    statics: torch.Tensor
    category_logits: list[torch.Tensor]


@dataclass
class Encoding:
    """Encoder output: all token states (B, 1 + G + N, d) and where each kind of token sits."""

    states: torch.Tensor
    n_groups: int

    @property
    def location(self) -> torch.Tensor:
        """State of the location token (B, d)."""
        return self.states[:, 0]

    @property
    def static_groups(self) -> torch.Tensor:
        """States of the static-group tokens (B, G, d)."""
        return self.states[:, 1 : 1 + self.n_groups]

    @property
    def time(self) -> torch.Tensor:
        """States of the forcing (time) tokens (B, N, d)."""
        return self.states[:, 1 + self.n_groups :]

    def location_vector(self) -> torch.Tensor:
        """One vector per location: mean of the location and static-group token states (B, d)."""
        return self.states[:, : 1 + self.n_groups].mean(dim=1)

    def window_vector(self) -> torch.Tensor:
        """One vector per location and window: mean over every token (B, d)."""
        return self.states.mean(dim=1)


def _transformer(cfg: ModelConfig, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.heads, cfg.feedforward, cfg.dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class StefaLandMAE(nn.Module):
    """Location-aware masked autoencoder over static attributes and daily forcings."""

    def __init__(self, cfg: ModelConfig, vocab: Vocabulary) -> None:
        super().__init__()
        self.cfg, self.vocab = cfg, vocab
        n_vars = len(vocab.forcing_names)
        self.forcing_tokens = ForcingTokens(n_vars, cfg.patch_days, cfg.window_patches, cfg.d_model)
        self.static_tokens = StaticTokens(vocab.numeric_groups, vocab.categorical_groups, vocab.vocab_sizes,
                                          cfg.d_model)
        self.location_token = LocationToken(cfg.location_frequencies, cfg.d_model)
        self.token_type = nn.Parameter(torch.randn(3, cfg.d_model) * 0.02)
        self.encoder = _transformer(cfg, cfg.encoder_layers)
        self.encoder_norm = nn.LayerNorm(cfg.d_model)
        self.decoder = _transformer(cfg, cfg.decoder_layers)
        self.forcing_head = nn.Linear(cfg.d_model, n_vars * cfg.patch_days)
        self.static_heads = nn.ModuleList(nn.Linear(cfg.d_model, len(g)) for g in vocab.numeric_groups)
        self.category_heads = nn.ModuleList(nn.Linear(cfg.d_model, size + 1) for size in vocab.vocab_sizes)
        group_of_category = [0] * len(vocab.vocab_sizes)
        for g, members in enumerate(vocab.categorical_groups):
            for c in members:
                group_of_category[c] = g
        self.group_of_category = group_of_category

    def encode(self, batch: Batch, visible: Visibility) -> Encoding:
        """Tokens -> encoder states. Hidden inputs enter only as their mask embeddings."""
        loc = self.location_token(batch.latlon) + self.token_type[0]
        groups = self.static_tokens(batch.statics, visible.statics, batch.categories, visible.categories)
        time = self.forcing_tokens(batch.forcings, visible.forcing_tokens, batch.patch_doy)
        tokens = torch.cat([loc, groups + self.token_type[1], time + self.token_type[2]], dim=1)
        return Encoding(self.encoder_norm(self.encoder(tokens)), groups.shape[1])

    def decode(self, encoding: Encoding) -> Reconstruction:
        """Encoder states -> reconstruction of every forcing day and static attribute."""
        states = self.decoder(encoding.states)
        g = encoding.n_groups
        time = states[:, 1 + g :]
        b, n, _ = time.shape
        forcings = self.forcing_head(time).view(b, n, len(self.vocab.forcing_names), self.cfg.patch_days)
        group_states = states[:, 1 : 1 + g]
        n_static = len(self.vocab.static_names)
        statics = torch.zeros(b, n_static, dtype=states.dtype, device=states.device)
        for k, (head, members) in enumerate(zip(self.static_heads, self.vocab.numeric_groups, strict=True)):
            if members:
                statics[:, members] = head(group_states[:, k])
        logits = [head(group_states[:, self.group_of_category[j]]) for j, head in enumerate(self.category_heads)]
        return Reconstruction(forcings, statics, logits)

    def forward(self, batch: Batch, visible: Visibility) -> Reconstruction:
        """Encode the visible inputs of ``batch`` and reconstruct every input from them."""
        return self.decode(self.encode(batch, visible))
