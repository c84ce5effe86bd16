"""Spatially blocked cross-validation of landslide models: k-means blocks, metrics, the baselines.

Random cross-validation overstates skill on landslide inventories (neighbouring points share terrain and
often the same slide), so every test fold here is a spatial block: k-means clusters of the point
coordinates (seeded k-means++). Early stopping uses an inner validation block of the training folds
(k-means again, on the training points only); the test fold is never looked at before scoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from backend.model.checkpoint import BaseModel
from backend.tasks.landslide.model import TrainSettings, new_model, train

#: probability >= this counts as a predicted landslide for F1 and accuracy
THRESHOLD = 0.5


# --------------------------------------------------------------------------------------------- blocks

def kmeans_blocks(x: np.ndarray, y: np.ndarray, k: int, seed: int, iterations: int = 100) -> np.ndarray:
    """Block label 0..k-1 of each point: k-means (k-means++ start, seeded) on the coordinates."""
    xy = np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=1)
    if not 1 <= k <= len(xy):
        raise ValueError(f"cannot make {k} blocks of {len(xy)} points")
    rng = np.random.default_rng(seed)
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(xy[rng.choice(len(xy), p=d2 / d2.sum())] if d2.sum() > 0 else xy[rng.integers(len(xy))])
    centre = np.array(centres)
    labels = np.zeros(len(xy), np.int64)
    for _ in range(iterations):
        labels = ((xy[:, None, :] - centre[None]) ** 2).sum(-1).argmin(axis=1)
        moved = np.array([xy[labels == j].mean(axis=0) if np.any(labels == j) else centre[j] for j in range(k)])
        if np.allclose(moved, centre):
            break
        centre = moved
    return labels


# --------------------------------------------------------------------------------------------- metrics

def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied scores sharing ranks); NaN with one class."""
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def f1_score(labels: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of the landslide class (0 when nothing is predicted and nothing is there to find)."""
    labels, predicted = np.asarray(labels, bool), np.asarray(predicted, bool)
    tp = int((labels & predicted).sum())
    denominator = int(labels.sum() + predicted.sum())
    return 2.0 * tp / denominator if denominator else 0.0


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Share of points classified correctly."""
    return float(np.mean(np.asarray(labels, bool) == np.asarray(predicted, bool)))


# --------------------------------------------------------------------------------------------- baseline

@dataclass
class LogisticRegression:
    """Logistic regression on z-scored covariates, fitted by Newton's method with a small ridge penalty."""

    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray  # intercept first

    @classmethod
    def fit(cls, covariates: np.ndarray, labels: np.ndarray, ridge: float = 1e-3, iterations: int = 50
            ) -> LogisticRegression:
        """Fit on raw ``covariates`` (n, k) and boolean ``labels`` (n,); ``ridge`` penalises all but the intercept."""
        mean, std = covariates.mean(axis=0), np.maximum(covariates.std(axis=0), 1e-9)
        design = np.hstack([np.ones((len(covariates), 1)), (covariates - mean) / std])
        y = np.asarray(labels, np.float64)
        coef = np.zeros(design.shape[1])
        penalty = ridge * np.eye(design.shape[1])
        penalty[0, 0] = 0.0
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-np.clip(design @ coef, -30, 30)))
            gradient = design.T @ (p - y) + penalty @ coef
            hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty + 1e-9 * np.eye(len(coef))
            step = np.linalg.solve(hessian, gradient)
            coef -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        return cls(mean, std, coef)

    def probability(self, covariates: np.ndarray) -> np.ndarray:
        """Predicted probability (0-1) of a landslide for each row of raw ``covariates`` (n, k)."""
        design = np.hstack([np.ones((len(covariates), 1)), (covariates - self.mean) / self.std])
        return 1.0 / (1.0 + np.exp(-np.clip(design @ self.coef, -30, 30)))


# --------------------------------------------------------------------------------------------- CV

@dataclass
class PointSet:
    """One data set ready for cross-validation: complete rows only."""

    name: str
    covariates: np.ndarray            # (n, k) raw
    names: list[str]
    labels: np.ndarray                # (n,) bool
    x: np.ndarray
    y: np.ndarray
    latlon: tuple[float, float]       # area centre
    states: np.ndarray | None = None  # (n, d) exact encoder vectors, each point at its own location


