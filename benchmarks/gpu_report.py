"""The report of `scripts/gpu-check`: its steps' JSON outputs and steps.tsv in one folder -> report.md.

    python benchmarks/gpu_report.py OUT_DIR cpu|gpu TOTAL_S EQ_STEPS

A failed, timed-out or skipped step is a row that says so; the rest of the report is still written, and a
skipped or timed-out one makes the exit code 3 (EXIT_INCOMPLETE) after naming it on stderr. Kept
out of the shell script so the suite can test it: a GPU session is too short to find a bug in it there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.cli import Parser, positive_int

EXIT_INCOMPLETE = 3  # the report is written, but some steps were skipped or timed out
EQ_STEPS = ("eq-float32-highest", "eq-float32-default", "eq-float64")
BENCH_STEPS = ("bench-seed-highest", "bench-mlp-highest", "bench-seed-default", "bench-mlp-default",
               "bench-seed-compile", "bench-mlp-compile", "bench-cli")
CLI_TIMINGS = ("imports_s", "build_s", "compile_s", "train_s", "eval_s", "figures_s", "writes_s")
CLI_STEPS = ("cli-jax", "cli-torch", "cli-resume-torch-from-jax", "cli-mlp-compare", "cli-mlp-deterministic-1",
             "cli-mlp-deterministic-2")


def fmt(v, spec=".2e") -> str:
    return "-" if v is None else format(v, spec)


class Steps:
    """What the steps left in `out`: their exit status (steps.tsv), JSON (NAME.json) and stderr (NAME.err)."""

    def __init__(self, out: Path):
        self.out = out
        self.rows = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines()[1:]]
        self.status = {name: (rc, sec, limit) for name, rc, sec, limit in self.rows}

    def load(self, name: str):
        try:
            return json.loads((self.out / f"{name}.json").read_text())
        except (OSError, ValueError):  # missing, empty or cut short by a timeout
            return None

    def tail(self, name: str, n: int = 4) -> str:
        try:
            lines = [line for line in (self.out / f"{name}.err").read_text().splitlines() if line.strip()]
        except OSError:
            return ""
        return " / ".join(lines[-n:])[-400:]

    def verdict(self, name: str, data) -> str:
        rc = self.status.get(name, ("missing",))[0]
        if rc == "skipped":
            return "skipped (out of time)"
        if rc in ("124", "137"):
            done = "" if data is None else f" (its JSON was complete: {'passed' if data.get('passed', True) else 'FAILED'})"
            return f"TIMED OUT after {self.status[name][2]} s{done}"
        if data is None:
            return f"ERROR (exit {rc}, no JSON): {self.tail(name)}"
        if "passed" in data:
            return "passed" if data["passed"] else "FAILED"
        return "ok" if rc == "0" else f"exit {rc}"


def not_run(steps: Steps) -> list[str]:
    """The steps that were skipped or timed out, each with why: the check is incomplete without them."""
    out = []
    for name, rc, sec, limit in steps.rows:
        if rc == "skipped":
            out.append(f"{name} (skipped, out of time)")
        elif rc in ("124", "137"):
            out.append(f"{name} (timed out after {sec} s)")
    return out


def worst(results: list[dict], pair: str | None = None) -> dict:
    """(quantity, pair) -> (worst rel_err, its stage, tol); None (JSON null) counts as infinite."""
    out = {}
    for r in results:
        if pair and r["pair"] != pair:
            continue
        key = (r["quantity"], r["pair"])
        err = float("inf") if r["rel_err"] is None else r["rel_err"]
        if key not in out or err > out[key][0]:
            out[key] = (err, r["stage"], r["tol"])
    return out


def header(steps: Steps, device: str, total: str, eq_steps: str) -> list[str]:
    env = steps.load("env") or {}
    md = [f"# gpu-check report ({'--cpu' if device == 'cpu' else 'gpu'})", "",
          f"- device: {env.get('torch_cuda') or 'cpu'}; jax devices {env.get('jax_devices')}",
          f"- python {env.get('python')}, jax {env.get('jax')}, flax {env.get('flax')}, optax {env.get('optax')}, "
          f"torch {env.get('torch')}, {env.get('cpu_count')} CPUs",
          f"- total {total} s; equivalence runs {eq_steps} steps"
          + (" (stages manual, optim, mlp)" if device == "cpu" else " (all stages)"), "", "## Steps", "",
          "| step | result | seconds | limit s |", "|---|---|---:|---:|"]
    missing = not_run(steps)
    md += [f"| {name} | {steps.verdict(name, steps.load(name))} | {sec} | {limit} |" for name, rc, sec, limit in steps.rows]
    return md + ["", f"**INCOMPLETE: {len(missing)} of {len(steps.rows)} steps did not run to the end: "
                     f"{', '.join(missing)}**" if missing else f"All {len(steps.rows)} steps ran to the end."]


def equivalence(steps: Steps) -> list[str]:
    md = ["", "## Equivalence: worst rel_err per quantity (over stages)", ""]
    for name in (n for n in EQ_STEPS if n in steps.status):
        data = steps.load(name)
        md += [f"### {name}: {steps.verdict(name, data)}", ""]
        if not data:
            continue
        w = worst(data["results"])
        pairs = sorted({p for _, p in w})
        md += ["| quantity | " + " | ".join(pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
        for q in dict.fromkeys(q for q, _ in w):
            cells = [f"{fmt(w[(q, p)][0])} ({w[(q, p)][1]}, tol {w[(q, p)][2]:.0e})" if (q, p) in w else "-"
                     for p in pairs]
            md.append(f"| {q} | " + " | ".join(cells) + " |")
        for r in [r for r in data["results"] if not r["passed"]][:10]:
            md.append(f"- FAIL {r['stage']} {r['quantity']} {r['pair']}: rel_err {fmt(r['rel_err'])} > tol "
                      f"{r['tol']:.0e} (first bad step {r['first_bad_step']})")
        md.append("")
    hi, lo = steps.load("eq-float32-highest"), steps.load("eq-float32-default")
    md += ["## TF32 (precision default) vs highest: worst torch-jax rel_err", ""]
    if "eq-float32-default" not in steps.status:
        return md + ["not measured: precision default means TF32 on NVIDIA GPUs only (--cpu skips it)"]
    if not (hi and lo):
        return md + ["not available: one of the two float32 checks has no JSON"]
    a, b = worst(hi["results"], "torch-jax"), worst(lo["results"], "torch-jax")
    md += ["| quantity | highest | default (TF32) | default / highest |", "|---|---:|---:|---:|"]
    for key in a:
        ratio = b[key][0] / a[key][0] if key in b and a[key][0] > 0 else None
        md.append(f"| {key[0]} | {fmt(a[key][0])} ({a[key][1]}) | {fmt(b.get(key, (None,))[0])} "
                  f"({b.get(key, (0, '-'))[1]}) | {fmt(ratio, '.1f')} |")
    return md


def benchmarks(steps: Steps) -> list[str]:
    md = ["", "## Benchmarks", ""]
    for name in (n for n in BENCH_STEPS if n in steps.status):
        data = steps.load(name)
        md += [f"### {name}: {steps.verdict(name, data)}", ""]
        if data and name == "bench-cli":
            md += cli_bench(data)
        elif data:
            md += bench_table(data)
    return md


def bench_table(data: dict) -> list[str]:
    """One bench.py JSON: its rows, the fastest torch row, jax-scan against jax-floor, the mlp's roofline."""
    peak = f"; peak_gflops {fmt(data['peak_gflops'], '.0f')} (jax {data['peak_n']}^3 matmul)" if data.get(
        "peak_gflops") else ""
    if data.get("us_per_step_at_peak"):
        peak += (f", so a step takes at least {fmt(data['us_per_step_at_peak'], '.1f')} us and no impl can beat "
                 f"torch-eager by more than {fmt(data.get('max_x_vs_torch_eager'), '.2f')}x")
    if data.get("us_per_step_ceiling"):
        peak += (f"; roofline ceiling {fmt(data['us_per_step_ceiling'], '.1f')} us a step (bandwidth "
                 f"{fmt(data.get('bandwidth_gbytes_per_s'), '.0f')} GB/s)")
    scan = next((r for r in data["results"] if r["impl"] == "jax-scan"), {})
    md = [f"{data['jax_device']}, {data['steps_per_call']} steps per call, load avg "
          f"{data['load_avg_start_end']}{peak}{'; ' + data['stopped'] if data.get('stopped') else ''}",
          "", f"best torch row: {data.get('best_torch') or '-'}; jax-scan takes {fmt(scan.get('x_of_floor'), '.2f')}x "
              f"jax-floor's time", "",
          "| impl | us/step | x vs torch-eager | x vs best torch | compile s | GFLOP/s | % of peak | % of ceiling | "
          "error |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in data["results"]:
        md.append(f"| {r['impl']} | {fmt(r['us_per_step'], '.1f')} | {fmt(r.get('x_vs_torch_eager'), '.2f')} | "
                  f"{fmt(r.get('x_vs_best_torch'), '.2f')} | {fmt(r['compile_s'], '.2f')} | {fmt(r.get('gflops'), '.0f')} | "
                  f"{fmt(r.get('pct_of_peak'), '.0f')} | {fmt(r.get('pct_of_ceiling'), '.0f')} | "
                  f"{r.get('error') or r.get('skipped') or ''} |")
    return md + [""]


def cli_bench(data: dict) -> list[str]:
    """benchmarks/cli.py's JSON: each whole CLI run, first and cached, and the plain PyTorch anchor."""
    md = ["| command | run | exit | wall s | cpu s | " + " | ".join(k.removesuffix("_s") for k in CLI_TIMINGS)
          + " | compilations | steps |", "|---|---:|---:|---:|---:|" + "---:|" * (len(CLI_TIMINGS) + 2)]
    for r in [*data.get("runs", []), (data.get("anchor") or {}) | {"run": 1}]:
        t = r.get("timings") or {}
        md.append(f"| {r.get('command')} | {r['run']} | {r.get('rc')} | {fmt(r.get('wall_s'), '.2f')} | "
                  f"{fmt(r.get('cpu_s'), '.2f')} | " + " | ".join(fmt(t.get(k), ".2f") for k in CLI_TIMINGS)
                  + f" | {r.get('compilations', '-')} | {r.get('steps', '-')} |")
    return md + [""]


def clis(steps: Steps) -> list[str]:
    md = ["## Training CLIs", "", "| step | result | framework | device | steps | initial loss | final loss | "
          "compile s | steps/s | test acc | compare |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in (n for n in CLI_STEPS if n in steps.status):
        data = steps.load(name)
        if not data:
            md.append(f"| {name} | {steps.verdict(name, data)} |" + " |" * 9)
            continue
        cmp = data.get("compare") or {}
        cmp_text = (f"weights {fmt(cmp.get('weights_rel_err'))}, losses {fmt(cmp.get('loss_max_rel_err'))}, "
                    f"same test predictions {cmp.get('same_test_predictions')}") if cmp else ""
        md.append(f"| {name} | {steps.verdict(name, data)} | {data.get('framework')} | {data.get('device')} | "
                  f"{data.get('steps')} | {fmt(data.get('initial_loss'), '.5g')} | {fmt(data.get('final_loss'), '.5g')} | "
                  f"{fmt(data.get('compile_s'), '.2f')} | {fmt(data.get('steps_per_s'), '.0f')} | "
                  f"{fmt(data.get('test_accuracy'), '.3f')} | {cmp_text} |")
    return md + [""] + deterministic(steps)


def deterministic(steps: Steps) -> list[str]:
    """Whether two --deterministic runs wrote the same weight bytes, and their speed against a plain run."""
    runs = [steps.load(f"cli-mlp-deterministic-{i}") for i in (1, 2)]
    if not all(runs):
        return []

    def weight_bytes(run):
        try:
            return (Path(run["run_folder"]) / "weights.safetensors").read_bytes()
        except (OSError, KeyError, TypeError):
            return None

    first = weight_bytes(runs[0])
    same = first is not None and first == weight_bytes(runs[1])
    plain = (steps.load("cli-mlp-compare") or {}).get("steps_per_s")
    cost = f"{runs[0]['steps_per_s'] / plain:.2f}x the steps/s of the same run without it" if plain else "no baseline"
    return [f"--deterministic: two runs wrote {'the same' if same else 'DIFFERENT'} weights.safetensors bytes; "
            f"{cost}.", ""]


def render(out: Path, device: str, total: str, eq_steps: str) -> str:
    steps = Steps(out)
    md = header(steps, device, total, eq_steps) + equivalence(steps) + benchmarks(steps) + clis(steps)
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="gpu_report.py", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder gpu-check wrote (steps.tsv, NAME.json, NAME.err)")
    parser.add_argument("device", choices=("cpu", "gpu"))
    parser.add_argument("total_s", type=int, help="seconds the whole check took")
    parser.add_argument("eq_steps", type=positive_int, help="steps of each equivalence run")
    args = parser.parse_args(argv)
    if not (args.out / "steps.tsv").is_file():
        parser.error(f"{args.out} has no steps.tsv; pass the folder scripts/gpu-check wrote its outputs to")
    text = render(args.out, args.device, str(args.total_s), str(args.eq_steps))
    tmp = args.out / "report.md.tmp"
    tmp.write_text(text)
    tmp.replace(args.out / "report.md")
    print(text, end="")
    missing = not_run(Steps(args.out))
    if missing:
        sys.stderr.write(f"gpu_report.py: {len(missing)} steps did not run to the end: {', '.join(missing)}\n")
        return EXIT_INCOMPLETE
    return 0


if __name__ == "__main__":
    sys.exit(main())
