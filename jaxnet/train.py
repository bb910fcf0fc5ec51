"""`jaxnet-train`: the lecture's training step, jitted; each chunk of steps is one program, compiled before the first.

Every program a run calls is compiled once per shape: the stage's build, one chunk of steps per chunk length
(the scan with its batch gathering), the loss at the evaluation rows and predict at the held-out rows. Run
eagerly, the build, gathers and forward passes would compile dozens of one-operation programs instead.
"""

from __future__ import annotations

import contextlib
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxnet import compiling, device, parallel
from netdata import batches
from training import openrun, session, shards, stages
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


def _build(build, lr: float, counts: tuple, options: tuple, dev, arrays: dict):
    # Step counts stay Python ints (the stages read them with int()); everything else is traced.
    return build(arrays | dict(counts), lr, dev, **dict(options))


_built = nnx.jit(_build, static_argnums=(0, 1, 2, 3, 4))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _chunk(train, graphdef, state, x, y, idx):
    """One chunk of steps: the batches gathered from the rows on the device (or handed in whole: idx None),
    then the stage's own scan."""
    if idx is not None:
        x, y = jnp.take(x, idx, axis=0), jnp.take(y, idx, axis=0)  # (steps, B, ...)
    trainer, losses = train(nnx.merge(graphdef, state), x, y)
    return nnx.state(trainer), losses


def _forward(fn, graphdef, state, *args):
    """A stage's forward pass (loss_of, predict) as one program."""
    return fn(nnx.merge(graphdef, state), *args)


# A forward pass runs a few times a run, so on the CPU its compile time outweighs its speed: compiled with the fast
# options (jaxnet.compiling.FAST_CPU_OPTIONS, where this XLA has them).
_apply_default = jax.jit(_forward, static_argnums=(0, 1))


@functools.cache
def _apply_on(platform: str):
    return compiling.fast_jit(_forward, static_argnums=(0, 1)) if platform == "cpu" else _apply_default


def _like(a, steps: int) -> jax.ShapeDtypeStruct:
    """The stacked batches `a` stands for, at another chunk length."""
    return jax.ShapeDtypeStruct((steps, *a.shape[1:]), a.dtype, sharding=a.sharding)


