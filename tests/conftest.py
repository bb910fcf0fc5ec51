"""Test-wide settings: one thread per framework per worker, so pytest-xdist workers do not fight."""

import os
import subprocess
import sys
import tempfile

pytest_plugins = ["tests.litter"]  # the suite fails if it changes the checkout's runs/

# XLA reads these when jax is first imported; the tests' arrays are tiny, threads only add contention.
os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the CLI subprocesses the tests start
# One compilation cache for every worker and every CLI subprocess of this run: the same programs
# (a stage's scan at a given shape) are compiled once instead of once per process.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "torch-jax-lecture-xla-cache"))
# The CLIs' own cache setting (jaxnet/compiling.py), the same folder: no test run writes to ~/.cache.
os.environ.setdefault("JAXNET_CACHE_DIR", os.environ["JAX_COMPILATION_CACHE_DIR"])
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# The quick suite compiles ~1000 small programs from a cold cache, so it asks XLA to compile fast: the classic CPU
# fusion emitters, not the MLIR ones (one eager op: 27 -> 19 ms), and no LLVM optimisation passes (as jaxnet.train's
# evaluation programs do): the whole suite 248 -> 188 -> 163 CPU-s. Results differ from XLA's defaults by rounding
# only (e.g. no fused multiply-adds); every test compares numbers within the tolerance table, never printed digits,
# so it passes either way. These are XLA's private flags, and XLA aborts the process on one it does not know (jaxlib
# 0.12 dropped the fusion emitters' flag): the controller asks a child process which the installed XLA accepts, and
# the workers and every subprocess inherit only those. With --full (what CI runs) the suite compiles with XLA's
# defaults, the programs users run. Only the controller's command line (or PYTEST_ADDOPTS) says --full.
FULL = "--full" in sys.argv[1:] + os.environ.get("PYTEST_ADDOPTS", "").split()
BASE_FLAGS = ["--xla_cpu_multi_thread_eigen=false"]
FAST_FLAGS = ["--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=0"]


