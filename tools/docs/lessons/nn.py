"""The nn stage's notebook: lecture program 4, `nn.Sequential(nn.Linear)` and `nnx.Linear`, updated by hand."""

from tools.docs.lessons import CURVES_EN, CURVES_KO, Code, Exercise, Md

TITLE = Md("a Linear layer and mse_loss", "Linear 층과 mse_loss")

PARAMS = '''\
STEPS = 500  # steps of gradient descent (the test suite runs fewer)
LR = 0.1  # the stage's learning rate: mse_loss is a mean, so 1e-6 would not move'''

DATA = '''\
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from flax import nnx
from netdata import init, problems

jax.config.update("jax_default_matmul_precision", "highest")  # full float32 matmuls, as torch's, also on a GPU
x, y = problems.lecture(seed=0)  # x (64, 4), y (64, 2)
weights = init.linear("torch", problems.DIN, problems.DOUT)  # nn.Linear's own uniform start, drawn once in NumPy
print({name: array.shape for name, array in weights.items()})'''

TORCH = '''\
torch_model = torch.nn.Sequential(torch.nn.Linear(problems.DIN, problems.DOUT))
with torch.no_grad():  # the shared start: torch keeps the weight as w.T, (Dout, Din)
    torch_model[0].weight.copy_(torch.from_numpy(weights["w"].T))
    torch_model[0].bias.copy_(torch.from_numpy(weights["b"]))

xt, yt = torch.from_numpy(x), torch.from_numpy(y)
torch_losses = []
for t in range(STEPS):
    loss = F.mse_loss(torch_model(xt), yt)  # the mean over all 64 * 2 numbers
    torch_losses.append(loss.item())
    torch_model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in torch_model.parameters():
            param -= LR * param.grad
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
jax_model = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))
jax_model.kernel[...] = weights["w"]  # Flax's kernel is w itself, (Din, Dout): no transpose
jax_model.bias[...] = weights["b"]


def mse(model, x, y):
    return jnp.mean((model(x) - y) ** 2)  # = F.mse_loss


@nnx.jit
def step(model, x, y):
    loss, grads = nnx.value_and_grad(mse)(model, x, y)  # grads: an nnx.State shaped like the model's Params
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p, g: p - LR * g, params, grads))  # NNX modules change in place
    return loss


@jax.jit
def jax_train(state):  # lax.scan carries arrays: split the module into its graph and its state, merge in the loop
    def body(state, _):
        model = nnx.merge(graphdef, state)
        loss = step(model, x, y)
        return nnx.state(model), loss
    return jax.lax.scan(body, state, length=STEPS)


graphdef, state = nnx.split(jax_model)
state, jax_losses = jax_train(state)
nnx.update(jax_model, state)
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps")'''

PLOT = '''\
plt.plot(torch_losses, label="PyTorch")
plt.plot(jax_losses, "--", label="JAX")
plt.xlabel("step")
plt.ylabel("loss")
plt.legend()
plt.show()'''

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
import jaxnet.nn
from jaxnet.loop import _Layout

# the project's version scans over batches (xs: (steps, 64, 4)) with jaxnet.loop.scan_steps, which splits the
# trainer once and keeps its layout (_Layout: the treedef and which leaves are arrays) so that a resumed run,
# a new lr or another stage reuses the compiled program
trainer = jaxnet.nn.build(weights, LR)
xs, ys = np.broadcast_to(x, (STEPS, *x.shape)), np.broadcast_to(y, (STEPS, *y.shape))
trainer, project_losses = jaxnet.nn.train(trainer, xs, ys)
print(f"the project's losses differ from ours by {rel(project_losses, jax_losses):.1e}; its lr is traced: "
      f"{type(trainer.lr).__name__}")
