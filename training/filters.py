"""The features a CNN learned: its first convolution's filters as a grid of small pictures (`filters.png`)."""

from __future__ import annotations

import numpy as np

from netdata.errors import InputError

COLS = 8
FILE = "filters.png"


def filter_images(kernel: np.ndarray) -> np.ndarray:
    """(Cout, kh, kw) or, for three input channels, (Cout, kh, kw, 3) pictures of an HWIO kernel's filters.

    One input channel: the filter itself. Three: an RGB picture, each filter scaled to 0..1. Otherwise the
    mean over the input channels: what the filter responds to in the channels' sum.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 4:
        raise InputError(f"a conv kernel is (kh, kw, Cin, Cout), got shape {kernel.shape}")
    filters = np.transpose(kernel, (3, 0, 1, 2))  # (Cout, kh, kw, Cin)
    if filters.shape[-1] == 3:
        lo = filters.min(axis=(1, 2, 3), keepdims=True)
        span = np.maximum(filters.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
        return (filters - lo) / span
    return filters.mean(axis=-1)


def filters_figure(weights: dict[str, np.ndarray], title: str = "first layer's filters (conv.0.w)"):
    """A grid of conv.0.w's filters; one colour scale, symmetric about 0, for the one-channel kind."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib costs ~0.5 s to import
    from matplotlib.figure import Figure

    if "conv.0.w" not in weights:
        raise InputError(f"no conv.0.w among the weights ({', '.join(sorted(weights)[:5])}, ...): not a cnn's")
    pictures = filter_images(weights["conv.0.w"])
    count = len(pictures)
    cols = min(COLS, count)
    rows = -(-count // cols)
    height = 1.0 * rows + 0.5
    # Fixed margins, not a layout solver: that cost seconds a figure on a busy machine.
    fig = Figure(figsize=(1.0 * cols + 0.2, height))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.45 / height, wspace=0.1, hspace=0.1)
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=9)
    bound = float(np.max(np.abs(pictures))) or 1.0
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < count:
            ax.imshow(pictures[i], cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    return fig
