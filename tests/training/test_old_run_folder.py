"""A run folder written before the house was rebuilt (commit 7b027a1) still resumes in both frameworks."""

import json
import shutil
from pathlib import Path

import pytest

import jaxnet.cli
import torchnet.cli
from training import runfolder
from training.config import RunConfig

OLD = Path(__file__).parent / "data" / "run-before-house"
MAIN = {"jax": jaxnet.cli.main, "torch": torchnet.cli.main}


@pytest.mark.parametrize("written_by", ["jax", "torch"])
@pytest.mark.parametrize("resumed_by", ["jax", "torch"])
def test_an_old_run_folder_resumes_in_either_framework_and_keeps_its_settings(tmp_path, written_by, resumed_by):
    folder = shutil.copytree(OLD / written_by, tmp_path / "run")
    before = json.loads((folder / runfolder.CONFIG).read_text())
    assert MAIN[resumed_by](["--resume", str(folder), "--steps", "60", "--json"]) == 0
    state, _ = runfolder.read_state(folder / runfolder.STATE, required=("step",))
    assert int(state["step"]) == 60
    after = json.loads((folder / runfolder.CONFIG).read_text())
    assert after == before | {"steps": 60} and set(after) == {f for f in RunConfig.__dataclass_fields__}  # the old defaults kept
    metrics = json.loads((folder / runfolder.METRICS).read_text())
    assert metrics["resumed_from_step"] == 40 and metrics["framework"] == resumed_by
    old_metrics = json.loads((OLD / written_by / runfolder.METRICS).read_text())
    assert set(old_metrics) <= set(metrics)  # every field an old reader knew is still written
