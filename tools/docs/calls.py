"""Per stage: each new PyTorch call and its JAX/Flax/Optax counterpart (checked against the code), and its pitfalls."""

from __future__ import annotations

from typing import NamedTuple


class Call(NamedTuple):
    torch: str
    jax: str
    en: str
    ko: str


# Only the calls a stage adds; the earlier stages' rows still hold.
CALLS: dict[str, list[Call]] = {
    "manual": [
        Call("`torch.from_numpy(a).to(device)`", "`jax.device_put(jnp.asarray(a), device)`",
             "NumPy array onto a device; JAX keeps float64 only with x64 enabled",
             "NumPy 배열을 장치로 옮김. JAX는 x64를 켜야 float64가 유지됨"),
        Call("`x.mm(w)`", "`x @ w`", "matrix product, (N, Din) @ (Din, Dout)", "행렬 곱, (N, Din) @ (Din, Dout)"),
        Call("`x.t()`", "`x.T`", "transpose", "전치"),
        Call("`(y_pred - y).pow(2).sum()`", "`jnp.sum((y_pred - y) ** 2)`", "`jax.numpy` follows NumPy's names",
             "`jax.numpy`는 NumPy의 이름을 그대로 따름"),
        Call("`w -= lr * grad_w`", "`trainer._replace(w=trainer.w - trainer.lr * grads[\"w\"])`",
             "JAX arrays are immutable: a step returns new weights",
             "JAX 배열은 바꿀 수 없으므로 한 스텝이 새 가중치를 돌려줌"),
        Call("`for t in range(steps):` (Python)", "`jax.lax.scan(step, trainer, (xs, ys))` in `@jax.jit`",
             "all steps compiled into one program", "모든 스텝을 하나의 컴파일된 프로그램으로"),
        Call("`torch.stack(losses)`", "the stacked outputs of `jax.lax.scan`", "one loss per step",
             "스텝마다 손실 하나"),
    ],
    "autograd": [
        Call("`w.requires_grad_(True)`", "(nothing)", "`jax.grad` differentiates the argument you name (argnums=0)",
             "`jax.grad`는 지정한 인자(argnums=0)에 대해 미분함"),
        Call("`loss.backward()`, then `w.grad`", "`jax.value_and_grad(loss_fn)(params, x, y)`",
             "returns (loss, gradient tree); nothing is stored on `params`",
             "(손실, 기울기 트리)를 반환하며 `params`에는 아무것도 저장되지 않음"),
        Call("`w.grad.zero_()`", "(nothing)", "gradients are return values, they never accumulate",
             "기울기는 반환값이라 누적되지 않음"),
        Call("`with torch.no_grad():`", "(nothing)", "`grad` only traces the function you pass it",
             "`grad`는 넘겨준 함수만 트레이싱함"),
        Call("`loss.detach()`", "`loss` as it is", "a JAX value carries no graph", "JAX 값에는 그래프가 붙어 있지 않음"),
        Call("update each tensor", "`jax.tree.map(lambda p, g: p - lr * g, params, grads)`",
             "one function over a whole pytree of parameters", "파라미터 pytree 전체에 함수 하나를 적용"),
    ],
    "nn": [
        Call("`torch.nn.Linear(din, dout)`", "`nnx.Linear(din, dout, rngs=nnx.Rngs(0))`",
             "`kernel` (Din, Dout) = `weight.T`; `weight` is (Dout, Din)",
             "`kernel` (Din, Dout) = `weight.T`, `weight`는 (Dout, Din)"),
        Call("`torch.nn.Sequential(layer)`", "`nnx.Sequential(layer)`, or the layer itself",
             "jaxnet uses the bare `nnx.Linear`: a Sequential of one layer is that layer",
             "jaxnet은 `nnx.Linear`를 그대로 씀. 층 하나짜리 Sequential은 그 층과 같음"),
        Call("`.to(device=..., dtype=...)`", "`dtype=..., param_dtype=...` when constructing",
             "Flax picks the dtype at construction", "Flax는 생성할 때 dtype을 정함"),
        Call("`linear.weight.copy_(t)` under `no_grad`", "`linear.kernel[...] = a`",
             "write into a Variable (`load_linear` in `*/state.py`)", "Variable에 값을 씀 (`*/state.py`의 `load_linear`)"),
        Call("`F.mse_loss(pred, y)`", "`jnp.mean((pred - y) ** 2)`",
             "not `optax.l2_loss`, which is 0.5 * squared error; `optax.squared_error(pred, y).mean()` is equal",
             "`optax.l2_loss`가 아님(제곱 오차의 0.5배). `optax.squared_error(pred, y).mean()`은 같음"),
        Call("`model.zero_grad(); loss.backward()`", "`nnx.value_and_grad(mse)(model, x, y)`",
             "gradients of every `nnx.Param`, as an `nnx.State` shaped like the model",
             "모든 `nnx.Param`의 기울기를 모델 모양의 `nnx.State`로 반환"),
        Call("`model.parameters()`", "`nnx.state(model, nnx.Param)`", "the parameters as a pytree",
             "파라미터를 pytree로 꺼냄"),
        Call("`param -= lr * param.grad`", "`nnx.update(model, new_params)`", "write the new values back into the model",
             "새 값을 모델에 다시 써 넣음"),
        Call("a Python loop of steps", "`scan_steps`: the trainer as arrays, `jax.lax.scan` inside `jax.jit`",
             "`jaxnet/loop.py`'s `scan_steps`", "`jaxnet/loop.py`의 `scan_steps`"),
    ],
    "optim": [
        Call("`torch.optim.Adam(model.parameters(), lr=lr)`", "`nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)`",
             "same defaults: betas (0.9, 0.999), eps 1e-8; the stages chain optax.adam's parts around "
             "`jaxnet.adam.scale_by_adam` (float32 bias correction)",
             "기본값이 같음: betas (0.9, 0.999), eps 1e-8. 이 단계들은 optax.adam의 구성 요소를 "
             "`jaxnet.adam.scale_by_adam`과 묶음 (float32 편향 보정)"),
        Call("`optimizer.zero_grad()`", "(nothing)", "no `.grad` to clear", "지울 `.grad`가 없음"),
        Call("`optimizer.step()`", "`optimizer.update(model, grads)`", "gradients are passed in, not read from the model",
             "기울기를 모델에서 읽지 않고 인자로 넘김"),
        Call("`optimizer.param_groups[0][\"lr\"]`", "`optax.inject_hyperparams(optax.adam)`: `opt_state.hyperparams`",
             "lr a value in the state, not a constant of the compiled program: a new lr does not recompile",
             "학습률이 컴파일된 프로그램의 상수가 아니라 상태 안의 값: 학습률을 바꿔도 다시 컴파일하지 않음"),
        Call("`optimizer.state[p][\"exp_avg\"]`, `[\"exp_avg_sq\"]`", "`opt_state.inner_state[0].mu`, `.nu`",
             "Adam's moments; `optax.adam` = chain(scale_by_adam, scale_by_learning_rate)",
             "Adam의 모멘트. `optax.adam` = chain(scale_by_adam, scale_by_learning_rate)"),
        Call("`optimizer.state[p][\"step\"]` (float tensor)", "`opt_state.inner_state[0].count` (int32)",
             "torch has no state before the first step, Optax starts at zeros",
             "torch는 첫 스텝 전에는 상태가 없고, Optax는 0으로 시작함"),
        Call("`torch.optim.Adam(..., weight_decay=wd)`", "`optax.chain(optax.add_decayed_weights(wd), optax.adam(lr))`",
             "L2 added to the gradient: not `optax.adamw`", "기울기에 더하는 L2: `optax.adamw`가 아님"),
        Call("`torch.optim.AdamW(..., weight_decay=wd)`", "`optax.adamw(lr, weight_decay=wd)`",
             "decoupled decay; defaults differ (torch 1e-2, Optax 1e-4)", "분리된 감쇠. 기본값이 다름 (torch 1e-2, Optax 1e-4)"),
    ],
    "module": [
        Call("`class M(torch.nn.Module)` + `super().__init__()`", "`class M(nnx.Module)`",
             "NNX finds parameters by walking attributes, no registration", "NNX는 속성을 따라가며 파라미터를 찾음, 등록 불필요"),
        Call("`def forward(self, x)`", "`def __call__(self, x)`", "`model(x)` calls it on both sides",
             "양쪽 모두 `model(x)`로 호출"),
        Call("global RNG (`torch.manual_seed`)", "`rngs=nnx.Rngs(seed)` passed to every layer",
             "randomness is an explicit argument", "난수는 명시적인 인자"),
        Call("`model.linear.weight.grad`", "`grads[\"linear\"][\"kernel\"]`", "gradients mirror the model's attributes",
             "기울기는 모델의 속성 구조를 그대로 따름"),
    ],
    "mlp": [
        Call("`torch.nn.ModuleList(layers)`", "`nnx.List(layers)`",
             "Flax 0.12 refuses a plain list of modules as an attribute", "Flax 0.12는 모듈의 일반 리스트를 속성으로 받지 않음"),
        Call("`F.relu(h)`", "`nnx.relu(h)`", "the same function as `jax.nn.relu`", "`jax.nn.relu`와 같은 함수"),
        Call("`F.cross_entropy(logits, labels)`", "`optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()`",
             "Optax returns one loss per example: add the mean", "Optax는 샘플마다 손실을 돌려주므로 평균을 직접 구함"),
        Call("`logits.argmax(dim=1)`", "`jnp.argmax(logits, axis=1)`", "predicted class", "예측한 클래스"),
        Call("`x.chunk(2)`", "`np.split(x, 2)`", "train and test halves", "훈련용과 테스트용 절반"),
        Call("eager calls", "`nnx.jit(nnx.value_and_grad(f))`", "compile once instead of dispatching op by op",
             "연산마다 실행하지 않고 한 번 컴파일"),
    ],
    "cnn": [
        Call("`torch.nn.Conv2d(c_in, c_out, k, padding=p)`", "`nnx.Conv(c_in, c_out, (k, k), padding=p, rngs=...)`",
             "PyTorch: NCHW images, OIHW kernels; Flax: NHWC images, HWIO kernels",
             "PyTorch는 NCHW 이미지와 OIHW 커널, Flax는 NHWC 이미지와 HWIO 커널"),
        Call("`torch.nn.BatchNorm2d(c, momentum=m)`", "`nnx.BatchNorm(c, momentum=1 - m)`",
             "the running statistics' momentum counts the other way", "이동 통계의 momentum이 반대 방향"),
        Call("`model.train()` / `model.eval()`", "`bn(z, use_running_average=...)`",
             "the mode is an argument, not a flag on the module", "모드가 모듈의 플래그가 아니라 인자"),
        Call("`F.max_pool2d(x, 2)`", "`nnx.max_pool(x, (2, 2), strides=(2, 2))`", "strides are not implied",
             "strides를 직접 지정해야 함"),
        Call("`x.permute(0, 2, 3, 1).flatten(1)`", "`x.reshape(x.shape[0], -1)` (already NHWC)",
             "one flatten order for both: (H, W, C)", "두 프레임워크가 같은 (H, W, C) 순서로 펼침"),
    ],
}