print("the layout it caches:", _Layout.__doc__.splitlines()[0])'''

CELLS = [
    Md("## The data and the shared start\n\n`netdata` draws the data and `nn.Linear`'s own uniform initial weights once, "
       "in NumPy, in one layout: `w` is (Din, Dout), used as `x @ w + b`.",
       "## 데이터와 공통 시작점\n\n`netdata`가 데이터와 `nn.Linear` 고유의 균등분포 초기 가중치를 NumPy로 한 번 뽑습니다. "
       "레이아웃은 하나: `w`는 (Din, Dout)이고 `x @ w + b`로 씁니다."),
    Code(PARAMS, "parameters"), Code(DATA),
    Md("## PyTorch: the lecture's program\n\n`nn.Sequential(nn.Linear)`, `F.mse_loss` and a loop over "
       "`model.parameters()` that subtracts `lr * grad` (the lecture's loop, with its missing `:` restored).",
       "## PyTorch: 강의의 프로그램\n\n`nn.Sequential(nn.Linear)`, `F.mse_loss`, 그리고 `model.parameters()`를 돌며 "
       "`lr * grad`를 빼는 반복문 (강의의 반복문에서 빠진 `:`를 채웠습니다)."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\n`nnx.Linear` keeps its kernel as `w` (no transpose). `nnx.value_and_grad` "
       "differentiates with respect to the model's `nnx.Param`s; `nnx.jit` compiles the step. `lax.scan` carries "
       "arrays, so the module is split into a static graph and its state, and merged again inside the loop: this is "
       "what `nnx.scan` does for you.",
       "## JAX: 같은 계산, JAX다운 코드\n\n`nnx.Linear`는 `kernel`(가중치 행렬)을 `w` 그대로 둡니다 (전치 없음). `nnx.value_and_grad`는 "
       "모델의 `nnx.Param`에 대해 미분하고, `nnx.jit`이 스텝을 컴파일합니다. `lax.scan`은 배열을 나르므로 모듈을 정적인 "
       "그래프와 상태로 나누고(split) 반복 안에서 다시 합칩니다(merge): `nnx.scan`이 대신 해 주는 일입니다."),
    Code(JAX),
    Md(CURVES_EN, CURVES_KO), Code(PLOT),
    Md("## Are they equal?\n\n`equivalence.port.compare` runs both trained models on `x`, layer by layer, and holds "
       "them to the project's float32 tolerance (1e-5); the loss curves are held to the same.",
       "## 둘은 같은가?\n\n`equivalence.port.compare`가 두 층이 같은 함수를 계산함을 (float64로, 층마다) 보입니다. 학습된 가중치와 "
       "손실 곡선은 프로젝트의 float32 허용 오차(1e-5)로 비교합니다."),
    Code(CHECK),
    Md("## Why the project's own version looks different\n\n`jaxnet/nn.py` trains through `jaxnet.loop.scan_steps`: "
       "the same split-scan-merge, written once for every stage, with the learning rate traced and the layout of the "
       "split cached (`_Layout`), so that a new learning rate or a resumed run reuses the compiled program.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/nn.py`는 `jaxnet.loop.scan_steps`로 학습합니다: 같은 "
       "split-scan-merge를 모든 스테이지에 한 번만 쓴 것입니다. 학습률은 추적되고, split의 레이아웃(`_Layout`)는 캐시되어 "
       "새 학습률이나 이어 하는 실행도 컴파일된 프로그램을 다시 씁니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("`optax.l2_loss` is `0.5 * (prediction - target) ** 2`. Set `ratio` to the gradient of its mean divided "
             "by the gradient of `mse` (for the bias of a fresh model, one number).",
             "`optax.l2_loss`는 `0.5 * (prediction - target) ** 2`입니다. 그 평균의 기울기를 `mse`의 기울기로 "
             "나눈 값(새 모델의 편향에 대해, 숫자 하나)을 `ratio`에 넣으세요.",
             "import optax\n\nratio = None  # your code",
             "import optax\n\nmodel = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))\n"
             "g_l2 = nnx.grad(lambda m: optax.l2_loss(m(x), y).mean())(model)\n"
             "g_mse = nnx.grad(mse)(model, x, y)\n"
             "ratio = float(jnp.mean(g_l2[\"bias\"][...] / g_mse[\"bias\"][...]))",
             'assert ratio is not None and abs(ratio - 0.5) < 1e-5, "compare the two losses\' formulas"\n'
             'print("right: l2_loss halves the gradient, so the same lr takes half the step")'),
    Exercise("Copy the other way: set `torch_weight` to what `nn.Linear.weight` must hold for the trained JAX model "
             "`jax_model` (a NumPy array).",
             "반대로 복사하세요: 학습된 JAX 모델 `jax_model`을 위해 `nn.Linear.weight`에 들어가야 할 값을 `torch_weight`"
             "(NumPy 배열)에 넣으세요.",
             "torch_weight = None  # your code",
             "torch_weight = np.asarray(jax_model.kernel[...]).T  # (Dout, Din)",
             'assert torch_weight is not None and rel(torch_weight, torch_model[0].weight.detach()) < tol, "shape?"\n'
             'print("right: torch\'s weight is the kernel transposed")'),
]
