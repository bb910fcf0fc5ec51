"""Per stage, the code a learner would write: the lecture's program in idiomatic PyTorch and in idiomatic JAX / Flax
NNX / Optax, side by side at the top of the guide's stage. The stage files (torchnet/, jaxnet/) then show what the
equivalence proof adds to it. tests/docs/test_idioms.py runs every snippet after PRELUDE."""

from __future__ import annotations

# What every snippet starts from: both frameworks' imports and the lecture's data (x, y independent randn).
PRELUDE = '''\
import jax
import jax.numpy as jnp
import optax
import torch
import torch.nn.functional as F
from flax import nnx

from netdata import problems

x, y = problems.lecture(seed=0)  # NumPy float32: x (64, 4), y (64, 2)
'''

IDIOMS: dict[str, tuple[str, str]] = {
    "manual": ('''\
x, y = torch.from_numpy(x), torch.from_numpy(y)
w = torch.randn(4, 2)
for t in range(5000):
    y_pred = x.mm(w)
    loss = 0.5 * (y_pred - y).pow(2).sum()
    grad_w = x.t().mm(y_pred - y)
    w -= 1e-6 * grad_w  # in place
''', '''\
w = jax.random.normal(jax.random.key(0), (4, 2))


def step(w, _):  # (carry, per-step input) -> (new carry, output)
    y_pred = x @ w
    loss = 0.5 * jnp.sum((y_pred - y) ** 2)
    grad_w = x.T @ (y_pred - y)
    return w - 1e-6 * grad_w, loss  # a new w


w, losses = jax.jit(lambda w: jax.lax.scan(step, w, length=5000))(w)
'''),
    "autograd": ('''\
x, y = torch.from_numpy(x), torch.from_numpy(y)
w = torch.randn(4, 2, requires_grad=True)
for t in range(5000):
    loss = 0.5 * (x.mm(w) - y).pow(2).sum()
    loss.backward()  # adds into w.grad
    with torch.no_grad():
        w -= 1e-6 * w.grad
        w.grad.zero_()
''', '''\
w = jax.random.normal(jax.random.key(0), (4, 2))


def loss_fn(w, x, y):
    return 0.5 * jnp.sum((x @ w - y) ** 2)


@jax.jit
def step(w, x, y):
    loss, grad_w = jax.value_and_grad(loss_fn)(w, x, y)  # returned
    return w - 1e-6 * grad_w, loss


for t in range(5000):
    w, loss = step(w, x, y)
'''),
    "nn": ('''\
x, y = torch.from_numpy(x), torch.from_numpy(y)
model = torch.nn.Sequential(torch.nn.Linear(4, 2))
for t in range(5000):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= 1e-6 * param.grad
    model.zero_grad()
''', '''\
model = nnx.Linear(4, 2, rngs=nnx.Rngs(0))


@nnx.jit
def step(model, x, y):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    params = nnx.state(model, nnx.Param)
    nnx.update(model, jax.tree.map(lambda p, g: p - 1e-6 * g, params, grads))
    return loss


for t in range(5000):
    loss = step(model, x, y)
'''),
    "optim": ('''\
x, y = torch.from_numpy(x), torch.from_numpy(y)
model = torch.nn.Sequential(torch.nn.Linear(4, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-6)
for t in range(5000):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
''', '''\
model = nnx.Linear(4, 2, rngs=nnx.Rngs(0))
optimizer = nnx.Optimizer(model, optax.adam(1e-6), wrt=nnx.Param)


@nnx.jit
def step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    optimizer.update(model, grads)
    return loss


for t in range(5000):
    loss = step(model, optimizer, x, y)
'''),
    "module": ('''\
class MyOneLayerNet(torch.nn.Module):
    def __init__(self, din, dout):
        super().__init__()  # registers the layers
        self.linear = torch.nn.Linear(din, dout)

    def forward(self, x):
        return self.linear(x)


model = MyOneLayerNet(4, 2)  # then train as in optim
''', '''\
class MyOneLayerNet(nnx.Module):
    def __init__(self, din, dout, rngs):
        self.linear = nnx.Linear(din, dout, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


model = MyOneLayerNet(4, 2, nnx.Rngs(0))  # then train as in optim
'''),
    "mlp": ('''\
class MLP(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)  # logits


x, labels = map(torch.from_numpy, problems.classification(seed=0))
loss = F.cross_entropy(MLP([4, 16, 16, 3])(x), labels)
''', '''\
class MLP(nnx.Module):
    def __init__(self, sizes, rngs):
        self.layers = nnx.List(
            nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes, sizes[1:]))

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)  # logits


x, labels = problems.classification(seed=0)
logits = MLP([4, 16, 16, 3], nnx.Rngs(0))(x)
loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
'''),
    "cnn": ('''\
block = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.BatchNorm2d(16, momentum=0.1),
    torch.nn.ReLU(), torch.nn.MaxPool2d(2))
images = torch.randn(64, 1, 8, 8)  # NCHW
block.train()  # BatchNorm: batch statistics
print(block(images).shape)
block.eval()  # BatchNorm: running statistics
''', '''\
block = nnx.Sequential(
    nnx.Conv(1, 16, (3, 3), padding=1, rngs=nnx.Rngs(0)), nnx.BatchNorm(16, momentum=0.9, rngs=nnx.Rngs(0)),
    nnx.relu, lambda z: nnx.max_pool(z, (2, 2), strides=(2, 2)))
images = jax.random.normal(jax.random.key(0), (64, 8, 8, 1))  # NHWC
block.train()  # BatchNorm: batch statistics
print(block(images).shape)
block.eval()  # BatchNorm: running statistics
'''),
}

# The snippets' comments in Korean, for the Korean guide: code stays code, comments are prose.
COMMENTS_KO = {
    "# (carry, per-step input) -> (new carry, output)": "# (carry, 스텝마다의 입력) -> (새 carry, 출력)",
    "# BatchNorm: batch statistics": "# BatchNorm: 배치 통계",
    "# BatchNorm: running statistics": "# BatchNorm: 이동 통계",
    "# NumPy float32: x (64, 4), y (64, 2)": "# NumPy float32 배열: x (64, 4), y (64, 2)",
    "# a new w": "# 새 w",
    "# adds into w.grad": "# w.grad에 더함",
    "# in place": "# 제자리에서",
    "# logits": "# 로짓",
    "# registers the layers": "# 층을 등록",
    "# returned": "# 반환값으로",
    "# then train as in optim": "# 훈련은 optim 스테이지와 같음",
    "# the lecture's program: randn start, gradient descent, one loss per step":
        "# 강의의 프로그램: randn에서 시작, 경사 하강법, 스텝마다 손실 하나",
    "# the lowest 0.5 * sum((x @ w - y) ** 2) that any w reaches: least squares":
        "# 어떤 w로도 더 내려갈 수 없는 0.5 * sum((x @ w - y) ** 2): 최소 제곱",
    "# x and y independent randn: nothing to learn": "# x와 y는 서로 독립인 randn: 배울 것이 없음",
    "# y = x @ w_true + b_true + noise: something to learn": "# y = x @ w_true + b_true + noise: 배울 것이 있음",
    "# y_pred = x @ w has no bias: take the mean out of y": "# y_pred = x @ w에는 편향이 없으므로 y에서 평균을 뺌",
}


def in_language(code: str, lang: str) -> str:
    """`code` with its comments in `lang` (English as written; Korean from COMMENTS_KO)."""
    if lang != "ko":
        return code
    for english, korean in COMMENTS_KO.items():
        code = code.replace(english, korean)
    return code
