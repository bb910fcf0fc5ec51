"""The autograd stage's notebook: lecture program 3, `loss.backward()` in PyTorch and `jax.value_and_grad` in JAX."""

from tools.docs import lessons
from tools.docs.lessons import Code, Exercise, Md
from tools.docs.lessons.manual import DATA, PARAMS, PLOT

TITLE = Md("autograd computes the gradient", "autograd가 기울기를 계산한다")

CHECK = '''\
from equivalence.tolerance import TOLERANCES

tol = TOLERANCES["float32"].rel  # float32 rounding, grown over 5000 steps


def rel(a, b):  # the project's metric: normwise relative error
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


print(f"weights differ by {rel(torch_w, jax_w):.1e}, losses by {rel(torch_losses, jax_losses):.1e}; tolerance {tol:.0e}")
assert rel(torch_w, jax_w) < tol and rel(torch_losses, jax_losses) < tol'''

TORCH = '''\
def torch_train(w, x, y, lr, steps):
    w = torch.tensor(w, requires_grad=True)  # record what is done with w (the lecture forgot this flag)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for t in range(steps):
        loss = 0.5 * (x.mm(w) - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()  # fills w.grad
        with torch.no_grad():  # the update itself must not be recorded
            w -= lr * w.grad
            w.grad.zero_()  # backward() adds into .grad: clear it
    return w.detach().numpy(), np.array(losses)


torch_w, torch_losses = torch_train(w0, x, y, LR, STEPS)
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
def loss_fn(params, x, y):  # a pure function of the parameters: grad differentiates its first argument
    return 0.5 * jnp.sum((x @ params["w"] - y) ** 2)


@jax.jit
def step(params, x, y, lr):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)  # grads has the shape of params: a pytree
    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)  # no no_grad(): nothing is recorded outside grad
    return params, loss


@functools.partial(jax.jit, static_argnames="steps")
def jax_train(params, x, y, lr, steps):
    # the Python loop becomes lax.scan: one compiled loop that threads params through every step
    return jax.lax.scan(lambda p, _: step(p, x, y, lr), params, length=steps)


jax_params, jax_losses = jax_train({"w": jnp.asarray(w0)}, x, y, LR, STEPS)
jax_w = jax_params["w"]
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps")'''

LEARN = '''\
x2, y2 = problems.linear(seed=0)  # y = x @ w_true + b_true + noise: there is a map to find
best2 = 0.5 * np.sum((x2 @ np.linalg.lstsq(x2, y2, rcond=None)[0] - y2) ** 2)  # no bias in the model: a floor
torch_w2, torch_losses2 = torch_train(w0, x2, y2, LR_LEARN, LEARN_STEPS)
jax_params2, jax_losses2 = jax_train({"w": jnp.asarray(w0)}, x2, y2, LR_LEARN, LEARN_STEPS)
plt.semilogy(torch_losses2, label="PyTorch")
plt.semilogy(jax_losses2, "--", label="JAX")
plt.axhline(best2, color="gray", linestyle=":", label="best w (least squares)")
plt.xlabel("step")
plt.ylabel("loss")
plt.legend()
plt.show()
print(f"loss {torch_losses2[0]:.2f} -> {torch_losses2[-1]:.4f}; the best any w can do: {best2:.4f}")
assert torch_losses2[-1] < 1.01 * best2 and rel(torch_w2, jax_params2["w"]) < tol'''

