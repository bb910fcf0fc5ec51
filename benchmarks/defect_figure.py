"""docs/img/defect.png: past the chaos horizon the pointwise error grows, the per-step defect stays at the ulp.

    python -m benchmarks.defect_figure [--out docs/img/defect.png] [--steps 5000] [--lr 0.01]

The optim stage in float64 (torch.optim.Adam against the oracle): each step's loss compared pointwise,
and each step's defect (the oracle's one step from torch's own state, equivalence.lecture.defect), both as
relative sizes, with the horizon of the oracle's one-ulp nudge and the tolerance.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch


def measure(steps: int, lr: float) -> dict:
    from equivalence import tolerance
    from equivalence.lecture import defect, horizon, record
    from equivalence.lecture.stages import Setup, row

    setup = Setup(dtype="float64", steps=steps, lr=lr, regime="custom")
    r = row("optim")
    weights, x, y = r.problem(setup)
    nudged = horizon.run(r.reference, weights, x, y, lr, steps)
    xs = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(x, (steps, *x.shape))))
    ys = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(y, (steps, *y.shape))))
    run = record.torch_run(r.torch, r.torch.build(weights, lr), xs, ys, lambda t: t.detach().numpy())
    d = defect.defects(r.reference, run.states, x, y, lr)
    ref = nudged.losses[0]
    tol = tolerance.TOLERANCES["float64"].rel
    return {"pointwise": np.abs(run.losses - ref) / np.abs(ref), "defect": d.ulps * np.finfo(np.float64).eps,
            "horizon": nudged.horizon(tol), "tol": tol, "bound": tolerance.DEFECT_ULPS["float64"].rel, "lr": lr}


def plot(m: dict, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = np.finfo(np.float64).eps
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    k = np.arange(len(m["pointwise"]))
    floor = eps / 16  # zero has no logarithm: an exact match is drawn at the floor
    ax.semilogy(k, np.maximum(m["pointwise"], floor), lw=0.8, label="pointwise: |loss_torch - loss_oracle| / |loss_oracle|")
    ax.semilogy(k, np.maximum(m["defect"], floor), lw=0.8, label="per-step defect, relative to the state (ulps x eps)")
    ax.axhline(m["tol"], color="gray", ls="--", lw=0.8, label=f"pointwise tolerance {m['tol']:g}")
    ax.axhline(m["bound"] * eps, color="red", ls=":", lw=0.8, label=f"defect bound {m['bound']:g} ulps")
    ax.axvline(m["horizon"], color="black", lw=0.8)
    ax.text(m["horizon"], 0.93, f" chaos horizon\n (step {m['horizon']})", fontsize=8, va="top",
            transform=ax.get_xaxis_transform())
    ax.set_xlabel("step")
    ax.set_ylabel("relative size")
    ax.set_title(f"optim stage, float64, Adam at lr {m['lr']:g}: torch.optim.Adam against the float64 oracle", fontsize=9)
    ax.set_ylim(floor / 4, 1e-2)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs/img/defect.png")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--lr", type=float, default=0.01)
    args = p.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = measure(args.steps, args.lr)
    plot(m, args.out)
    print(f"{args.out}: horizon {m['horizon']}, pointwise error at the end {m['pointwise'][-1]:.1e}, "
          f"largest defect {m['defect'].max() / np.finfo(np.float64).eps:.2f} ulps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
