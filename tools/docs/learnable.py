"""Stage 1 on data with something to learn: the lecture's program (jaxnet.manual) on its own random data, where
the loss can only fall to a floor, then on a linear target, where it converges. Run when the docs are measured;
the guide shows the code, what it printed and the learnable run's loss curve (img/manual-learnable.png)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

PICTURE = "manual-learnable.png"
CODE = '''\
import jax.numpy as jnp
import numpy as np

from jaxnet import manual
from netdata import init, problems


def floor(x, y):  # the lowest 0.5 * sum((x @ w - y) ** 2) that any w reaches: least squares
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    return 0.5 * np.sum((x @ w - y) ** 2)


def run(x, y, lr, steps):  # the lecture's program: randn start, gradient descent, one loss per step
    trainer = manual.build(init.linear("randn", 4, 2, bias=False), lr)
    xs, ys = jnp.broadcast_to(x, (steps, *x.shape)), jnp.broadcast_to(y, (steps, *y.shape))
    return manual.train(trainer, xs, ys)[1]


x, y = problems.lecture(seed=0)  # x and y independent randn: nothing to learn
losses = run(x, y, problems.LECTURE_LR, problems.LECTURE_STEPS)
print(f"lecture data:   loss {losses[0]:.1f} -> {losses[-1]:.1f} in 5000 steps at lr 1e-6; floor {floor(x, y):.1f}")

x, y = problems.linear(seed=0)  # y = x @ w_true + b_true + noise: something to learn
y = y - y.mean(axis=0)  # y_pred = x @ w has no bias: take the mean out of y
losses = run(x, y, 1e-3, 300)
print(f"learnable data: loss {losses[0]:.1f} -> {losses[-1]:.3f} in 300 steps at lr 1e-3; floor {floor(x, y):.3f}")
'''


def run() -> dict:
    """{"output": what CODE printed, "losses": the learnable run's loss per step, "floor": its floor}."""
    import jax
    import numpy as np

    out, namespace = io.StringIO(), {"__name__": "__learnable__"}
    with contextlib.redirect_stdout(out), jax.default_matmul_precision("highest"):
        exec(compile(CODE, "<learnable>", "exec"), namespace)  # noqa: S102 - our own example
    x, y = namespace["x"], namespace["y"]
    return {"output": out.getvalue(), "losses": [float(v) for v in np.asarray(namespace["losses"])],
            "floor": float(namespace["floor"](x, y))}


def save_picture(learnable: dict, out: Path) -> Path:
    """img/manual-learnable.png: the learnable run's loss per step on a log scale, and its floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.runfolder import save_figure

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy(learnable["losses"], label="loss, y = x @ w_true + noise (lr 1e-3)")
    ax.axhline(learnable["floor"], color="gray", linestyle="--", label="floor: least squares")
    ax.set_xlabel("step")
    ax.set_ylabel("0.5 * sum((y_pred - y)^2)")
    ax.set_title("manual: the lecture's program on data with something to learn")
    ax.legend()
    fig.tight_layout()
    path = out / "img" / PICTURE
    save_figure(fig, path, dpi=80)
    return path
