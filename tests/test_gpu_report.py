"""scripts/gpu-check's report, from planted step outputs: timeouts, skips, failures, TF32 and --deterministic."""

import json
import re
from pathlib import Path

import pytest

from benchmarks import gpu_report

ROOT = Path(__file__).resolve().parents[1]


def eq_rows(err: float, fail: bool = False) -> list[dict]:
    rows = [{"stage": "optim", "quantity": q, "pair": pair, "rel_err": err, "tol": 1e-5, "passed": True,
             "first_bad_step": None} for q in ("predictions", "update") for pair in ("torch-jax", "jax-reference")]
    if fail:
        rows.append({"stage": "mlp", "quantity": "trajectory", "pair": "torch-jax", "rel_err": 3e-2, "tol": 1e-2,
                     "passed": False, "first_bad_step": 17})
    return rows


def cli_run(folder: Path, weights: bytes, steps_per_s: float) -> dict:
    folder.mkdir()
    (folder / "weights.safetensors").write_bytes(weights)
    return {"framework": "jax", "device": "gpu:H200", "steps": 1000, "initial_loss": 2.3, "final_loss": 1e-5,
            "compile_s": 3.1, "steps_per_s": steps_per_s, "test_accuracy": 0.976, "run_folder": str(folder)}


def plant(out: Path, second_weights: bytes = b"same") -> Path:
    out.mkdir()
    steps = [("env", "0"), ("eq-float32-highest", "0"), ("eq-float32-default", "1"), ("eq-float64", "124"),
             ("bench-seed-highest", "0"), ("bench-mlp-highest", "skipped"), ("bench-cli", "0"), ("cli-mlp-compare", "0"),
             ("cli-mlp-deterministic-1", "0"), ("cli-mlp-deterministic-2", "0")]
    (out / "steps.tsv").write_text("step\trc\tseconds\tlimit_s\n" + "".join(f"{n}\t{rc}\t9\t75\n" for n, rc in steps))
    outputs = {
        "env": {"python": "3.12.3", "jax": "0.11.2", "torch_cuda": "NVIDIA H200", "jax_devices": ["cuda:0"]},
        "eq-float32-highest": {"passed": True, "results": eq_rows(1e-7)},
        "eq-float32-default": {"passed": False, "results": eq_rows(1e-4, fail=True)},
        "bench-seed-highest": {"jax_device": "gpu:NVIDIA H200", "steps_per_call": 500, "load_avg_start_end": [1, 1],
                               "peak_gflops": None, "results": [
                                   {"impl": "torch-eager", "us_per_step": 800.0, "x_vs_torch_eager": 1.0, "compile_s": 0.2},
                                   {"impl": "torch-cudagraph", "us_per_step": 15.0, "x_vs_torch_eager": 53.33,
                                    "compile_s": 0.9},
                                   {"impl": "jax-scan", "us_per_step": 13.0, "x_vs_torch_eager": 61.5, "compile_s": 0.4,
                                    "x_vs_best_torch": 1.15, "x_of_floor": 1.1}], "best_torch": "torch-cudagraph"},
        "bench-cli": {"runs": [{"command": "jaxnet-train", "run": 2, "rc": 0, "wall_s": 4.2, "cpu_s": 3.9,
                                "timings": {"imports_s": 2.1, "compile_s": 0.0, "train_s": 0.05, "figures_s": 0.3,
                                            "writes_s": 0.02}, "compilations": 0, "steps": 5000}],
                      "anchor": {"command": "plain PyTorch", "rc": 0, "wall_s": 3.0, "cpu_s": 2.8, "steps": 1000,
                                 "timings": {"imports_s": 1.5, "train_s": 0.9}}},
        "cli-mlp-compare": cli_run(out / "plain", b"other", 1000.0),
        "cli-mlp-deterministic-1": cli_run(out / "det1", b"same", 500.0),
        "cli-mlp-deterministic-2": cli_run(out / "det2", second_weights, 500.0),
    }
    for name, data in outputs.items():
        (out / f"{name}.json").write_text(json.dumps(data))
    (out / "eq-float64.json").write_text('{"passed": tr')  # cut short by the timeout
    (out / "eq-float64.err").write_text("compiling\nstill compiling\n")
    return out


