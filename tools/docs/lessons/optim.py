"""The optim stage's notebook: lecture program 5, `torch.optim.Adam` and `nnx.Optimizer(model, optax.adam(lr))`."""

from tools.docs.lessons import CURVES_EN, CURVES_KO, Code, Exercise, Md
from tools.docs.lessons.nn import DATA, PLOT

TITLE = Md("an optimizer takes the step: Adam", "옵티마이저가 스텝을 밟는다: Adam")

PARAMS = '''\
STEPS = 500  # Adam steps (the test suite runs fewer)
LR = 1e-2  # the stage's learning rate: an Adam step moves a weight by about lr'''

TORCH = '''\
torch_model = torch.nn.Sequential(torch.nn.Linear(problems.DIN, problems.DOUT))
with torch.no_grad():  # the shared start: torch keeps the weight as w.T, (Dout, Din)
    torch_model[0].weight.copy_(torch.from_numpy(weights["w"].T))
    torch_model[0].bias.copy_(torch.from_numpy(weights["b"]))
optimizer = torch.optim.Adam(torch_model.parameters(), lr=LR)

xt, yt = torch.from_numpy(x), torch.from_numpy(y)
torch_losses = []
for t in range(STEPS):
    optimizer.zero_grad()
    loss = F.mse_loss(torch_model(xt), yt)
    loss.backward()
    optimizer.step()
    torch_losses.append(loss.item())
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
import optax

jax_model = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))
jax_model.kernel[...] = weights["w"]  # Flax's kernel is w itself, (Din, Dout): no transpose
jax_model.bias[...] = weights["b"]
jax_optimizer = nnx.Optimizer(jax_model, optax.adam(LR), wrt=nnx.Param)


def mse(model, x, y):
    return jnp.mean((model(x) - y) ** 2)  # = F.mse_loss


@nnx.jit
def step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(mse)(model, x, y)  # replaces zero_grad() and backward()
    optimizer.update(model, grads)  # replaces optimizer.step(): model and optimizer change in place
    return loss


@jax.jit
def jax_train(state):  # lax.scan carries arrays: split model and optimizer, merge them inside the loop
    def body(state, _):
        model, optimizer = nnx.merge(graphdef, state)
        loss = step(model, optimizer, x, y)
        return nnx.state((model, optimizer)), loss
    return jax.lax.scan(body, state, length=STEPS)


graphdef, state = nnx.split((jax_model, jax_optimizer))
state, jax_losses = jax_train(state)
nnx.update((jax_model, jax_optimizer), state)
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps")'''

CHECK = '''\
from equivalence import port
from equivalence.tolerance import TOLERANCES

tol = TOLERANCES["float32"].rel


def rel(a, b):  # the project's metric: normwise relative error
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


# equivalence.port: the two layers compute the same function (torch's weights copied in, float64, layer by layer)
report = port.compare(torch_model[0], jax_model, x)
# and the trained weights and the loss curves agree within the float32 tolerance
torch_w = torch_model[0].weight.detach().numpy().T
print(f"port.compare: {'EQUAL' if report.passed else 'NOT EQUAL'}; trained weights differ by "
      f"{rel(jax_model.kernel[...], torch_w):.1e}, losses by {rel(jax_losses, torch_losses):.1e}; tolerance {tol:.0e}")
assert report.passed and rel(jax_model.kernel[...], torch_w) < tol and rel(jax_losses, torch_losses) < tol'''