def accepted_xla_flags(flags: list[str]) -> list[str]:
    """Those of `flags` the installed XLA accepts, tried in child processes (one with all of them, ~1 s; one per flag,
    in parallel, if that one fails), since an unknown flag in XLA_FLAGS aborts the process that reads it."""
    def start(tried: list[str]) -> subprocess.Popen:
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": "", "XLA_FLAGS": " ".join(tried)}
        return subprocess.Popen([sys.executable, "-c", "import jax; jax.devices()"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    if start(flags).wait() == 0:
        return flags
    children = [(flag, start([flag])) for flag in flags]
    return [flag for flag, child in children if child.wait() == 0]


if "XLA_FLAGS" not in os.environ and "PYTEST_XDIST_WORKER" not in os.environ:
    os.environ["XLA_FLAGS"] = " ".join(BASE_FLAGS + ([] if FULL else accepted_xla_flags(FAST_FLAGS)))
# The suite proves the CPU claims (bit-identical resume, 1e-10 against the oracle) and must pass alike on a
# machine with a GPU: there each xdist worker's JAX took 75 % of an H200's memory and the rest ran out, and
# "--device gpu where there is none" cannot be tested. So the GPU is hidden; scripts/gpu-check covers it.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["JAX_PLATFORMS"] = "cpu"

import gc  # noqa: E402

import pytest  # noqa: E402

# pytest-xdist (--dist loadgroup) hands each worker one unit at a time: an xdist_group, else a whole file (so its tests
# reuse the programs they compile in memory: from a cold cache ~100 fewer compilations and loads). Units go out in
# this order, the biggest first (CPU-s, cold cache, 2 workers), so neither worker is left with a long one at the end;
# the rest follow in collection order, and the tests that clear JAX's caches come last (scripts/test passes
# --no-loadscope-reorder, which keeps this order instead of sorting the units by their number of tests).
BIGGEST_FIRST = ("port-hf",  # ~25: six Hugging Face models and their twins, transformers imported
                 "port-zoo",  # ~30: every zoo test of equivalence.port, whose NNX operations compile once for all
                 "tests/parallel/test_data_parallel.py",  # 24.5, its processes included
                 "tests/docs/test_notebooks.py",  # 11.7
                 "tests/translate/test_matrix.py", "lesson-programs", "tests/test_mlp.py",  # 9.4, 9.3, 8.1
                 "tests/test_benchmarks_smoke.py", "tests/cli/test_crash_safety.py", "tests/cli/test_train_runs.py",
                 "tests/docs/test_exercises.py", "tests/cli/test_interrupt.py", "torch-suite", "tests/cli/test_mlp_cli.py",
                 "tests/translate/test_losses.py",  # 3.6
                 "tests/test_boundaries.py", "tests/test_equivalence_checks.py", "tests/translate/test_schedules.py",
                 "tests/cli/test_compare.py", "tests/parallel/test_rules.py", "tests/translate/test_pitfalls.py")
LAST = "clears-jax-caches"  # jax.clear_caches(): the worker would trace and load again every program it had in memory


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="also run the tests marked slow: the long versions (5000 steps, many kill rounds, "
                          "deep hypothesis searches) of checks the default suite makes in short form")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long version of a check; runs only with --full")
    config.pluginmanager.register(_FileGroups(), "tests-file-groups")
    if not (getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")):
        import torch  # where tests run: not in pytest-xdist's controller, which only hands them out (1.5 CPU-s)

        torch.set_num_threads(1)
    if config.getoption("--full"):  # read at import by tests.cli.helpers.examples: the deep hypothesis searches
        os.environ["TESTS_FULL"] = "1"


class _FileGroups:
    @pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the xdist_group marks
    def pytest_collection_modifyitems(self, items):
        """Every test without an xdist_group of its own runs on the worker that runs the rest of its file."""
        for item in items:
            if not item.get_closest_marker("xdist_group"):
                item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own hook, which names each item's xdist_group
def pytest_collection_modifyitems(config, items):
    _keep_xdist_groups(items)
    if not config.getoption("--full"):
        skip = pytest.mark.skip(reason="a long version: run with --full (bash scripts/test --full)")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
    # With --full the 5000-step lecture run of every stage (tests/test_docs.py, ~250 CPU-s) is the biggest unit by far:
    # it goes first, or it starts last on one worker while the other idles (CI: 404 s of pytest, ~100 s of it alone).
    full_first = ("tests/test_docs.py",) if config.getoption("--full") else ()
    items.sort(key=lambda item: -1 if item.nodeid.split("::")[0] in full_first else _order(item))


def pytest_collection_finish(session):
    """jax, torch, flax and the collected tests are a few million long-lived objects: freezing them takes them out of
    every later garbage collection (~1 of every 15 CPU-s of a worker was spent re-scanning them)."""
    gc.collect()
    gc.freeze()


def _order(item) -> int:
    group = item.get_closest_marker("xdist_group")
    unit = group.args[0] if group and group.args else item.nodeid.split("::")[0]
    if unit == LAST:
        return len(BIGGEST_FIRST) + 1
    return BIGGEST_FIRST.index(unit) if unit in BIGGEST_FIRST else len(BIGGEST_FIRST)


def _keep_xdist_groups(items):
    """--dist loadgroup sends an xdist_group's tests to one worker by the "@group" suffix of their node ids.
    pytest-xdist 3.8 writes that suffix to `item._nodeid`, which pytest 9.2 no longer reads (a node id is
    `item._id`), so every group was spread over the workers and its module fixture computed on each. Copy it."""
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest reads `_nodeid` itself
        return
    for item in items:
        suffixed = getattr(item, "_nodeid", None)
        if isinstance(suffixed, str) and suffixed != item.nodeid and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(suffixed)
