"""What a user times: both training CLIs as whole processes, each run twice (the second finds the compile cache).

    python benchmarks/cli.py [--json PATH] [--device cpu|gpu] [--quick] [--timeout S]

Runs `jaxnet-train` and `torchnet-train` with their defaults and with `--stage mlp --data digits`, each
twice into a temporary folder (never the checkout's runs/), with JAXNET_CACHE_DIR pointing at a fresh
cache there: the first run compiles cold, the second finds its programs in the cache. Then
benchmarks/plain_torch_mlp.py, the same MLP training in ~30 lines of plain PyTorch, as the anchor
for what a user would write (the steps and dtype the JAX MLP run trained, so early stopping is matched).
Each row: wall and CPU seconds of the whole process, and from its metrics.json the seconds measured
inside it (`timings`: imports, build, compile, train, eval, figures, writes) and `compilations`, and the budget
a first run is held to: its training and compile seconds plus SLACK_S for everything else (`budget_s`, `within_budget`).
--quick: few steps (a smoke test of the tool, not a measurement).

The figures the README quotes (regenerate on an idle machine; ~2 min on 2 cores):
    .venv/bin/python benchmarks/cli.py --json docs/measured/bench-cli.json
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training import cli
from training.runfolder import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {  # name -> (module, arguments)
    "jaxnet-train": ("jaxnet.cli", []),
    "torchnet-train": ("torchnet.cli", []),
    "jaxnet-train --stage mlp --data digits": ("jaxnet.cli", ["--stage", "mlp", "--data", "digits"]),
    "torchnet-train --stage mlp --data digits": ("torchnet.cli", ["--stage", "mlp", "--data", "digits"]),
}
ANCHOR = "plain PyTorch (benchmarks/plain_torch_mlp.py)"
TIMINGS = ("imports_s", "build_s", "compile_s", "train_s", "eval_s", "figures_s", "writes_s")
QUICK_STEPS = 20
SLACK_S = 2.0  # what a run may spend outside training and compiling: interpreter, imports, data, figures, writes
MLP_STEPS = 1000  # the CLIs' mlp default (training/config.py DEFAULT_STEPS), the anchor's when no run says


def _process(argv: list[str], env: dict[str, str], timeout: float) -> tuple[dict, str]:
    """Run one whole process: its wall and CPU seconds, exit code, stdout and the tail of its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = 124, "", f"timed out after {timeout:.0f} s: {e}"
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row = {"argv": argv[1:], "rc": rc, "wall_s": wall, "cpu_s": cpu}
    if rc != 0:
        row["error"] = " / ".join(line for line in err.splitlines()[-3:] if line.strip())[-400:]
    return row, out


def _metrics(folder: Path) -> dict:
    """What the run measured inside itself, read with .get(): older CLIs lack timings and compilations."""
    try:
        m = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    timings = dict(m.get("timings") or {})
    for key in ("compile_s", "train_s"):  # top-level in every version
        timings.setdefault(key, m.get(key))
    return {"timings": timings, "compilations": m.get("compilations"), "steps": m.get("steps_this_run", m.get("steps")),
            "final_loss": m.get("final_loss"), "test_accuracy": m.get("test_accuracy"), "dtype": m.get("dtype")}


def with_budget(row: dict) -> dict:
    """`row` with budget_s (train_s + compile_s + SLACK_S) and within_budget, where its timings give train_s."""
    t = row.get("timings") or {}
    if t.get("train_s") is None or row.get("wall_s") is None:
        return row
    budget = t["train_s"] + (t.get("compile_s") or 0.0) + SLACK_S
    return row | {"budget_s": budget, "within_budget": row["wall_s"] <= budget}


