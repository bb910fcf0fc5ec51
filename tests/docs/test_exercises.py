"""Every exercise's solution runs and shows what its task says it shows (the guide prints these results)."""

import pytest

from equivalence.lecture.stages import STAGES
from tools.docs import exercises

FLOAT32 = 1e-5  # equivalence/tolerance.py's float32 tolerance


def _bias(r):
    return abs(r["torch loss"] - r["jax loss"]) <= FLOAT32 * r["jax loss"] and r["jax loss"] < r["loss without bias"]


EXPECTED = {  # run -> what its result must show
    "bias": _bias,
    "grad_check": lambda r: r["relative difference"] < FLOAT32,
    "forgotten_zero_grad": lambda r: r["second .grad / first .grad"] == pytest.approx(2.0, rel=1e-6),
    "input_gradient": lambda r: r["shape of d loss / d x"] == "(64, 4)" and r["relative difference"] < FLOAT32,
    "l2_loss_gradient": lambda r: r["gradient with l2_loss / gradient with mse"] == pytest.approx(0.5, rel=1e-5),
    "untransposed": lambda r: r["relative error without .T"] > 0.1 and r["relative error with .T"] < FLOAT32,
    "beta2": lambda r: r["β₂ changed on both sides"] < FLOAT32 < r["β₂ changed on torch's side only"],
    "largest_step": lambda r: (r["first step / lr"] == pytest.approx(1.0, rel=1e-4)
                               and r["step after 10000 quiet steps / lr"] == pytest.approx(r["bound (1 - β₁) / √(1 - β₂)"],
                                                                                         rel=1e-3)),
    "two_layers": lambda r: r["relative difference of the outputs"] < FLOAT32,
    "same_seed": lambda r: r["largest |weight.T - kernel|"] > 0.1,
    "no_mean": lambda r: r["gradient without .mean() / gradient with it"] == pytest.approx(r["batch size"], rel=1e-4),
    "double_softmax": lambda r: (r["loss with a softmax too many"] != pytest.approx(r["loss"], rel=1e-4)
                                 and r["gradient with it / gradient without"] < 1),
    "conv_layout": lambda r: r["NCHW images as they are"] != "no error"
    and r["relative difference after the transpose"] < FLOAT32,
    "batchnorm_momentum": lambda r: (r["|running mean difference|, Flax momentum 0.1"] > 1e-3
                                     and r["|running mean difference|, Flax momentum 0.9"] < 1e-6),
}


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: f"{e.stage}-{e.run}")
def test_the_solution_shows_what_the_exercise_asks_about(exercise):
    result = exercises.run(exercise)
    assert EXPECTED[exercise.run](result), result


def test_a_wrong_solution_fails_its_check():
    """The bias check catches a bias whose gradient was forgotten: its loss stays the bias-free one."""
    assert not _bias({"torch loss": 59.2, "jax loss": 59.2, "loss without bias": 59.2})
    assert not EXPECTED["beta2"]({"β₂ changed on both sides": 1e-2, "β₂ changed on torch's side only": 1e-2})


def test_every_stage_of_the_lecture_has_two_or_three_exercises_with_code_shown():
    for stage in STAGES:
        found = exercises.of_stage(stage)
        assert 2 <= len(found) <= 3, stage
        for exercise in found:
            assert exercise.run in EXPECTED
            assert all(p.code.strip() for p in exercises.solution_code(exercise))
            assert all(text.strip() for text in (*exercise.words("en"), *exercise.words("ko")))