class Backend:
    """How a JAX run builds, steps and exports, for training.session's framework-neutral loop."""

    framework = "jax"
    compiles = True

    def __init__(self, cfg: RunConfig, data: Data, launch: shards.Launch = shards.Launch(), cache: bool = True):
        self.cfg, self.data = cfg, data
        if launch.data_parallel:  # before any device query: JAX joins other processes only before that
            shards.check_stage(cfg.stage)
            parallel.initialize(launch)
        self.stage = stages.module("jax", cfg.stage)
        self._stack = contextlib.ExitStack()  # x64, device, precision and the cache stay set for the whole run
        # A run of several processes compiles afresh: on jaxlib 0.12 two CPU processes that load their chunk program
        # from the persistent cache hang in its first gloo collective (loaded by both: hangs every time; compiled
        # by both: runs), so the cache is only for runs of one process.
        cache = cache and launch.coordinator is None
        folder = compiling.usable(compiling.cache_dir(), openrun.prog_name(self.framework)) if cache else None
        self._stack.enter_context(compiling.persistent_cache(folder))
        self.count = self._stack.enter_context(compiling.Count())
        self.dev = self._stack.enter_context(device.context(pick_device(cfg.device), cfg.dtype, cfg.precision))
        self.device = f"{self.dev.platform}:{self.dev.device_kind}"
        self._apply = _apply_on(self.dev.platform)
        self.batch = cfg.batch_size or data.n
        batches.steps_per_epoch(data.n, self.batch)  # refuse a bad --batch-size before any work
        self.parallel = (parallel.DataParallel(self.dev.platform, self.batch, self.dev, cfg.batch_size is None)
                         if launch.data_parallel else None)
        if self.parallel:
            self.device += f" x{self.parallel.devices} data-parallel"
        # Where a chunk's minibatches are gathered: on the host (np.take), the next chunk's while the device trains
        # this one, for memory-mapped rows and on the CPU, where numpy's take beats XLA's gather (10M rows, 1000
        # steps of 4096: 0.06 vs 0.10 s a chunk) and runs on the second core. Elsewhere (a GPU; the full batch,
        # which has nothing to gather) the rows go to the device once and each chunk gathers its rows there.
        self.host_batches = isinstance(data.x, np.memmap) or (self.dev.platform == "cpu" and self.batch < data.n)
        if not self.host_batches and not self.parallel:
            self.x, self.y = device.array(data.x, self.dev), device.array(data.y, self.dev)
        self._ahead: tuple[int, int, jax.Array, jax.Array] | None = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()  # x64, precision and the cache flags end with the run: nothing leaks to the caller

    @property
    def compilations(self) -> int:
        return self.count.compiled

    @property
    def cache_hits(self) -> int:
        return self.count.loaded

    def build(self, state: dict[str, np.ndarray]):
        counts = tuple(sorted((k, int(v)) for k, v in state.items()
                              if np.ndim(v) == 0 and np.issubdtype(np.asarray(v).dtype, np.integer)))
        # On the run's device before the call: committed, as every chunk's output is, so no program compiles twice.
        arrays = {k: device.array(v, self.dev) for k, v in state.items() if k not in dict(counts)}
        options = tuple(sorted(config.stage_options(self.cfg).items()))
        trainer = _built(self.stage.build, self.cfg.lr, counts, options, self.dev, arrays)
        return self.parallel.replicate(trainer) if self.parallel else trainer

    def _here(self, trainer):
        return self.parallel.local(trainer) if self.parallel else trainer

    def _batches(self, start: int, steps: int) -> tuple[jax.Array, jax.Array, jax.Array | None]:
        """(x, y, idx) for _chunk: the rows on the device and the chunk's indices, or its batches (idx None)."""
        if self._ahead and self._ahead[:2] == (start, steps):
            return (*self._ahead[2:], None)
        idx = batches.indices(self.cfg.seed, self.data.n, self.batch, start, steps)  # (steps, B)
        if self.parallel:
            return (*self.parallel.batches(self.data.x, self.data.y, idx, np.dtype(self.cfg.dtype)), None)
        if not self.host_batches:
            return self.x, self.y, jax.device_put(idx, self.dev)
        dtype = np.dtype(self.cfg.dtype)
        xs, ys = device.gathered(self.data.x, idx, dtype), device.gathered(self.data.y, idx, dtype, labels=True)
        return jax.device_put(xs, self.dev), jax.device_put(ys, self.dev), None  # device_put returns at once

    def prepare(self, trainer, chunks: list[tuple[int, int]]) -> float:
        """Compile, before the first step, the programs the run will call: one chunk of steps per chunk length,
        the loss at the evaluation rows, predict at the held-out rows. Returns the seconds it took."""
        t0 = time.perf_counter()
        if chunks:
            graphdef, state = nnx.split(trainer)
            x, y, idx = self._batches(*chunks[0])
            if idx is None:  # host-made batches: keep the first chunk's for its run
                self._ahead = (*chunks[0], x, y)
            for steps in sorted({steps for _, steps in chunks}):
                args = (x, y, _like(idx, steps)) if idx is not None else (_like(x, steps), _like(y, steps), None)
                _chunk.lower(self.stage.train, graphdef, state, *args).compile()
        graphdef, state = nnx.split(self._here(trainer))
        rows = self.data.x[:session.EVAL_ROWS], self.data.y[:session.EVAL_ROWS]
        rows = self._spec(rows[0]), self._spec(rows[1], rows[1].ndim == 1)
        self._apply.lower(self.stage.loss_of, graphdef, state, *rows).compile()
        for held_out in (getattr(self.data, "x_val", None), self.data.x_test):
            if held_out is not None:
                self._apply.lower(self.stage.predict, graphdef, state, self._spec(held_out)).compile()
        return time.perf_counter() - t0

    def _dtype(self, a: np.ndarray, labels: bool):
        return jax.dtypes.canonicalize_dtype(a.dtype) if labels else np.dtype(self.cfg.dtype)

    def _on_device(self, a: np.ndarray, labels: bool = False) -> jax.Array:
        """Rows for a forward pass: inputs and targets in the run's dtype, class labels as integers."""
        return device.array(np.asarray(a, self._dtype(a, labels)), self.dev)

    def _spec(self, a: np.ndarray, labels: bool = False) -> jax.ShapeDtypeStruct:
        """What _on_device(a) makes, without reading or moving the rows."""
        where = jax.sharding.make_single_device_sharding(self.dev)
        return jax.ShapeDtypeStruct(a.shape, self._dtype(a, labels), sharding=where)

    def run_chunk(self, trainer, start: int, steps: int):
        graphdef, state = nnx.split(trainer)
        state, losses = _chunk(self.stage.train, graphdef, state, *self._batches(start, steps))  # asynchronous
        if self.host_batches or self.parallel:  # gather the next chunk on the host while the devices train this one
            nxt = start + steps
            length = min(steps, self.cfg.steps - nxt)
            self._ahead = (nxt, length, *self._batches(nxt, length)[:2]) if length > 0 else None
        return nnx.merge(graphdef, state), np.asarray(losses)

    def export(self, trainer) -> dict[str, np.ndarray]:
        graphdef, state = nnx.split(self._here(trainer))
        return self.stage.export(nnx.merge(graphdef, jax.device_get(state)))  # one transfer, no per-leaf programs

    def loss(self, trainer, x: np.ndarray, y: np.ndarray) -> float:
        graphdef, state = nnx.split(self._here(trainer))  # a forward pass only: no gradients
        rows = self._on_device(x), self._on_device(y, y.ndim == 1)
        return float(self._apply(self.stage.loss_of, graphdef, state, *rows))

    def predict(self, trainer, x: np.ndarray) -> np.ndarray:
        graphdef, state = nnx.split(self._here(trainer))
        return np.asarray(self._apply(self.stage.predict, graphdef, state, self._on_device(x)))