@dataclass
class Fold:
    """One test block of one repetition."""

    repetition: int
    fold: int
    seed: int
    train: np.ndarray   # bool masks over the point set
    test: np.ndarray
    validation: np.ndarray  # subset of train, for early stopping


@dataclass
class FoldScore:
    """One model's test scores on one fold; ``seconds`` is the wall time to fit and predict."""

    model: str
    repetition: int
    fold: int
    n_train: int
    n_test: int
    auc: float
    f1: float
    accuracy: float
    seconds: float


Predictor = Callable[[PointSet, Fold, "CVContext"], np.ndarray]


@dataclass
class CVContext:
    """What the model fitters need besides the data: the base model and training settings."""

    base: BaseModel | None
    settings: TrainSettings = field(default_factory=TrainSettings)


def spatial_folds(points: PointSet, k: int, seeds: list[int], inner_k: int = 4) -> list[Fold]:
    """K spatial test blocks per seed, each with a validation block for early stopping.

    In each fold, one of ``inner_k`` k-means blocks of the training points is the validation set.
    """
    folds = []
    for repetition, seed in enumerate(seeds):
        blocks = kmeans_blocks(points.x, points.y, k, seed)
        for fold in range(k):
            test = blocks == fold
            train = ~test
            inner = kmeans_blocks(points.x[train], points.y[train], inner_k, seed * 1000 + fold)
            validation = np.zeros(len(test), bool)
            validation[np.flatnonzero(train)[inner == 0]] = True
            folds.append(Fold(repetition, fold, seed * 100 + fold, train, test, validation))
    return folds


def _fit_network(points: PointSet, fold: Fold, context: CVContext, pretrained: bool) -> np.ndarray:
    rows = np.flatnonzero(fold.train)
    base = context.base if pretrained else None
    settings = replace(context.settings, fit=replace(context.settings.fit, seed=fold.seed))
    model = new_model(points.names, base, points.latlon, settings)
    states = points.states if pretrained else None
    train(model, points.covariates[rows], None if states is None else states[rows], points.labels[rows],
          fold.validation[rows], settings, label=f"fold {fold.repetition}.{fold.fold}")
    return model.probability(points.covariates[fold.test], None if states is None else states[fold.test])


def predict_stefaland(points: PointSet, fold: Fold, context: CVContext) -> np.ndarray:
    """Frozen encoder features + adapter + head."""
    if points.states is None:
        raise ValueError(f"{points.name}: encoder features were not computed")
    return _fit_network(points, fold, context, pretrained=True)


def predict_scratch(points: PointSet, fold: Fold, context: CVContext) -> np.ndarray:
    """The same adapter and head on a trainable MLP of the covariates (no encoder)."""
    return _fit_network(points, fold, context, pretrained=False)


def predict_logistic(points: PointSet, fold: Fold, context: CVContext) -> np.ndarray:
    """Logistic regression on the same covariates (all training folds; no early stopping needed)."""
    model = LogisticRegression.fit(points.covariates[fold.train], points.labels[fold.train])
    return model.probability(points.covariates[fold.test])


STEFALAND = "StefaLand (frozen encoder + adapter)"
LOGISTIC = "Logistic regression"
SCRATCH = "From scratch (same adapter/head, no encoder)"
#: model name (as in the tables) -> how it predicts a test fold
MODELS: dict[str, Predictor] = {STEFALAND: predict_stefaland, LOGISTIC: predict_logistic, SCRATCH: predict_scratch}


def cross_validate(points: PointSet, folds: list[Fold], context: CVContext,
                   models: dict[str, Predictor] | None = None) -> list[FoldScore]:
    """Score every model on every fold (AUC, and F1/accuracy at probability >= :data:`THRESHOLD`)."""
    scores = []
    for name, predict in (models or MODELS).items():
        for fold in folds:
            start = time.perf_counter()
            probability = predict(points, fold, context)
            seconds = time.perf_counter() - start
            truth = points.labels[fold.test]
            predicted = probability >= THRESHOLD
            scores.append(FoldScore(name, fold.repetition, fold.fold, int(fold.train.sum()), int(fold.test.sum()),
                                    roc_auc(truth, probability), f1_score(truth, predicted),
                                    accuracy(truth, predicted), seconds))
    return scores
