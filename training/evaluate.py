"""Step 4 of the lecture, "test", for classifiers: confusion matrix and accuracies, in NumPy only."""

from __future__ import annotations

import numpy as np

from netdata.errors import InputError


def _labels(true, pred, classes: int) -> tuple[np.ndarray, np.ndarray]:
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.ndim != 1:
        raise InputError(f"true and predicted labels must be two 1-D arrays of one length, got {true.shape} "
                         f"and {pred.shape}")
    for name, a in (("true", true), ("predicted", pred)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= classes):
            raise InputError(f"{name} labels must be integers in 0..{classes - 1}")
    return true.astype(np.int64), pred.astype(np.int64)


def confusion(true, pred, classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class; the diagonal is what was right."""
    true, pred = _labels(true, pred, classes)
    # One bincount over the flat index true * C + pred counts every (true, pred) pair at once.
    return np.bincount(true * classes + pred, minlength=classes * classes).reshape(classes, classes)


def accuracy(true, pred) -> float:
    """Share of samples whose predicted label is the true one; NaN for no samples."""
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape:
        raise InputError(f"true and predicted labels differ in shape: {true.shape} vs {pred.shape}")
    return float(np.mean(true == pred)) if true.size else float("nan")


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """(C,) recall of each class from a confusion matrix: right / samples of that class; NaN if none."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"a confusion matrix is square (C, C), got shape {matrix.shape}")
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # an absent class is NaN, not a warning
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)
