"""The manual stage's notebook: lecture programs 1-2, the gradient written by hand, in PyTorch and in JAX."""

from tools.docs import lessons
from tools.docs.lessons import Code, Exercise, Md

TITLE = Md("the gradient by hand", "손으로 쓴 기울기")

PARAMS = '''\
STEPS = 5000  # the lecture's number of steps (the test suite runs fewer)
LR = 1e-6  # the lecture's learning rate
LEARN_STEPS = 300  # on the learnable problem below
LR_LEARN = 1e-3'''

DATA = '''\
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import torch
from netdata import init, problems

jax.config.update("jax_default_matmul_precision", "highest")  # full float32 matmuls, as torch's, also on a GPU
x, y = problems.lecture(seed=0)  # the lecture's data: x (64, 4) and y (64, 2), both randn
w0 = init.linear("randn", problems.DIN, problems.DOUT, bias=False)["w"]  # (4, 2): the lecture's torch.randn
print("x", x.shape, "y", y.shape, "w", w0.shape)'''

TORCH = '''\
def torch_train(w, x, y, lr, steps):
    w = torch.tensor(w)  # a copy: the loop changes it in place
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for t in range(steps):
        y_pred = x.mm(w)  # forward pass: (64, 4) @ (4, 2)
        loss = 0.5 * (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        grad_y_pred = y_pred - y  # backward pass, by hand
        grad_w = x.t().mm(grad_y_pred)
        w -= lr * grad_w  # gradient descent, in place
    return w.numpy(), np.array(losses)


torch_w, torch_losses = torch_train(w0, x, y, LR, STEPS)
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
def loss_and_grad(w, x, y):
    y_pred = x @ w  # forward pass
    loss = 0.5 * jnp.sum((y_pred - y) ** 2)
    grad_w = x.T @ (y_pred - y)  # backward pass, by hand as in PyTorch
    return loss, grad_w


@jax.jit
def step(w, x, y, lr):
    loss, grad_w = loss_and_grad(w, x, y)
    return w - lr * grad_w, loss  # a new w: JAX arrays never change in place


@functools.partial(jax.jit, static_argnames="steps")
def jax_train(w, x, y, lr, steps):
    # the Python loop becomes lax.scan: one compiled loop that threads w through every step
    return jax.lax.scan(lambda w, _: step(w, x, y, lr), w, length=steps)


jax_w, jax_losses = jax_train(jnp.asarray(w0), x, y, LR, STEPS)
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps")'''

PLOT = '''\
best = 0.5 * np.sum((x @ np.linalg.lstsq(x, y, rcond=None)[0] - y) ** 2)
plt.plot(torch_losses, label="PyTorch")
plt.plot(jax_losses, "--", label="JAX")
plt.axhline(best, color="gray", linestyle=":", label="best w (least squares)")  # words: English, the font has no Hangul
plt.xlabel("step")
plt.ylabel("loss")
plt.legend()
plt.show()'''

CHECK = '''\
from equivalence.tolerance import TOLERANCES

tol = TOLERANCES["float32"].rel  # float32 rounding, grown over 5000 steps


def rel(a, b):  # the project's metric: normwise relative error
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


print(f"weights differ by {rel(torch_w, jax_w):.1e}, losses by {rel(torch_losses, jax_losses):.1e}; tolerance {tol:.0e}")
assert rel(torch_w, jax_w) < tol and rel(torch_losses, jax_losses) < tol'''

LEARN = '''\
x2, y2 = problems.linear(seed=0)  # y = x @ w_true + b_true + noise: there is a map to find
best2 = 0.5 * np.sum((x2 @ np.linalg.lstsq(x2, y2, rcond=None)[0] - y2) ** 2)  # no bias in the model: a floor
torch_w2, torch_losses2 = torch_train(w0, x2, y2, LR_LEARN, LEARN_STEPS)
jax_w2, jax_losses2 = jax_train(jnp.asarray(w0), x2, y2, LR_LEARN, LEARN_STEPS)
plt.semilogy(torch_losses2, label="PyTorch")
plt.semilogy(jax_losses2, "--", label="JAX")
plt.axhline(best2, color="gray", linestyle=":", label="best w (least squares)")
plt.xlabel("step")
plt.ylabel("loss")
plt.legend()
plt.show()
print(f"loss {torch_losses2[0]:.2f} -> {torch_losses2[-1]:.4f}; the best any w can do: {best2:.4f}")
assert torch_losses2[-1] < 1.01 * best2 and rel(torch_w2, jax_w2) < tol'''

DEVIATION = '''\
import jaxnet.manual

# the project's version: the same step, with lr a traced field of a Trainer (a new lr reuses the compiled program)
# and one batch per step stacked on a leading axis (xs: (steps, 64, 4)), so minibatches take the same program
trainer = jaxnet.manual.build({"w": w0}, LR)
xs, ys = np.broadcast_to(x, (STEPS, *x.shape)), np.broadcast_to(y, (STEPS, *y.shape))
trainer, project_losses = jaxnet.manual.train(trainer, xs, ys)
print(f"the project's losses differ from ours by {rel(project_losses, jax_losses):.1e}")

# what the project measures: each float32 side against a float64 oracle (the same loop in NumPy float64)
w = w0.astype(np.float64)
for t in range(STEPS):
    w = w - LR * (x.T.astype(np.float64) @ (x @ w - y))
print(f"float64 oracle: PyTorch is {rel(torch_w, w):.1e} off, JAX {rel(jax_w, w):.1e} off")'''

