"""What cannot be matched exactly is refused with one UnsupportedError that names it."""

import pytest
import torch
import torch.nn as nn

from equivalence.translate import UnsupportedError, linear_weights, init, loss, optimizer

optim = torch.optim
S = torch.optim.lr_scheduler


def params():
    return [torch.zeros(4, 3, requires_grad=True), torch.zeros(3, requires_grad=True)]


def refused(match, fn, *args, **kwargs):
    with pytest.raises(UnsupportedError, match=match) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_is_a_value_error():
    assert issubclass(UnsupportedError, ValueError)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda o: S.LambdaLR(o, lambda epoch: 0.9**epoch), "LambdaLR"),
        (lambda o: S.MultiplicativeLR(o, lambda epoch: 0.9), "MultiplicativeLR"),
    ],
)
def test_unsupported_schedulers(make, name):
    opt = optim.SGD(params(), lr=0.1)
    message = refused(name, optimizer, opt, make(opt))
    assert "supported" in message or "by hand" in message


def test_lambda_lr_explains_why():
    opt = optim.SGD(params(), lr=0.1)
    message = refused("LambdaLR", optimizer, opt, S.LambdaLR(opt, lambda e: 1.0))
    assert "lr_lambda" in message and "by hand" in message


def test_scheduler_subclass_is_refused():
    class MyStep(S.StepLR):
        pass

    opt = optim.SGD(params(), lr=0.1)
    refused("MyStep", optimizer, opt, MyStep(opt, 3))


@pytest.mark.parametrize(
    "cls, why",
    [(optim.LBFGS, "closure"), (optim.SparseAdam, "sparse gradients"), (optim.Muon, "bfloat16")],
)
def test_optimizers_without_a_step_for_step_match_are_refused_with_the_reason(cls, why):
    message = refused(cls.__name__, optimizer, cls(params()[:1], lr=0.1))
    assert why in message


def test_optimizer_subclass_is_refused():
    class MyAdam(optim.Adam):
        pass

    message = refused("MyAdam", optimizer, MyAdam(params()))
    assert "subclass" in message


def test_unknown_option_is_named():
    opt = optim.Adam(params(), lr=0.01)
    opt.param_groups[0]["my_trust_ratio"] = 0.5
    refused("'my_trust_ratio'", optimizer, opt)


def test_param_groups_without_labels_name_the_difference():
    a, b = params()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    message = refused("param_groups\\[1\\].*'lr'", optimizer, opt)
    assert "param_labels" in message


def test_stepped_optimizer_is_refused():
    p = params()
    opt = optim.Adam(p, lr=0.01)
    sum(x.sum() for x in p).backward()
    opt.step()
    refused("already has state", optimizer, opt)


def test_adagrad_with_modified_state_is_refused():
    opt = optim.Adagrad(params(), lr=0.1)
    next(iter(opt.state.values()))["sum"].fill_(3.0)
    refused("already has state", optimizer, opt)


def test_stepped_scheduler_is_refused():
    opt = optim.SGD(params(), lr=0.1)
    sched = S.StepLR(opt, 3)
    opt.step()
    sched.step()
    refused("last_epoch=1", optimizer, opt, sched)


def test_attached_scheduler_must_be_passed():
    opt = optim.SGD(params(), lr=0.1)
    S.ExponentialLR(opt, 0.9)
    refused("scheduler attached", optimizer, opt)


def test_scheduler_of_another_optimizer():
    opt, other = optim.SGD(params(), lr=0.1), optim.SGD(params(), lr=0.1)
    refused("another optimizer", optimizer, opt, S.StepLR(other, 3))


def test_complex_parameters_are_refused():
    opt = optim.Adam([torch.zeros(3, dtype=torch.complex128, requires_grad=True)])
    refused("complex", optimizer, opt)


def test_one_cycle_momentum_inside_sequential_is_refused():
    opt = optim.SGD(params(), lr=0.1, momentum=0.9)
    sched = S.SequentialLR(opt, [S.LinearLR(opt), S.OneCycleLR(opt, 1.0, total_steps=10)], milestones=[5])
    refused("cycle_momentum", optimizer, opt, sched)


def test_nested_sequential_is_refused():
    opt = optim.SGD(params(), lr=0.1)
    inner = S.SequentialLR(opt, [S.ConstantLR(opt), S.ExponentialLR(opt, 0.9)], milestones=[3])
    sched = S.SequentialLR(opt, [S.LinearLR(opt), inner], milestones=[5])
    refused("nested", optimizer, opt, sched)


def test_constant_lr_with_zero_factor_is_refused():
    opt = optim.SGD(params(), lr=0.1)
    refused("ZeroDivisionError", optimizer, opt, S.ConstantLR(opt, factor=0.0, total_iters=4))


class ScaledMSE(nn.MSELoss):  # a subclass may override forward
    pass


@pytest.mark.parametrize("module", [nn.KLDivLoss(), nn.BCELoss(), nn.CTCLoss(), ScaledMSE()])
def test_unsupported_losses(module):
    refused(type(module).__name__, loss, module)


def test_loss_with_bad_reduction_is_refused():
    module = nn.MSELoss()
    module.reduction = "batchmean"
    refused("batchmean", loss, module)


def test_init_refuses_layers_other_than_linear():
    model = nn.Sequential(nn.Linear(3, 4), nn.Conv1d(4, 2, 1))
    refused("Conv1d", init, model)
    refused("Conv1d", linear_weights, model)
