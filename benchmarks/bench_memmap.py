"""jaxnet-train's Backend on a memory-mapped folder of 10M rows vs the same rows in memory: steps/s and the ratio.

    python benchmarks/bench_memmap.py [--rows 10000000] [--batch-size 4096] [--steps 3000] [--json] [--out PATH]
    python benchmarks/bench.py --memmap ...   # the same

Writes x.npy (rows, 4) and y.npy (rows, 2) float32 with np.lib.format.open_memmap into a temporary
folder (--tmp; 24 bytes a row: ~240 MB for 10M rows, refused when the disk has less than twice that
free) and removes it at the end, also on failure or Ctrl-C. Both modes run training.session.train with
jaxnet.train.Backend, exactly as `jaxnet-train --stage optim --batch-size B --data FOLDER` does: the
memory-mapped mode reads each chunk's rows from the files, the in-memory mode from a NumPy array; on the
CPU both gather a chunk's rows on the host, the next chunk's while this one trains (on a GPU the in-memory
rows sit on the device, which gathers them). The modes alternate for --repeats rounds and the
best steps/s of each is reported (compile and warm-up excluded, as in the CLI's metrics). The page
cache is warm after the CLI's warm-up chunks touch every page, so this times the gather, not the disk.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIN, DOUT, WRITE_ROWS = 4, 2, 1_000_000
GOAL = 0.8  # memory-mapped steps/s at least 80% of in-memory


def write_folder(folder: Path, rows: int, seed: int = 0) -> None:
    """x (rows, 4) standard normal, y = x @ w + b + noise, written a million rows at a time."""
    g = np.random.default_rng(seed)
    w, b = g.standard_normal((DIN, DOUT)).astype(np.float32), g.standard_normal(DOUT).astype(np.float32)
    x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32, shape=(rows, DIN))
    y = np.lib.format.open_memmap(folder / "y.npy", mode="w+", dtype=np.float32, shape=(rows, DOUT))
    for start in range(0, rows, WRITE_ROWS):
        stop = min(rows, start + WRITE_ROWS)
        xc = g.standard_normal((stop - start, DIN), dtype=np.float32)
        x[start:stop] = xc
        y[start:stop] = xc @ w + b + 0.1 * g.standard_normal((stop - start, DOUT), dtype=np.float32)
    x.flush()
    y.flush()
    del x, y


def train_once(cfg, data, folder: Path) -> dict:
    """One jaxnet-train run in-process: the CLI's Backend and session loop, metrics as metrics.json has them."""
    from jaxnet.train import Backend
    from training import rundata, session

    folder.mkdir(parents=True)
    run = session.Run(cfg, folder, 0, rundata.initial_weights(cfg, data))
    with Backend(cfg, data) as backend:
        metrics, _ = session.train(run, data, backend)
    return metrics


def bench(rows: int = 10_000_000, batch_size: int = 4096, steps: int = 3000, chunk: int = 1000,
          repeats: int = 2, device: str = "cpu", tmp: str | None = None) -> dict:
    from training import rundata
    from training.config import RunConfig

    need = rows * (DIN + DOUT) * 4
    root = tmp or tempfile.gettempdir()
    free = shutil.disk_usage(root).free
    if free < 2 * need:
        raise SystemExit(f"bench_memmap: {root} has {free / 1e6:.0f} MB free; {rows} rows need "
                         f"{need / 1e6:.0f} MB (twice that free); pass --tmp or fewer --rows")
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-memmap-", dir=root))
    try:
        t0 = time.perf_counter()
        (work / "data").mkdir()
        write_folder(work / "data", rows)
        write_s = time.perf_counter() - t0
        disk = sum(f.stat().st_size for f in (work / "data").iterdir())
        cfg = RunConfig(stage="optim", steps=steps, lr=1e-2, batch_size=batch_size, data=str(work / "data"),
                        init="torch", device=device, chunk=chunk)
        on_disk = rundata.load(cfg)  # the CLI's loader: validated read-only memmaps
        assert isinstance(on_disk.x, np.memmap), "a folder of .npy files should load as memmaps"
        in_memory = rundata.Data(np.array(on_disk.x), np.array(on_disk.y))
        runs: dict[str, list[dict]] = {"memory": [], "memmap": []}
        for i in range(repeats):
            for mode, data in (("memory", in_memory), ("memmap", on_disk)):
                runs[mode].append(train_once(cfg, data, work / f"run-{mode}-{i}"))
        del in_memory
        results = []
        for mode, ms in runs.items():
            rates = [m["steps_per_s"] for m in ms]
            results.append({"mode": mode, "steps_per_s": max(rates), "steps_per_s_all": rates,
                            "compile_s": min(m["compile_s"] for m in ms), "final_loss": ms[-1]["final_loss"]})
        ratio = results[1]["steps_per_s"] / results[0]["steps_per_s"]
        return {"rows": rows, "batch_size": batch_size, "steps": steps, "chunk": chunk, "stage": "optim",
                "device": runs["memmap"][0]["device"], "disk_mb": disk / 1e6, "write_s": write_s,
                "results": results, "memmap_vs_memory": ratio, "goal": f">= {GOAL}", "goal_met": ratio >= GOAL,
                "cpu_count": os.cpu_count(), "load_avg_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    load = res["load_avg_start_end"]
    table = Table(title=f"jaxnet-train --stage optim on {res['rows']:,} rows ({res['disk_mb']:.0f} MB), "
                        f"batch {res['batch_size']}, {res['steps']} steps in chunks of {res['chunk']}, "
                        f"{res['device']}, load avg {load[0]} -> {load[1]}")
    for col in ("rows held", "steps/s (best)", "all repeats", "compile s", "final loss", "vs in memory"):
        table.add_column(col, justify="left" if col == "rows held" else "right")
    for r in res["results"]:
        rel = r["steps_per_s"] / res["results"][0]["steps_per_s"]
        table.add_row(r["mode"], f"{r['steps_per_s']:.0f}", ", ".join(f"{s:.0f}" for s in r["steps_per_s_all"]),
                      f"{r['compile_s']:.2f}", f"{r['final_loss']:.4g}", f"{rel:.2f}x")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    verdict = "[green]met[/]" if res["goal_met"] else "[red]missed[/]"
    console.print(f"memmap / in-memory = {res['memmap_vs_memory']:.2f} (goal {res['goal']}: {verdict}); "
                  f"writing the folder took {res['write_s']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    from training import cli

    p = cli.Parser(prog="bench_memmap.py", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--chunk", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=2, help="rounds of both modes; the best steps/s counts")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--tmp", help="where to write the temporary folder (default: the system's temp dir)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", type=cli.output_file, help="also write the JSON to this file (atomically: temp file + rename)")
    args = p.parse_args(argv)
    res = bench(args.rows, args.batch_size, args.steps, args.chunk, args.repeats, args.device, args.tmp)
    if args.out:
        from training.runfolder import atomic_write_bytes

        atomic_write_bytes(args.out, (json.dumps(res, indent=2) + "\n").encode("utf-8"))
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
