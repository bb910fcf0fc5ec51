"""Every stage of both frameworks learns the learnable variant of the lecture's problem; a new lr compiles nothing."""

import jax
import numpy as np
import pytest

from equivalence.lecture.check import sides
from equivalence.lecture.stages import LINEAR_STAGES, STAGES, Setup, row
from netdata import images, init, problems
from netdata.stages import STAGES as TABLE

pytestmark = pytest.mark.xdist_group("lesson-programs")  # with tests/test_mirroring.py: the same programs, compiled once

LEARNING_RATE = {"manual": 1e-3, "autograd": 1e-3, "nn": 0.1, "optim": 0.05, "module": 0.05, "mlp": 1e-2,
                 "cnn": 1e-2}
# The shapes tests/test_mirroring.py runs the programs at, so JAX compiles each stage's scan once for both.
STEPS = {"mlp": 200, "cnn": 10}
DEFAULT_STEPS = 300


def problem(stage: str):
    """(zero or lesson start, x, y): the learnable linear problem, or the MLP lesson's training half."""
    if stage == "cnn":  # a small CNN on 32 digits: the property is about compiling, not size
        digits = images.digits()
        x = (digits.x[:32] / 16.0).astype(np.float32)
        return init.cnn(TABLE["cnn"].init, [1, 4, 8], 2 * 2 * 8, 10), x, digits.labels[:32]
    if stage == "mlp":
        x, labels = problems.classification(seed=0, n=2 * problems.N, classes=problems.MLP_CLASSES)
        sizes = [problems.DIN, *problems.MLP_HIDDEN, problems.MLP_CLASSES]
        return init.mlp(TABLE["mlp"].init, sizes), x[:problems.N], labels[:problems.N]
    x, y = problems.linear(seed=0)
    bias = row(stage).reference.spec.bias
    if not bias:  # without a bias the target's offset cannot be learnt: remove it
        y = y - y.mean(axis=0)
    return init.linear("zeros", problems.DIN, problems.DOUT, bias=bias), x, y


def run(stage: str, framework: str, lr: float) -> np.ndarray:
    """Train from the stage's start at `lr`; the losses, in NumPy."""
    side = sides(Setup())[framework]
    module = getattr(row(stage), framework)
    weights, x, y = problem(stage)
    steps = STEPS.get(stage, DEFAULT_STEPS)
    with side.context():
        trainer = module.build(weights, lr, side.device)
        xs = side.to_array(np.broadcast_to(x, (steps, *x.shape)))
        ys = side.to_array(np.broadcast_to(y, (steps, *y.shape)))
        trainer, losses = module.train(trainer, xs, ys)
        return np.asarray(side.to_numpy(losses))


@pytest.mark.parametrize("framework", ["torch", "jax"])
@pytest.mark.parametrize("stage", LINEAR_STAGES)
def test_stage_drives_the_loss_to_the_noise_floor(stage, framework):
    losses = run(stage, framework, LEARNING_RATE[stage])
    assert losses[-1] < 0.2 * losses[0]
    assert np.all(np.isfinite(losses))


class Compilations:
    """Counts JAX's tracing, lowering and compiling events: a jit cache miss fires all three, a hit none."""

    def __init__(self):
        self.events: list[str] = []

    def __call__(self, event: str, duration: float, **kwargs) -> None:
        if event.startswith("/jax/core/compile/"):
            self.events.append(event)

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self)


@pytest.mark.parametrize("stage", STAGES)
def test_a_second_learning_rate_reuses_the_compiled_program(stage):
    first = run(stage, "jax", LEARNING_RATE[stage])
    with Compilations() as compiled:
        second = run(stage, "jax", LEARNING_RATE[stage] / 2)
    assert compiled.events == []
    assert not np.array_equal(first[1:], second[1:])  # the new lr was used: the runs part after the first step


def test_the_compilation_counter_sees_a_new_program():
    with Compilations() as compiled:
        jax.jit(lambda a: a * 3.25 + 1.0)(np.arange(7.0, dtype=np.float32))
    assert "/jax/core/compile/jaxpr_trace_duration" in compiled.events
