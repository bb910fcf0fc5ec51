"""`torchnet-train`: the lecture's training loop in eager PyTorch, fed by a Dataset and a DataLoader."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from netdata import batches

from training import shards, stages
from training import config
from training.config import RunConfig
from training.rundata import Data
from torchnet import device, parallel


class Rows(Dataset):
    """The training rows; `__getitems__` hands the DataLoader a whole batch in one indexing."""

    def __init__(self, x: np.ndarray, y: np.ndarray, dtype: torch.dtype, where: torch.device):
        self.on_disk = isinstance(x, np.memmap)
        self.dtype, self.where = dtype, where
        if self.on_disk:  # stay on disk; each batch reads only its rows
            self.x, self.y = x, y
        else:
            self.x, self.y = (device.tensor(a, where) for a in (x, y))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.__getitems__([i])

    def __getitems__(self, idx: list[int]):
        if self.on_disk:
            rows = np.asarray(idx)
            # np.take, not a[rows]: on a memmap fancy indexing is 5-7x slower for many rows.
            x, y = (torch.from_numpy(np.take(a, rows, axis=0)).to(self.where, self.dtype) for a in (self.x, self.y))
            return x, y
        index = torch.as_tensor(idx, device=self.where)
        return self.x[index], self.y[index]


class SharedOrder(Sampler[list[int]]):
    """Yields each step's row indices from netdata's seeded order: the batches jaxnet sees too."""

    def __init__(self, seed: int, n: int, batch_size: int, start: int, steps: int, rows: tuple[int, int] | None = None):
        self.seed, self.n, self.batch_size, self.start, self.steps = seed, n, batch_size, start, steps
        self.rows = slice(*rows) if rows else slice(None)  # a data-parallel rank's block of each global batch

    def __iter__(self):
        yield from batches.indices(self.seed, self.n, self.batch_size, self.start, self.steps)[:, self.rows].tolist()

    def __len__(self) -> int:
        return self.steps


def pick_device(name: str) -> str:
    return ("gpu" if torch.cuda.is_available() else "cpu") if name == "auto" else name


class Backend:
    """How a PyTorch run builds, steps and exports, for training.session's framework-neutral loop."""

    framework = "torch"
    compiles = False
    compilations = cache_hits = 0  # eager: nothing is compiled, nothing cached

    def __init__(self, cfg: RunConfig, data: Data, launch: shards.Launch = shards.Launch(), cache: bool = True):
        self.cfg, self.data = cfg, data
        self.stage = stages.module("torch", cfg.stage)
        device.pin_precision()
        if cfg.deterministic:  # cuBLAS needs a fixed workspace for reproducible reductions
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        self.where = device.resolve(pick_device(cfg.device))
        self.parallel = None
        if launch.data_parallel:
            shards.check_stage(cfg.stage)
            batches.steps_per_epoch(data.n, cfg.batch_size or data.n)  # refuse a bad --batch-size before joining
            self.parallel = parallel.DataParallel(launch, cfg.batch_size or data.n, self.where, cfg.batch_size is None)
            self.where = self.parallel.where
        self.device = f"{self.where.type}:{torch.cuda.get_device_name(self.where) if self.where.type == 'cuda' else 'cpu'}"
        if self.parallel:
            self.device += f" x{self.parallel.world} data-parallel"
        self.dtype = getattr(torch, cfg.dtype)
        self.batch = cfg.batch_size or data.n
        batches.steps_per_epoch(data.n, self.batch)
        self.rows = Rows(data.x, data.y, self.dtype, self.where)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        if self.parallel:
            self.parallel.close()

    def build(self, state: dict[str, np.ndarray]):
        trainer = self.stage.build(state, self.cfg.lr, self.where, **config.stage_options(self.cfg))
        return self.parallel.wrap(trainer) if self.parallel else trainer

    def _here(self, trainer):
        return self.parallel.local(trainer) if self.parallel else trainer

    def prepare(self, trainer, chunks: list[tuple[int, int]]) -> float:
        return 0.0  # eager PyTorch has nothing to compile ahead of the first step

    def run_chunk(self, trainer, start: int, steps: int):
        mine = (self.parallel.lo, self.parallel.hi) if self.parallel else None
        order = SharedOrder(self.cfg.seed, self.data.n, self.batch, start, steps, mine)
        loader = DataLoader(self.rows, batch_sampler=order, collate_fn=lambda batch: batch)
        xs, ys = zip(*loader)  # the chunk's batches, as the JAX backend gathers them before its scan
        trainer, losses = self.stage.train(trainer, xs, ys)
        if self.parallel:
            losses = self.parallel.mean(losses)
        return trainer, device.numpy(losses)  # one device sync per chunk, not per step

    def export(self, trainer) -> dict[str, np.ndarray]:
        return self.stage.export(self._here(trainer))

    def loss(self, trainer, x: np.ndarray, y: np.ndarray) -> float:
        x = device.tensor(np.asarray(x), self.where).to(self.dtype)
        y = device.tensor(np.asarray(y), self.where)
        with torch.no_grad():  # a forward pass only: no graph, no gradients
            return float(self.stage.loss_of(self._here(trainer), x, y if y.ndim == 1 else y.to(self.dtype)))

    def predict(self, trainer, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = device.tensor(np.asarray(x), self.where).to(self.dtype)
            return device.numpy(self.stage.predict(self._here(trainer), x))