# The pitfalls each stage meets first (keys of the PITFALLS in text_en / text_ko).
STAGE_PITFALLS: dict[str, list[str]] = {
    "manual": ["inplace", "float64", "tf32"],
    "autograd": ["no_grad", "accumulate"],
    "nn": ["layout", "init", "mse", "jit"],
    "optim": ["adam_step", "adam_bias", "adamw", "adam_state"],
    "module": ["rngs", "init"],
    "mlp": ["logits", "init", "jit"],
    "cnn": ["layout", "rngs"],
}

# The functions and classes that carry each stage's idea, shown side by side (the rest is linked).
KEY: dict[str, tuple[str, ...]] = {
    "manual": ("loss_and_grads", "train_step"),
    "autograd": ("loss_fn", "train_step"),
    "nn": ("build", "train_step"),
    "optim": ("adam", "_adam_chain", "train_step"),
    "module": ("MyOneLayerNet",),
    "mlp": ("MLP", "cross_entropy"),
    "cnn": ("CNN", "train_step"),
}

# Code from outside the stage files, shown where a stage first relies on it: (path, function).
SHOWN_WITH: dict[str, tuple[tuple[str, str], ...]] = {
    "nn": (("jaxnet/loop.py", "_scan"), ("jaxnet/loop.py", "scan_steps")),
}

