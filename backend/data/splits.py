"""Splits as code: PUB k-fold by basin, PUR by region, and the standard CAMELS periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: CAMELS literature periods (hydrological years): train on the later decade, test on the earlier.
TRAIN_PERIOD: tuple[str, str] = ("1999-10-01", "2008-09-30")
TEST_PERIOD: tuple[str, str] = ("1989-10-01", "1999-09-30")

#: Default PUR groups of HUC-02 regions (neighbouring regions held out together).
PUR_REGION_GROUPS: dict[str, tuple[str, ...]] = {
    "northeast": ("01", "02", "03", "04", "05", "06"),
    "central": ("07", "08", "09", "10", "11", "12"),
    "west": ("13", "14", "15", "16", "17", "18"),
}


@dataclass(frozen=True)
class Fold:
    """One train/test split of locations."""

    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]


def pub_folds(gauge_ids: Sequence[str], k: int, seed: int) -> list[Fold]:
    """Prediction in ungauged basins: a seeded shuffle of basins cut into ``k`` near-equal folds."""
    if k < 2 or k > len(gauge_ids):
        raise ValueError(f"k must be between 2 and {len(gauge_ids)}, got {k}")
    order = sorted(gauge_ids)
    perm = np.random.default_rng(seed).permutation(len(order))
    chunks = np.array_split(perm, k)
    folds = []
    for i, chunk in enumerate(chunks):
        test = tuple(sorted(order[j] for j in chunk))
        held = set(test)
        folds.append(Fold(f"pub-{i + 1}of{k}", tuple(g for g in order if g not in held), test))
    return folds


def pur_folds(gauge_ids: Sequence[str], region_of: dict[str, str],
              groups: dict[str, tuple[str, ...]] = PUR_REGION_GROUPS) -> list[Fold]:
    """Prediction in ungauged regions: hold out one group of HUC-02 regions at a time."""
    folds = []
    for name, regions in groups.items():
        test = tuple(sorted(g for g in gauge_ids if region_of[g] in regions))
        if test:
            folds.append(Fold(f"pur-{name}", tuple(sorted(g for g in gauge_ids if g not in test)), test))
    return folds


def basin_subset(gauge_ids: Sequence[str], fraction: float, seed: int) -> list[str]:
    """A seeded ``fraction`` of ``gauge_ids`` (all of them for 1.0), in their original order."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"basin_fraction must lie in (0, 1], got {fraction}")
    if fraction == 1.0:
        return list(gauge_ids)
    n_keep = max(1, round(fraction * len(gauge_ids)))
    keep = set(np.random.default_rng(seed + 1).permutation(len(gauge_ids))[:n_keep].tolist())
    return [g for i, g in enumerate(gauge_ids) if i in keep]


def holdout_split(gauge_ids: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded split of locations into (kept, held out) with ``fraction`` held out."""
    order = sorted(gauge_ids)
    perm = np.random.default_rng(seed).permutation(len(order))
    n_out = max(1, round(fraction * len(order)))
    out = sorted(order[i] for i in perm[:n_out])
    held = set(out)
    return [g for g in order if g not in held], out
