"""Data-parallel runs (4 host devices, 2 JAX processes, 2 torch ranks) equal the single-device run within 1e-12.

Every launcher is tested once, each on one stage, and a run started by one framework's data-parallel launch
is resumed by the other framework's, in both directions. Each test starts its launch at once and runs the
single-device references in-process while those processes start (a process costs seconds of imports).
"""

import json
import shutil

import pytest

import jaxnet.cli
import torchnet.cli
from equivalence.tolerance import TOLERANCES
from tests.parallel import launch

TOL = TOLERANCES["float64"].rel  # 1e-12: only the order of the gradient sum may differ
STAGES = {"optim": ["--stage", "optim", "--data", "linear"],
          "mlp": ["--stage", "mlp", "--data", "iris", "--hidden", "8,8"]}
COMMON = ["--dtype", "float64", "--batch-size", "16", "--chunk", "10", "--seed", "3", "--json"]
STEPS, MORE = 30, 40
MAIN = {"jax": jaxnet.cli.main, "torch": torchnet.cli.main}


def flags(stage: str, folder, steps: int = STEPS) -> list[str]:
    return [*STAGES[stage], *COMMON, "--steps", str(steps), "--out", str(folder)]


def finish(procs: list, references: list) -> list[tuple[int, str, str]]:
    """Run the in-process (framework, flags) references while `procs` run, then every process's result."""
    try:
        for framework, argv in references:
            assert MAIN[framework](argv) == 0
    except BaseException:
        launch.stop(procs)
        raise
    results = launch.wait(procs)
    for code, _, err in results:
        assert code == 0, err[-3000:]
    return results


def check_one_writer(folder, outputs: list, stage: str, device: str) -> None:
    """Only process 0 wrote the folder and printed the report; the launch flags were not saved."""
    names = {p.name for p in folder.iterdir()}
    expected = {"config.json", "weights.safetensors", "state.safetensors", "metrics.json", "loss.png"}
    assert names == expected | ({"confusion.png", "classes.json"} if stage == "mlp" else set())  # no stray file
    reports = [line for _, out, _ in outputs for line in out.splitlines() if line.startswith("{")]
    assert len(reports) == 1, reports
    assert json.loads(reports[0])["device"].split()[-2:] == [device, "data-parallel"]
    config = json.loads((folder / "config.json").read_text())
    assert not {"data_parallel", "coordinator", "num_processes", "process_id"} & set(config)


def check_equal(a, b, what: str) -> None:
    err = launch.max_rel_err(launch.state(a), launch.state(b))
    print(json.dumps({what: err}))  # the measured error, for `pytest -s`
    assert err <= TOL, (what, err)


def resume_by_the_other(stage: str, tmp_path, first: str, started, other: str, resume, device: str) -> None:
    """`first` framework's data-parallel run equals its single-device run; `other`'s data-parallel launch
    resumes it to MORE steps and equals `other`'s straight single-device run."""
    one = tmp_path / "one"
    outputs = finish(started(flags(stage, tmp_path / "parallel")), [(first, flags(stage, one))])
    check_one_writer(tmp_path / "parallel", outputs, stage, device)
    check_equal(tmp_path / "parallel", one, f"{stage} {first} data-parallel vs one device")
    resumed = shutil.copytree(tmp_path / "parallel", tmp_path / "resumed")
    outputs = finish(resume(["--resume", str(resumed), "--steps", str(MORE), "--json"]),
                     [(other, flags(stage, tmp_path / "straight", MORE))])
    check_one_writer(resumed, outputs, stage, "x2")
    assert launch.state(resumed)["step"] == MORE
    check_equal(resumed, tmp_path / "straight", f"{stage} resumed by {other} data-parallel vs straight")


def test_optim_torchrun_ranks_equal_one_device_and_two_jax_processes_resume_them(tmp_path):
    resume_by_the_other("optim", tmp_path, "torch", launch.torchrun, "jax", launch.jax_processes, "x2")


@pytest.mark.slow  # ~7 s: the optim test above covers the cross-framework resume in the quick suite; --full runs this
def test_mlp_four_jax_devices_equal_one_device_and_coordinator_torch_ranks_resume_them(tmp_path):
    resume_by_the_other("mlp", tmp_path, "jax", lambda f: launch.jax_devices(f, 4), "torch", launch.torch_processes,
                        "x4")