DEVIATION = '''\
import jaxnet.optim
from jaxnet.optim import _adam

# 1. optax computes Adam's bias correction 1 - b2**t in float32, from b2 rounded to float32
b2 = 0.999
print(f"1 - b2 in float64: {1 - b2:.10f}; in float32: {float(1 - np.float32(b2)):.10f} "
      f"({abs(float(1 - np.float32(b2)) / (1 - b2) - 1):.1e} off)")
# 2. so jaxnet.optim's _adam is optax.adam's own chain with a float64-accurate correction (jaxnet.adam), and the
# lr a value in the optimizer's state (inject_hyperparams), not a constant compiled into the program
print("the transformation:", type(_adam(0.9, 0.999, 1e-8)).__name__)
# what it measures: 20 steps from the shared start, each JAX version against PyTorch, relative to how far it moved
tm = torch.nn.Linear(problems.DIN, problems.DOUT)
with torch.no_grad():
    tm.weight.copy_(torch.from_numpy(weights["w"].T))
    tm.bias.copy_(torch.from_numpy(weights["b"]))
opt = torch.optim.Adam(tm.parameters(), lr=LR)
for t in range(20):
    opt.zero_grad()
    F.mse_loss(tm(xt), yt).backward()
    opt.step()
jm = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))
jm.kernel[...], jm.bias[...] = weights["w"], weights["b"]
jopt = nnx.Optimizer(jm, optax.adam(LR), wrt=nnx.Param)
for t in range(20):
    step(jm, jopt, x, y)
project = jaxnet.optim.build(weights, LR)
project, _ = jaxnet.optim.train(project, np.broadcast_to(x, (20, *x.shape)), np.broadcast_to(y, (20, *y.shape)))
print("| lr in its state:", float(project.optimizer.opt_state.hyperparams["learning_rate"][...]))
moved = np.linalg.norm(tm.weight.detach().numpy().T - weights["w"])
for label, kernel in (("optax.adam", jm.kernel[...]), ("the project's", project.model.kernel[...])):
    print(f"{label}: {np.linalg.norm(kernel - tm.weight.detach().numpy().T) / moved:.1e} of the distance moved")'''

