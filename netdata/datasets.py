"""Classification data: the shipped iris and digits sets, user label files, a stratified split, standardizing."""

from __future__ import annotations

import functools
import gzip
import io
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from netdata.csvfile import class_indices
from netdata.errors import InputError
from netdata.files import load_named
from netdata.problems import rng

SPLIT_STREAM = 4  # next to problems.DATA_STREAM..TRUTH_STREAM, so a split never shifts data or weights
VALIDATION_STREAM = 5  # the validation part of the training rows: its own stream, so it never moves the test split
NAMES = ("iris", "digits")
IRIS_FEATURES = ("sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)")


@dataclass(frozen=True, eq=False)  # eq on arrays would be ambiguous; compare fields explicitly
class Dataset:
    """A classification set: x (N, D) float64, labels (N,) int64 in 0..K-1, both read-only."""

    x: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    name: str

    def __post_init__(self) -> None:
        # Frozen all the way down: a cached set shared by callers must not be edited in place.
        for a in (self.x, self.labels):
            a.setflags(write=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _shipped(filename: str) -> bytes:
    # importlib.resources finds the file inside an installed wheel or zip as well as in a checkout.
    return resources.files("netdata").joinpath("data", filename).read_bytes()


def _table(filename: str, text: bytes, shape: tuple[int, int]) -> np.ndarray:
    table = np.loadtxt(io.StringIO(text.decode("ascii")), delimiter=",", ndmin=2)
    if table.shape != shape:
        raise RuntimeError(f"the shipped {filename} is damaged: shape {table.shape}, expected {shape}")
    return table


@functools.cache
def iris() -> Dataset:
    """Fisher's iris: 150 flowers, 4 measurements in cm, 3 species of 50 each."""
    head, body = _shipped("iris.csv").split(b"\n", 1)
    n, d, *classes = head.decode("ascii").split(",")  # scikit-learn's header: rows, features, class names
    table = _table("iris.csv", body, (int(n), int(d) + 1))
    return Dataset(np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64), tuple(classes),
                   IRIS_FEATURES, "iris")


@functools.cache
def digits() -> Dataset:
    """UCI handwritten digits (test set): 1797 images of 8x8 cells valued 0..16, classes 0-9."""
    table = _table("digits.csv.gz", gzip.decompress(_shipped("digits.csv.gz")), (1797, 65))
    features = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return Dataset(np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64),
                   tuple(str(k) for k in range(10)), features, "digits")


def load(name_or_path: str, target: str | None = None, class_names: list[str] | None = None) -> Dataset:
    """A shipped set by name ("iris", "digits"), or a .csv/.csv.gz/.npz/folder file of labelled rows.

    A file's integer labels 0..K-1 are named "0".."K-1". A CSV's labels may be names instead (cat, dog, as
    pandas and scikit-learn allow): the sorted names become classes 0..K-1, or `class_names`' order, which
    a run stores so that its resume maps them alike. `target` picks a CSV's label column.
    """
    if name_or_path in NAMES:
        if target is not None:
            raise InputError(f"--target does not apply to the shipped {name_or_path} set; drop --target")
        return iris() if name_or_path == "iris" else digits()
    if not os.path.exists(name_or_path) and not os.path.splitext(name_or_path)[1] and os.sep not in name_or_path:
        raise InputError(f"unknown data set {name_or_path!r}; use {' or '.join(NAMES)}, or the path of a "
                         f".csv, .csv.gz or .npz file with class labels")
    x, labels, features, _ = load_named(name_or_path, target, dtype=np.float64, labels=True)
    # A folder comes back memory-mapped; a classification set is small enough to hold in memory.
    x = np.array(x, dtype=np.float64)
    if labels.dtype.kind == "U":
        labels, names = class_indices(labels, class_names)
    else:
        labels = np.array(labels, dtype=np.int64)
        k = max(int(labels.max()) + 1, len(class_names or ()))
        names = list(class_names) if class_names and len(class_names) == k else [str(c) for c in range(k)]
    name = os.path.basename(os.path.normpath(name_or_path))
    return Dataset(x, labels, tuple(names), tuple(features), name)


def stratified_split(labels: np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0, stream: int = SPLIT_STREAM) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices (train, test): each class split in proportion, seeded, the same on every call.

    Class c puts round(n_c * test_fraction) of its rows in the test part, but always at least one in
    each part. Each class is shuffled by its own generator, so adding rows of one class never moves
    the split of another.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise InputError(f"labels must be a 1-D integer array, got shape {labels.shape} of {labels.dtype}")
    if not 0.0 < test_fraction < 1.0:
        raise InputError(f"the test fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if len(labels) and labels.min() < 0:
        raise InputError(f"labels must be class indices 0..K-1, found {labels.min()}")
    train, test = [], []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        if len(rows) < 2:
            raise InputError(f"class {c} has only {len(rows)} example; a split that puts every class in both "
                             f"parts needs at least 2 per class: add examples or drop the class")
        n_test = min(max(int(np.floor(len(rows) * test_fraction + 0.5)), 1), len(rows) - 1)
        rows = rng(seed, stream, int(c)).permutation(rows)
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    if not train:
        raise InputError("there are no labels to split; the data set is empty")
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train_s, x_test_s, mean, std): both parts scaled by the training part's mean and std only.

    Using the test part's statistics would leak it into training. A constant feature (std 0, such as
    a digits border pixel) keeps std 1, so it becomes 0 instead of a division by zero. The scaled
    parts keep a floating input dtype (other dtypes become float64); mean and std are float64.
    """
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    if x_train.ndim != 2 or x_train.shape[0] == 0:
        raise InputError(f"the training part must be 2-D with at least one row, got shape {x_train.shape}")
    if x_test.ndim != 2 or x_test.shape[1] != x_train.shape[1]:
        raise InputError(f"the test part has shape {x_test.shape} but needs {x_train.shape[1]} columns")
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    # Rounding makes the std of a constant float column tiny rather than 0; treat that as constant too.
    std = np.where(std <= 1e-12 * np.maximum(1.0, np.abs(mean)), 1.0, std)
    out = x_train.dtype if x_train.dtype.kind == "f" else np.float64
    return ((x_train - mean) / std).astype(out), ((x_test - mean) / std).astype(out), mean, std
