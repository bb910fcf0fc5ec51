"""Every kind of bad input ends in exit code 2 and one line on stderr that names the fix: no traceback."""

import gzip
import pickle

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.cli.helpers import run, train


class Payload:  # unpickling this would create a file: proof that nothing was unpickled
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def files(tmp_path):
    g = np.random.default_rng(0)
    x, y = g.standard_normal((20, 4)), g.standard_normal((20, 2))
    np.savez(tmp_path / "no_y.npz", x=x)
    np.savez(tmp_path / "rows.npz", x=x, y=y[:5])
    nan = x.copy()
    nan[7, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=nan, y=y)
    (tmp_path / "text.csv").write_text("a,b,y\n1,2,3\n4,oops,6\n")
    (tmp_path / "empty.csv").write_text("a,b,y\n")
    with gzip.open(tmp_path / "gz.csv.gz", "wt") as f:
        f.write("a,b,y\n1,2,inf\n")
    (tmp_path / "data.txt").write_text("1 2 3\n")
    save_file({"w": np.zeros((3, 2))}, str(tmp_path / "wrong.safetensors"))
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload(str(tmp_path / "PWNED"))))
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Payload(str(tmp_path / "PWNED"))))
    np.save(tmp_path / "objects.npy", np.array([Payload(str(tmp_path / "PWNED"))], dtype=object), allow_pickle=True)
    (tmp_path / "empty_run").mkdir()
    (tmp_path / "truncated").mkdir()
    (tmp_path / "foreign").mkdir()
    return tmp_path


def truncated_run(capsys, tmp_path, framework):
    train(capsys, framework, "--stage", "nn", "--steps", "5", "--out", str(tmp_path / "truncated"))
    state = tmp_path / "truncated" / "state.safetensors"
    state.write_bytes(state.read_bytes()[:-9])


CASES = {  # name: (flags, a word the message must contain); {p} is the test's folder
    "missing data file": (["--data", "{p}/nope.npz"], "does not exist"),
    "unknown data kind": (["--data", "{p}/data.txt"], ".csv"),
    "npz without y": (["--data", "{p}/no_y.npz"], "y"),
    "different row counts": (["--data", "{p}/rows.npz"], "row"),
    "NaN in the data": (["--data", "{p}/nan.npz"], "x[7, 2]"),
    "non-numeric CSV cell": (["--data", "{p}/text.csv"], "b"),
    "CSV without rows": (["--data", "{p}/empty.csv"], "row"),
    "infinity in a gzipped CSV": (["--data", "{p}/gz.csv.gz"], "inf"),
    "unknown target column": (["--data", "{p}/text.csv", "--target", "zz"], "zz"),
    "weights of the wrong shape": (["--init", "{p}/wrong.safetensors"], "(4, 2)"),
    "pickled weights": (["--init", "{p}/evil.pt"], "safetensors"),
    "pickled data": (["--data", "{p}/evil.pkl"], "pickle"),
    "unknown init scheme": (["--init", "gaussian"], "gaussian"),
    "negative lr": (["--lr", "-1"], "--lr"),
    "non-numeric lr": (["--lr", "fast"], "--lr"),
    "nan lr": (["--lr", "nan"], "--lr"),
    "zero steps": (["--steps", "0"], "--steps"),
    "negative seed": (["--seed", "-1"], "--seed"),
    "non-numeric steps": (["--steps", "many"], "--steps"),
    "zero batch size": (["--batch-size", "0"], "--batch-size"),
    "zero threads": (["--threads", "0"], "--threads"),
    "batch larger than the data": (["--batch-size", "65"], "--batch-size"),
    "unknown stage": (["--stage", "rnn"], "--stage"),
    "unknown dtype": (["--dtype", "float16"], "--dtype"),
    "unknown device": (["--device", "tpu"], "--device"),
    "gpu where there is none": (["--device", "gpu"], "gpu"),
    "unknown flag": (["--learning-rate", "1"], "--learning-rate"),
    "bad hidden sizes": (["--stage", "mlp", "--hidden", "64,0"], "--hidden"),
    "classification set for a linear stage": (["--stage", "nn", "--data", "iris"], "mlp"),
    "resume a missing folder": (["--resume", "{p}/nowhere"], "no such folder"),
    "resume an empty folder": (["--resume", "{p}/empty_run"], "empty"),
    "resume a truncated state": (["--resume", "{p}/truncated", "--steps", "10"], "truncated"),
    "resume a foreign state": (["--resume", "{p}/foreign", "--steps", "10"], "step"),
    "out over an existing run": (["--out", "{p}/truncated"], "--resume"),
}


@pytest.mark.parametrize("framework", ["jax", "torch"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_exits_2_with_one_clear_line(capsys, files, framework, case):
    if case in ("resume a truncated state", "out over an existing run"):
        truncated_run(capsys, files, framework)
    if case == "resume a foreign state":
        save_file({"w": np.zeros((4, 2), np.float32)}, str(files / "foreign" / "state.safetensors"))
        (files / "foreign" / "config.json").write_text('{"stage": "nn"}')
    flags, word = CASES[case]
    out_flag = [] if {"--out", "--resume"} & set(flags) else ["--out", str(files / "out")]
    code, out, err = run(capsys, framework, *[f.format(p=files) for f in flags], "--steps", "3", *out_flag)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert word in err
    assert not (files / "PWNED").exists()
    assert not (files / "out").exists()  # an input error leaves no run folder behind


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_debug_flag_shows_the_traceback(capsys, tmp_path, framework):
    code, _, err = run(capsys, framework, "--data", str(tmp_path / "nope.npz"), "--debug")
    assert code == 2 and "Traceback" in err
