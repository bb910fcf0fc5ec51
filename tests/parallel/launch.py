"""Start the training CLIs as data-parallel subprocesses on 127.0.0.1, each bounded by a timeout."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT_S = 150  # a rendezvous that never completes fails the test instead of hanging the suite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(devices: int = 1) -> dict[str, str]:
    e = dict(os.environ)
    if devices > 1:  # XLA splits the host CPU into this many devices when JAX starts
        # First: XLA stops reading at a token it does not know (conftest's value has one).
        e["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices} {e.get('XLA_FLAGS', '')}".strip()
    if os.path.exists("/sys/class/net/lo"):  # torch's gloo: talk over loopback only, whatever the hostname says
        e["GLOO_SOCKET_IFNAME"] = "lo"
    return e


def start(cmd: list[str], devices: int = 1) -> subprocess.Popen:
    # Own session: on a timeout the whole group (torchrun and its ranks) is stopped by its id.
    return subprocess.Popen(cmd, cwd=ROOT, env=env(devices), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def jax_devices(flags: list[str], devices: int) -> list[subprocess.Popen]:
    return [start([sys.executable, "-m", "jaxnet.cli", *flags, "--data-parallel"], devices)]


def jax_processes(flags: list[str], n: int = 2) -> list[subprocess.Popen]:
    coordinator = f"127.0.0.1:{free_port()}"
    return [start([sys.executable, "-m", "jaxnet.cli", *flags, "--data-parallel", "--coordinator", coordinator,
                   "--num-processes", str(n), "--process-id", str(i)]) for i in range(n)]


def torchrun(flags: list[str], n: int = 2, module: str = "torchnet.cli") -> list[subprocess.Popen]:
    return [start([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), "--master-addr",
                   "127.0.0.1", "--master-port", str(free_port()), "-m", module, *flags, "--data-parallel"])]


def torch_processes(flags: list[str], n: int = 2) -> list[subprocess.Popen]:
    """Ranks joined by --coordinator (tcp://) instead of torchrun's environment: no launcher process."""
    coordinator = f"127.0.0.1:{free_port()}"
    return [start([sys.executable, "-m", "torchnet.cli", *flags, "--data-parallel", "--coordinator", coordinator,
                   "--num-processes", str(n), "--process-id", str(i)]) for i in range(n)]


def wait(procs: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each process; every one is stopped if any outlives TIMEOUT_S."""
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stop(procs)
            out, err = p.communicate()
            raise AssertionError(f"{p.args[:4]} ran past {TIMEOUT_S} s: {err[-2000:]}") from None
        results.append((p.returncode, out, err))
    return results


def stop(procs: list[subprocess.Popen]) -> None:
    """Kill the process groups this module started that are still running (by their ids, nothing else)."""
    for q in procs:
        if q.poll() is None:
            os.killpg(q.pid, signal.SIGKILL)


def state(folder) -> dict[str, np.ndarray]:
    return load_file(str(pathlib.Path(folder) / "state.safetensors"))


def max_rel_err(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Normwise relative error per array (the equivalence metric), maximised over the arrays."""
    assert set(a) == set(b)
    return max(float(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(b[k]), 1e-300)) for k in a)
