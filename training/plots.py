"""Pictures of step 4, "test": loss curves, the confusion matrix, test images with their predicted labels.

Every function returns a matplotlib Figure and never saves or shows it; the caller decides where it
goes (`fig.savefig(path)`). Figures are made without pyplot, on an Agg canvas of their own: nothing
global changes (a notebook keeps its backend) and pyplot never holds them, so none needs closing.
"""

from __future__ import annotations

import numpy as np

from netdata.errors import InputError

RIGHT, WRONG = "black", "red"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib costs ~0.5 s to import
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # gives the figure savefig() and draw() without any global backend
    return fig


def _positive(a: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a, np.nan)  # a log axis cannot show 0: leave a gap instead of a clipped spike


def loss_figure(curves: dict[str, np.ndarray], title: str, steps: np.ndarray | None = None):
    """Named loss curves on a log axis; given exactly two, a second panel of |difference| per step.

    `steps` labels the x axis (e.g. the steps at which a long run recorded its loss); without it
    the points are numbered 0, 1, ... Two curves of different lengths are compared on their overlap.
    """
    if not curves:
        raise InputError("loss_figure needs at least one named curve")
    two = len(curves) == 2
    fig = _figure(11 if two else 6, 4)
    axes = fig.subplots(1, 2 if two else 1, squeeze=False)[0]
    ys = {name: np.asarray(c, dtype=np.float64).ravel() for name, c in curves.items()}
    xlabel = "step" if steps is not None else "recorded point"

    def x(n: int) -> np.ndarray:
        return np.arange(n) if steps is None else np.asarray(steps)[:n]

    for (name, y), style in zip(ys.items(), ("-", "--", ":", "-.")):
        axes[0].plot(x(len(y)), _positive(y), style, label=name)
    axes[0].set(title=title, xlabel=xlabel, ylabel="loss", yscale="log")
    axes[0].legend()
    if two:
        (name_a, a), (name_b, b) = ys.items()
        n = min(len(a), len(b))
        diff = np.abs(a[:n] - b[:n])
        axes[1].plot(x(n), _positive(diff))
        axes[1].set(title=f"|{name_a} - {name_b}|", xlabel=xlabel, ylabel="|difference of loss|", yscale="log")
        if not np.any(diff > 0):
            axes[1].text(0.5, 0.5, "identical at every step", ha="center", va="center", transform=axes[1].transAxes)
    return fig


def confusion_figure(matrix: np.ndarray, class_names):
    """The (C, C) counts as a heat map, rows true and columns predicted, every count written in."""
    matrix = np.asarray(matrix)
    k = len(class_names)
    if matrix.shape != (k, k):
        raise InputError(f"confusion matrix of shape {matrix.shape} does not fit {k} class names")
    fig = _figure(2 + 0.5 * k, 1.6 + 0.5 * k)
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title="confusion matrix")
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    for i in range(k):
        for j in range(k):  # white on the dark cells, so every count stays readable
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    return fig


def predictions_figure(images: np.ndarray, true, pred, class_names, cols: int = 10):
    """A grid of images (N, H, W), each titled 'predicted (true)'; the wrong ones in red."""
    images, true, pred = np.asarray(images), np.asarray(true), np.asarray(pred)
    if images.ndim != 3 or not len(images) == len(true) == len(pred):
        raise InputError(f"need images (N, H, W) and N true and predicted labels, got {images.shape}, "
                         f"{true.shape}, {pred.shape}")
    cols = max(1, min(cols, len(images)))
    rows = max(1, -(-len(images) // cols))
    fig = _figure(1.1 * cols, 1.3 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image, t, p in zip(axes, images, true, pred):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{class_names[p]} ({class_names[t]})", fontsize=8, color=RIGHT if p == t else WRONG)
    fig.suptitle("test images: predicted (true), wrong in red")
    return fig