DEVIATION = '''\
import jaxnet.autograd

# the project's version: the same step, with lr a traced field of a Trainer (a new lr reuses the compiled program)
# and one batch per step stacked on a leading axis (xs: (steps, 64, 4)), so minibatches take the same program
trainer = jaxnet.autograd.build({"w": w0}, LR)
xs, ys = np.broadcast_to(x, (STEPS, *x.shape)), np.broadcast_to(y, (STEPS, *y.shape))
trainer, project_losses = jaxnet.autograd.train(trainer, xs, ys)
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
    Md("## PyTorch: the lecture's program\n\n`requires_grad=True` makes PyTorch record every operation on `w`; "
       "`loss.backward()` walks the record back and fills `w.grad`. The update runs under `torch.no_grad()`, and `.grad` "
       "is cleared, because `backward()` adds into it.",
       "## PyTorch: 강의의 프로그램\n\n`requires_grad=True`이면 PyTorch가 `w`로 한 모든 연산을 기록하고, `loss.backward()`가 "
       "그 기록을 거꾸로 따라가 `w.grad`를 채웁니다. 갱신은 `torch.no_grad()` 안에서 하고, `backward()`가 `.grad`에 더하므로 "
       "매번 비웁니다."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\nNo flag and no record: `jax.value_and_grad(loss_fn)` is a new function that "
       "returns the loss and its gradient with respect to the first argument, a dict of parameters (a *pytree*). "
       "`jax.tree.map` updates every leaf; `lax.scan` runs the loop.",
       "## JAX: 같은 계산, JAX다운 코드\n\n플래그도 기록도 없습니다: `jax.value_and_grad(loss_fn)`는 손실과, 첫 인자(매개변수 "
       "dict, 곧 *pytree*)에 대한 기울기를 돌려주는 새 함수입니다. `jax.tree.map`이 모든 잎을 갱신하고, `lax.scan`이 "
       "반복을 돌립니다."),
    Code(JAX),
    Md(lessons.NOTHING_EN, lessons.NOTHING_KO), Code(PLOT),
    Md(lessons.EQUAL_EN, lessons.EQUAL_KO), Code(CHECK),
    Md(lessons.LEARNABLE_EN, lessons.LEARNABLE_KO), Code(LEARN),
    Md("## Why the project's own version looks different\n\n`jaxnet/autograd.py` takes the same step, written for "
       "measurement: the learning rate is a traced field of a `Trainer` (a pytree), so a new rate reuses the compiled "
       "program, and `train` scans over a stack of batches, one per step. The project then measures both frameworks "
       "against a float64 oracle.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/autograd.py`는 같은 스텝을 측정하기 좋게 씁니다: 학습률은 `Trainer`"
       "(pytree)의 트레이싱되는 필드라서 새 학습률도 컴파일된 프로그램을 다시 씁니다. `train`은 스텝마다 배치 하나씩, 쌓인 배치 위를 "
       "scan합니다. 그리고 두 프레임워크를 float64 오라클과 비교해 측정합니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("Forget `zero_grad`: call `loss.backward()` twice on a fresh `w` without clearing `.grad`, and set "
             "`ratio` to the second `.grad` divided by the first (one number).",
             "`zero_grad`를 잊어 보세요: 새 `w`에서 `.grad`를 비우지 않고 `loss.backward()`를 두 번 부른 뒤, 두 번째 "
             "`.grad`를 첫 번째로 나눈 값(숫자 하나)을 `ratio`에 넣으세요.",
             "ratio = None  # your code",
             "w = torch.tensor(w0, requires_grad=True)\n"
             "(0.5 * (torch.from_numpy(x).mm(w) - torch.from_numpy(y)).pow(2).sum()).backward()\n"
             "first = w.grad.clone()\n"
             "(0.5 * (torch.from_numpy(x).mm(w) - torch.from_numpy(y)).pow(2).sum()).backward()\n"
             "ratio = (w.grad / first).mean().item()",
             'assert ratio is not None and abs(ratio - 2) < 1e-6, "backward() twice: what is in .grad now?"\n'
             'print("right: backward() adds, so a forgotten zero_grad doubles the step")'),
    Exercise("The gradient with respect to the input: set `grad_x` to d loss / d x at `w0`, with `jax.grad` and its "
             "`argnums` (the check compares it with PyTorch's `x.grad`).",
             "입력에 대한 기울기: `w0`에서 d loss / d x를 `jax.grad`와 `argnums`로 구해 `grad_x`에 넣으세요 "
             "(검사는 PyTorch의 `x.grad`와 비교합니다).",
             "grad_x = None  # your code: shape (64, 4)",
             "grad_x = jax.grad(loss_fn, argnums=1)({\"w\": jnp.asarray(w0)}, x, y)",
             'xt = torch.tensor(x, requires_grad=True)\n'
             '(0.5 * (xt.mm(torch.from_numpy(w0)) - torch.from_numpy(y)).pow(2).sum()).backward()\n'
             'assert grad_x is not None and rel(grad_x, xt.grad) < tol, "not PyTorch\'s x.grad"\n'
             'print("right: argnums picks the argument to differentiate")'),
]