def bench(tmp: Path, device: str = "cpu", quick: bool = False, timeout: float = 300.0,
          commands: dict[str, tuple[str, list[str]]] = COMMANDS) -> dict:
    """Every command twice, then the anchor; one JSON-ready dict."""
    env = os.environ | {"JAXNET_CACHE_DIR": str(tmp / "xla-cache"), "PYTHONPATH": str(ROOT)}
    load_start = os.getloadavg()[0]
    rows = []
    for name, (module, args) in commands.items():
        for attempt in (1, 2):
            folder = tmp / f"{module.split('.')[0]}-{'mlp' if args else 'default'}-{attempt}"
            argv = [sys.executable, "-m", module, *args, "--device", device, "--out", str(folder)]
            argv += ["--steps", str(QUICK_STEPS)] if quick else []
            row, _ = _process(argv, env, timeout)
            rows.append(with_budget({"command": name, "run": attempt, **row, **_metrics(folder)}))
    jax_mlp = next((r for r in rows if r["command"].startswith("jaxnet-train --stage mlp") and r.get("steps")), {})
    steps = jax_mlp.get("steps") or (QUICK_STEPS if quick else MLP_STEPS)
    dtype = jax_mlp.get("dtype") or "float32"  # the CLIs' mlp default (float64 since it stops alike in both)
    anchor = [sys.executable, str(ROOT / "benchmarks" / "plain_torch_mlp.py"), str(steps), device, dtype]
    row, out = _process(anchor, env, timeout)
    try:
        row |= json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        row.setdefault("error", "printed no JSON line")
    return {"device": device, "quick": quick, "runs": rows, "anchor": with_budget({"command": ANCHOR, **row}),
            "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
            "load_avg_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)]}


def _s(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def _budget(r: dict) -> str:
    return "-" if r.get("budget_s") is None else f"{r['budget_s']:.2f} {'ok' if r['within_budget'] else 'OVER'}"


def print_table(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    load = res["load_avg_start_end"]
    table = Table(title=f"whole CLI runs on {res['device']}{' (--quick)' if res['quick'] else ''}, load avg "
                        f"{load[0]} -> {load[1]} on {res['cpu_count']} cores; seconds")
    cols = ("command", "run", "rc", "wall", "cpu", "imports", "build", "compile", "train", "eval", "figures", "writes",
            "compilations", "steps", "outside training", f"budget (train + compile + {SLACK_S:g})")
    for col in cols:
        table.add_column(col, justify="left" if col == "command" else "right")
    notes = []
    for r in [*res["runs"], res["anchor"] | {"run": 1}]:
        t = r.get("timings") or {}
        outside = 1 - t["train_s"] / r["wall_s"] if t.get("train_s") is not None and r["wall_s"] else None
        table.add_row(r["command"], str(r["run"]), str(r["rc"]), _s(r["wall_s"]), _s(r["cpu_s"]),
                      *(_s(t.get(k)) for k in TIMINGS), str(r.get("compilations", "-")), str(r.get("steps", "-")),
                      "-" if outside is None else f"{100 * outside:.0f} %", _budget(r))
        if r.get("error"):
            notes.append(f"{r['command']} (run {r['run']}): exit {r['rc']}: {r['error']}")
    console = Console(width=max(Console().width, 180))
    console.print(table)
    for note in notes:
        console.print(f"[red]{note}[/]", markup=True)


def main(argv: list[str] | None = None) -> int:
    p = cli.Parser(prog="cli.py", description=__doc__.splitlines()[0])
    p.add_argument("--json", metavar="PATH", type=lambda text: text if text == "-" else cli.output_file(text), help="write the results as JSON here (atomically); -: on stdout, no table")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps per run: a smoke test of this tool")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds each process may take (default 300)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        res = bench(Path(tmp), args.device, args.quick, args.timeout)
    text = json.dumps(res, indent=2)
    if args.json == "-":
        print(text)
    else:
        if args.json:
            atomic_write_bytes(args.json, (text + "\n").encode("utf-8"))
        print_table(res)
    return 0 if all(r["rc"] == 0 for r in [*res["runs"], res["anchor"]]) else 1


if __name__ == "__main__":
    sys.exit(main())
