"""`equivalence port`: exit 0 for an equal twin, 1 for a planted mistake, 2 with one line for bad input."""

import json
import sys

import numpy as np
import pytest

from equivalence import cli

from . import zoo

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")


def nnx_mlp_wrong_epsilon():
    return zoo.NnxMLP(epsilon=1e-6)


@pytest.fixture(scope="module")
def x_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("port") / "x.npy"
    np.save(path, zoo.inputs("mlp")["x"])
    return str(path)


def test_an_equal_twin_exits_0_and_a_planted_mistake_exits_1_naming_the_layer(x_file, capsys):
    assert cli.main(["port", "tests.port.zoo:torch_mlp", "tests.port.zoo:nnx_mlp", "--input", x_file]) == 0
    assert "verdict: EQUAL" in capsys.readouterr().out
    code = cli.main(["port", "tests.port.zoo:torch_mlp", "tests.port.test_cli:nnx_mlp_wrong_epsilon",
                     "--input", x_file, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["first_divergence"] == "ln" and data["findings"][0]["option"] == "eps/epsilon"


@pytest.mark.parametrize("argv, message", [
    (["tests.port.zoo:torch_mlp", "tests.port.zoo:nnx_mlp", "--input", "missing.npy"], "cannot read 'missing.npy'"),
    (["tests.port.zoo:nothing", "tests.port.zoo:nnx_mlp", "--input", "X"], "cannot load 'tests.port.zoo:nothing'"),
    (["tests.port.zoo", "tests.port.zoo:nnx_mlp", "--input", "X"], "is not package.module:function"),
    (["tests.port.zoo:nnx_mlp", "tests.port.zoo:nnx_mlp", "--input", "X"], "not a torch.nn.Module"),
    (["tests.port.zoo:torch_mlp", "tests.port.zoo:nnx_mlp", "--input", "X", "--dtype", "float16"], "invalid choice"),
], ids=["missing-file", "missing-factory", "not-a-factory", "wrong-framework", "bad-dtype"])
def test_bad_input_exits_2_with_one_line(argv, message, x_file, capsys):
    argv = [x_file if a == "X" else a for a in argv]
    assert cli.main(["port", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_names_are_given_with_repeatable_flags_and_the_current_folder_is_importable(tmp_path, monkeypatch, capsys):
    (tmp_path / "mymodels.py").write_text(
        "from tests.port import zoo\n"
        "from flax import nnx\n\n"
        "class Renamed(nnx.Module):\n"
        "    def __init__(self):\n"
        "        m = zoo.NnxMLP()\n"
        "        self.first, self.norm, self.second, self.act = m.fc1, m.ln, m.fc2, m.act\n\n"
        "    def __call__(self, x):\n"
        "        return self.second(self.act(self.norm(self.first(x))))\n\n"
        "def make():\n"
        "    return Renamed()\n")
    x = tmp_path / "x.npy"
    np.save(x, zoo.inputs("mlp")["x"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])  # restored after the test
    argv = ["port", "tests.port.zoo:torch_mlp", "mymodels:make", "--input", str(x), "--names", "fc1=first",
            "--names", "ln=norm", "--names", "fc2=second"]
    assert cli.main(argv) == 0, capsys.readouterr()
    assert "verdict: EQUAL" in capsys.readouterr().out
    assert cli.main(argv[:-2] + ["--names", "fc2"]) == 2
    assert "write torch.path=nnx.path" in capsys.readouterr().err
