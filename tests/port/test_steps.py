"""Long runs: each optimizer step is checked from the state torch reached (issue 27), so chaos never fails a correct twin."""

import jax
import pytest
import torch

from equivalence import port

from . import planted, zoo

# One worker runs every zoo test of equivalence.port: the NNX side's operations compile once for all of them.
pytestmark = pytest.mark.xdist_group("port-zoo")


def _run(twin, steps=60, lr=2.0):
    t, _ = planted.models("mlp")
    return port.compare(t, twin, **zoo.inputs("mlp"), optimizer=torch.optim.SGD(t.parameters(), lr=lr), steps=steps)


def test_a_correct_twin_passes_a_chaotic_run_where_the_pointwise_trajectories_part():
    report = _run(planted.models("mlp")[1])
    assert report.passed, str(report)
    pointwise = max(r.rel_err for r in report.rows if r.quantity.startswith("step "))
    defects = max(r.rel_err for r in report.rows if r.quantity.startswith("defect "))
    assert pointwise > 1e-12 and defects < 1e-13  # lr 2: rounding grows ~1e4-fold in 60 steps; each step agrees


class HalfGradient(zoo.NnxMLP):
    """The same forward; the gradient through fc1 halved (a stray stop_gradient): only the steps can tell."""

    def __call__(self, x):
        h = self.fc1(x)
        h = 0.5 * h + 0.5 * jax.lax.stop_gradient(h)
        return self.fc2(self.act(self.ln(h)))


def test_a_twin_whose_gradient_differs_fails_at_the_first_step_of_the_same_chaotic_run():
    report = _run(HalfGradient())
    assert not report.passed and report.first_bad_step == 1, str(report)
    assert report.causes[0].kind == "grad" and report.first_divergence == "fc1"
