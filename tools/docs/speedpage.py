"""docs/speed.md's tables: every benchmark row and every whole CLI run, rendered from docs/measured/*.json."""

from __future__ import annotations

# What each bench.py row runs (benchmarks/impls.py), in words; the figures come from the JSON.
IMPL_WORDS = {
    "torch-eager": "Python loop: zero_grad, forward, loss, backward, `torch.optim.Adam` (the stages' `train_step`)",
    "torch-fused": "the same with `Adam(fused=True)`",
    "torch-compile": "the whole step under `torch.compile` (CPU: `max-autotune-no-cudagraphs`; CUDA: "
                     "`reduce-overhead`)",
    "torch-cudagraph": "the whole step captured once as a CUDA graph (`capturable=True` Adam), then replayed",
    "jax-floor": "a hand-written `lax.scan` of Adam on one flat parameter vector: a reference, not a bound",
    "jax-jit-step": "Python loop over `jax.jit` of one step (`nnx.split` state)",
    "nnx-jit-step": "Python loop over `nnx.jit` of one step (NNX objects)",
    "jax-scan": "the CLIs' program: one `lax.scan` per chunk (`jaxnet/loop.py`)",
}


def us_text(x: float | None) -> str:
    """A step's time in µs, or ms from 10 ms on, to three figures or whole units."""
    if x is None:
        return "-"
    if x >= 10_000:
        ms = x / 1000
        return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.3g} ms"
    return f"{x:,.0f} µs" if x >= 100 else f"{x:.3g} µs"


def _x(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}×" if x >= 10 else f"{x:.2f}×"


def _f(x: float | None, spec: str = ".2f", unit: str = "") -> str:
    return "-" if x is None else f"{x:{spec}}{unit}"


def _ratio(best: float | None, us: float) -> float | None:
    """How many times faster than the fastest torch row (the JSON gives it for the JAX rows only)."""
    return None if best is None or not us else best / us


def budget_text(r: dict, spec: str) -> str:
    """A run against its budget (benchmarks/cli.py's budget_s): "4.22 s **over**", "2.56 s met", or "-"."""
    if r.get("budget_s") is None:
        return "-"
    return f"{r['budget_s']:{spec}} s {'met' if r['within_budget'] else '**over**'}"


def render_bench_rows(res: dict, writer: str) -> str:
    """One bench.py run: each row's step time (median and best repeat), against torch-eager and the fastest torch
    row, its compile time, and for the mlp its time over the roofline estimate (an estimate, not a bound: the GEMM
    rate is measured on one size, and a row that runs the step's own GEMMs faster comes in under 1×)."""
    roofline = res.get("us_per_step_ceiling") is not None
    head = ["implementation", "what it runs", "per step (median)", "best repeat", "× torch-eager",
            "× fastest torch", "compile"] + (["× roofline estimate"] if roofline else [])
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    for r in res["results"]:
        name = f"**`{r['impl']}`**" if r["impl"] == res.get("best_torch") else f"`{r['impl']}`"
        if r.get("us_per_step") is None:
            cells = [name, IMPL_WORDS.get(r["impl"], ""), f"skipped: {r.get('skipped') or r.get('error')}"]
            lines.append("| " + " | ".join(cells) + " |" + " - |" * (len(head) - 3))
            continue
        cells = [name, IMPL_WORDS.get(r["impl"], ""), us_text(r["us_per_step"]), us_text(r.get("us_per_step_min")),
                 _x(r.get("x_vs_torch_eager")), _x(_ratio(res.get("best_torch_us_per_step"), r["us_per_step"])),
                 _f(r.get("compile_s"), ".2f", " s")]
        if roofline:
            cells.append(_f(100 / r["pct_of_ceiling"] if r.get("pct_of_ceiling") else None, ".2f", "×"))
        lines.append("| " + " | ".join(cells) + " |")
    scan = next((r for r in res["results"] if r["impl"] == "jax-scan"), {})
    notes = [f"the fastest torch row (bold): `{res['best_torch']}`"] if res.get("best_torch") else []
    if scan.get("x_of_floor"):
        notes.append(f"`jax-scan` takes {scan['x_of_floor']:.2f}× the time of `jax-floor`")
    if roofline:
        ceiling = us_text(res["us_per_step_ceiling"])
        notes.append(f"the roofline estimate, {ceiling} a step, counts the step's matmul FLOPs at the GEMM rate "
                     f"measured in the same run ({res['peak_gflops']:.0f} GFLOP/s) plus "
                     f"{res['bytes_per_step'] / 1e6:.0f} MB of optimizer and activation traffic at the measured "
                     f"bandwidth ({res['bandwidth_gbytes_per_s']:.1f} GB/s), an estimate and not a bound (rows under 1× beat "
                     "it: their GEMMs run faster than the one size measured); a row is judged on its best repeat")
    load = res["load_avg_start_end"]
    notes.append(f"{res['device'].upper()}, {res['cpu_count']} cores, load average {load[0]} -> {load[1]}, "
                 f"{res['steps_per_call']} steps per timed call, float32, matmul precision {res['precision']} "
                 f"(`{writer}`)")
    return "\n".join(lines) + "\n\n" + "; ".join(notes)[:1].upper() + "; ".join(notes)[1:] + ".\n"


def render_cli_rows(cli: dict, writer: str) -> str:
    """Each whole CLI process, first and second run: where its seconds went (measured inside it) and its budget."""
    keys = ("imports_s", "build_s", "compile_s", "train_s", "eval_s", "figures_s", "writes_s")
    head = ["command", "run", "wall", "CPU", *(k.removesuffix("_s") for k in keys), "compiled", "budget"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for r in [*cli["runs"], cli["anchor"] | {"run": 1}]:
        t = r.get("timings") or {}
        name = r["command"] if r["command"] == cli["anchor"]["command"] else f"`{r['command']}`"
        cells = [name, str(r["run"]), _f(r.get("wall_s"), ".2f", " s"), _f(r.get("cpu_s"), ".2f", " s"),
                 *(_f(t.get(k), ".2f") for k in keys), str(r.get("compilations", "-")), budget_text(r, ".2f")]
        lines.append("| " + " | ".join(cells) + " |")
    load = cli["load_avg_start_end"]
    return "\n".join(lines) + (f"\n\nSeconds; whole processes on the {cli['device'].upper()}, {cli['cpu_count']} "
                               f"cores, load average {load[0]} -> {load[1]}; run 2 finds run 1's programs in the "
                               f"compile cache (`{writer}`).\n")


def render_memmap(res: dict, writer: str) -> str:
    """bench_memmap.py: the same training from a memory-mapped folder and from memory."""
    lines = ["| rows held | steps/s (best repeat) | every repeat | final loss |", "| --- | ---: | ---: | ---: |"]
    for r in res["results"]:
        lines.append(f"| {'memory-mapped files' if r['mode'] == 'memmap' else 'in memory'} | "
                     f"{r['steps_per_s']:,.0f} | {', '.join(f'{s:,.0f}' for s in r['steps_per_s_all'])} | "
                     f"{r['final_loss']:.6g} |")
    load = res["load_avg_start_end"]
    return "\n".join(lines) + (
        f"\n\n{res['rows']:,} rows ({res['disk_mb']:.0f} MB), batch {res['batch_size']}, {res['steps']} steps of "
        f"`--stage {res['stage']}`: memory-mapped at {res['memmap_vs_memory']:.2f}× the in-memory rate; "
        f"{res['cpu_count']} cores, load average {load[0]} -> {load[1]} (`{writer}`).\n")
