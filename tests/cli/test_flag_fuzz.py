"""Any command line either trains or is refused with exit code 2 and one line: never a crash or a hang."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.helpers import examples, run

VALUES = st.one_of(st.sampled_from(["0", "-1", "1", "2", "3", "1e-3", "nan", "inf", "", "x", "64,64", "0.5",
                                    "seed", "linear", "iris", "float64", "gpu", "cpu", "auto", "mlp", "nn",
                                    "optim", "zeros", "constant", "/nonexistent", "a,b"]),
                   st.text(max_size=6))
FLAGS = ["--stage", "--steps", "--lr", "--batch-size", "--seed", "--data", "--target", "--init", "--hidden",
         "--test-fraction", "--device", "--dtype", "--precision", "--chunk", "--save-every", "--preset"]
SWITCHES = ["--check-numerics", "--deterministic", "--json"]


@settings(max_examples=examples(10, 100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.sampled_from(FLAGS), VALUES), max_size=4),
       switches=st.lists(st.sampled_from(SWITCHES), max_size=2, unique=True))
def test_random_flags_train_or_exit_2_with_one_line(capsys, tmp_path_factory, pairs, switches):
    argv = [part for flag, value in pairs for part in (flag, value)] + switches
    # A short run whatever else was drawn: the property is about parsing and validation, not speed.
    argv += ["--steps", "3", "--out", str(tmp_path_factory.mktemp("run"))]
    if any(flag == "--stage" and value == "mlp" for flag, value in pairs):
        argv += ["--hidden", "4"]
    code, _, err = run(capsys, "torch", *argv)
    assert code in (0, 2), (argv, err)
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
