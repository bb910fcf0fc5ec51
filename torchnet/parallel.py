"""`torchnet-train --data-parallel`: one process per device, DistributedDataParallel, each rank its rows of a batch."""

from __future__ import annotations

import datetime
import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from training import shards
from netdata.errors import InputError

TIMEOUT = datetime.timedelta(minutes=5)  # a rank that never arrives fails the run instead of hanging it
_joined = False  # set once this process has joined a process group; see leave()


class DataParallel:
    """This rank's place in the process group: its device, its rows of each batch, its DDP-wrapped model."""

    def __init__(self, launch: shards.Launch, batch: int, where: torch.device, full: bool = False):
        self.world, self.rank = launch.num_processes, launch.process_id
        # Checked before joining: every rank refuses alike, so none waits for a partner that quit.
        shards.check_divides(batch, self.world, "ranks", full)
        self.lo, self.hi = shards.rows(batch, self.world, self.rank)
        if where.type == "cuda":  # torchrun starts one rank per GPU of a host; LOCAL_RANK says which
            where = torch.device("cuda", launch.local_rank % torch.cuda.device_count())
            torch.cuda.set_device(where)
        self.where = where
        init = f"tcp://{launch.coordinator}" if launch.coordinator else "env://"
        try:
            dist.init_process_group("nccl" if where.type == "cuda" else "gloo", init_method=init,
                                    rank=self.rank, world_size=self.world, timeout=TIMEOUT)
        except Exception as err:  # a refused port, a timeout: one line, like every other bad input
            msg = " ".join(str(err).split())[:300]
            raise InputError(f"--data-parallel: could not join {self.world} ranks at {init} "
                             f"({type(err).__name__}: {msg}); start every rank with the same address") from None
        global _joined
        _joined = True

    def wrap(self, trainer):
        """The stage's Trainer with its model inside DDP: backward() then averages gradients over the ranks.

        A rank's loss is the mean over its batch/world rows, so that average is the global batch's mean
        gradient, as on one device; only the order of the sum differs.
        """
        ids = [self.where] if self.where.type == "cuda" else None
        return trainer._replace(model=DistributedDataParallel(trainer.model, device_ids=ids))

    def local(self, trainer):
        """The Trainer with the plain module: export, loss and predict see the stage's own model."""
        model = trainer.model
        return trainer._replace(model=model.module) if isinstance(model, DistributedDataParallel) else trainer

    def mean(self, losses: torch.Tensor) -> torch.Tensor:
        """Each step's loss over the global batch: the mean of the ranks' means (equal shares of rows)."""
        losses = losses.clone()
        dist.all_reduce(losses)
        return losses / self.world

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


def leave(code: int) -> int:
    """End a process that joined a process group at once with `code`; return `code` where none was joined.

    Why: DistributedDataParallel keeps the gloo ProcessGroup alive after destroy_process_group() (nothing in
    Python can release it: `del model` and gc.collect() leave it), so its native threads (two pt_gloo_runloop
    workers, the gloo_tcp_loop transport and, on rank 0, the TCPStore server pt_tcpstore_uv) are still
    running when the interpreter finalizes. Their C++ owners are then destroyed during finalization and
    exit() in an order that depends on timing, and now and then (about one test run in ten, on a loaded
    machine) a still-joinable std::thread is destroyed: std::terminate, "terminate called without an active
    exception", SIGABRT, no Python frame. A finished rank has nothing left to finalize (every output file was written
    atomically and renamed), so it flushes its streams and leaves through os._exit, skipping that teardown.
    Only the process entry points call this (`python -m torchnet.cli`, `torchnet-train`, torchrun's
    ranks); `torchnet.cli.main([...])` called by a test returns normally.
    """
    if not _joined:
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)
