"""Image classification data for the cnn stage: digits as 1x8x8 images, or a user's .npz of images and labels.

Canonical layout of images: NCHW, (N, C, H, W), as the files give them and PyTorch convolves them; the JAX
stage transposes to NHWC at its own boundary. A file's x may be (N, H, W) (one channel) or (N, C, H, W).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from netdata import datasets
from netdata.errors import InputError, one_line

MIN_SIDE = 4  # two 2x2 max-pools must leave at least one pixel
MAX_CLASSES = 10_000  # a larger label is a mistake (a pixel value or an id), not a class


def _fail(path: str, what: str) -> InputError:
    return one_line(f"{path}: {what}; save images and labels with numpy.savez(path, x=x, y=labels), "
                    f"x of shape (N, H, W) or (N, C, H, W) and labels integers 0..K-1")


def read_npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(x (N, C, H, W) float64, labels (N,) int64) from an .npz holding `x` and `y`, checked; never unpickles."""
    if not os.path.isfile(path):
        raise one_line(f"{path} does not exist or is not a file; pass digits or the path of an .npz of images")
    if not zipfile.is_zipfile(path):
        raise _fail(path, "not an .npz file (numpy.savez writes a zip)")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x", "y") if k not in z.files]
            if missing:
                raise _fail(path, f"no array {missing[0]!r} (it has: {', '.join(z.files) or 'none'})")
            x, y = z["x"], z["y"]
    except InputError:
        raise
    except ValueError as err:  # allow_pickle=False refuses object arrays with a ValueError
        raise _fail(path, f"it holds an array that needs unpickling ({err})") from None
    except Exception as err:  # a damaged zip or header: zipfile's and numpy's errors are no closed set
        raise _fail(path, f"cannot be read ({type(err).__name__}: {err})") from None
    return check(x, y, path)


def check(x: np.ndarray, y: np.ndarray, where: str = "images") -> tuple[np.ndarray, np.ndarray]:
    """Images as (N, C, H, W) float64 and labels as (N,) int64, or a one-line InputError saying what is wrong."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim not in (3, 4):
        raise _fail(where, f"x has shape {x.shape}, not (N, H, W) or (N, C, H, W)")
    if x.dtype.kind not in "biuf":
        raise _fail(where, f"x holds {x.dtype}, not numbers")
    if x.ndim == 3:
        x = x[:, None]  # one channel
    n, c, h, w = x.shape
    if n == 0 or c == 0:
        raise _fail(where, f"x has shape {x.shape}: no images or no channels")
    if min(h, w) < MIN_SIDE:
        raise _fail(where, f"images of {h}x{w} pixels are too small for two 2x2 max-pools (at least "
                           f"{MIN_SIDE}x{MIN_SIDE})")
    if y.ndim != 1 or len(y) != n:
        raise _fail(where, f"y has shape {y.shape} but x holds {n} images; give one label per image")
    if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
        raise _fail(where, f"y holds {y.dtype} values that are not whole numbers; labels must be class indices")
    if len(y) and (y.min() < 0 or y.max() >= MAX_CLASSES):
        raise _fail(where, f"labels range over {y.min()}..{y.max()}; they must be class indices 0..K-1")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise _fail(where, "x holds NaN or infinity")
    return x, y.astype(np.int64)


def digits() -> datasets.Dataset:
    """The shipped digits set as (1797, 1, 8, 8) images, pixel values 0..16."""
    ds = datasets.digits()
    return datasets.Dataset(ds.x.reshape(-1, 1, 8, 8), ds.labels, ds.class_names, ("pixel",), "digits")


def load(name_or_path: str, class_names: list[str] | None = None) -> datasets.Dataset:
    """digits, or an .npz of images; its classes are named "0".."K-1" (or `class_names`, a stored run's)."""
    if name_or_path == "digits":
        return digits()
    if name_or_path in datasets.NAMES or name_or_path in ("seed", "linear"):
        raise InputError(f"--data {name_or_path} holds no images; the cnn stage trains on digits or an .npz "
                         f"with x (N, H, W) or (N, C, H, W) and y (N,) labels")
    if not name_or_path.lower().endswith(".npz"):
        raise InputError(f"--data {name_or_path}: the cnn stage reads images from an .npz (x (N, H, W) or "
                         f"(N, C, H, W), y labels) or digits; save yours with numpy.savez")
    x, labels = read_npz(name_or_path)
    k = int(labels.max()) + 1
    names = list(class_names) if class_names and len(class_names) >= k else [str(c) for c in range(k)]
    return datasets.Dataset(x, labels, tuple(names), ("pixel",), os.path.basename(name_or_path))


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train_s, x_test_s, mean, std): both parts scaled per channel by the training part's statistics.

    One mean and std per channel, not per pixel: a convolution slides the same kernel over every
    position, so every position must be on the same scale. A constant channel keeps std 1.
    """
    axes = (0, 2, 3)
    mean = x_train.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = x_train.std(axis=axes, keepdims=True, dtype=np.float64)
    std = np.where(std <= 1e-12 * np.maximum(1.0, np.abs(mean)), 1.0, std)
    return (x_train - mean) / std, (x_test - mean) / std, mean, std  # mean, std: (1, C, 1, 1)


def grayscale(x: np.ndarray) -> np.ndarray | None:
    """(N, H, W) pictures of one-channel images, for the predictions figure; None for colour ones."""
    return x[:, 0] if x.ndim == 4 and x.shape[1] == 1 else None
