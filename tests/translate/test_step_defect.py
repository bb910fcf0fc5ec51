"""Long optimizer trajectories are judged step by step: chaos never fails a correct translation, nor passes a wrong one."""

import optax
import pytest
import torch

from equivalence import tolerance
from equivalence.translate import UnsupportedError, optimizer
from equivalence.translate.compare import run_optimizer

BOUND = tolerance.DEFECT_ULPS["float64"].rel


def plain(cls, **kwargs):
    return lambda p: (cls(p.values(), **kwargs), None)


@pytest.mark.parametrize("make", [plain(torch.optim.RMSprop, lr=0.3, centered=True, momentum=0.9),
                                  plain(torch.optim.Adam, lr=3.0)], ids=["RMSprop", "Adam"])
def test_a_correct_translation_keeps_every_step_of_a_long_run_at_the_ulp_level(make):
    traj = run_optimizer(make, steps=800)
    assert traj.defects.shape == (800,) and traj.defect <= BOUND, traj.defects.max()


def test_a_wrong_translation_fails_at_the_first_step_however_long_the_run():
    wrong = run_optimizer(plain(torch.optim.RMSprop, lr=0.01), steps=600, tx=optax.rmsprop(0.01, decay=0.99))
    assert wrong.defects[0] > 1e3 * BOUND  # eps inside the square root: Optax's default, not torch's


def test_asgd_on_torchs_multi_tensor_path_is_refused_in_one_line():
    p = [torch.zeros(4, 3, requires_grad=True)]
    with pytest.raises(UnsupportedError, match="foreach") as info:
        optimizer(torch.optim.ASGD(p, lr=0.01, foreach=True))
    assert len(str(info.value).splitlines()) == 1
    optimizer(torch.optim.ASGD(p, lr=0.01, foreach=False))  # the single-tensor path is translated
