"""Pictures of step 4, "test": loss curves, the confusion matrix, test images with their predicted labels.

Every function returns a matplotlib Figure and never saves or shows it; the caller decides where it
goes (`fig.savefig(path)`). Figures are made without pyplot, on an Agg canvas of their own: nothing
global changes (a notebook keeps its backend) and pyplot never holds them, so none needs closing.
"""

from __future__ import annotations

import numpy as np

from netdata.errors import InputError

RIGHT, WRONG = "black", "red"


def load() -> None:
    """Import what drawing needs (a CLI calls this on a second thread, ahead of its figures)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.ticker  # noqa: F401


def _figure(width: float, height: float, **margins):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib costs ~0.5 s to import
    from matplotlib.figure import Figure

    # Fixed margins, not layout="constrained": that solver cost 1-8 s a figure on a busy 2-core machine.
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**({"left": 0.1, "right": 0.97, "bottom": 0.13, "top": 0.9, "wspace": 0.3} | margins))
    FigureCanvasAgg(fig)  # gives the figure savefig() and draw() without any global backend
    return fig


def _title(ax, text: str) -> None:
    # At a fixed height: left to itself, matplotlib measures every tick label at each draw to place a title.
    ax.set_title(text, y=1.0)


def _loss_axis_scale_and_labels(ax, linear_if_narrow: bool = True) -> None:
    """A log y axis with tick labels as plain text (0.01, 2e-05): the default writes each as TeX-like math,
    whose parser cost ~0.2 s of CPU in every run that draws a loss curve. A loss spanning under one decade is
    drawn linear instead: a log axis there has one or two ticks (the lecture's 1.58 -> 0.91 showed only 0.9 and 1)."""
    from matplotlib.ticker import LogFormatter

    low, high = ax.get_ylim()
    if linear_if_narrow and low > 0 and high / low < 10:
        ax.set_yscale("linear")
        return

    class Plain(LogFormatter):  # LogFormatter picks which ticks get a label; this writes each one
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.0e}"

    ax.yaxis.set_major_formatter(Plain())
    ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


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
    axes[0].set(xlabel=xlabel, ylabel="loss", yscale="log")
    _title(axes[0], title)
    _loss_axis_scale_and_labels(axes[0])
    axes[0].legend()
    if two:
        (name_a, a), (name_b, b) = ys.items()
        n = min(len(a), len(b))
        diff = np.abs(a[:n] - b[:n])
        axes[1].plot(x(n), _positive(diff))
        axes[1].set(xlabel=xlabel, ylabel="|difference of loss|", yscale="log")
        _title(axes[1], f"|{name_a} - {name_b}|")
        _loss_axis_scale_and_labels(axes[1], linear_if_narrow=False)  # a difference is read as its power of ten (ulps)
        if not np.any(diff > 0):
            axes[1].text(0.5, 0.5, "identical at every step", ha="center", va="center", transform=axes[1].transAxes)
    return fig


def moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Means of each `window` consecutive points (len(y) - window + 1 of them); NaN points are skipped."""
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    sums = np.convolve(np.where(ok, y, 0.0), np.ones(window), "valid")
    counts = np.convolve(ok.astype(np.float64), np.ones(window), "valid")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def run_loss_figure(metrics: dict, title: str):
    """One run's loss (metrics.json): each framework's steps in its own colour; minibatch losses faint, with
    their moving average and each epoch's mean loss on top, so the trend shows through the noise."""
    curve = metrics.get("loss_curve", {})
    steps, loss = np.asarray(curve.get("step", []), dtype=np.int64), np.asarray(curve.get("loss", []), np.float64)
    segments = metrics.get("segments") or [{"framework": metrics.get("framework", "?"), "start": 0,
                                            "end": int(steps[-1]) + 1 if len(steps) else 0}]
    epochs = metrics.get("epoch_loss", {})
    noisy = bool(metrics.get("minibatch")) and len(loss) > 2
    window = max(2, len(loss) // 40) if noisy else 1
    smooth = moving_average(loss, window) if noisy else loss
    smooth_steps = steps[window // 2: window // 2 + len(smooth)]  # each mean drawn at its window's middle
    fig = _figure(7, 4)
    ax = fig.subplots()
    colours = {"jax": "tab:blue", "torch": "tab:orange"}
    for seg in segments:
        colour = colours.get(seg["framework"], "tab:green")
        name = f"{seg['framework']}, steps {seg['start']}-{seg['end']}"
        if noisy:
            raw = (steps >= seg["start"]) & (steps < seg["end"])
            ax.plot(steps[raw], _positive(loss[raw]), color=colour, alpha=0.25, linewidth=0.6)
        inside = (smooth_steps >= seg["start"]) & (smooth_steps < seg["end"])
        ax.plot(smooth_steps[inside], _positive(smooth[inside]), color=colour,
                label=name + (f" (mean of {window} points)" if noisy else ""))
    if epochs.get("step"):
        ax.plot(epochs["step"], _positive(np.asarray(epochs["loss"], np.float64)), ".", color="black",
                markersize=3, label="mean loss of each epoch")
    val = metrics.get("val_curve") or {}
    if val.get("step"):  # the held-out rows' loss: where it turns up, the model starts to learn the noise
        ax.plot(val["step"], _positive(np.asarray(val["loss"], np.float64)), ".-", color="tab:red", markersize=3,
                linewidth=1, label="validation loss")
        best = (metrics.get("validation") or {}).get("best_step")
        if best is not None and best >= 0:
            ax.axvline(best, color="tab:red", linestyle=":", linewidth=1, label=f"best validation loss (step {best})")
    ax.set(xlabel="step", ylabel="loss", yscale="log")
    _title(ax, title)
    _loss_axis_scale_and_labels(ax)
    ax.legend(fontsize=8)
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
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true")
    _title(ax, "confusion matrix")
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
    fig = _figure(1.1 * cols, 1.3 * rows + 0.4, left=0.01, right=0.99, bottom=0.01, top=1 - 0.5 / (1.3 * rows + 0.4))
    ax = fig.subplots()
    ax.axis("off")
    if not len(images):
        return fig
    # One mosaic in one axes, not an axes per image: 40 axes cost seconds to lay out and draw.
    h, w = images.shape[1:]
    gap_y, gap_x = max(1, h // 2), max(1, w // 4)  # room above each image for its label
    mosaic = np.full((rows * (h + gap_y), cols * (w + gap_x)), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        mosaic[r * (h + gap_y) + gap_y: (r + 1) * (h + gap_y), c * (w + gap_x): c * (w + gap_x) + w] = image
        ax.text(c * (w + gap_x) + w / 2, r * (h + gap_y) + gap_y - 0.6, f"{class_names[pred[i]]} ({class_names[true[i]]})",
                ha="center", va="bottom", fontsize=8, color=RIGHT if pred[i] == true[i] else WRONG)
    ax.imshow(mosaic, cmap="gray_r", interpolation="nearest")
    fig.suptitle("test images: predicted (true), wrong in red")
    return fig
