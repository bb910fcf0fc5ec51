"""Two or three exercises per stage: the task (templates/exercises.<lang>.md), the solution's real code and result."""

from __future__ import annotations

import importlib
from typing import NamedTuple

from tools.docs import prose
from tools.docs.source import Piece, Reader, function_source, read


class Exercise(NamedTuple):
    stage: str
    run: str  # the function of tools/docs/solutions/<stage>.py that answers it: () -> {name: value}
    shown: tuple[str, ...]  # the functions and classes the solution block shows, in order

    def words(self, lang: str) -> tuple[str, str]:
        """(title, task) in `lang`, from tools/docs/templates/exercises.<lang>.md."""
        return WORDS[lang][self.run]


EXERCISES = [
    Exercise("manual", "bias", ("torch_bias_step", "jax_bias_step")),
    Exercise("manual", "grad_check", ("hand_loss", "grad_check")),
    Exercise("autograd", "forgotten_zero_grad", ("forgotten_zero_grad",)),
    Exercise("autograd", "input_gradient", ("loss_fn", "input_gradient")),
    Exercise("nn", "l2_loss_gradient", ("mse", "half_mse", "l2_loss_gradient")),
    Exercise("nn", "untransposed", ("untransposed",)),
    Exercise("optim", "beta2", ("torch_adam", "jax_adam", "beta2")),
    Exercise("optim", "largest_step", ("largest_step",)),
    Exercise("module", "two_layers", ("TorchTwoLayerNet", "JaxTwoLayerNet", "two_layers")),
    Exercise("module", "same_seed", ("same_seed",)),
    Exercise("mlp", "no_mean", ("summed", "no_mean")),
    Exercise("mlp", "double_softmax", ("softmax_twice", "double_softmax")),
    Exercise("cnn", "conv_layout", ("conv_layout",)),
    Exercise("cnn", "batchnorm_momentum", ("batchnorm_momentum",)),
]
WORDS = {lang: prose.read(f"exercises.{lang}.md")["EXERCISES"] for lang in prose.LANGS}


def of_stage(stage: str) -> list[Exercise]:
    return [e for e in EXERCISES if e.stage == stage]


def solution_path(exercise: Exercise) -> str:
    return f"tools/docs/solutions/{exercise.stage}.py"


def solution_code(exercise: Exercise, reader: Reader = read) -> list[Piece]:
    return [function_source(solution_path(exercise), name, reader) for name in exercise.shown]


def run(exercise: Exercise) -> dict:
    """The solution's result, as the tests check it and the guide shows it."""
    module = importlib.import_module(f"tools.docs.solutions.{exercise.stage}")
    return getattr(module, exercise.run)()


def run_all(stages) -> dict[str, dict]:
    return {e.run: run(e) for e in EXERCISES if e.stage in stages}
