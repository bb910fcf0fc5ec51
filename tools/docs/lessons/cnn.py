"""The cnn stage's notebook: lecture program 8, Conv-BatchNorm-ReLU-MaxPool twice and a Linear, on digits."""

from tools.docs.lessons import CURVES_EN, CURVES_KO, Code, Exercise, Md
from tools.docs.lessons.nn import PLOT

TITLE = Md("a CNN learns its own features", "CNN이 스스로 특징을 배운다")

PARAMS = '''\
STEPS = 100  # Adam steps on minibatches of 64 (the test suite runs fewer)
LR = 1e-2'''

DATA = '''\
import jax

jax.config.update("jax_enable_x64", True)  # float64: float32 convolutions round differently in the two frameworks
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import torch
import torch.nn.functional as F
from flax import nnx
from netdata import batches, datasets, init

digits = datasets.digits()  # 1797 images of 8x8 pixels, valued 0..16
x = digits.x.reshape(-1, 1, 8, 8) / 16.0  # NCHW, PyTorch's layout, float64
labels = np.asarray(digits.labels)
order = batches.indices(0, 899, 64, 0, STEPS)  # (STEPS, 64): which training images each step sees
weights = init.cnn("torch", [1, 16, 32], 2 * 2 * 32, 10, dtype=np.float64)  # kernels HWIO, Flax's layout
print(x.shape, {name: a.shape for name, a in weights.items() if name.endswith("w")})'''

TORCH = '''\
class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList([torch.nn.Conv2d(1, 16, 3, padding=1, bias=False),
                                          torch.nn.Conv2d(16, 32, 3, padding=1, bias=False)])
        self.bns = torch.nn.ModuleList([torch.nn.BatchNorm2d(16), torch.nn.BatchNorm2d(32)])
        self.fc = torch.nn.Linear(2 * 2 * 32, 10)

    def forward(self, x):  # x: (N, C, H, W)
        for conv, bn in zip(self.convs, self.bns):
            x = F.max_pool2d(F.relu(bn(conv(x))), 2)
        return self.fc(x.permute(0, 2, 3, 1).flatten(1))  # flatten in (H, W, C) order, as Flax does


torch_model = CNN().double()
with torch.no_grad():  # the shared start: torch's kernels are OIHW
    for i, conv in enumerate(torch_model.convs):
        conv.weight.copy_(torch.from_numpy(weights[f"conv.{i}.w"].transpose(3, 2, 0, 1)))
    torch_model.fc.weight.copy_(torch.from_numpy(weights["fc.w"].T))
    torch_model.fc.bias.copy_(torch.from_numpy(weights["fc.b"]))
optimizer = torch.optim.Adam(torch_model.parameters(), lr=LR)
torch_model.train()  # BatchNorm normalizes with the batch's statistics
torch_losses = []
for batch in order:
    optimizer.zero_grad()
    loss = F.cross_entropy(torch_model(torch.from_numpy(x[batch])), torch.from_numpy(labels[batch]))
    loss.backward()
    optimizer.step()
    torch_losses.append(loss.item())
print(f"PyTorch: loss {torch_losses[0]:.4f} -> {torch_losses[-1]:.4f} after {STEPS} steps")'''

