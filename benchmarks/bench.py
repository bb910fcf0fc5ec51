"""Time one training step many ways side by side: torch at its best and JAX from jit to the CLI's lax.scan.

    python benchmarks/bench.py --problem seed|mlp [--json] [--out PATH] [--device cpu|gpu] [--steps N]
                               [--precision highest|default] [--repeats R] [--skip torch-compile,...]
                               [--only torch-eager,...] [--threads N] [--min-repeat-s S] [--peak-size N]
    python benchmarks/bench.py --memmap [...]   # jaxnet-train on a memory-mapped folder vs in memory

The figures the README quotes (docs/measured/; regenerate on an idle machine: ~1 and ~3 min on 2 cores):
    .venv/bin/python benchmarks/bench.py --problem seed --out docs/measured/bench-seed.json
    .venv/bin/python benchmarks/bench.py --problem mlp --out docs/measured/bench-mlp.json

Rows: torch-eager (the stage's train_step), torch-fused (Adam fused=True), torch-compile (the step under
torch.compile, mode max-autotune-no-cudagraphs on CPU, reduce-overhead on CUDA), torch-cudagraph (CUDA
only: the whole step captured with capturable Adam, replayed), jax-floor (a hand-written one-vector Adam
scan, benchmarks/floor.py), jax-jit-step, nnx-jit-step and jax-scan (the CLI's jaxnet/loop.scan_steps).
A row that needs CUDA is kept on a CPU with `skipped` saying why. `best_torch` names the fastest torch row;
every JAX row has `x_vs_best_torch` (its speed-up over it) and jax-scan `x_of_floor` (its time over
jax-floor's). For mlp, `us_per_step_ceiling` is the roofline of benchmarks/floor.py at the GEMM rate and
memory bandwidth measured in the same run (before and after the rows; the best of each), and each row's
`pct_of_ceiling` how close its best repeat (`us_per_step_min`) gets. The field keeps its name, but it is an estimate,
not a bound: the GEMM rate is measured on one square size, and a row whose own GEMMs run faster goes over 100 %
(the docs show it as a time ratio, "× roofline estimate").

Every implementation runs calls of `--steps` steps (for jax-scan one call is one compiled chunk), the
device synchronized at the end of each call. The first call's time minus a steady call's is
`compile_s`; `us_per_step` is the median over `--repeats` repeats (`us_per_step_min` the best), each
of enough calls to last `--min-repeat-s`. Repeats go round-robin over the implementations, so a
change in machine load hits all of them alike. For mlp, GFLOP/s counts 6 * params * batch FLOPs per
step against `peak_gflops`, a measured 2048^3 float32 matmul at the same precision (JAX; torch's too);
`us_per_step_at_peak` is the step's unavoidable matmuls at that peak, so `max_x_vs_torch_eager` is the
largest speed-up any implementation could show on this machine.
On CPU the seed problem runs both frameworks on one thread (see DEFAULT_THREADS), mlp on all cores.
Under `timeout`, SIGTERM still prints the rows measured so far (`stopped` says so).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import floor, impls
from benchmarks.timed import STOP, Timed, on_sigterm, unless_stopped

DEFAULTS = {  # (steps per call, repeats, min seconds per repeat) by (problem, device)
    ("seed", "cpu"): (1000, 7, 0.2), ("seed", "gpu"): (1000, 7, 0.2),
    ("mlp", "cpu"): (20, 3, 0.0), ("mlp", "gpu"): (200, 5, 0.2),
}
# The seed step is a few tiny ops, so a second thread has nothing to do but wait: torch's OpenMP
# threads then spin, and on a shared 2-core machine that made torch-eager 15x slower (8 ms vs 0.55 ms
# a step at load 7). One thread per framework times each one's best latency; --threads 0 keeps defaults.
DEFAULT_THREADS = {("seed", "cpu"): 1}
MAX_TIMED_S = {"seed": 8.0, "mlp": 20.0}  # fewer repeats (not under 2) when a slow or loaded machine would exceed it
def bench(problem: str, device: str = "cpu", precision: str = "highest", steps: int | None = None,
          repeats: int | None = None, min_repeat_s: float | None = None, skip: tuple[str, ...] = (),
          peak_n: int = 2048, threads: int | None = None) -> dict:
    """The benchmark as one JSON-ready dict; `skip` leaves implementations out; peak_n 0: no peak matmul.

    Repeats go round-robin over the implementations, so a change in machine load hits all alike.
    """
    impls.quiet_torch_compile()
    impls.set_threads(DEFAULT_THREADS.get((problem, device)) if threads is None else threads)
    d_steps, d_repeats, d_min = DEFAULTS[(problem, device)]
    max_s = None if repeats else MAX_TIMED_S[problem]  # an explicit --repeats is honoured
    steps, repeats = steps or d_steps, repeats or d_repeats
    min_repeat_s = d_min if min_repeat_s is None else min_repeat_s
    p = impls.make_problem(problem, steps)
    peak_n = peak_n if p.flops_per_step else 0  # only a problem with a FLOP count has a roofline: seed is overhead
    nbytes = floor.mlp_bytes(impls.MLP_SIZES, impls.MLP_BATCH) if problem == "mlp" else None
    load_start = os.getloadavg()[0]
    import torch

    from jaxnet import device as jdevice

    impls.torch_precision(precision)
    with jdevice.context(device, "float32", precision) as dev:  # JAX's precision is part of its cache key
        makers = {impl: (lambda mode=impl.removeprefix("torch-"): impls.torch_runner(p, device, mode))
                  for impl in impls.TORCH_IMPLS}
        makers["jax-floor"] = lambda: floor.floor_runner(p, dev)
        makers |= {impl: (lambda impl=impl: impls.jax_runner(p, impl, dev))
                   for impl in ("jax-jit-step", "nnx-jit-step", "jax-scan")}
        cuda = device == "gpu" and torch.cuda.is_available()
        timed = [Timed(impl, makers[impl], steps, None if cuda else impls.CUDA_ONLY.get(impl))
                 for impl in impls.IMPLS if impl not in skip]
        for t in timed:
            t.warm_up(repeats, min_repeat_s, max_s)
        # The roofline's rates are measured before and after the rows and the best kept: a burst of load on a
        # shared machine during one measurement would otherwise lower the ceiling below what the rows reach.
        rates = [_rates(dev, peak_n, nbytes)]
        for _ in range(repeats):
            for t in timed:
                t.repeat()
        rows = [t.result() for t in timed]
        del timed
        rates.append(_rates(dev, peak_n, nbytes))
        peak_gflops, bandwidth = (max((r[i] for r in rates if r[i]), default=None) for i in (0, 1))
        jax_device = f"{dev.platform}:{dev.device_kind}"
    torch_peak = None
    if peak_n and problem == "mlp":
        torch_peak = unless_stopped(lambda: impls.torch_peak_gflops(device, peak_n))
    base = next((r["us_per_step"] for r in rows if r["impl"] == "torch-eager" and r["us_per_step"]), None)
    for r in rows:
        if r["us_per_step"]:
            r["x_vs_torch_eager"] = base / r["us_per_step"] if base else None
            if p.flops_per_step:
                r["gflops"] = p.flops_per_step / (r["us_per_step"] * 1e-6) / 1e9
                r["pct_of_peak"] = 100 * r["gflops"] / peak_gflops if peak_gflops else None
    floor_us = p.matmul_flops / (peak_gflops * 1e3) if p.matmul_flops and peak_gflops else None
    ceiling = floor.ceiling_us(p.matmul_flops, nbytes, peak_gflops, bandwidth) if nbytes and peak_gflops and bandwidth else None
    best = compare(rows, ceiling)
    return {
        "problem": problem, "device": device, "precision": precision, "results": rows, **best,
        # The roofline: matmul FLOPs at the measured GEMM rate + the other bytes at the measured bandwidth.
        "us_per_step_ceiling": ceiling, "bytes_per_step": nbytes, "bytes_formula": floor.BYTES_FORMULA if nbytes else None,
        "bandwidth_gbytes_per_s": bandwidth, "matmul_flops_per_step": p.matmul_flops,
        # The fastest a step can be (its unavoidable matmuls at the measured peak), and so the largest
        # speed-up over torch-eager that any implementation could show on this machine.
        "us_per_step_at_peak": floor_us, "max_x_vs_torch_eager": base / floor_us if base and floor_us else None,
        "peak_gflops": peak_gflops, "torch_peak_gflops": torch_peak, "peak_n": peak_n,
        "flops_per_step": p.flops_per_step, "flops_formula": impls.FLOPS_FORMULA if p.flops_per_step else None,
        "steps_per_call": steps, "jax_device": jax_device, "torch_threads": torch.get_num_threads(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "stopped": STOP["reason"], "cpu_count": os.cpu_count(),
        "load_avg_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)],
    }


def _rates(dev, peak_n: int, nbytes: float | None) -> tuple[float | None, float | None]:
    """(GEMM GFLOP/s, GB/s) now, at an n^3 matmul and at the step's own traffic; None where not asked for."""
    if not peak_n:
        return None, None
    peak = unless_stopped(lambda: impls.jax_peak_gflops(dev, peak_n))
    return peak, (unless_stopped(lambda: floor.jax_bandwidth(dev, nbytes)) if nbytes else None)


