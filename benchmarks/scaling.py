"""Data-parallel scaling: jaxnet-train on 1, 2, 4 forced host devices (and torch ranks), throughput per device."""

# python benchmarks/scaling.py [--devices 1,2,4] [--steps 300] [--batch-size 1024] [--torch] [--json]
#
# Each count trains the same run (mlp on digits, one global batch order) in a fresh process and reads
# steps/s from its metrics.json, which times the compiled chunks only (compile time is excluded).
# Forced host devices split one machine's CPU cores: past the number of cores they add no compute.

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def flags(args, out: Path) -> list[str]:
    return ["--stage", "mlp", "--data", "digits", "--hidden", args.hidden, "--batch-size", str(args.batch_size),
            "--steps", str(args.steps), "--chunk", str(args.chunk), "--dtype", "float32", "--out", str(out),
            "--json", "--data-parallel"]


def jax_run(devices: int, args, out: Path) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices} {env.get('XLA_FLAGS', '')}".strip()
    return _run([sys.executable, "-m", "jaxnet.cli", *flags(args, out)], env)


def torch_run(ranks: int, args, out: Path) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks), "--master-addr",
           "127.0.0.1", "--master-port", str(29500 + ranks), "-m", "torchnet.train", *flags(args, out)]
    # One thread per rank, as torchrun sets for 2+ ranks but not for 1: else 1 rank would race 2 threads.
    return _run(cmd, dict(os.environ, OMP_NUM_THREADS="1"))


def _run(cmd: list[str], env: dict) -> dict:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{done.stderr[-2000:]}")
    report = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(report[-1])


def table(rows: list[dict]) -> str:
    lines = ["| framework | devices | steps/s | rows/s | rows/s per device | per-device vs 1 |",
             "|---|---:|---:|---:|---:|---:|"]
    base = {}
    for r in rows:
        base.setdefault(r["framework"], r["rows_per_s_per_device"])
        lines.append(f"| {r['framework']} | {r['devices']} | {r['steps_per_s']:,.1f} | {r['rows_per_s']:,.0f} | "
                     f"{r['rows_per_s_per_device']:,.0f} | {r['rows_per_s_per_device'] / base[r['framework']]:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--devices", default="1,2,4", help="comma-separated device counts")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--chunk", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=1024, help="global batch: every count trains the same batches")
    p.add_argument("--hidden", default="256,256")
    p.add_argument("--torch", action="store_true", help="also torchrun with the same numbers of ranks")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    counts = [int(c) for c in args.devices.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for framework, run in [("jax", jax_run)] + ([("torch", torch_run)] if args.torch else []):
            for n in counts:
                m = run(n, args, Path(tmp) / f"{framework}-{n}")
                rate = m["steps_per_s"] * m["batch_size"]
                rows.append({"framework": framework, "devices": n, "device": m["device"],
                             "steps_per_s": m["steps_per_s"], "rows_per_s": rate, "rows_per_s_per_device": rate / n,
                             "final_loss": m["final_loss"]})
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
