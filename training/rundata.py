"""Step 2 and the start of step 1 for a CLI run: the data a RunConfig names, and its initial weights."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from netdata import datasets, files, init, problems
from netdata.stages import STAGES
from netdata import images as imagesets
from training import validation
from training.config import RunConfig
from netdata.errors import InputError

CLASSIFICATION_SETS = datasets.NAMES


@dataclass
class Data:
    """Training rows (x, y) and, for classification, the held-out test rows of the test step."""

    x: np.ndarray  # (N, Din); a read-only memmap for a folder of .npy files
    y: np.ndarray  # (N, Dout) targets, or (N,) int64 labels
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    test_images: np.ndarray | None = None  # (N_test, 8, 8) raw pixels, for digits' picture
    x_val: np.ndarray | None = None  # the validation part of the training rows (--val-fraction), never trained on
    y_val: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def din(self) -> int:
        return self.x.shape[1]

    @property
    def dout(self) -> int:
        return len(self.class_names) if self.class_names else self.y.shape[1]


def load(cfg: RunConfig, class_names: list[str] | None = None) -> Data:
    """The run's data; a classification file's class names in the order `class_names` (a stored run's) gives."""
    dtype = np.dtype(cfg.dtype)
    if STAGES[cfg.stage].classifier:
        return _classification(cfg, dtype, class_names)
    if cfg.data in CLASSIFICATION_SETS:
        raise InputError(f"--data {cfg.data} is a classification set with labels; train it with --stage mlp")
    if cfg.data == "seed":
        x, y = problems.lecture(cfg.seed, dtype=dtype)
    elif cfg.data == "linear":
        x, y = problems.linear(cfg.seed, dtype=dtype)
    elif os.path.exists(cfg.data) or os.sep in cfg.data or os.path.splitext(cfg.data)[1]:
        x, y = files.load_data(cfg.data, cfg.target, dtype=dtype)
    else:
        raise InputError(f"--data {cfg.data!r} is neither seed, linear, iris, digits nor an existing file; "
                         f"check the name or the path")
    return Data(x, y)


def _classification(cfg: RunConfig, dtype: np.dtype, class_names: list[str] | None) -> Data:
    if cfg.data in ("seed", "linear"):
        raise InputError(f"--data {cfg.data} has no class labels; the mlp stage needs iris, digits or a labelled file")
    cnn = cfg.stage == "cnn"  # images (N, C, H, W), scaled per channel
    ds = imagesets.load(cfg.data, class_names) if cnn else datasets.load(cfg.data, cfg.target, class_names)
    train, test = datasets.stratified_split(ds.labels, cfg.test_fraction, cfg.seed)
    fit, val = validation.split(ds.labels[train], cfg.val_fraction, cfg.seed)
    fit, val = train[fit], train[val]
    # The rows trained on alone set the scale: neither the test nor the validation rows leak into training.
    x_fit, x_test, mean, std = (imagesets if cnn else datasets).standardize(ds.x[fit], ds.x[test])
    x_val = ((ds.x[val] - mean) / std).astype(dtype) if len(val) else None
    images = ds.x[test].reshape(-1, 8, 8) if ds.name == "digits" else imagesets.grayscale(ds.x[test]) if cnn else None
    return Data(x_fit.astype(dtype), ds.labels[fit], x_test.astype(dtype), ds.labels[test],
                ds.class_names, images, x_val, ds.labels[val] if len(val) else None)


def layer_sizes(cfg: RunConfig, data: Data) -> list[int]:
    return [data.din, *cfg.hidden, data.dout]


def initial_weights(cfg: RunConfig, data: Data) -> dict[str, np.ndarray]:
    """The starting weights in the canonical layout, from a scheme or a file, checked against the data."""
    dtype = np.dtype(cfg.dtype)
    from_file = cfg.init not in init.SCHEMES
    if from_file and not os.path.splitext(cfg.init)[1] and not os.path.exists(cfg.init):
        raise InputError(f"--init {cfg.init!r} is neither a scheme ({', '.join(init.SCHEMES)}) nor a weights file")
    if cfg.stage == "cnn":
        image = data.x.shape[1:]  # (C, H, W)
        channels = [image[0], *problems.CNN_CHANNELS]
        weights = files.load_weights(cfg.init) if from_file else init.cnn(
            cfg.init, channels, init.cnn_features(channels, *image[1:]), data.dout, cfg.seed, problems.CNN_KERNEL, dtype)
        init.check_cnn(weights, image, data.dout)
        return {k: np.asarray(v, dtype=np.int64 if k == "dropout.seed" else dtype) for k, v in weights.items()}
    if cfg.stage == "mlp":
        sizes = layer_sizes(cfg, data)
        weights = files.load_weights(cfg.init) if from_file else init.mlp(cfg.init, sizes, cfg.seed, dtype)
        check_mlp_weights(weights, sizes)
    else:
        bias = STAGES[cfg.stage].bias  # manual, autograd: the lecture's y_pred = x @ w
        weights = (files.load_weights(cfg.init) if from_file
                   else init.linear(cfg.init, data.din, data.dout, cfg.seed, bias=bias, dtype=dtype))
        files.check_linear_weights(weights, data.din, data.dout, bias)
        weights = {k: weights[k] for k in ("w", "b") if k in weights}
    return {k: np.asarray(v, dtype=dtype) for k, v in weights.items()}


def check_mlp_weights(weights: dict[str, np.ndarray], sizes: list[int]) -> None:
    for i, (din, dout) in enumerate(zip(sizes, sizes[1:])):
        for key, shape in ((f"layers.{i}.w", (din, dout)), (f"layers.{i}.b", (dout,))):
            if key not in weights:
                raise InputError(f"the weights have no {key!r}; an mlp with layer sizes {sizes} needs "
                                 f"layers.0.w ... layers.{len(sizes) - 2}.b")
            if weights[key].shape != shape:
                raise InputError(f"{key} has shape {weights[key].shape} but layer sizes {sizes} need {shape}; "
                                 f"match --hidden to the weights")
    extra = sorted(set(weights) - {f"layers.{i}.{p}" for i in range(len(sizes) - 1) for p in "wb"})
    if extra:
        raise InputError(f"the weights have {extra[0]!r}, which an mlp with layer sizes {sizes} does not use; "
                         f"match --hidden to the weights")
    bad = [k for k, v in weights.items() if not np.all(np.isfinite(v))]
    if bad:
        raise InputError(f"the weights {bad[0]!r} hold NaN or infinity; use finite initial weights")
