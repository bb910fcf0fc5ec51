"""The table benchmarks/bench.py prints: one row per implementation, then the peak, FLOPs and roofline lines."""

from __future__ import annotations


def print_table(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    load = res["load_avg_start_end"]
    table = Table(title=f"{res['problem']} on {res['jax_device']}, precision {res['precision']}, "
                        f"{res['steps_per_call']} steps per call, load avg {load[0]} -> {load[1]} "
                        f"on {res['cpu_count']} cores")
    gflops, ceiling = res["flops_per_step"] is not None, res.get("us_per_step_ceiling") is not None
    cols = ("impl", "us/step", "min us/step", "x vs torch-eager", f"x vs best torch ({res['best_torch']})", "compile s",
            *(("GFLOP/s", "% of peak") if gflops else ()), *(("% of roofline estimate",) if ceiling else ()), "loss, 1st call")
    for col in cols:
        table.add_column(col, justify="left" if col == "impl" else "right")
    notes = []

    def cell(r, key, spec):
        return format(r[key], spec) if r.get(key) is not None else "-"

    for r in res["results"]:
        if r["us_per_step"] is None:
            table.add_row(r["impl"], *["-"] * (len(cols) - 1))
            notes.append(f"{r['impl']}: {r.get('error') or r.get('skipped')}")
            continue
        table.add_row(r["impl"], cell(r, "us_per_step", ".1f"), cell(r, "us_per_step_min", ".1f"),
                      cell(r, "x_vs_torch_eager", ".2f"), cell(r, "x_vs_best_torch", ".2f"), cell(r, "compile_s", ".2f"),
                      *((cell(r, "gflops", ".1f"), cell(r, "pct_of_peak", ".0f")) if gflops else ()),
                      *((cell(r, "pct_of_ceiling", ".0f"),) if ceiling else ()), cell(r, "loss_after_first_call", ".5g"))
    console = Console(width=max(Console().width, 140))
    console.print(table)
    for note in notes:
        console.print(f"[red]{note}[/]", markup=True)
    scan = next((r for r in res["results"] if r["impl"] == "jax-scan" and r.get("x_of_floor")), None)
    if scan:
        console.print(f"jax-scan takes {scan['x_of_floor']:.2f}x jax-floor's time a step (the hand-written one-vector Adam)")
    if res["peak_gflops"]:
        torch_peak = f", torch {res['torch_peak_gflops']:.1f}" if res["torch_peak_gflops"] else ""
        console.print(f"peak_gflops ({res['peak_n']}^3 float32 matmul): jax {res['peak_gflops']:.1f}{torch_peak}")
    if gflops:
        console.print(f"FLOPs: {res['flops_per_step'] / 1e9:.2f} GFLOP per step = {res['flops_formula']}")
    if ceiling:
        console.print(f"roofline estimate (not a bound) {res['us_per_step_ceiling']:.1f} us a step: {res['matmul_flops_per_step'] / 1e9:.2f} GFLOP "
                      f"of matmuls at {res['peak_gflops']:.1f} GFLOP/s + {res['bytes_per_step'] / 1e6:.1f} MB at "
                      f"{res['bandwidth_gbytes_per_s']:.1f} GB/s ({res['bytes_formula']})")