CELLS = [
    Md("## The data and the shared start\n\n`netdata` draws the data and `nn.Linear`'s own uniform initial weights once, "
       "in NumPy: `w` is (Din, Dout), used as `x @ w + b`.",
       "## 데이터와 공통 시작점\n\n`netdata`가 데이터와 `nn.Linear` 고유의 균등분포 초기 가중치를 NumPy로 한 번 뽑습니다: "
       "`w`는 (Din, Dout)이고 `x @ w + b`로 씁니다."),
    Code(PARAMS, "parameters"), Code(DATA),
    Md("## PyTorch: the lecture's program\n\nThe four calls of every training loop from here on: `zero_grad()`, the "
       "loss, `backward()`, `optimizer.step()`.",
       "## PyTorch: 강의의 프로그램\n\n이제부터 모든 학습 반복의 네 호출: `zero_grad()`, 손실, `backward()`, "
       "`optimizer.step()`."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\n`nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)` holds Adam's state; "
       "`nnx.value_and_grad` replaces `zero_grad` and `backward`, `optimizer.update(model, grads)` replaces `step()`. "
       "The step is `nnx.jit`-compiled, the loop a `lax.scan` over the split model and optimizer.",
       "## JAX: 같은 계산, JAX다운 코드\n\n`nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)`가 Adam의 상태를 "
       "가집니다. `nnx.value_and_grad`가 `zero_grad`와 `backward`를, `optimizer.update(model, grads)`가 `step()`을 "
       "대신합니다. 스텝은 `nnx.jit`으로 컴파일하고, 반복은 나눈(split) 모델과 옵티마이저 위의 `lax.scan`입니다."),
    Code(JAX),
    Md(CURVES_EN, CURVES_KO), Code(PLOT),
    Md("## Are they equal?\n\n`equivalence.port.compare` runs both trained models layer by layer against the float32 "
       "tolerance (1e-5); the loss curves are held to the same.",
       "## 둘은 같은가?\n\n`equivalence.port.compare`가 두 층이 같은 함수를 계산함을 (float64로, 층마다) 보입니다. 학습된 가중치와 "
       "손실 곡선은 프로젝트의 float32 허용 오차(1e-5)로 비교합니다."),
    Code(CHECK),
    Md("## Why the project's own version looks different\n\nTwo changes in `jaxnet/optim.py`. optax computes Adam's "
       "bias correction `1 - b2**t` in float32 from `b2` rounded to float32, so every float32 step comes out about "
       "7e-6 short; PyTorch computes it in Python's float64. The project's `_adam` is optax.adam's own chain with a "
       "float64-accurate correction (`jaxnet/adam.py`), and keeps the learning rate in the optimizer's state "
       "(`optax.inject_hyperparams`), so a new rate reuses the compiled program. The cell measures both.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/optim.py`의 두 가지 변경. optax는 Adam의 편향 보정 "
       "`1 - b2**t`를 float32로 반올림된 `b2`에서 float32로 계산하므로, float32의 모든 스텝이 약 7e-6만큼 짧습니다. "
       "PyTorch는 Python의 float64로 계산합니다. 프로젝트의 `_adam`은 optax.adam과 같은 연쇄(`optax.chain`)에 float64만큼 정확한 보정"
       "(`jaxnet/adam.py`)을 쓰고, 학습률을 옵티마이저 상태에 둡니다(`optax.inject_hyperparams`): 새 학습률도 컴파일된 "
       "프로그램을 다시 씁니다. 이 셀이 둘을 측정합니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("Change Adam's `b2` to 0.99 on both sides (`torch.optim.Adam(..., betas=(0.9, 0.99))` and "
             "`optax.adam(LR, b2=0.99)`), take 10 steps each from the shared start, and put the two losses' arrays in "
             "`torch_l` and `jax_l`.",
             "Adam의 `b2`를 양쪽 모두 0.99로 바꾸고 (`torch.optim.Adam(..., betas=(0.9, 0.99))`와 "
             "`optax.adam(LR, b2=0.99)`), 공통 시작점에서 각각 10 스텝을 밟아 두 손실 배열을 `torch_l`과 `jax_l`에 넣으세요.",
             "torch_l, jax_l = None, None  # your code",
             "tm = torch.nn.Linear(problems.DIN, problems.DOUT)\n"
             "with torch.no_grad():\n"
             "    tm.weight.copy_(torch.from_numpy(weights[\"w\"].T))\n"
             "    tm.bias.copy_(torch.from_numpy(weights[\"b\"]))\n"
             "opt = torch.optim.Adam(tm.parameters(), lr=LR, betas=(0.9, 0.99))\n"
             "torch_l = []\n"
             "for t in range(10):\n"
             "    opt.zero_grad()\n"
             "    loss = F.mse_loss(tm(xt), yt)\n"
             "    loss.backward()\n"
             "    opt.step()\n"
             "    torch_l.append(loss.item())\n"
             "jm = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))\n"
             "jm.kernel[...], jm.bias[...] = weights[\"w\"], weights[\"b\"]\n"
             "jopt = nnx.Optimizer(jm, optax.adam(LR, b2=0.99), wrt=nnx.Param)\n"
             "jax_l = [float(step(jm, jopt, x, y)) for t in range(10)]",
             'assert torch_l is not None and len(torch_l) == 10 and rel(torch_l, jax_l) < tol, "10 losses each, equal"\n'
             'assert abs(torch_l[-1] - torch_losses[9]) > 1e-6, "b2 did not change"\n'
             'print("right: the same b2 on both sides, the same steps")'),
    Exercise("Adam's first step moves every weight by about `lr`, whatever the gradient's size. Set `first_step` to "
             "the largest `|change|` of the kernel after one `optimizer.update` from the shared start, divided by `LR`.",
             "Adam의 첫 스텝은 기울기 크기와 상관없이 모든 가중치를 약 `lr`만큼 옮깁니다. 공통 시작점에서 "
             "`optimizer.update` 한 번 뒤 `kernel`의 가장 큰 `|변화|`를 `LR`로 나눈 값을 `first_step`에 넣으세요.",
             "first_step = None  # your code",
             "jm = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))\n"
             "jm.kernel[...], jm.bias[...] = weights[\"w\"], weights[\"b\"]\n"
             "jopt = nnx.Optimizer(jm, optax.adam(LR), wrt=nnx.Param)\n"
             "step(jm, jopt, x, y)\n"
             "first_step = float(jnp.max(jnp.abs(jm.kernel[...] - weights[\"w\"]))) / LR",
             'assert first_step is not None and abs(first_step - 1) < 1e-3, "one step, then |change| / LR"\n'
             'print("right: m / sqrt(v) is +-1 at the first step, so every weight moves by lr")'),
]
