"""Smoke test of benchmarks/: tiny runs have the JSON shape and a positive, finite time per implementation."""

import json
import math
import os

from benchmarks import bench, bench_memmap, impls


def test_seed_bench_json_reports_every_impl(capsys):
    # torch-compile is left out: compiling takes longer than this whole test may.
    assert bench.main(["--problem", "seed", "--steps", "50", "--repeats", "2", "--min-repeat-s", "0",
                       "--skip", "torch-compile", "--peak-size", "128", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)  # exactly one JSON object on stdout
    assert {"problem", "device", "precision", "results", "peak_gflops", "max_x_vs_torch_eager"} <= res.keys()
    assert (res["problem"], res["device"], res["precision"]) == ("seed", "cpu", "highest")
    assert [r["impl"] for r in res["results"]] == ["torch-eager", "jax-jit-step", "nnx-jit-step", "jax-scan"]
    assert res["peak_gflops"] is None and res["max_x_vs_torch_eager"] is None  # seed has no FLOPs to judge
    losses = set()
    for r in res["results"]:
        assert "error" not in r, r
        assert math.isfinite(r["us_per_step"]) and r["us_per_step"] > 0, r
        assert math.isfinite(r["compile_s"]) and r["compile_s"] >= 0, r
        losses.add(round(r["loss_after_first_call"], 4))
    assert res["results"][0]["x_vs_torch_eager"] == 1.0
    assert len(losses) == 1  # the same 50 steps from the same start: every implementation trains alike


def test_memmap_bench_runs_and_cleans_up(tmp_path):
    res = bench_memmap.bench(rows=2_000, batch_size=64, steps=20, chunk=10, repeats=1, tmp=str(tmp_path))
    assert [r["mode"] for r in res["results"]] == ["memory", "memmap"]
    assert all(r["steps_per_s"] > 0 for r in res["results"])
    assert res["memmap_vs_memory"] > 0
    assert os.listdir(tmp_path) == []  # the temporary folder is gone


def test_mlp_matmul_flops_equal_what_xla_counts_for_the_step_minus_elementwise_work():
    # The bound "no implementation can beat torch-eager by more than ..." rests on this count.
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from jaxnet import mlp
    from netdata import init

    sizes, batch = [30, 50, 40, 10], 16
    model = mlp.build(init.mlp("torch", sizes, 0), 1e-3).model
    x, labels = jnp.ones((batch, sizes[0])), jnp.zeros(batch, jnp.int32)
    graphdef, params = nnx.split(model)

    def loss(params):
        return mlp.cross_entropy(nnx.merge(graphdef, params), x, labels)

    xla_flops = jax.jit(jax.grad(loss)).lower(params).compile().cost_analysis()["flops"]
    ours = impls.mlp_matmul_flops(sizes, batch)
    assert ours == 2.0 * batch * (2 * (30 * 50 + 50 * 40 + 40 * 10) + 50 * 40 + 40 * 10)
    assert ours <= xla_flops <= 1.03 * ours  # XLA adds the biases, ReLUs and softmax, a few percent here
