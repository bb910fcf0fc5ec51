"""Two or three exercises per stage: the task in both languages, and the solution's real code (`solutions/`) and result."""

from __future__ import annotations

import importlib
from typing import NamedTuple

from tools.docs.source import Piece, Reader, function_source, read


class Exercise(NamedTuple):
    stage: str
    run: str  # the function of tools/docs/solutions/<stage>.py that answers it: () -> {name: value}
    shown: tuple[str, ...]  # the functions and classes the solution block shows, in order
    en: tuple[str, str]  # (title, task)
    ko: tuple[str, str]


EXERCISES = [
    Exercise("manual", "bias", ("torch_bias_step", "jax_bias_step"),
             ("Give `manual` a bias", "Add a bias `b` (Dout,) to both programs: `y_pred = x @ w + b`. Write its "
              "gradient by hand (each row's error, summed over the rows) and update it next to `w`. Train both "
              "for 200 steps at lr 1e-3: do the two frameworks still agree, and does the bias lower the loss?"),
             ("`manual`에 편향 넣기", "두 프로그램에 편향 `b` (Dout,)를 넣으세요: `y_pred = x @ w + b`. 편향의 기울기를 "
              "직접 쓰고(행마다의 오차를 모든 행에 걸쳐 더한 것) `w`와 함께 갱신하세요. 학습률 1e-3으로 200 스텝 "
              "훈련했을 때 두 프레임워크는 여전히 같은 값을 내나요? 편향 덕분에 손실이 줄어드나요?")),
    Exercise("manual", "grad_check", ("hand_loss", "grad_check"),
             ("Let `jax.grad` check your calculus", "Compute the gradient of `0.5 * sum((x @ w - y)**2)` with "
              "`jax.grad` and compare it with the hand-written `x.T @ (y_pred - y)`."),
             ("`jax.grad`로 손 계산 확인하기", "`0.5 * sum((x @ w - y)**2)`의 기울기를 `jax.grad`로 구해 직접 쓴 "
              "`x.T @ (y_pred - y)`와 비교하세요.")),
    Exercise("autograd", "forgotten_zero_grad", ("forgotten_zero_grad",),
             ("Forget `w.grad.zero_()`", "Run two backward passes at the same weights without clearing `w.grad` "
              "in between. What does `w.grad` hold afterwards?"),
             ("`w.grad.zero_()` 빼먹기", "같은 가중치에서 `w.grad`를 비우지 않고 역전파를 두 번 하세요. 그 뒤 "
              "`w.grad`에는 무엇이 들어 있나요?")),
    Exercise("autograd", "input_gradient", ("loss_fn", "input_gradient"),
             ("A gradient with respect to the input", "Differentiate the loss with respect to `x` as well: "
              "`argnums=(0, 1)` in JAX, `requires_grad=True` on `x` in PyTorch. Do the two agree?"),
             ("입력에 대한 기울기", "손실을 `x`에 대해서도 미분하세요. JAX에서는 `argnums=(0, 1)`, PyTorch에서는 "
              "`x`에 `requires_grad=True`를 씁니다. 두 결과가 같나요?")),
    Exercise("nn", "l2_loss_gradient", ("mse", "half_mse", "l2_loss_gradient"),
             ("`optax.l2_loss` is not `mse_loss`", "Replace `jnp.mean((pred - y) ** 2)` by "
              "`optax.l2_loss(pred, y).mean()` and compare the kernel's gradients."),
             ("`optax.l2_loss`는 `mse_loss`가 아닙니다", "`jnp.mean((pred - y) ** 2)`를 "
              "`optax.l2_loss(pred, y).mean()`으로 바꾸고 kernel의 기울기를 비교하세요.")),
    Exercise("nn", "untransposed", ("untransposed",),
             ("Forget the transpose", "Copy torch's `weight` into Flax's `kernel` without `.T`, once with "
              "Din = Dout = 4 and once with Dout = 2. When does it fail loudly, and when does it quietly "
              "compute something else?"),
             ("전치 빼먹기", "torch의 `weight`를 `.T` 없이 Flax의 `kernel`에 복사하세요. Din = Dout = 4일 때와 "
              "Dout = 2일 때를 비교하세요. 언제 오류가 나고, 언제 오류 없이 엉뚱한 값을 계산하나요?")),
    Exercise("optim", "beta2", ("torch_adam", "jax_adam", "beta2"),
             ("Change Adam's β₂ and watch the check", "Set β₂ = 0.99 in both frameworks and train 100 steps: "
              "the weights still agree to float32 rounding. Then change it on torch's side only."),
             ("Adam의 β₂를 바꾸고 비교 결과 보기", "두 프레임워크 모두 β₂ = 0.99로 바꾸고 100 스텝 훈련하면 "
              "가중치는 여전히 float32 반올림 오차 안에서 같습니다. 이번에는 torch 쪽만 바꿔 보세요.")),
    Exercise("optim", "largest_step", ("largest_step",),
             ("How far can one Adam step go?", "Give Adam 10,000 zero gradients, then a gradient of 1. Compare "
              "the step with lr, and with the bound lr·(1−β₁)/√(1−β₂)."),
             ("Adam의 한 스텝은 얼마나 멀리 가나요?", "Adam에 0인 기울기를 10,000번 준 다음 1인 기울기를 주세요. "
              "그 스텝을 학습률, 그리고 상한 lr·(1−β₁)/√(1−β₂)와 비교하세요.")),
    Exercise("module", "two_layers", ("TorchTwoLayerNet", "JaxTwoLayerNet", "two_layers"),
             ("A second layer", "Give both classes a hidden layer of 8 units with a ReLU, load the same weights "
              "and compare the outputs."),
             ("층 하나 더", "두 클래스에 유닛 8개짜리 은닉층과 ReLU를 넣고, 같은 가중치를 불러온 뒤 출력을 "
              "비교하세요.")),
    Exercise("module", "same_seed", ("same_seed",),
             ("Same seed, same weights?", "Build a Linear(4, 2) after `torch.manual_seed(0)` and an "
              "`nnx.Linear(4, 2, rngs=nnx.Rngs(0))`. Are the first weights equal?"),
             ("시드가 같으면 가중치도 같을까요?", "`torch.manual_seed(0)` 뒤에 만든 Linear(4, 2)와 "
              "`nnx.Linear(4, 2, rngs=nnx.Rngs(0))`의 처음 가중치를 비교하세요.")),
    Exercise("mlp", "no_mean", ("summed", "no_mean"),
             ("Drop Optax's `.mean()`", "Sum Optax's per-example cross-entropy instead of averaging it. How much "
              "larger is the gradient?"),
             ("Optax의 `.mean()` 빼기", "Optax가 돌려주는 샘플별 교차 엔트로피를 평균 내지 말고 더하세요. "
              "기울기가 몇 배 커지나요?")),
    Exercise("mlp", "double_softmax", ("softmax_twice", "double_softmax"),
             ("A softmax too many", "Put a softmax at the end of the model and keep the cross-entropy, which "
              "applies its own. What happens to the loss and to the gradient?"),
             ("소프트맥스를 한 번 더", "모델의 끝에 소프트맥스를 넣고, 자체 소프트맥스를 적용하는 교차 엔트로피는 "
              "그대로 두세요. 손실과 기울기는 어떻게 되나요?")),
    Exercise("cnn", "conv_layout", ("conv_layout",),
             ("Images in PyTorch's layout", "Load a `Conv2d`'s kernel into `nnx.Conv` (OIHW to HWIO) and feed both "
              "the same NCHW images, once as they are and once transposed to NHWC."),
             ("PyTorch 레이아웃의 이미지", "`Conv2d`의 커널을 `nnx.Conv`에 불러오고(OIHW에서 HWIO로), 같은 NCHW "
              "이미지를 한 번은 그대로, 한 번은 NHWC로 전치해서 넣어 보세요.")),
    Exercise("cnn", "batchnorm_momentum", ("batchnorm_momentum",),
             ("BatchNorm's momentum runs the other way", "Give `BatchNorm2d` and `nnx.BatchNorm` the same momentum "
              "0.1, run one training-mode pass and compare the running means. Which Flax momentum matches?"),
             ("BatchNorm의 momentum은 반대 방향", "`BatchNorm2d`와 `nnx.BatchNorm`에 같은 momentum 0.1을 주고 훈련 "
              "모드로 한 번 통과시킨 뒤 이동 평균을 비교하세요. Flax의 momentum이 얼마여야 같아지나요?")),
]


def of_stage(stage: str) -> list[Exercise]:
    return [e for e in EXERCISES if e.stage == stage]


def solution_path(exercise: Exercise) -> str:
    return f"tools/docs/solutions/{exercise.stage}.py"


def solution_code(exercise: Exercise, reader: Reader = read) -> list[Piece]:
    return [function_source(solution_path(exercise), name, reader) for name in exercise.shown]


def run(exercise: Exercise) -> dict:
    """The solution's result, as the tests check it and the guide shows it."""
    module = importlib.import_module(f"tools.docs.solutions.{exercise.stage}")
    return getattr(module, exercise.run)()


def run_all(stages) -> dict[str, dict]:
    return {e.run: run(e) for e in EXERCISES if e.stage in stages}