JAX = '''\
class CNN(nnx.Module):
    def __init__(self, rngs):
        self.convs = nnx.List([nnx.Conv(1, 16, (3, 3), padding=1, use_bias=False, param_dtype=jnp.float64, rngs=rngs),
                               nnx.Conv(16, 32, (3, 3), padding=1, use_bias=False, param_dtype=jnp.float64, rngs=rngs)])
        # momentum 0.9 is torch's 0.1; use_fast_variance=False computes the variance as torch does
        self.bns = nnx.List([nnx.BatchNorm(c, momentum=0.9, epsilon=1e-5, use_fast_variance=False,
                                           param_dtype=jnp.float64, rngs=rngs) for c in (16, 32)])
        self.fc = nnx.Linear(2 * 2 * 32, 10, param_dtype=jnp.float64, rngs=rngs)

    def __call__(self, x):  # x: (N, H, W, C), Flax's layout
        for conv, bn in zip(self.convs, self.bns):
            x = nnx.max_pool(nnx.relu(bn(conv(x))), (2, 2), strides=(2, 2))
        return self.fc(x.reshape(x.shape[0], -1))


jax_model = CNN(nnx.Rngs(0))
for bn in jax_model.bns:  # Flax makes the running statistics float32 whatever param_dtype: float64 as torch's
    bn.mean, bn.var = nnx.BatchStat(bn.mean[...].astype(jnp.float64)), nnx.BatchStat(bn.var[...].astype(jnp.float64))
for i, conv in enumerate(jax_model.convs):
    conv.kernel[...] = weights[f"conv.{i}.w"]  # HWIO: no transpose
jax_model.fc.kernel[...], jax_model.fc.bias[...] = weights["fc.w"], weights["fc.b"]
jax_optimizer = nnx.Optimizer(jax_model, optax.adam(LR), wrt=nnx.Param)
jax_model.train()  # NNX's twin of model.train(): BatchNorm uses the batch's statistics


def cross_entropy(model, x, labels):
    return optax.softmax_cross_entropy_with_integer_labels(model(x), labels).mean()


@nnx.jit
def step(model, optimizer, x, labels):
    loss, grads = nnx.value_and_grad(cross_entropy)(model, x, labels)
    optimizer.update(model, grads)
    return loss


x_nhwc = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC
# a Python loop of jitted steps: on a CPU, XLA runs a convolution's gradient inside lax.scan far slower
jax_losses = [float(step(jax_model, jax_optimizer, x_nhwc[batch], labels[batch])) for batch in order]
print(f"JAX:     loss {jax_losses[0]:.4f} -> {jax_losses[-1]:.4f} after {STEPS} steps")'''

CHECK = '''\
from equivalence.tolerance import TOLERANCES

tol = TOLERANCES["float32"].rel  # float64 on both sides, so well inside it


def rel(a, b):  # the project's metric: normwise relative error
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


torch_kernel = torch_model.convs[0].weight.detach().numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
print(f"losses differ by {rel(jax_losses, torch_losses):.1e}, the first conv's kernels by "
      f"{rel(jax_model.convs[0].kernel[...], torch_kernel):.1e}")
assert rel(jax_losses, torch_losses) < tol and rel(jax_model.convs[0].kernel[...], torch_kernel) < tol'''

DEVIATION = '''\
import inspect

import jaxnet.cnn
from jaxnet.cnn import _batch_norm_train, _patches_conv

# 1. jaxnet.cnn trains inside lax.scan, so its convolution is _patches_conv: patches @ kernel, a matmul that XLA
# differentiates fast inside a scan (a plain convolution's gradient there was ~50x slower on CPU)
print(inspect.getdoc(_patches_conv).splitlines()[0])
# 2. running variance: PyTorch stores the unbiased batch variance, Flax the biased one
print(inspect.getdoc(_batch_norm_train).splitlines()[0])
torch_var = torch_model.bns[0].running_var.numpy()
print(f"running variance, PyTorch vs Flax: {rel(jax_model.bns[0].var[...], torch_var):.1e} apart")'''

