"""The classifiers' default flags, measured: test accuracy per data set and framework against softmax regression.

    python benchmarks/defaults.py [--frameworks jax,torch] [--out docs/measured/defaults.json]
    python benchmarks/defaults.py --grid --frameworks jax    # candidate settings, to choose the defaults

Data: iris and digits (shipped), and two synthetic sets written as CSV files: three Gaussian blobs in 6-D
(600 rows, unit spread, centres drawn at scale 2 so they overlap as the issue's did; the Bayes-optimal accuracy
with the true centres is reported) and two interleaving moons (600 rows, noise 0.25). Every run is the CLI's own
(`traincli.execute`, in this process, run folders in a temporary folder), so the split, the validation part
and early stopping are exactly what a user gets. The baseline is multinomial logistic regression fitted in
NumPy (full-batch gradient descent to convergence, a little L2) on all the training rows of the same split.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netdata import datasets  # noqa: E402
from training import config, runfolder, traincli  # noqa: E402

ROWS, BLOB_DIM, BLOB_CLASSES, MOON_NOISE = 600, 6, 3, 0.25
CENTRE_SCALE = 2.0  # blob centres ~ N(0, 2^2): Bayes-optimal accuracy 0.938 over 200k rows, as the 0.939
SEED = 2026  # of the synthetic sets; the runs use the CLIs' default --seed
# Candidate settings for --grid: one change at a time from the chosen defaults.
GRID = {"hidden": [[64, 64], [32, 32], [16]], "lr": [1e-2, 3e-3], "weight_decay": [0.0, 1e-2, 1e-1],
        "patience": [5, 10, 20], "val_fraction": [0.1, 0.2, 0.3]}


def blobs(folder: Path) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """(CSV path, x, labels, true centres) of three Gaussian blobs in 6-D."""
    g = np.random.default_rng(SEED)
    centres = CENTRE_SCALE * g.standard_normal((BLOB_CLASSES, BLOB_DIM))
    labels = g.permutation(np.arange(ROWS) % BLOB_CLASSES)
    x = centres[labels] + g.standard_normal((ROWS, BLOB_DIM))
    return _csv(folder / "blobs.csv", x, labels), x, labels, centres


def moons(folder: Path) -> Path:
    g = np.random.default_rng(SEED + 1)
    labels = g.permutation(np.arange(ROWS) % 2)
    t = g.uniform(0, np.pi, ROWS)
    x = np.where(labels[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return _csv(folder / "moons.csv", x + MOON_NOISE * g.standard_normal((ROWS, 2)), labels)


def _csv(path: Path, x: np.ndarray, labels: np.ndarray) -> Path:
    header = ",".join(f"x{i}" for i in range(x.shape[1])) + ",label"
    np.savetxt(path, np.c_[x, labels], fmt=["%.6f"] * x.shape[1] + ["%d"], delimiter=",", header=header, comments="")
    return path


def split(data: str, test_fraction: float, seed: int = 0):
    """The CLIs' test split of a data set: (x_train, y_train, x_test, y_test, test rows), standardized."""
    ds = datasets.load(data)
    train, test = datasets.stratified_split(ds.labels, test_fraction, seed)
    x_train, x_test, _, _ = datasets.standardize(ds.x[train], ds.x[test])
    return x_train, ds.labels[train], x_test, ds.labels[test], test