# The Korean guide's wording of the cells above that are words rather than code.
KO_CELLS = {
    "`for t in range(steps):` (Python)": "`for t in range(steps):` (파이썬)",
    "`jax.lax.scan(step, trainer, (xs, ys))` in `@jax.jit`": "`@jax.jit` 안의 `jax.lax.scan(step, trainer, (xs, ys))`",
    "the stacked outputs of `jax.lax.scan`": "`jax.lax.scan`이 쌓아 준 출력",
    "(nothing)": "(없음)",
    "`loss` as it is": "`loss` 그대로",
    "update each tensor": "텐서마다 갱신",
    "`nnx.Sequential(layer)`, or the layer itself": "`nnx.Sequential(layer)` 또는 층 그 자체",
    "`dtype=..., param_dtype=...` when constructing": "생성할 때 `dtype=..., param_dtype=...`",
    "`linear.weight.copy_(t)` under `no_grad`": "`no_grad` 안에서 `linear.weight.copy_(t)`",
    "a Python loop of steps": "스텝을 도는 파이썬 반복문",
    "`scan_steps`: the trainer as arrays, `jax.lax.scan` inside `jax.jit`":
        "`scan_steps`: 배열로 펼친 trainer, `jax.jit` 안의 `jax.lax.scan`",
    "`optimizer.state[p][\"step\"]` (float tensor)": "`optimizer.state[p][\"step\"]` (float 텐서)",
    "global RNG (`torch.manual_seed`)": "전역 난수 생성기 (`torch.manual_seed`)",
    "`rngs=nnx.Rngs(seed)` passed to every layer": "층마다 넘기는 `rngs=nnx.Rngs(seed)`",
    "eager calls": "즉시 실행 호출",
    "`loss.backward()`, then `w.grad`": "`loss.backward()` 뒤 `w.grad`",
    "`x.reshape(x.shape[0], -1)` (already NHWC)": "`x.reshape(x.shape[0], -1)` (이미 NHWC)",
}
