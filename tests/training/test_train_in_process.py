"""`training.train(config, out)`: a stage trained in-process from a typed config, as the CLI trains it."""

import json

import pytest

from netdata.errors import InputError
from training import config, runfolder
from training import train


def test_a_typed_config_trains_in_process_and_writes_the_cli_run_folder(tmp_path):
    cfg = config.for_stage("optim", steps=20, data="linear", dtype="float64")
    metrics = train(cfg, tmp_path / "run", "jax")
    assert metrics["steps"] == 20 and metrics["final_loss"] < metrics["initial_loss"]
    assert json.loads((tmp_path / "run" / runfolder.CONFIG).read_text())["stage"] == "optim"
    assert (tmp_path / "run" / runfolder.METRICS).is_file()


def test_for_stage_applies_the_stage_defaults_the_cli_applies():
    assert config.for_stage("mlp") == config.resolve(config.argparse.Namespace(stage="mlp", preset=None))
    assert config.for_stage("mlp", lr=0.5).lr == 0.5


@pytest.mark.parametrize("stage, fields", [("nope", {}), ("mlp", {"learning_rate": 1.0}), ("mlp", {"steps": 5, "epochs": 3})])
def test_for_stage_refuses_an_unknown_stage_or_setting_in_one_line(stage, fields):
    with pytest.raises(InputError):
        config.for_stage(stage, **fields)


def test_train_refuses_a_folder_that_holds_a_run(tmp_path):
    cfg = config.for_stage("module", steps=5)
    train(cfg, tmp_path, "jax")
    with pytest.raises(InputError, match="already holds a run"):
        train(cfg, tmp_path, "jax")
