"""Test-wide settings: one thread per framework per worker, so pytest-xdist workers do not fight."""

import os

# XLA reads these when jax is first imported; the tests' arrays are tiny, threads only add contention.
os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the CLI subprocesses the tests start
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import torch  # noqa: E402

torch.set_num_threads(1)
