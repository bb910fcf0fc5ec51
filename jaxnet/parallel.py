"""`jaxnet-train --data-parallel`: one mesh with a `data` axis; batches split along it, the trainer replicated."""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxnet import device
from training import shards
from netdata.errors import InputError


def initialize(launch: shards.Launch) -> None:
    """Join the other processes; must run before anything asks JAX for a device."""
    if launch.coordinator is None:
        return
    # Collectives between CPU processes need gloo (the default has none); GPUs use NCCL whatever this says.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    _keep_stdout_for_python()
    try:
        jax.distributed.initialize(launch.coordinator, launch.num_processes, launch.process_id)
    except Exception as err:  # a refused port, a timeout: one line, like every other bad input
        msg = " ".join(str(err).split())[:300]
        raise InputError(f"--coordinator {launch.coordinator}: could not join {launch.num_processes} processes "
                         f"({type(err).__name__}: {msg}); start every process with the same --coordinator") from None


def _keep_stdout_for_python() -> None:
    """Point C++ writes to fd 1 at stderr: gloo prints a connection notice there, which would spoil --json."""
    sys.stdout.flush()
    python_out = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(python_out, "w", buffering=1)


class DataParallel:
    """Where a data-parallel run's arrays live; the stage's compiled scan follows these shardings."""

    def __init__(self, platform: str, batch: int, home: jax.Device, full: bool = False):
        # Ordered by process, so each process's devices hold one contiguous block of every batch.
        devices = sorted(jax.devices(platform), key=lambda d: (d.process_index, d.id))
        shards.check_divides(batch, len(devices), "devices", full)
        self.mesh = Mesh(np.array(devices), ("data",))
        self.rows = NamedSharding(self.mesh, P(None, "data"))  # (steps, batch, ...): the batch axis split
        self.same = NamedSharding(self.mesh, P())  # weights, optimizer state, losses: whole on every device
        self.batch, self.devices, self.home = batch, len(devices), home
        blocks = sorted(index[1].indices(batch)[:2]
                        for index in self.rows.addressable_devices_indices_map((1, batch)).values())
        assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:])), blocks  # guaranteed by the order above
        self.lo, self.hi = blocks[0][0], blocks[-1][1]  # this process's rows of each global batch

    def batches(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray, dtype) -> tuple[jax.Array, jax.Array]:
        """The global batches idx (steps, batch) as arrays split over the mesh; this process reads only its rows."""
        steps = len(idx)
        mine = idx[:, self.lo:self.hi]  # a memory-mapped x/y reads just these rows from disk
        xs, ys = device.gathered(x, mine, dtype), device.gathered(y, mine, dtype, labels=True)
        return (jax.make_array_from_process_local_data(self.rows, xs, (steps, self.batch, *x.shape[1:])),
                jax.make_array_from_process_local_data(self.rows, ys, (steps, self.batch, *y.shape[1:])))

    def replicate(self, trainer):
        """Every array of a freshly built trainer, copied whole onto every device of the mesh."""
        def put(a):
            host = np.asarray(a)  # the same on every process: weights come from netdata, not from the mesh
            return jax.make_array_from_callback(host.shape, self.same, lambda index: host[index])
        return _map(trainer, put)

    def local(self, trainer):
        """A trainer on this process's first device, from its own copy: for export, loss and predict."""
        return _map(trainer, lambda a: jax.device_put(a.addressable_data(0), self.home))


def _map(trainer, fn):
    """`fn` applied to every array of a trainer (a NamedTuple of NNX objects and arrays), as a new trainer."""
    fields = [fn(v) if isinstance(v, jax.Array) else v for v in trainer]
    nodes = [i for i, v in enumerate(trainer) if nnx.graph.is_graph_node(v)]
    if nodes:  # split together, so objects that share a variable still share it after the copy
        graphdef, state = nnx.split(tuple(trainer[i] for i in nodes))
        for i, obj in zip(nodes, nnx.merge(graphdef, jax.tree.map(fn, state))):
            fields[i] = obj
    return type(trainer)(*fields)
