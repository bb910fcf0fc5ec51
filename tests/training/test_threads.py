"""--threads: set for the framework before it starts, from the flag, else OMP_NUM_THREADS, else the default."""

import pytest

from training import config, traincli
from training.threads import set_threads

CASES = {  # name: (framework, --threads, environment before, what must be set after)
    "torch default": ("torch", None, {}, {"OMP_NUM_THREADS": str(config.DEFAULT_THREADS)}),
    "torch flag": ("torch", 2, {}, {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}),
    "torch keeps the user's OMP_NUM_THREADS": ("torch", None, {"OMP_NUM_THREADS": "3"}, {"OMP_NUM_THREADS": "3"}),
    "the flag beats OMP_NUM_THREADS": ("torch", 1, {"OMP_NUM_THREADS": "3"}, {"OMP_NUM_THREADS": "1"}),
    "jax one thread": ("jax", 1, {"XLA_FLAGS": "--xla_dump_to=x"},
                       {"XLA_FLAGS": "--xla_dump_to=x --xla_cpu_multi_thread_eigen=false"}),
    "jax keeps the user's eigen flag": ("jax", 1, {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"},
                                        {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true"}),
}


@pytest.mark.parametrize("case", CASES)
def test_threads_are_set_before_the_framework_starts(case):
    framework, threads, env, after = CASES[case]
    env = dict(env)
    set_threads(threads, framework, env)
    assert {k: env.get(k) for k in after} == after


def test_jax_with_more_threads_leaves_xla_its_own_pool():
    env = {}
    set_threads(2, "jax", env)
    assert "XLA_FLAGS" not in env


def test_the_flag_is_parsed_and_checked():
    assert traincli.parser("t").parse_args(["--threads", "2"]).threads == 2
    with pytest.raises(SystemExit):
        traincli.parser("t").parse_args(["--threads", "0"])
