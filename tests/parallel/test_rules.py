"""The data-parallel rules: a batch must split evenly over the devices, and the launch flags go together."""

import argparse
import re

import pytest

from netdata.stages import STAGES
from training import shards, traincli
from netdata.errors import InputError
from tests.cli.helpers import run
from tests.parallel import launch


def test_each_part_owns_one_contiguous_block_and_together_they_are_the_batch():
    for batch, parts in ((16, 4), (6, 2), (7, 7), (12, 3)):
        blocks = [shards.rows(batch, parts, p) for p in range(parts)]
        assert blocks[0][0] == 0 and blocks[-1][1] == batch
        assert all(a[1] == b[0] and a[1] - a[0] == batch // parts for a, b in zip(blocks, blocks[1:]))


@pytest.mark.parametrize("batch,parts,hint", [(30, 4, "--batch-size 28 or 32"), (3, 4, "--batch-size 4"),
                                              (15, 2, "--batch-size 14 or 16")])
def test_a_batch_that_does_not_divide_is_refused_with_the_nearest_multiples(batch, parts, hint):
    with pytest.raises(InputError, match=f"multiple of {parts}, e.g. {hint}$"):
        shards.check_divides(batch, parts, "devices")
    shards.check_divides(batch - batch % parts or parts, parts, "devices")  # a multiple passes


def test_the_whole_data_set_as_the_batch_follows_the_same_rule():
    with pytest.raises(InputError, match=r"the whole data set \(150 rows, no --batch-size\) .* 4 devices"):
        shards.check_divides(150, 4, "devices", full=True)


def test_four_host_devices_refuse_batch_30_with_one_line_and_exit_2(tmp_path):
    (code, out, err), = launch.wait(launch.jax_devices(["--stage", "optim", "--data", "linear", "--batch-size", "30",
                                                        "--steps", "5", "--out", str(tmp_path / "run")], 4))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == ["jaxnet-train: error: --batch-size 30 does not split evenly over 4 devices; "
                                        "use a multiple of 4, e.g. --batch-size 28 or 32"]
    assert not (tmp_path / "run" / "state.safetensors").exists()


def test_two_torch_ranks_refuse_batch_15_before_joining(capsys, tmp_path):
    # Checked before the process group forms: rank 0 exits at once instead of waiting for rank 1.
    code, _, err = run(capsys, "torch", "--stage", "optim", "--data", "linear", "--batch-size", "15", "--steps", "5",
                       "--data-parallel", "--coordinator", f"127.0.0.1:{launch.free_port()}", "--num-processes", "2",
                       "--process-id", "0", "--out", str(tmp_path / "run"))
    assert code == 2 and "does not split evenly over 2 ranks; use a multiple of 2" in err
    assert len(err.strip().splitlines()) == 1


def test_under_torchrun_a_bad_flag_is_said_once_and_every_rank_exits_2():
    # torchnet.cli parses the flags before torch loads, so the ranks cost little. torchrun itself still
    # prints its ChildFailedError summary and exits 1: no rank can set the launcher's own exit status.
    (code, out, err), = launch.wait(launch.torchrun(["--stage", "optim", "--steps", "0"], 3, "torchnet.cli"))
    ours = [line for line in err.splitlines() if line.startswith("torchnet-train: error:")]
    assert ours == ["torchnet-train: error: argument --steps: 0 must be at least 1 (see torchnet-train --help)"]
    assert code == 1 and out == ""
    root_cause = err.split("Root Cause")[1]
    assert "rank      : 0 (local_rank: 0)" in root_cause and "exitcode  : 2 " in root_cause
    codes = re.findall(r"exitcode  : (-?\d+)", err)  # the others exit 2 too, or torchrun has stopped them
    assert len(codes) >= 1 and set(codes) <= {"2", "-15"}, codes


@pytest.mark.parametrize("framework", ["jax", "torch"])
@pytest.mark.parametrize("stage", [name for name, s in STAGES.items() if s.no_data_parallel])
def test_stages_the_table_refuses_for_data_parallel_are_refused_with_the_reason(capsys, tmp_path, framework, stage):
    code, _, err = run(capsys, framework, "--stage", stage, "--steps", "5", "--data-parallel", "--coordinator",
                       "127.0.0.1:1", "--num-processes", "2", "--process-id", "0", "--out", str(tmp_path / "run"))
    assert code == 2 and f"--data-parallel does not run --stage {stage}: {STAGES[stage].no_data_parallel}" in err
    assert len(err.strip().splitlines()) == 1


def test_torch_without_torchrun_or_coordinator_says_how_to_start_it(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    code, _, err = run(capsys, "torch", "--data-parallel", "--steps", "5", "--out", str(tmp_path / "run"))
    assert code == 2 and "torchrun --nproc-per-node N -m torchnet.cli --data-parallel" in err


@pytest.mark.parametrize("flags,message", [
    (["--coordinator", "127.0.0.1:1234"], "--coordinator only applies with --data-parallel"),
    (["--data-parallel", "--num-processes", "2"], "go together: give all three"),
    (["--data-parallel", "--coordinator", "nohostport", "--num-processes", "2", "--process-id", "0"],
     "is not HOST:PORT"),
    (["--data-parallel", "--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "2"],
     "must be between 0 and --num-processes - 1"),
])
def test_launch_flags_are_checked(flags, message):
    with pytest.raises(InputError, match=message):
        shards.launch(traincli.parse(flags, "jax"), "jax")


def test_torchrun_environment_names_the_rank_and_process_0_alone_writes():
    args = argparse.Namespace(data_parallel=True, coordinator=None, num_processes=None, process_id=None)
    env = {"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}
    got = shards.launch(args, "torch", env)
    assert (got.num_processes, got.process_id, got.local_rank, got.writer) == (4, 2, 0, False)
    assert shards.launch(args, "jax", env).writer  # JAX ignores torchrun's variables: one process, all devices
