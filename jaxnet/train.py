"""`jaxnet-train`: the lecture's training step, jitted; each chunk of steps is one compiled lax.scan."""

from __future__ import annotations

import contextlib
import importlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jaxnet import device, parallel
from netdata import batches
from training import shards, traincli
from training import config
from training.config import RunConfig
from training.rundata import Data


def pick_device(name: str) -> str:
    if name != "auto":
        return name
    try:
        jax.devices("gpu")
        return "gpu"
    except RuntimeError:
        return "cpu"


class Backend:
    """How a JAX run builds, steps and exports, for training.session's framework-neutral loop."""

    framework = "jax"
    compiles = True

    def __init__(self, cfg: RunConfig, data: Data, launch: shards.Launch = shards.Launch()):
        self.cfg, self.data = cfg, data
        if launch.data_parallel:  # before any device query: JAX joins other processes only before that
            shards.check_stage(cfg.stage)
            parallel.initialize(launch)
        self.stage = importlib.import_module(f"jaxnet.{cfg.stage}")
        self._stack = contextlib.ExitStack()  # x64, device and precision stay set for the whole run
        self.dev = self._stack.enter_context(device.context(pick_device(cfg.device), cfg.dtype, cfg.precision))
        self.device = f"{self.dev.platform}:{self.dev.device_kind}"
        self.batch = cfg.batch_size or data.n
        batches.steps_per_epoch(data.n, self.batch)  # refuse a bad --batch-size before any work
        self.parallel = (parallel.DataParallel(self.dev.platform, self.batch, self.dev, cfg.batch_size is None)
                         if launch.data_parallel else None)
        if self.parallel:
            self.device += f" x{self.parallel.devices} data-parallel"
        self.on_disk = isinstance(data.x, np.memmap)
        if not self.on_disk and not self.parallel:  # the whole set on the device once; chunks gather rows there
            self.x, self.y = device.array(data.x, self.dev), device.array(data.y, self.dev)
        self._ahead: tuple[int, int, jax.Array, jax.Array] | None = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()  # x64 and precision end with the run: nothing leaks to the caller

    def build(self, state: dict[str, np.ndarray]):
        trainer = self.stage.build(state, self.cfg.lr, self.dev, **config.stage_options(self.cfg))
        return self.parallel.replicate(trainer) if self.parallel else trainer

    def _here(self, trainer):
        return self.parallel.local(trainer) if self.parallel else trainer

    def _batches(self, start: int, steps: int) -> tuple[jax.Array, jax.Array]:
        idx = batches.indices(self.cfg.seed, self.data.n, self.batch, start, steps)  # (steps, B)
        if self.parallel:
            return self.parallel.batches(self.data.x, self.data.y, idx, np.dtype(self.cfg.dtype))
        if not self.on_disk:
            idx = jnp.asarray(idx)
            return jnp.take(self.x, idx, axis=0), jnp.take(self.y, idx, axis=0)  # (steps, B, ...)
        # Memory-mapped rows: read just this chunk's rows from disk; device_put returns at once.
        dtype = np.dtype(self.cfg.dtype)
        # np.take, not x[idx]: on a memmap fancy indexing is 5-7x slower for millions of rows.
        xs = np.take(self.data.x, idx.ravel(), axis=0).astype(dtype, copy=False).reshape(steps, self.batch, -1)
        ys = np.take(self.data.y, idx.ravel(), axis=0).astype(dtype, copy=False).reshape(steps, self.batch, -1)
        return jax.device_put(xs, self.dev), jax.device_put(ys, self.dev)

    def run_chunk(self, trainer, start: int, steps: int):
        if self._ahead and self._ahead[:2] == (start, steps):
            xs, ys = self._ahead[2:]
        else:
            xs, ys = self._batches(start, steps)
        trainer, losses = self.stage.train(trainer, xs, ys)  # dispatched asynchronously
        if self.on_disk or self.parallel:  # gather the next chunk on the host while the devices train this one
            nxt = start + steps
            length = min(steps, self.cfg.steps - nxt)
            self._ahead = (nxt, length, *self._batches(nxt, length)) if length > 0 else None
        return trainer, np.asarray(losses)

    def export(self, trainer) -> dict[str, np.ndarray]:
        return self.stage.export(self._here(trainer))

    def loss(self, trainer, x: np.ndarray, y: np.ndarray) -> float:
        dtype = np.dtype(self.cfg.dtype)
        y = np.asarray(y) if y.ndim == 1 else np.asarray(y, dtype)
        # A forward pass only: no gradients.
        return float(self.stage.loss_of(self._here(trainer), device.array(np.asarray(x, dtype), self.dev),
                                        device.array(y, self.dev)))

    def predict(self, trainer, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.stage.predict(self._here(trainer), device.array(np.asarray(x), self.dev)))


def main(argv: list[str] | None = None) -> int:
    return traincli.main(traincli.parse(argv, "jax"), "jax", Backend)


if __name__ == "__main__":
    sys.exit(main())
