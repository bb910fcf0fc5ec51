"""Smoke test of benchmarks/: tiny runs have the JSON shape and a positive, finite time per implementation."""

import json
import math
import os

import numpy as np
import pytest

from benchmarks import bench, bench_memmap, floor, impls
from equivalence.tolerance import TOLERANCES


def test_seed_bench_json_reports_every_impl(capsys):
    # torch-compile is left out: compiling takes longer than this whole test may.
    assert bench.main(["--problem", "seed", "--steps", "50", "--repeats", "2", "--min-repeat-s", "0",
                       "--skip", "torch-compile", "--peak-size", "128", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)  # exactly one JSON object on stdout
    assert {"problem", "device", "precision", "results", "peak_gflops", "max_x_vs_torch_eager"} <= res.keys()
    assert (res["problem"], res["device"], res["precision"]) == ("seed", "cpu", "highest")
    assert [r["impl"] for r in res["results"]] == ["torch-eager", "torch-fused", "torch-cudagraph", "jax-floor",
                                                   "jax-jit-step", "nnx-jit-step", "jax-scan"]
    assert res["peak_gflops"] is None and res["max_x_vs_torch_eager"] is None  # seed has no FLOPs to judge
    assert res["us_per_step_ceiling"] is None
    rows = {r["impl"]: r for r in res["results"]}
    cudagraph = rows.pop("torch-cudagraph")  # on a CPU: kept, with the reason, not silently dropped
    assert cudagraph["us_per_step"] is None and "CUDA" in cudagraph["skipped"]
    assert res["best_torch"] in ("torch-eager", "torch-fused")
    best = rows[res["best_torch"]]["us_per_step"]
    assert best == min(rows[k]["us_per_step"] for k in ("torch-eager", "torch-fused"))
    for impl in ("jax-floor", "jax-jit-step", "nnx-jit-step", "jax-scan"):
        assert math.isclose(rows[impl]["x_vs_best_torch"], best / rows[impl]["us_per_step"])
    assert math.isclose(rows["jax-scan"]["x_of_floor"], rows["jax-scan"]["us_per_step"] / rows["jax-floor"]["us_per_step"])
    losses = set()
    for r in rows.values():
        assert "error" not in r, r
        assert math.isfinite(r["us_per_step"]) and r["us_per_step"] > 0, r
        assert math.isfinite(r["compile_s"]) and r["compile_s"] >= 0, r
        losses.add(round(r["loss_after_first_call"], 4))
    assert res["results"][0]["x_vs_torch_eager"] == 1.0
    assert len(losses) == 1  # the same 50 steps from the same start: every implementation trains alike


def test_only_runs_the_named_implementations_and_an_unknown_one_exits_2(capsys):
    assert bench.main(["--problem", "seed", "--steps", "5", "--repeats", "2", "--min-repeat-s", "0",
                       "--only", "jax-floor,jax-scan", "--json"]) == 0
    assert [r["impl"] for r in json.loads(capsys.readouterr().out)["results"]] == ["jax-floor", "jax-scan"]
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--only", "jax-scna"])
    assert exit_.value.code == 2 and "jax-scna" in capsys.readouterr().err


def test_the_floor_trains_the_same_mlp_trajectory_as_the_clis_scan():
    # jax-floor is the yardstick only if it is the same computation: same start, batches, Adam and loss.
    import jax

    from netdata import init

    g = np.random.default_rng(0)
    steps, batch, sizes = 6, 16, [12, 8, 8, 3]
    p = impls.Problem("mlp", "mlp", 1e-2, steps, init.mlp("torch", sizes, 0),
                      g.standard_normal((2, batch, sizes[0]), dtype=np.float32), g.integers(0, 3, (2, batch)))
    dev = jax.devices("cpu")[0]
    with jax.default_matmul_precision("highest"):
        floor_losses = np.asarray(floor.floor_runner(p, dev)[0]())
        scan_losses = np.asarray(impls.jax_runner(p, "jax-scan", dev)[0]())
    assert floor_losses[-1] < floor_losses[0]  # it learns
    np.testing.assert_allclose(floor_losses, scan_losses, rtol=TOLERANCES["float32"].rel)


@pytest.mark.parametrize("case", [
    # (sizes, batch): bytes = 4 * (7 * params + 4 * batch * sum of layer widths)
    ([784, 1024, 1024, 10], 1024),
    ([3, 5, 2], 7),
])
def test_the_ceiling_adds_matmul_time_at_the_gemm_rate_to_byte_time_at_the_bandwidth(case):
    sizes, batch = case
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    nbytes = floor.mlp_bytes(sizes, batch)
    assert nbytes == 4 * (7 * params + 4 * batch * sum(sizes[1:]))
    flops = impls.mlp_matmul_flops(sizes, batch)
    # 1 GFLOP/s is 1e3 FLOPs a microsecond, 1 GB/s 1e3 bytes a microsecond
    assert math.isclose(floor.ceiling_us(flops, nbytes, 2.0, 4.0), flops / 2e3 + nbytes / 4e3)


@pytest.mark.parametrize("tool, argv", [("bench", ["--out", "{missing}/bench.json"]),
                                        ("bench", ["--memmap", "--out", "{missing}/m.json"]),
                                        ("cli", ["--json", "{missing}/cli.json"])])
def test_an_out_file_in_a_missing_folder_exits_2_with_one_line_before_any_work(tmp_path, capsys, tool, argv):
    from benchmarks import cli

    argv = [a.format(missing=tmp_path / "missing") for a in argv]
    with pytest.raises(SystemExit) as exit_:
        {"bench": bench, "cli": cli}[tool].main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "does not exist; create it first" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing written, no folder made


def test_memmap_bench_writes_its_json_with_out(tmp_path):
    out = tmp_path / "memmap.json"
    assert bench_memmap.main(["--rows", "2000", "--batch-size", "64", "--steps", "20", "--chunk", "10",
                              "--repeats", "1", "--tmp", str(tmp_path), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["rows"] == 2000 and sorted(os.listdir(tmp_path)) == ["memmap.json"]


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


@pytest.mark.parametrize("metrics, timings, compilations", [
    # a CLI from before timings were measured: only the top-level compile_s and train_s
    ({"compile_s": 0.5, "train_s": 2.0, "steps": 10}, {"compile_s": 0.5, "train_s": 2.0}, None),
    # a CLI that measures itself: timings win, compilations counted
    ({"compile_s": 0.5, "train_s": 2.0, "steps": 10, "compilations": 0,
      "timings": {"imports_s": 1.0, "compile_s": 0.5, "train_s": 2.0, "figures_s": 0.1}},
     {"imports_s": 1.0, "compile_s": 0.5, "train_s": 2.0, "figures_s": 0.1}, 0),
])
def test_cli_bench_reads_metrics_with_and_without_timings(tmp_path, metrics, timings, compilations):
    from benchmarks import cli

    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    got = cli._metrics(tmp_path)
    assert (got["timings"], got["compilations"], got["steps"]) == (timings, compilations, 10)
    assert cli._metrics(tmp_path / "missing") == {}  # a run that failed before writing: an empty row, no crash


@pytest.mark.parametrize("wall, timings, budget, within", [
    (2.5, {"train_s": 0.04, "compile_s": 0.5}, 2.54, True),
    (2.6, {"train_s": 0.04, "compile_s": 0.5}, 2.54, False),  # 0.06 s over
    (3.0, {"train_s": 0.9}, 2.9, False),  # the plain PyTorch anchor: no compile_s
    (3.0, {"train_s": 0.9, "compile_s": None}, 2.9, False),  # a torch CLI reports compile_s 0 or null
])
def test_cli_bench_holds_a_first_run_to_training_plus_compile_plus_two_seconds(wall, timings, budget, within):
    from benchmarks import cli

    row = cli.with_budget({"wall_s": wall, "timings": timings})
    assert row["budget_s"] == pytest.approx(budget) and row["within_budget"] is within
    assert "budget_s" not in cli.with_budget({"wall_s": wall, "rc": 1})  # a failed run: no timings, no verdict


def test_cli_bench_times_the_plain_torch_anchor_as_a_whole_process(tmp_path):
    from benchmarks import cli

    res = cli.bench(tmp_path, quick=True, commands={})  # the anchor alone: the commands are the slow test's
    anchor = res["anchor"]
    assert anchor["rc"] == 0, anchor
    assert anchor["steps"] == cli.QUICK_STEPS and anchor["rows"] > 0 and 0 <= anchor["test_accuracy"] <= 1
    assert anchor["wall_s"] >= anchor["timings"]["total_s"] > anchor["timings"]["train_s"] > 0
    assert anchor["timings"]["build_s"] > 0 and anchor["budget_s"] > anchor["timings"]["train_s"]
    assert anchor["cpu_s"] > 0
    cli.print_table(res)


@pytest.mark.slow
def test_cli_bench_quick_runs_every_command_twice_and_the_second_jax_run_compiles_nothing(tmp_path, capsys):
    from benchmarks import cli

    out = tmp_path / "cli.json"
    assert cli.main(["--quick", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert [(r["command"], r["run"]) for r in res["runs"]] == [(c, i) for c in cli.COMMANDS for i in (1, 2)]
    for r in res["runs"]:
        assert r["rc"] == 0 and r["steps"] == cli.QUICK_STEPS and r["wall_s"] > r["timings"]["train_s"], r
        if r["command"].startswith("jaxnet") and r["run"] == 2:
            assert r["compilations"] == 0, r  # the persistent cache of the first run
    assert res["anchor"]["rc"] == 0
    assert "plain PyTorch" in capsys.readouterr().out
