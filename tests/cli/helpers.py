"""Run a training CLI in-process and read its run folder: shared by the CLI tests."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file

import jaxnet.cli
import torchnet.cli

MAIN = {"jax": jaxnet.cli.main, "torch": torchnet.cli.main}


def run(capsys, framework: str, *flags: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `<framework>net-train flags...`."""
    try:
        code = MAIN[framework](list(flags))
    except SystemExit as stop:  # argparse exits on a bad flag
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


def train(capsys, framework: str, *flags: str) -> dict:
    code, out, err = run(capsys, framework, *flags, "--json")
    assert code == 0, err
    return json.loads(out)


def weights(folder) -> dict[str, np.ndarray]:
    return load_file(str(folder / "weights.safetensors"))


def state(folder) -> dict[str, np.ndarray]:
    return load_file(str(folder / "state.safetensors"))


both = pytest.mark.parametrize("framework", ["jax", "torch"])


def examples(fast: int, full: int) -> int:
    """How many hypothesis examples: the short search by default, the deep one under `--full`."""
    return full if os.environ.get("TESTS_FULL") else fast
