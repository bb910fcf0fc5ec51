"""Data parallelism, framework-neutral: who runs where, which rows of a global batch each part owns."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from netdata.errors import InputError
from netdata.stages import STAGES

_HOST_PORT = re.compile(r"[^\s:]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5}")


@dataclass(frozen=True)
class Launch:
    """How this process takes part in a run: alone, or as process `process_id` of `num_processes`."""

    data_parallel: bool = False
    coordinator: str | None = None  # HOST:PORT of process 0; None: one process (JAX) or torchrun's env (torch)
    num_processes: int = 1
    process_id: int = 0
    local_rank: int = 0  # which of this host's GPUs a torch rank drives

    @property
    def writer(self) -> bool:
        return self.process_id == 0  # only process 0 writes the run folder


def launch(args, framework: str, environ=os.environ) -> Launch:
    """The parallel flags (and torchrun's environment, for torch) as a checked Launch."""
    dp = bool(getattr(args, "data_parallel", False))
    coordinator, n, pid = (getattr(args, k, None) for k in ("coordinator", "num_processes", "process_id"))
    typed = [f for f, v in (("--coordinator", coordinator), ("--num-processes", n), ("--process-id", pid))
             if v is not None]
    if not dp:
        if typed:
            raise InputError(f"{typed[0]} only applies with --data-parallel; add it or drop {typed[0]}")
        return Launch()
    if typed and len(typed) < 3:
        raise InputError("--coordinator, --num-processes and --process-id go together: give all three "
                         "(e.g. --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0) or none")
    if typed:
        if not _HOST_PORT.fullmatch(coordinator):
            raise InputError(f"--coordinator {coordinator!r} is not HOST:PORT (e.g. 10.0.0.1:1234)")
        if pid < 0 or pid >= n:
            raise InputError(f"--process-id {pid} must be between 0 and --num-processes - 1 ({n - 1})")
        return Launch(True, coordinator, n, pid, pid)
    if framework == "torch":  # torchrun (or any env:// launcher) says who this rank is
        if "WORLD_SIZE" not in environ or "RANK" not in environ:
            raise InputError("--data-parallel runs one torch process per device: start it with "
                             "torchrun --nproc-per-node N -m torchnet.cli --data-parallel ..., "
                             "or give --coordinator, --num-processes and --process-id")
        return Launch(True, None, int(environ["WORLD_SIZE"]), int(environ["RANK"]),
                      int(environ.get("LOCAL_RANK", 0)))
    return Launch(True)  # JAX, one process: a mesh over all of this host's devices


def check_stage(stage: str) -> None:
    why = STAGES[stage].no_data_parallel
    if why:
        runs = ", ".join(name for name, s in STAGES.items() if not s.no_data_parallel)
        raise InputError(f"--data-parallel does not run --stage {stage}: {why} (it runs {runs}); drop --data-parallel")


def check_divides(batch: int, parts: int, what: str, full: bool = False) -> None:
    """The rule: every device gets the same number of rows, so the batch must be a multiple of `parts`."""
    if batch % parts == 0:
        return
    lower = batch - batch % parts
    hint = f"--batch-size {lower or parts}" + (f" or {lower + parts}" if lower else "")
    name = f"the whole data set ({batch} rows, no --batch-size)" if full else f"--batch-size {batch}"
    raise InputError(f"{name} does not split evenly over {parts} {what}; use a multiple of {parts}, "
                     f"e.g. {hint}")


def rows(batch: int, parts: int, part: int) -> tuple[int, int]:
    """[lo, hi): the contiguous block of each global batch that part `part` of `parts` owns."""
    size = batch // parts
    return part * size, (part + 1) * size
