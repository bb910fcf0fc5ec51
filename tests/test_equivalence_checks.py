"""Every stage agrees across torch, jax and the float64 oracle, and the checks do catch real bugs."""

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

import jaxnet.optim
import torchnet.nn
import torchnet.optim
from equivalence.lecture.check import QUANTITIES, compare_stage
from equivalence.lecture.stages import LINEAR_STAGES, Setup, row
from tests.cli.helpers import examples


def failing(results):
    return {(r["quantity"], r["pair"]) for r in results if not r["passed"]}


# The lecture's full 5000-step run of every stage in both dtypes is asserted by tests/test_docs.py,
# which measures it once for the guide as well; the chaos horizon and the train regime by tests/test_horizon.py.


def with_function(module, **replace):
    """A copy of a stage module's API with some functions swapped: a planted bug."""
    names = ("build", "predict", "loss_and_grads", "train", "export")
    return SimpleNamespace(**{n: getattr(module, n) for n in names} | replace)


SQUARE = Setup(dtype="float64", steps=20, lr=1e-2, din=3, dout=3)  # Din == Dout: a transpose still fits


def test_loading_w_untransposed_into_torch_linear_fails_the_torch_pairs():
    build = lambda weights, lr, device: torchnet.nn.build(weights | {"w": weights["w"].T}, lr, device)  # noqa: E731
    bad = row("nn")._replace(torch=with_function(torchnet.nn, build=build))
    fails = failing(compare_stage(bad, SQUARE))
    for quantity in QUANTITIES:
        assert {(quantity, "torch-jax"), (quantity, "torch-reference")} <= fails
    assert not any(pair == "jax-reference" for _, pair in fails)


def test_a_different_adam_eps_in_jax_fails_the_update_and_trajectory(monkeypatch):
    monkeypatch.setattr(jaxnet.optim, "EPS", 1e-3)
    fails = failing(compare_stage(row("optim"), SQUARE))
    assert fails == {(q, p) for q in ("update", "trajectory") for p in ("torch-jax", "jax-reference")}


def test_a_dropped_bias_gradient_fails_only_the_torch_gradient_rows():
    def loss_and_grads(trainer, x, y):
        loss, grads = torchnet.optim.loss_and_grads(trainer, x, y)
        return loss, grads | {"b": grads["b"] * 0}

    bad = row("optim")._replace(torch=with_function(torchnet.optim, loss_and_grads=loss_and_grads))
    assert failing(compare_stage(bad, SQUARE)) == {("gradients", "torch-jax"), ("gradients", "torch-reference")}


def test_trajectory_reports_the_first_step_that_leaves_tolerance():
    done = []

    def train(trainer, xs, ys):  # correct for 10 steps, then the learning rate doubles (the check records one step a call)
        faster = trainer if sum(done) < 10 else trainer._replace(lr=2 * trainer.lr)
        done.append(len(xs))
        faster, losses = torchnet.nn.train(faster, xs, ys)
        return trainer, losses

    bad = row("nn")._replace(torch=with_function(torchnet.nn, train=train))
    traj = [r for r in compare_stage(bad, SQUARE) if r["quantity"] == "trajectory" and r["pair"] == "torch-jax"]
    assert traj[0]["first_bad_step"] == 11  # the loss before step 11 is the first one changed
    assert traj[0]["first_bad_step"] < traj[0]["horizon"]  # caught where the tolerance holds, not excused by chaos
    assert traj[0]["defect_step"] == 10  # and the step that made it, from the state torch had reached


@settings(max_examples=examples(3, 25), deadline=None)  # each example compiles its shapes: ~2 CPU-s
@given(stage=st.sampled_from(LINEAR_STAGES), n=st.integers(1, 40), din=st.integers(1, 6), dout=st.integers(1, 4),
       seed=st.integers(0, 2**16), lr=st.floats(1e-6, 1e-2))
def test_any_shape_seed_and_learning_rate_agree_in_float64(stage, n, din, dout, seed, lr):
    setup = Setup(dtype="float64", steps=5, lr=lr, seed=seed, n=n, din=din, dout=dout)
    results = compare_stage(row(stage), setup)
    assert failing(results) == set(), [r for r in results if not r["passed"]]
