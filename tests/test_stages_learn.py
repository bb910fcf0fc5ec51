"""Every stage of both frameworks learns the learnable variant of the lecture's problem."""

import numpy as np
import pytest

from equivalence.check import sides
from equivalence.stages import LINEAR_STAGES, Setup, row
from netdata import init, problems

LEARNING_RATE = {"manual": 1e-3, "autograd": 1e-3, "nn": 0.1, "optim": 0.05, "module": 0.05}


@pytest.mark.parametrize("framework", ["torch", "jax"])
@pytest.mark.parametrize("stage", LINEAR_STAGES)
def test_stage_drives_the_loss_to_the_noise_floor(stage, framework):
    r = row(stage)
    side = sides(Setup())[framework]
    x, y = problems.linear(seed=0)
    weights = init.linear("zeros", problems.DIN, problems.DOUT, bias=r.reference.spec.bias)
    if not r.reference.spec.bias:  # without a bias the target's offset cannot be learnt: remove it
        y = y - y.mean(axis=0)
    module = getattr(r, framework)
    steps = 300
    with side.context():
        trainer = module.build(weights, LEARNING_RATE[stage], side.device)
        xs = side.to_array(np.broadcast_to(x, (steps, *x.shape)))
        ys = side.to_array(np.broadcast_to(y, (steps, *y.shape)))
        trainer, losses = module.train(trainer, xs, ys)
        losses = np.asarray(side.to_numpy(losses))
    assert losses[-1] < 0.2 * losses[0]
    assert np.all(np.isfinite(losses))