def softmax_regression(x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 3000, lr: float = 0.5):
    """(w, b) of multinomial logistic regression by full-batch gradient descent on the mean cross-entropy."""
    k = int(y.max()) + 1
    w, b, onehot = np.zeros((x.shape[1], k)), np.zeros(k), np.eye(k)[y]
    for _ in range(steps):
        z = x @ w + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(y)
        w -= lr * (x.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return w, b


def baseline(data: str, test_fraction: float) -> float:
    x_train, y_train, x_test, y_test, _ = split(data, test_fraction)
    w, b = softmax_regression(x_train, y_train)
    return float(np.mean(np.argmax(x_test @ w + b, axis=1) == y_test))


def bayes(x: np.ndarray, labels: np.ndarray, centres: np.ndarray, test: np.ndarray) -> float:
    """Accuracy on the test rows of the nearest true centre: the best any classifier can do on average."""
    d = ((x[test][:, None, :] - centres[None]) ** 2).sum(axis=2)
    return float(np.mean(np.argmin(d, axis=1) == labels[test]))


def run(framework: str, data: str, folder: Path, **flags) -> dict:
    """One CLI run with default flags except `flags`; its metrics.json, with the wall time."""
    argv = ["--stage", "mlp", "--data", data, "--out", str(folder), "--json"]
    for key, value in flags.items():
        argv += [f"--{key.replace('_', '-')}", ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    args = traincli.parse(argv, framework)
    module = __import__(f"{'jaxnet' if framework == 'jax' else 'torchnet'}.train", fromlist=["Backend"])
    t0 = time.perf_counter()
    metrics, _ = traincli.execute(args, framework, module.Backend, quiet=True)
    return metrics | {"wall_s": time.perf_counter() - t0}


def row(m: dict) -> dict:
    v = m.get("validation") or {}
    return {"test_accuracy": m["test_accuracy"], "stopped_at_step": v.get("stopped_at_step"),
            "best_step": v.get("best_step"), "steps_trained": m["steps_this_run"], "confusion": m["confusion"],
            "wall_s": round(m["wall_s"], 2)}


def measure(frameworks: list[str], work: Path, grid: bool) -> dict:
    blob_csv, bx, by, centres = blobs(work)
    sets = {"iris": "iris", "digits": "digits", "blobs": str(blob_csv), "moons": str(moons(work))}
    test_fraction = config.RunConfig.test_fraction
    cfg = config.resolve(traincli.parse(["--stage", "mlp"], frameworks[0]))  # what a user gets without flags
    out = {"defaults": {k: getattr(cfg, k) for k in ("hidden", "lr", "steps", "val_fraction", "eval_every", "patience",
                                                     "weight_decay", "batch_size", "dtype")},
           "test_fraction": test_fraction, "data": {}}
    variants = [{}]
    if grid:
        variants += [{k: v} for k, vs in GRID.items() for v in vs if v != out["defaults"].get(k)]
        variants += [{"val_fraction": 0, "patience": 0}]  # the old defaults: no validation, 1000 steps
    for (name, path), fw in itertools.product(sets.items(), frameworks):
        entry = out["data"].setdefault(name, {"softmax_regression": baseline(path, test_fraction), "runs": {}})
        if name == "blobs":
            entry["bayes_optimal"] = bayes(bx, by, centres, split(path, test_fraction)[4])
        for i, flags in enumerate(variants):
            key = ",".join(f"{k}={v}" for k, v in flags.items()) or "defaults"
            m = run(fw, path, work / f"{name}-{fw}-{i}", **flags)
            entry["runs"].setdefault(key, {})[fw] = row(m)
            print(f"{name:7s} {fw:5s} {key:32s} test {m['test_accuracy']:.4f} "
                  f"(softmax {entry['softmax_regression']:.4f}) stop {row(m)['stopped_at_step']} "
                  f"best {row(m)['best_step']} {m['wall_s']:.1f} s", file=sys.stderr, flush=True)
        runs = entry["runs"]["defaults"]
        if len(runs) == 2:
            entry["same_confusion"] = runs["jax"]["confusion"] == runs["torch"]["confusion"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frameworks", default="jax,torch")
    p.add_argument("--grid", action="store_true", help="also the candidate settings (one change at a time)")
    p.add_argument("--out", help="write the measurements as JSON here (docs/measured/defaults.json)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.frameworks.split(","), Path(tmp), args.grid)
    if args.out:
        runfolder.write_json(args.out, result)
    else:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
