"""A JAX CLI run compiles each of its programs once, before the first step; the same run again compiles nothing."""

import json

import jax
import pytest

from jaxnet import compiling
from jaxnet import train as jaxtrain
from tests.cli.helpers import run, train
from training import timings

# What is compiled depends on the shapes, not on how long the run trains. Programs loaded from the suite's cache
# count as well: the mlp run is tests/cli/test_mlp_cli.py's digits run (100 steps, one chunk), whose programs it loads
# instead of compiling them again (a cold compile of the mlp costs seconds); the module run compiles them all.
RUNS = {
    "module, the lecture's problem": ("--steps", "20", "--no-cache"),
    "mlp on digits": ("--stage", "mlp", "--data", "digits", "--steps", "100"),
}
HANDFUL = 6  # build, a chunk of steps, the loss, predict on validation and on test rows: each once


# The tests that call jax.clear_caches() run last on their worker (tests/conftest.py): afterwards it would trace and
# load from disk again every program it had in memory.
CLEARS_CACHES = pytest.mark.xdist_group("clears-jax-caches")


@CLEARS_CACHES
@pytest.mark.parametrize("flags", RUNS.values(), ids=RUNS)
def test_a_run_compiles_a_handful_of_programs_and_runs_each_chunk_once(capsys, tmp_path, monkeypatch, flags):
    chunks = []
    real = jaxtrain.Backend.run_chunk
    def run_chunk(self, trainer, start, steps):
        chunks.append((start, steps))
        return real(self, trainer, start, steps)

    monkeypatch.setattr(jaxtrain.Backend, "run_chunk", run_chunk)
    jax.clear_caches()  # as in a new process: nothing compiled by earlier tests is reused
    m = train(capsys, "jax", *flags, "--out", str(tmp_path / "run"))
    assert 1 <= m["compilations"] + m["cache_hits"] <= HANDFUL, (m["compilations"], m["cache_hits"])
    assert m["cache_hits"] == 0 or "--no-cache" not in flags
    assert sorted(chunks) == chunks and len(set(chunks)) == len(chunks)  # no warm-up: no chunk runs twice
    assert sum(steps for _, steps in chunks) == m["steps_this_run"] == int(flags[flags.index("--steps") + 1])


@CLEARS_CACHES
def test_a_second_identical_run_compiles_nothing_and_says_so(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("JAXNET_CACHE_DIR", str(tmp_path / "cache"))
    flags = ("--steps", "20")
    before = {name: getattr(jax.config, name) for name in compiling.FLAGS}
    jax.clear_caches()
    first = train(capsys, "jax", *flags, "--out", str(tmp_path / "first"))
    jax.clear_caches()  # only the cache folder carries programs from one run to the next, as between processes
    code, out, err = run(capsys, "jax", *flags, "--out", str(tmp_path / "second"))
    second = json.loads((tmp_path / "second" / "metrics.json").read_text())
    assert code == 0, err
    assert first["compilations"] >= 1 and first["cache_hits"] == 0
    assert second["compilations"] == 0 and second["cache_hits"] == first["compilations"]
    assert f"0 compiled, {first['compilations']} from the cache" in out
    assert second["final_loss"] == first["final_loss"]
    assert {name: getattr(jax.config, name) for name in compiling.FLAGS} == before  # the caller's settings are back


def test_metrics_say_where_the_seconds_went(capsys, tmp_path):
    m = train(capsys, "jax", "--steps", "20", "--out", str(tmp_path / "run"))
    t = m["timings"]
    assert set(t) == set(timings.KEYS) and all(v >= 0 for v in t.values())
    assert (t["compile_s"], t["train_s"]) == (m["compile_s"], m["train_s"])
    assert t["total_s"] >= sum(v for k, v in t.items() if k != "total_s") - 1e-6


@pytest.mark.parametrize("environ, expected", [
    ({"JAXNET_CACHE_DIR": "/data/xla", "XDG_CACHE_HOME": "/c"}, "/data/xla"),
    ({"XDG_CACHE_HOME": "/c"}, "/c/jaxnet/xla"),
    ({"HOME": "/home/u"}, None),  # ~/.cache/jaxnet/xla
], ids=["JAXNET_CACHE_DIR", "XDG_CACHE_HOME", "home"])
def test_the_cache_folder_follows_the_environment(environ, expected):
    folder = compiling.cache_dir(environ)
    assert str(folder) == expected if expected else folder.parts[-3:] == (".cache", "jaxnet", "xla")


def test_an_unwritable_cache_folder_warns_and_the_run_goes_on(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert compiling.usable(blocker / "xla", "jaxnet-train") is None
    assert "jaxnet-train: warning: compilation cache" in capsys.readouterr().err