def test_the_report_says_what_timed_out_was_skipped_failed_and_how_far_tf32_moves(tmp_path, capsys):
    out = plant(tmp_path / "out")
    assert gpu_report.main([str(out), "gpu", "250", "2000"]) == gpu_report.EXIT_INCOMPLETE
    text = (out / "report.md").read_text()
    printed = capsys.readouterr()
    assert text == printed.out
    assert printed.err.count("\n") == 1 and "eq-float64 (timed out after 9 s)" in printed.err
    assert "bench-mlp-highest (skipped, out of time)" in printed.err
    assert "**INCOMPLETE: 2 of 10 steps did not run to the end: eq-float64 (timed out after 9 s), " in text
    assert "- device: NVIDIA H200; jax devices ['cuda:0']" in text
    assert "| eq-float64 | TIMED OUT after 75 s | 9 | 75 |" in text
    assert "| bench-mlp-highest | skipped (out of time) | 9 | 75 |" in text
    assert "### eq-float32-default: FAILED" in text
    assert "- FAIL mlp trajectory torch-jax: rel_err 3.00e-02 > tol 1e-02 (first bad step 17)" in text
    assert "| predictions | 1.00e-07 (optim) | 1.00e-04 (optim) | 1000.0 |" in text
    assert "| jax-scan | 13.0 | 61.50 | 1.15 | 0.40 | - | - | - |  |" in text
    assert "best torch row: torch-cudagraph; jax-scan takes 1.10x jax-floor's time" in text
    assert "| torch-cudagraph | 15.0 | 53.33 | - | 0.90 | - | - | - |  |" in text
    assert "| jaxnet-train | 2 | 0 | 4.20 | 3.90 | 2.10 | - | 0.00 | 0.05 | - | 0.30 | 0.02 | 0 | 5000 |" in text
    assert "| plain PyTorch | 1 | 0 | 3.00 | 2.80 | 1.50 | - | - | 0.90 | - | - | - | - | 1000 |" in text
    assert "two runs wrote the same weights.safetensors bytes; 0.50x the steps/s" in text
    assert not list(out.glob("*.tmp"))


def test_a_check_where_every_step_ran_exits_0_and_says_so(tmp_path, capsys):
    out = plant(tmp_path / "out")
    rows = (out / "steps.tsv").read_text().replace("\t124\t", "\t1\t").replace("\tskipped\t", "\t0\t")
    (out / "steps.tsv").write_text(rows)
    assert gpu_report.main([str(out), "gpu", "250", "2000"]) == 0
    assert "All 10 steps ran to the end." in capsys.readouterr().out


def test_a_cpu_check_names_no_tf32_step_it_did_not_run(tmp_path):
    out = plant(tmp_path / "out")
    rows = [r for r in (out / "steps.tsv").read_text().splitlines(keepends=True) if "float32-default" not in r]
    (out / "steps.tsv").write_text("".join(rows))
    text = gpu_report.render(out, "cpu", "150", "50")
    assert "eq-float32-default" not in text and "not measured: precision default means TF32" in text


def test_two_deterministic_runs_that_differ_are_reported_as_different(tmp_path):
    text = gpu_report.render(plant(tmp_path / "out", second_weights=b"changed"), "gpu", "250", "2000")
    assert "two runs wrote DIFFERENT weights.safetensors bytes" in text


@pytest.mark.parametrize("group", ["EQ_STEPS", "BENCH_STEPS", "CLI_STEPS"])
def test_every_step_the_script_runs_has_a_place_in_the_report(group):
    script = (ROOT / "scripts" / "gpu-check").read_text()
    ran = set(re.findall(r"^\s*step ([a-z0-9-]+) ", script, flags=re.M)) - {"env"}
    prefix = {"EQ_STEPS": "eq-", "BENCH_STEPS": "bench-", "CLI_STEPS": "cli-"}[group]
    assert {n for n in ran if n.startswith(prefix)} == set(getattr(gpu_report, group))


@pytest.mark.parametrize("args, says", [
    (["{tmp}", "tpu", "250", "2000"], "invalid choice: 'tpu'"),
    (["{tmp}", "gpu", "soon", "2000"], "invalid int value: 'soon'"),
    (["{tmp}", "gpu", "250", "0"], "must be at least 1"),
    (["{tmp}/nowhere", "gpu", "250", "2000"], "has no steps.tsv"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args, says):
    with pytest.raises(SystemExit) as info:
        gpu_report.main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert info.value.code == 2 and says in err and err.count("\n") == 1
