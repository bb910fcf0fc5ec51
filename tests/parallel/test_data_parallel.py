"""Data-parallel runs (4 host devices, 2 JAX processes, 2 torch ranks) equal the single-device run within 1e-12.

One test per stage starts all of that stage's runs at once (their start-up overlaps), so pytest-xdist
can give the two stages to two workers without starting any run twice.
"""

import json
import shutil

import jaxnet.cli
import torchnet.cli
from equivalence.tolerance import TOLERANCES
from tests.parallel import launch

TOL = TOLERANCES["float64"].rel  # 1e-12: only the order of the gradient sum may differ
STAGES = {"optim": ["--stage", "optim", "--data", "linear"],
          "mlp": ["--stage", "mlp", "--data", "iris", "--hidden", "8,8"]}
COMMON = ["--dtype", "float64", "--batch-size", "16", "--chunk", "10", "--seed", "3", "--json"]
STEPS, MORE = 30, 40
# torch's two ranks: torchrun for optim, --coordinator for mlp, so both ways of starting them are tested.
TORCH2 = {"optim": launch.torchrun, "mlp": launch.torch_processes}


def train(stage: str, tmp_path):
    """Every run of one stage: name -> (folder, [(exit code, stdout, stderr) per process])."""
    def flags(name: str, steps: int = STEPS) -> list[str]:
        return [*STAGES[stage], *COMMON, "--steps", str(steps), "--out", str(tmp_path / name)]

    procs = {"jax4": launch.jax_devices(flags("jax4"), 4), "jax2p": launch.jax_processes(flags("jax2p")),
             "torch2": TORCH2[stage](flags("torch2"))}
    try:
        for name, main in (("jax1", jaxnet.cli.main), ("torch1", torchnet.cli.main)):  # here, while those start
            assert main(flags(name)) == 0
    except BaseException:
        launch.stop([p for group in procs.values() for p in group])
        raise
    outputs = {name: launch.wait(p) for name, p in procs.items()}
    for name, results in outputs.items():
        for code, _, err in results:
            assert code == 0, f"{stage} {name}: {err[-3000:]}"
    devices = {name: json.loads(out)["device"] for name, results in outputs.items() for _, out, _ in results if out}
    assert [devices[k].split()[-2:] for k in procs] == [["x4", "data-parallel"]] + [["x2", "data-parallel"]] * 2
    return {name: (tmp_path / name, outputs.get(name)) for name in ("jax1", "torch1", *procs)}


def errors(runs: dict, pairs: list[tuple[str, str]]) -> dict[str, float]:
    out = {f"{a} vs {b}": launch.max_rel_err(launch.state(runs[a][0]), launch.state(runs[b][0])) for a, b in pairs}
    print(json.dumps(out))  # the measured errors, for `pytest -s`
    return out


PAIRS = [("jax4", "jax1"), ("jax2p", "jax1"), ("torch2", "torch1"),  # each equals its single-device run
         ("jax4", "torch2"), ("jax2p", "torch2")]  # and the frameworks' data-parallel runs agree


def check_one_writer(folder, outputs: list, stage: str) -> None:
    """Only process 0 wrote the folder and printed the report; the launch flags were not saved."""
    names = {p.name for p in folder.iterdir()}
    expected = {"config.json", "weights.safetensors", "state.safetensors", "metrics.json", "loss.png"}
    assert names == expected | ({"confusion.png"} if stage == "mlp" else set())  # no stray temporary file
    reports = [line for _, out, _ in outputs for line in out.splitlines() if line.startswith("{")]
    assert len(reports) == 1, reports
    assert "data-parallel" in json.loads(reports[0])["device"]
    config = json.loads((folder / "config.json").read_text())
    assert not {"data_parallel", "coordinator", "num_processes", "process_id"} & set(config)


def test_optim_data_parallel_runs_equal_one_device_and_resume_anywhere(tmp_path):
    runs = train("optim", tmp_path)
    for pair, err in errors(runs, PAIRS).items():
        assert err <= TOL, pair
    for kind in ("jax2p", "torch2"):
        check_one_writer(*runs[kind][:2], "optim")
    # The 2-rank torch run, resumed by 2 JAX processes (each reads the folder, process 0 writes it),
    # equals one straight single-device run.
    resumed = shutil.copytree(tmp_path / "torch2", tmp_path / "resumed")
    procs = launch.jax_processes(["--resume", str(resumed), "--steps", str(MORE), "--json"])
    assert jaxnet.cli.main([*STAGES["optim"], *COMMON, "--steps", str(MORE), "--out", str(tmp_path / "longer")]) == 0
    for code, _, err in launch.wait(procs):
        assert code == 0, err[-3000:]
    assert launch.state(resumed)["step"] == MORE
    err = launch.max_rel_err(launch.state(resumed), launch.state(tmp_path / "longer"))
    print(json.dumps({"resumed vs straight": err}))
    assert err <= TOL


def test_mlp_data_parallel_runs_equal_one_device(tmp_path):
    runs = train("mlp", tmp_path)
    for pair, err in errors(runs, PAIRS).items():
        assert err <= TOL, pair
    for kind in ("jax2p", "torch2"):
        check_one_writer(*runs[kind][:2], "mlp")