CELLS = [
    Md("## The data and the shared start\n\nscikit-learn's 8x8 digits, in `netdata.datasets`; the first 899 images "
       "train, 64 a step in an order `netdata.batches` fixes for both frameworks. Both sides compute in float64.",
       "## 데이터와 공통 시작점\n\n`netdata.datasets`의 8x8 손글씨 숫자입니다. 앞의 899장으로, 스텝마다 64장씩 "
       "`netdata.batches`가 두 프레임워크에 똑같이 정한 순서로 학습합니다. 양쪽 모두 float64로 계산합니다."),
    Code(PARAMS, "parameters"), Code(DATA),
    Md("## PyTorch: the lecture's program\n\nTwo blocks of Conv2d, BatchNorm2d, ReLU and a 2x2 max-pool, then a Linear "
       "(dropout left out: its random masks would differ). `model.train()` makes BatchNorm use the batch's statistics.",
       "## PyTorch: 강의의 프로그램\n\nConv2d, BatchNorm2d, ReLU, 2x2 max-pool 블록 두 개, 그리고 Linear (dropout은 뺐습니다: "
       "무작위 마스크가 서로 다르기 때문입니다). `model.train()`이면 BatchNorm이 배치의 통계를 씁니다."),
    Code(TORCH),
    Md("## JAX: the same, idiomatic\n\nFlax is channels-last: images NHWC, kernels HWIO (no transpose from the shared "
       "weights). `nnx.BatchNorm`'s momentum is 1 minus PyTorch's. NNX modules have `.train()` and `.eval()` too.",
       "## JAX: 같은 계산, JAX다운 코드\n\nFlax는 채널이 마지막입니다: 이미지는 NHWC, 필터는 HWIO (공통 가중치에서 전치가 "
       "필요 없습니다). `nnx.BatchNorm`의 momentum은 1에서 PyTorch의 값을 뺀 것입니다. NNX 모듈에도 `.train()`과 "
       "`.eval()`이 있습니다."),
    Code(JAX),
    Md(CURVES_EN, CURVES_KO), Code(PLOT),
    Md("## Are they equal?\n\nThe loss curves and the trained kernels, against the project's tolerance table.",
       "## 둘은 같은가?\n\n손실 곡선과 학습된 필터를 프로젝트의 허용 오차 표로 비교합니다."),
    Code(CHECK),
    Md("## Why the project's own version looks different\n\n`jaxnet/cnn.py` scans its steps, and gives `nnx.Conv` "
       "its own convolution, `_patches_conv` (patches times the kernel, one matmul), because XLA on a CPU runs a "
       "convolution's gradient inside `lax.scan` about 50x slower. It also keeps PyTorch's running variance (the "
       "unbiased one) in `_batch_norm_train`, and draws dropout masks from `netdata.dropout` so both frameworks drop "
       "the same features.",
       "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/cnn.py`는 스텝을 scan하고, `nnx.Conv`에 자체 합성곱 "
       "`_patches_conv`(패치 곱하기 필터, matmul 하나)를 줍니다. CPU의 XLA가 `lax.scan` 안에서 합성곱의 기울기를 약 50배 "
       "느리게 돌리기 때문입니다. 또 `_batch_norm_train`으로 PyTorch의 running variance(불편 분산)를 지키고, dropout 마스크를 "
       "`netdata.dropout`에서 뽑아 두 프레임워크가 같은 특징을 버리게 합니다."),
    Code(DEVIATION, "deviation"),
]

EXERCISES = [
    Exercise("Layouts: set `nhwc` to the first 5 images in Flax's layout, taken from `x` (NCHW).",
             "레이아웃: `x`(NCHW)에서 처음 5장을 Flax의 레이아웃으로 바꿔 `nhwc`에 넣으세요.",
             "nhwc = None  # your code",
             "nhwc = x[:5].transpose(0, 2, 3, 1)",
             'assert nhwc is not None and nhwc.shape == (5, 8, 8, 1) and np.array_equal(nhwc[..., 0], x[:5, 0]), "NHWC"\n'
             'print("right: channels move last")'),
    Exercise("Evaluation mode: set `test_accuracy` to the JAX model's accuracy on the held-out images `x[899:]`, "
             "after switching BatchNorm to its running statistics.",
             "평가 모드: BatchNorm을 running 통계로 바꾼 뒤, 따로 둔 이미지 `x[899:]`에서 JAX 모델의 정확도를 "
             "`test_accuracy`에 넣으세요.",
             "test_accuracy = None  # your code",
             "jax_model.eval()\n"
             "test_accuracy = float(jnp.mean(jnp.argmax(jax_model(x_nhwc[899:]), 1) == labels[899:]))\n"
             "jax_model.train()",
             'assert test_accuracy is not None and test_accuracy > 0.5, "eval(), then argmax of the logits"\n'
             'print(f"right: {test_accuracy:.3f} on 898 images it never saw")'),
]
