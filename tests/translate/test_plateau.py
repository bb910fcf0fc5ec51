"""ReduceLROnPlateau as an Optax transformation taking the metric: torch's threshold modes, patience, cooldown."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

from equivalence.translate import UnsupportedError, optimizer
from equivalence.translate.compare import float64, problem
from jaxnet.compiling import fast_jit
from equivalence.translate.displacement import displacement_errors, flat, stack
from equivalence.translate.plateau import PlateauState
from equivalence.translate.torchrun import gradients, leaves, objective

optim = torch.optim
S = torch.optim.lr_scheduler
STEPS = 60


def metrics(seed):
    """Plateaus, tiny improvements (below a 1e-2 relative threshold) and real ones, in both directions."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0.0, 0.0, 0.0, -1e-4, -0.05, 0.02], size=STEPS)
    return 1.0 + np.cumsum(steps)


def _lr_of(state):
    found = [s for s in jax.tree.leaves(state, is_leaf=lambda n: isinstance(n, PlateauState))
             if isinstance(s, PlateauState)]
    return found[0].lr


def run(opt_cls, opt_kwargs, sched_kwargs, seed=0):
    values = metrics(seed) * (-1.0 if sched_kwargs.get("mode") == "max" else 1.0)
    with float64():
        xs, ys, init = problem(STEPS, seed)
        params = leaves(init)
        opt = opt_cls(params.values(), **opt_kwargs)
        sched = S.ReduceLROnPlateau(opt, **sched_kwargs)
        tx = optimizer(opt, sched)
        torch_traj, torch_lrs = [], []
        for k in range(STEPS):
            gradients(params, torch.from_numpy(xs[k]), torch.from_numpy(ys[k]), 1.0)
            torch_lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step(values[k])
            torch_traj.append([params[n].detach().numpy().copy() for n in sorted(params)])

        @fast_jit
        def step(p, state, x, y, value):
            g = jax.grad(objective)(p, x, y, 1.0)
            updates, state = tx.update(g, state, p, value=value)
            return optax.apply_updates(p, updates), state, _lr_of(state)

        p = {k: jnp.asarray(v) for k, v in init.items()}
        state, jax_traj, jax_lrs = tx.init(p), [], [float(_lr_of(tx.init(p)))]
        for k in range(STEPS):
            p, state, lr = step(p, state, xs[k], ys[k], values[k])
            jax_traj.append([np.asarray(p[n]) for n in sorted(p)])
            jax_lrs.append(float(lr))
    start = flat([init[n] for n in sorted(init)])
    errors = displacement_errors(stack(torch_traj), stack(jax_traj), start)
    return np.asarray(torch_lrs), np.asarray(jax_lrs[:-1]), errors


CASES = {
    "min-rel": {"patience": 2, "threshold": 1e-2},
    "min-abs-cooldown": {"patience": 1, "threshold": 0.01, "threshold_mode": "abs", "cooldown": 3},
    "max-rel-min-lr": {"mode": "max", "patience": 0, "factor": 0.5, "min_lr": 2e-3},
    "max-abs": {"mode": "max", "patience": 3, "threshold": 1e-3, "threshold_mode": "abs", "cooldown": 1},
    "eps-blocks-tiny-cuts": {"patience": 0, "factor": 0.9, "eps": 5e-3},
}


SGD = (optim.SGD, {"lr": 0.05, "momentum": 0.9})
ADAMW = (optim.AdamW, {"lr": 0.02, "weight_decay": 0.1})  # decoupled decay scales with the plateau's lr too
OPTIMIZERS = {"min-rel": SGD, "min-abs-cooldown": ADAMW, "max-rel-min-lr": ADAMW, "max-abs": SGD,
              "eps-blocks-tiny-cuts": SGD}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lr_and_trajectory_follow_torch(name):
    opt_cls, opt_kwargs = OPTIMIZERS[name]
    torch_lrs, jax_lrs, errors = run(opt_cls, opt_kwargs, CASES[name])
    np.testing.assert_array_equal(jax_lrs, torch_lrs)  # the same decisions, the same floats
    # The lr really was reduced, except where every cut would be smaller than eps.
    if name == "eps-blocks-tiny-cuts":
        assert len(set(torch_lrs)) == 1
    else:
        assert len(set(torch_lrs)) >= 2
    assert np.max(errors) <= 1e-10


@pytest.mark.parametrize("cls", [optim.Rprop, optim.ASGD, optim.Adafactor])
def test_optimizers_whose_lr_is_not_a_final_scale_are_refused(cls):
    opt = cls([torch.zeros(2, 2, requires_grad=True)], lr=0.01)
    with pytest.raises(UnsupportedError, match="ReduceLROnPlateau"):
        optimizer(opt, S.ReduceLROnPlateau(opt))


def test_a_stepped_plateau_is_refused():
    opt = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    sched = S.ReduceLROnPlateau(opt)
    sched.step(1.0)
    with pytest.raises(UnsupportedError, match="already been stepped"):
        optimizer(opt, sched)
