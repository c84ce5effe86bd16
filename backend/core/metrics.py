"""Skill scores: NSE, KGE, R², correlation (NaN-aware)."""

from __future__ import annotations

import numpy as np


def _valid(obs: np.ndarray, sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    obs, sim = np.asarray(obs, dtype=np.float64), np.asarray(sim, dtype=np.float64)
    keep = ~(np.isnan(obs) | np.isnan(sim))
    return obs[keep], sim[keep]


def nse(obs: np.ndarray, sim: np.ndarray) -> float:
    """Nash-Sutcliffe efficiency (1 perfect, 0 = as good as the observed mean); NaN if undefined."""
    o, s = _valid(obs, sim)
    if len(o) < 2 or np.var(o) == 0:
        return float("nan")
    return float(1.0 - np.sum((s - o) ** 2) / np.sum((o - o.mean()) ** 2))


def kge(obs: np.ndarray, sim: np.ndarray) -> float:
    """Kling-Gupta efficiency (Gupta et al. 2009): 1 - sqrt((r-1)² + (α-1)² + (β-1)²)."""
    o, s = _valid(obs, sim)
    if len(o) < 2 or o.std() == 0 or o.mean() == 0:
        return float("nan")
    r = np.corrcoef(o, s)[0, 1] if s.std() > 0 else 0.0
    alpha = s.std() / o.std()
    beta = s.mean() / o.mean()
    return float(1.0 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2))


def r2(obs: np.ndarray, sim: np.ndarray) -> float:
    """Coefficient of determination 1 - SSE/SST (same formula as NSE, for cross-sectional data)."""
    return nse(obs, sim)


def correlation(obs: np.ndarray, sim: np.ndarray) -> float:
    """Pearson correlation; NaN if either side is constant."""
    o, s = _valid(obs, sim)
    if len(o) < 2 or o.std() == 0 or s.std() == 0:
        return float("nan")
    return float(np.corrcoef(o, s)[0, 1])