def compare(rows: list[dict], ceiling: float | None) -> dict:
    """best_torch and each row's ratios: x_vs_best_torch (JAX rows), x_of_floor (jax-scan), pct_of_ceiling."""
    timed = {r["impl"]: r["us_per_step"] for r in rows if r.get("us_per_step")}
    torch_rows = {k: v for k, v in timed.items() if k in impls.TORCH_IMPLS}
    best = min(torch_rows, key=torch_rows.get) if torch_rows else None
    for r in rows:
        us = r.get("us_per_step")
        if r["impl"].startswith(("jax-", "nnx-")):
            r["x_vs_best_torch"] = timed[best] / us if best and us else None
        if r["impl"] == "jax-scan":
            r["x_of_floor"] = us / timed["jax-floor"] if us and "jax-floor" in timed else None
        if ceiling:  # best against best: the ceiling's rates are each the best of their calls
            best_us = r.get("us_per_step_min") or us
            r["pct_of_ceiling"] = 100 * ceiling / best_us if best_us else None
    return {"best_torch": best, "best_torch_us_per_step": timed.get(best)}


def finite(v):
    """JSON has no NaN or infinity: such a value (a diverged loss) becomes null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [finite(x) for x in v]
    return v


def parser() -> argparse.ArgumentParser:
    from training import cli

    p = cli.Parser(prog="bench.py", description=__doc__.splitlines()[0])
    p.add_argument("--problem", choices=("seed", "mlp"), default="seed")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--precision", choices=("highest", "default"), default="highest",
                   help="highest: true float32 (JAX highest, torch TF32 off); default: TF32 on NVIDIA GPUs")
    p.add_argument("--steps", type=int, help="steps per timed call (default: seed 1000, mlp 20 on cpu / 200 on gpu)")
    p.add_argument("--repeats", type=int,
                   help="timed repeats; the median is reported (default: seed 7, mlp 3 on cpu, 5 on gpu)")
    p.add_argument("--min-repeat-s", type=float, help="each repeat runs enough calls to last this long")
    p.add_argument("--skip", default="",
                   help=f"comma-separated implementations to leave out, of {', '.join(impls.IMPLS)}")
    p.add_argument("--only", default="", help="comma-separated implementations to run, the others left out")
    p.add_argument("--peak-size", type=int, default=2048, help="n of the n^3 matmul giving peak_gflops (0: none)")
    p.add_argument("--threads", type=int, help="torch intra-op threads; 1 also makes XLA:CPU single-threaded; "
                                               "0: the libraries' defaults (default: 1 for seed on cpu, else 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=cli.output_file, help="also write the JSON to this file (atomically: temp file + rename)")
    p.add_argument("--memmap", action="store_true", help="run benchmarks/bench_memmap.py instead (its flags follow)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--memmap" in argv:
        from benchmarks import bench_memmap

        return bench_memmap.main([a for a in argv if a != "--memmap"])
    args = parser().parse_args(argv)
    skip, only = (tuple(s for s in arg.split(",") if s) for arg in (args.skip, args.only))
    for flag, names in (("--skip", skip), ("--only", only)):
        unknown = set(names) - set(impls.IMPLS)
        if unknown:
            parser().error(f"{flag}: unknown implementation(s) {', '.join(sorted(unknown))}; use {', '.join(impls.IMPLS)}")
    skip += tuple(i for i in impls.IMPLS if only and i not in only)
    signal.signal(signal.SIGTERM, on_sigterm)  # under `timeout`: still print what was measured
    from netdata.errors import InputError

    try:
        res = bench(args.problem, args.device, args.precision, args.steps, args.repeats, args.min_repeat_s, skip,
                    args.peak_size, args.threads)
    except InputError as err:  # e.g. --device gpu where there is none
        print(f"bench.py: {err}", file=sys.stderr)
        return 2
    text = json.dumps(finite(res), indent=2)
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(args.out)
    if args.json:
        print(text)
    else:
        from benchmarks.bench_table import print_table

        print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