CELLS = [
    Md("## The data and the shared start\n\n`netdata` draws the lecture's data and the initial weights once, in NumPy, "
       "so both frameworks start from the same numbers. `STEPS` and `LR` are parameters: change them and run again.",
       "## 데이터와 공통 시작점\n\n`netdata`가 강의의 데이터와 초기 가중치를 NumPy로 한 번 뽑습니다. 그래서 두 프레임워크가 같은 "
       "숫자에서 출발합니다. `STEPS`와 `LR`은 매개변수입니다: 바꾸고 다시 실행해 보세요."),
    Code(PARAMS, "parameters"), Code(DATA),
    Md("## PyTorch: the lecture's program\n\nForward pass, the loss, the gradient written out by the chain rule, "
       "and `w -= lr * grad_w`, which changes `w` in place.",
       "## PyTorch: 강의의 프로그램\n\n순전파, 손실, 연쇄 법칙으로 직접 쓴 기울기, 그리고 `w`를 제자리에서 바꾸는 "
       "`w -= lr * grad_w`."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\nThe same arithmetic. Two things change: JAX arrays never change in place, so "
       "the step *returns* the new `w`; and the Python loop becomes `jax.lax.scan`, which compiles all the steps as one "
       "program. `jax.jit` compiles the step once for these shapes.",
       "## JAX: 같은 계산, JAX다운 코드\n\n계산은 같습니다. 두 가지가 다릅니다: JAX 배열은 제자리에서 바뀌지 않으므로 스텝이 "
       "새 `w`를 *돌려줍니다*. 그리고 Python 반복문은 `jax.lax.scan`이 되어 모든 스텝을 하나의 프로그램으로 컴파일합니다. "
       "`jax.jit`은 이 모양에 대해 스텝을 한 번 컴파일합니다."),
    Code(JAX),
    Md(lessons.NOTHING_EN, lessons.NOTHING_KO),
    Code(PLOT),
    Md(lessons.EQUAL_EN, lessons.EQUAL_KO),
    Code(CHECK),
    Md(lessons.LEARNABLE_EN, lessons.LEARNABLE_KO),
    Code(LEARN),
    Md("## Why the project's own version looks different\n\n`jaxnet/manual.py` takes the same step, written for "
       "measurement: the learning rate is a traced field of a `Trainer` (a pytree), so a new rate reuses the compiled "
       "program, and `train` scans over a stack of batches, one per step. The project then measures both frameworks "
       "against a float64 oracle, the same loop in float64.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/manual.py`는 같은 스텝을 측정하기 좋게 씁니다: 학습률은 `Trainer`"
       "(pytree)의 트레이싱되는 필드라서 새 학습률도 컴파일된 프로그램을 다시 씁니다. `train`은 스텝마다 배치 하나씩, 쌓인 배치 위를 "
       "scan합니다. 그리고 두 프레임워크를 float64 오라클(같은 반복문을 float64로)과 비교해 측정합니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("Let JAX find the gradient: compute `auto_grad_w`, the gradient of `0.5 * sum((x @ w - y) ** 2)` at `w0`, "
             "with `jax.grad`, and compare it with the hand-written one.",
             "JAX가 기울기를 찾게 하세요: `w0`에서 `0.5 * sum((x @ w - y) ** 2)`의 기울기 `auto_grad_w`를 "
             "`jax.grad`로 구하고 손으로 쓴 것과 비교하세요.",
             "auto_grad_w = None  # your code: jax.grad of a function of w",
             "auto_grad_w = jax.grad(lambda w: 0.5 * jnp.sum((x @ w - y) ** 2))(jnp.asarray(w0))",
             'hand = loss_and_grad(jnp.asarray(w0), x, y)[1]\n'
             'assert auto_grad_w is not None and rel(auto_grad_w, hand) < tol, "not the hand-written gradient"\n'
             'print("right: jax.grad finds the chain rule\'s gradient")'),
    Exercise("Add a bias: for `y_pred = x @ w + b`, write `grad_b`, the gradient of the loss with respect to `b`, by "
             "hand (the check compares it with `jax.grad`).",
             "편향을 더하세요: `y_pred = x @ w + b`일 때 `b`에 대한 손실의 기울기 `grad_b`를 손으로 쓰세요 "
             "(검사는 `jax.grad`와 비교합니다).",
             "b0 = np.ones(2, np.float32)\ngrad_b = None  # your code: d loss / d b, shape (2,)",
             "b0 = np.ones(2, np.float32)\ngrad_b = (x @ w0 + b0 - y).sum(axis=0)  # every row adds its error",
             'auto = jax.grad(lambda b: 0.5 * jnp.sum((x @ w0 + b - y) ** 2))(jnp.asarray(b0))\n'
             'assert grad_b is not None and rel(grad_b, auto) < tol, "not the gradient of the loss with respect to b"\n'
             'print("right: the bias gradient is the error summed over the rows")'),
]
