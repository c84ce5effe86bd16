"""Small numpy baselines for task benchmarks: ridge regression, k-nearest neighbours, nearest location.

Everything is fitted on training rows only; hyperparameters (ridge penalty, k) are chosen by an inner
k-fold on those rows, never on the test rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Standardizer:
    """Column means and standard deviations of training features (NaN-aware); NaN -> 0 after scaling."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Statistics of the finite values of each column of ``x`` (n, k); mean 0 / std 1 where undefined or flat."""
        x = np.asarray(x, dtype=np.float64)
        mean = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0)
        std = np.nanstd(np.where(np.isfinite(x), x, np.nan), axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean, std)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Standardised ``x`` (n, k) as float64, with non-finite values set to 0."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        return np.where(np.isfinite(z), z, 0.0)


@dataclass
class RidgeModel:
    """``y = x_std @ coef + intercept`` (intercept not penalised)."""

    scaler: Standardizer
    coef: np.ndarray
    intercept: np.ndarray
    penalty: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (n,) or (n, m) for raw features ``x`` (n, k)."""
        return self.scaler(x) @ self.coef + self.intercept


def ridge_fit(x: np.ndarray, y: np.ndarray, penalty: float) -> RidgeModel:
    """Ridge regression on standardised features; ``y`` may have several columns."""
    scaler = Standardizer.fit(x)
    z = scaler(x)
    y = np.asarray(y, dtype=np.float64)
    y_mean = y.mean(axis=0)
    gram = z.T @ z + penalty * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, z.T @ (y - y_mean))
    return RidgeModel(scaler, coef, y_mean, penalty)


def knn_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, k: int) -> np.ndarray:
    """Mean target of the ``k`` nearest training rows (Euclidean, features standardised on training)."""
    scaler = Standardizer.fit(x_train)
    a, b = scaler(x_train), scaler(x_test)
    dist = ((b[:, None, :] - a[None, :, :]) ** 2).sum(-1)
    k = min(k, len(a))
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    return np.asarray(y_train, dtype=np.float64)[nearest].mean(axis=1)


def inner_folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``k`` seeded, near-equal validation folds of ``n`` rows."""
    return np.array_split(np.random.default_rng(seed).permutation(n), min(k, n))


def select_by_inner_cv(x: np.ndarray, y: np.ndarray, candidates: Sequence[float],
                       predict: Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray],
                       k: int = 5, seed: int = 0) -> float:
    """The candidate hyperparameter with the lowest inner-k-fold mean squared error on the training rows."""
    folds = inner_folds(len(x), k, seed)
    best, best_err = candidates[0], np.inf
    for value in candidates:
        err = 0.0
        for fold in folds:
            train = np.setdiff1d(np.arange(len(x)), fold)
            err += float(np.mean((predict(x[train], y[train], x[fold], value) - y[fold]) ** 2))
        if err < best_err:
            best, best_err = value, err
    return best


RIDGE_PENALTIES: tuple[float, ...] = (0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
KNN_KS: tuple[int, ...] = (1, 3, 5, 10, 15, 20, 30, 50)


def ridge_cv(x_train: np.ndarray, y_train: np.ndarray, seed: int = 0) -> RidgeModel:
    """Ridge with its penalty chosen by inner 5-fold CV on the training rows."""
    penalty = select_by_inner_cv(x_train, y_train, RIDGE_PENALTIES,
                                 lambda a, b, c, p: ridge_fit(a, b, p).predict(c), seed=seed)
    return ridge_fit(x_train, y_train, penalty)


def knn_cv(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """KNN predictions with k chosen by inner 5-fold CV on the training rows; returns (predictions, k)."""
    k = int(select_by_inner_cv(x_train, y_train, KNN_KS, lambda a, b, c, kk: knn_predict(a, b, c, int(kk)),
                               seed=seed))
    return knn_predict(x_train, y_train, x_test, k), k
