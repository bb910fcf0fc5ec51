"""The mlp stage's notebook: lecture program 7, Linear-ReLU-Linear-ReLU-Linear classifying, trained by Adam."""

from tools.docs.lessons import CURVES_EN, CURVES_KO, Code, Exercise, Md
from tools.docs.lessons.nn import PLOT

TITLE = Md("a multi-layer perceptron classifies", "다층 퍼셉트론이 분류한다")

PARAMS = '''\
STEPS = 500  # Adam steps (the test suite runs fewer)
LR = 1e-2'''

DATA = '''\
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import torch
import torch.nn.functional as F
from flax import nnx
from netdata import init, problems

jax.config.update("jax_default_matmul_precision", "highest")  # full float32 matmuls, as torch's, also on a GPU
x, labels = problems.classification(seed=0, n=128, classes=3)  # 3 classes a linear map separates
(x_train, x_test), (y_train, y_test) = np.split(x, 2), np.split(labels, 2)  # the second half is never trained on
sizes = [problems.DIN, 16, 16, 3]
weights = init.mlp("torch", sizes)  # layers.i.w (in, out) and layers.i.b, nn.Linear's start
print({name: array.shape for name, array in weights.items()})'''

TORCH = '''\
class MLP(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)  # logits: cross_entropy applies the softmax itself


torch_model = MLP(sizes)
with torch.no_grad():  # the shared start
    for i, layer in enumerate(torch_model.layers):
        layer.weight.copy_(torch.from_numpy(weights[f"layers.{i}.w"].T))
        layer.bias.copy_(torch.from_numpy(weights[f"layers.{i}.b"]))
optimizer = torch.optim.Adam(torch_model.parameters(), lr=LR)
xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
torch_losses = []
for t in range(STEPS):
    optimizer.zero_grad()
    loss = F.cross_entropy(torch_model(xt), yt)
    loss.backward()
    optimizer.step()
    torch_losses.append(loss.item())
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
class MLP(nnx.Module):
    def __init__(self, sizes, rngs):
        self.layers = nnx.List(nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:]))  # ModuleList

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)


jax_model = MLP(sizes, nnx.Rngs(0))
for i, layer in enumerate(jax_model.layers):  # the shared start: kernels are w, no transpose
    layer.kernel[...], layer.bias[...] = weights[f"layers.{i}.w"], weights[f"layers.{i}.b"]
jax_optimizer = nnx.Optimizer(jax_model, optax.adam(LR), wrt=nnx.Param)


def cross_entropy(model, x, labels):  # = F.cross_entropy
    return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).mean()


@nnx.jit
def step(model, optimizer, x, labels):
    loss, grads = nnx.value_and_grad(cross_entropy)(model, x, labels)
    optimizer.update(model, grads)
    return loss


@jax.jit
def jax_train(state):  # split model and optimizer, scan, merge inside the loop
    def body(state, _):
        model, optimizer = nnx.merge(graphdef, state)
        return nnx.state((model, optimizer)), step(model, optimizer, x_train, y_train)
    return jax.lax.scan(body, state, length=STEPS)


graphdef, state = nnx.split((jax_model, jax_optimizer))
state, jax_losses = jax_train(state)
nnx.update((jax_model, jax_optimizer), state)
accuracy = float(jnp.mean(jnp.argmax(jax_model(x_test), axis=1) == y_test))
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps; test accuracy {accuracy:.3f}")'''

CHECK = '''\
from equivalence import port
from equivalence.tolerance import TOLERANCES

tol = TOLERANCES["float32"].rel


def rel(a, b):  # the project's metric: normwise relative error
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


report = port.compare(torch_model, jax_model, x_test)  # the same function, layer by layer (float64)
torch_w = torch_model.layers[0].weight.detach().numpy().T
print(f"port.compare: {'EQUAL' if report.passed else 'NOT EQUAL'}; trained weights differ by "
      f"{rel(jax_model.layers[0].kernel[...], torch_w):.1e}, losses by {rel(jax_losses, torch_losses):.1e}")
assert report.passed and rel(jax_losses, torch_losses) < tol  # the weights: see the next section'''

DEVIATION = '''\
import jaxnet.mlp
from jaxnet.mlp import _adamw

# the project trains with AdamW (decoupled weight decay, 0 here: exactly Adam) built as optax.adamw's chain with
# the float64-accurate bias correction, its lr and decay values in the optimizer's state (inject_hyperparams)
project = jaxnet.mlp.build(weights, LR)
xs, ys = np.broadcast_to(x_train, (STEPS, *x_train.shape)), np.broadcast_to(y_train, (STEPS, *y_train.shape))
project, project_losses = jaxnet.mlp.train(project, xs, ys)
print("hyperparameters in the state:", sorted(project.optimizer.opt_state.hyperparams), "|", type(_adamw(0.9, 0.999, 1e-8)).__name__)
project_w = jaxnet.mlp.export(project)["layers.0.w"]
print(f"first layer's weights vs PyTorch: optax.adam {rel(jax_model.layers[0].kernel[...], torch_w):.1e}, "
      f"the project's {rel(project_w, torch_w):.1e}")'''

