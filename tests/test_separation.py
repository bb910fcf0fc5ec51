"""Why torch and jax part: a cause is named only where the oracle's own float32 nudges allow it."""

import numpy as np
import pytest

from equivalence.lecture.check import separation
from equivalence.lecture.horizon import Nudged

STEPS = 10


def nudged(horizon: int, flip: tuple[int, int, int] | None) -> Nudged:
    """The oracle's nudged copies: within 1e-5 of each other before `horizon`, far apart from it on;
    layers.1 unit 2 sits 1e-6 (of the layer's largest) from ReLU's branch point at every step."""
    distance = np.where(np.arange(STEPS) < horizon, 1e-7, 1e-3)
    near = np.tile([1e-6, 1, 2], (STEPS, 1))
    losses = np.ones((3, STEPS))
    return Nudged(losses, np.ones(3), distance, flip, None, near)


CASES = {  # name: (step the sides part at, horizon, a nudge's first flipped branch, the cause)
    "inside the horizon a unit near 0 explains nothing":
        (3, 6, None, "before the horizon (6): the oracle's float32-nudged copies still agree to 1e-5 here"),
    "past the horizon the unit near 0 is named":
        (7, 6, None, "ReLU at 0: layers.1 unit 2 (its input is 1e-06 of the layer's largest)"),
    "a branch a nudge flipped first is named anywhere":
        (3, 6, (2, 0, 5), "ReLU at 0: layers.0 unit 5 (a one-ulp nudge flips its branch at step 2)"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_separation_is_blamed_on_float32_sensitivity_only_where_the_nudged_oracle_shows_it(name):
    step, horizon, flip, cause = CASES[name]
    ref = {"losses": np.linspace(2.0, 1.0, STEPS)}
    parted = ref["losses"].copy()
    parted[step:] *= 1 + 1e-4  # 10x the 1e-5 at which the frameworks count as parted
    assert separation(ref, {"losses": parted}, ref, nudged(horizon, flip), adam=True) == (step, cause)


def test_sides_that_never_part_have_no_separation():
    ref = {"losses": np.linspace(2.0, 1.0, STEPS)}
    close = {"losses": ref["losses"] * (1 + 1e-7)}
    assert separation(ref, close, ref, nudged(6, None), adam=True) == (None, None)
