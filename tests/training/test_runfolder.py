"""training.runfolder: files appear whole or not at all, JSON stays strict, run folders never collide."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from training import runfolder
from netdata.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    runfolder.atomic_write_bytes(path, b"old")
    runfolder.atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents" and leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_the_old_file_survives_a_write_that_fails_midway(tmp_path, monkeypatch, failing):
    path = tmp_path / "f.bin"
    runfolder.atomic_write_bytes(path, b"old complete file")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "write":  # the disk fills after part of the data is written
        real_fdopen = os.fdopen

        class HalfFile:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])
                boom()

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfFile(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError):
        runfolder.atomic_write_bytes(path, b"new file that never lands" * 1000)
    monkeypatch.undo()
    assert path.read_bytes() == b"old complete file" and leftovers(tmp_path) == []


WRITER = """
import sys
from training.runfolder import atomic_write_bytes
payloads = [b"A" * 3_000_000, b"B" * 3_000_000]
print("ready", flush=True)
i = 0
while True:
    atomic_write_bytes(sys.argv[1], payloads[i % 2])
    i += 1
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_at_any_moment_leaves_one_complete_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    complete = {b"old", b"A" * 3_000_000, b"B" * 3_000_000}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for delay in (0.02, 0.11, 0.23):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert path.read_bytes() in complete


def test_new_files_get_the_users_umask_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        runfolder.atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644


def test_json_keeps_insertion_order_and_writes_non_finite_numbers_as_null(tmp_path):
    path = tmp_path / "m.json"
    runfolder.write_json(path, {"z": 1, "a": [float("nan"), np.float32(np.inf), np.float64(0.5)],
                                "m": {"step": np.int64(3), "ok": np.bool_(True), "w": np.arange(2)}})
    text = path.read_text()
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert list(strict) == ["z", "a", "m"]
    assert strict == {"z": 1, "a": [None, None, 0.5], "m": {"step": 3, "ok": True, "w": [0, 1]}}
    assert runfolder.read_json(path) == strict


def test_read_json_refuses_a_missing_or_broken_file(tmp_path):
    assert "does not exist" in str(pytest.raises(InputError, runfolder.read_json, tmp_path / "no.json").value)
    (tmp_path / "bad.json").write_text('{"a": 1,\n  oops}')
    assert "line 2" in str(pytest.raises(InputError, runfolder.read_json, tmp_path / "bad.json").value)


def test_safetensors_round_trip_keeps_metadata_scalars_and_transposed_arrays(tmp_path):
    path = tmp_path / "state.safetensors"
    w = np.arange(6, dtype=np.float32).reshape(2, 3).T  # not C-contiguous
    runfolder.write_safetensors(path, {"step": np.array(7, np.int64), "adam.mu.w": w}, {"framework": "jax"})
    tensors, metadata = runfolder.read_state(path)
    assert metadata == {"framework": "jax"}
    assert tensors["step"].shape == () and int(tensors["step"]) == 7
    np.testing.assert_array_equal(tensors["adam.mu.w"], w)


def test_a_missing_truncated_or_foreign_state_file_is_refused(tmp_path):
    path = tmp_path / "state.safetensors"
    assert "does not exist" in str(pytest.raises(InputError, runfolder.read_state, path).value)
    runfolder.write_safetensors(path, {"w": np.ones((20, 20), np.float32)})
    message = str(pytest.raises(InputError, runfolder.read_state, path).value)
    assert "lacks step" in message and "it has: w" in message
    path.write_bytes(path.read_bytes()[:-10])
    assert "truncated" in str(pytest.raises(InputError, runfolder.read_safetensors, path).value)
    path.write_bytes(b"not a safetensors file at all")
    pytest.raises(InputError, runfolder.read_safetensors, path)


def test_run_folders_are_named_by_time_and_never_reused(tmp_path):
    now = datetime(2026, 11, 29, 19, 30, 0)
    names = [runfolder.new_run_dir("jax-optim", tmp_path / "runs", now=now).name for _ in range(3)]
    assert names == ["20261129-193000-jax-optim", "20261129-193000-jax-optim-2", "20261129-193000-jax-optim-3"]
    assert all((tmp_path / "runs" / n).is_dir() for n in names)


def test_run_folder_refuses_a_path_as_prefix_and_an_unwritable_root(tmp_path):
    with pytest.raises(InputError, match="plain folder name"):
        runfolder.new_run_dir("../escape", tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="cannot create a run folder"):
        runfolder.new_run_dir("x", tmp_path / "file")


def test_figures_save_atomically_without_importing_matplotlib_up_front(tmp_path):
    probe = "import sys, training.runfolder; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "False"
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([3, 1, 2])
    runfolder.save_figure(fig, tmp_path / "loss.png")
    runfolder.save_figure(fig, tmp_path / "loss.svg")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "loss.svg").read_bytes() and leftovers(tmp_path) == []