CELLS = [
    Md("## The data and the shared start\n\n`netdata.problems.classification` labels the lecture's `x` by a random "
       "linear map (3 classes): there is something to learn. The second half is kept for the test.",
       "## 데이터와 공통 시작점\n\n`netdata.problems.classification`은 강의의 `x`에 무작위 선형 사상으로 레이블(3 클래스)을 "
       "붙입니다: 배울 것이 있습니다. 뒤쪽 절반은 테스트용으로 남겨 둡니다."),
    Code(PARAMS, "parameters"), Code(DATA),
    Md("## PyTorch: the lecture's program\n\nLinear layers with a ReLU between each pair, `F.cross_entropy` on the "
       "logits, Adam.", "## PyTorch: 강의의 프로그램\n\n층 사이마다 ReLU를 둔 Linear 층들, 로짓에 `F.cross_entropy`, Adam."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\n`nnx.List` is `ModuleList`; `optax.softmax_cross_entropy_with_integer_labels` "
       "is `F.cross_entropy` before the mean. The step and the scan are the optim stage's.",
       "## JAX: 같은 계산, JAX다운 코드\n\n`nnx.List`가 `ModuleList`이고, `optax.softmax_cross_entropy_with_integer_labels`"
       "는 평균 전의 `F.cross_entropy`입니다. 스텝과 scan은 optim 스테이지와 같습니다."),
    Code(JAX),
    Md(CURVES_EN, CURVES_KO), Code(PLOT),
    Md("## Are they equal?\n\n`equivalence.port.compare` proves the two MLPs compute the same function (in float64, "
       "layer by layer), and the loss curves agree within the float32 tolerance (1e-5). The trained weights drift further "
       "apart (printed): optax.adam's float32 bias correction makes every step slightly short, and the next section "
       "shows the project's fix.",
       "## 둘은 같은가?\n\n`equivalence.port.compare`가 두 MLP가 같은 함수를 계산함을 (float64로, 층마다) 보입니다. 학습된 "
       "손실 곡선은 float32 허용 오차(1e-5) 안에서 같습니다. 학습된 가중치는 더 벌어집니다(출력 참고): "
       "optax.adam의 float32 편향 보정이 스텝마다 조금씩 짧게 만들기 때문이고, 다음 절이 프로젝트의 해결책을 보입니다."),
    Code(CHECK),
    Md("## Why the project's own version looks different\n\n`jaxnet/mlp.py` trains with AdamW (`_adamw`: optax.adamw's "
       "chain with the float64-accurate bias correction of the optim stage, learning rate and weight decay in the "
       "optimizer's state), so `--weight-decay` and a new `--lr` reuse one compiled program.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/mlp.py`는 AdamW(`_adamw`: optim 스테이지의 float64만큼 정확한 "
       "편향 보정을 쓴 optax.adamw의 연쇄, 학습률과 weight decay는 옵티마이저 상태 속)로 학습하므로 `--weight-decay`와 새 "
       "`--lr`이 컴파일된 프로그램 하나를 다시 씁니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("The accuracy by hand: set `torch_accuracy` to the share of `x_test` rows whose largest PyTorch logit is "
             "the label.",
             "정확도를 직접: PyTorch 로짓이 가장 큰 클래스가 레이블과 같은 `x_test` 행의 비율을 `torch_accuracy`에 넣으세요.",
             "torch_accuracy = None  # your code",
             "with torch.no_grad():\n"
             "    torch_accuracy = (torch_model(torch.from_numpy(x_test)).argmax(dim=1).numpy() == y_test).mean()",
             'assert torch_accuracy is not None and abs(torch_accuracy - accuracy) < 1e-9, "argmax of the logits"\n'
             'print(f"right: {torch_accuracy:.3f}, the same as JAX\'s")'),
    Exercise("A softmax too many: set `ratio` to the loss of `F.cross_entropy(torch.softmax(logits, 1), labels)` divided "
             "by the right loss, for the trained PyTorch model's logits on `x_train` (a model trained so learns far slower: why?).",
             "softmax를 한 번 더: 학습된 PyTorch 모델의 `x_train` 로짓에 대해 `F.cross_entropy(torch.softmax(logits, 1), labels)`를 "
             "올바른 손실로 나눈 값을 `ratio`에 넣으세요 (이렇게 학습하면 훨씬 느려집니다: 왜일까요?).",
             "ratio = None  # your code",
             "logits = torch_model(torch.from_numpy(x_train))\nyt = torch.from_numpy(y_train)\n"
             "ratio = (F.cross_entropy(torch.softmax(logits, 1), yt) / F.cross_entropy(logits, yt)).item()",
             'assert ratio is not None and abs(ratio - 1) > 1e-3, "the two losses differ"\n'
             'print(f"right: {ratio:.3f}; probabilities in (0, 1) as logits squash every gradient")'),
]
