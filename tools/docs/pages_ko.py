"""한국어 함정 모음과 "PyTorch 사용자를 위한 JAX"의 본문. 숫자는 문서를 만들 때 잰 것입니다."""

GENERATED = ("`python -m tools.docs`가 만든 문서입니다. 아래 코드는 이 문서를 만들 때 실제로 실행했고, 출력도 그때 "
             "받아 적었습니다. [English]({other})")

PITFALLS_TITLE = "PyTorch와 JAX 사이의 함정"

PITFALLS_INTRO = """\
함정마다 한 번씩 설명하고, 그 함정에 빠졌을 때의 대가를 함께 적었습니다. 대가는 이 문서를 만들 때
`tools/docs/costs.py`가 직접 잰 값입니다(몇 개는 `tools/docs/solutions/`의 연습 문제 풀이로
잽니다). [안내서](guide.ko.md)는 단계마다 처음 만나는 함정을 이 문서로 연결합니다."""

BASICS_TITLE = "PyTorch 사용자를 위한 JAX"

BASICS_INTRO = """\
PyTorch에서는 겪어 보지 못한 다섯 가지 개념입니다. 개념마다 짧은 프로그램이 있고, 그 아래의 출력은 이 문서를
만들 때 그 프로그램이 실제로 출력한 것입니다(`tools/docs/basics.py`). 파이썬 세션에 붙여 넣으면 직접
실행해 볼 수 있습니다."""

LABELS = {"measured": "측정 결과:", "met_in": "처음 만나는 단계:", "in_torch": "**PyTorch에서는:**",
          "prints": "출력:"}

COST_NAMES = {
    "a[0] = 1.0 on a JAX array": "JAX 배열에 a[0] = 1.0", "a.at[0].set(1.0)": "a.at[0].set(1.0)의 결과",
    "dtype of jnp.asarray(float64 array) without x64": "x64 없이 jnp.asarray(float64 배열)의 dtype",
    "relative error it adds": "그 때문에 생기는 상대 오차",
    "float32 matmul, relative error": "float32 행렬 곱의 상대 오차",
    "TF32-rounded inputs, relative error": "입력을 TF32로 반올림했을 때의 상대 오차",
    "w -= lr * g without no_grad": "no_grad 없이 w -= lr * g",
    "second .grad / first .grad": "두 번째 .grad / 첫 번째 .grad",
    "relative error without .T": ".T가 없을 때의 상대 오차", "relative error with .T": ".T가 있을 때의 상대 오차",
    "Din != Dout": "Din != Dout일 때",
    "first loss, torch's default init": "torch 기본 초기화의 첫 손실",
    "first loss, Flax's default init": "Flax 기본 초기화의 첫 손실",
    "gradient with l2_loss / gradient with mse": "l2_loss의 기울기 / mse의 기울기",
    "µs per step, nnx.jit each step": "스텝마다 nnx.jit을 부를 때 스텝당 µs",
    "µs per step, scan_steps": "scan_steps로 돌릴 때 스텝당 µs",
    "adamw vs Adam + L2 after 100 steps, relative to what moved": "100 스텝 뒤 adamw와 Adam + L2의 차이(움직인 거리 대비)",
    "1 - 0.999 in float32, relative error": "float32로 계산한 1 - 0.999의 상대 오차",
    "one float32 optax.adam step, relative shortfall": "float32 optax.adam 한 스텝이 짧은 정도(상대값)",
    "one float32 jaxnet.adam step, relative shortfall": "float32 jaxnet.adam 한 스텝이 짧은 정도(상대값)",
    "torch: state entries before the first step": "torch: 첫 스텝 전 상태 항목 수",
    "Optax: count after init": "Optax: init 직후의 count",
    "first step / lr": "첫 스텝 / 학습률", "step after 10000 quiet steps / lr": "기울기 0인 스텝 10000번 뒤의 스텝 / 학습률",
    "bound (1 - β₁) / √(1 - β₂)": "상한 (1 - β₁) / √(1 - β₂)",
    "largest |weight.T - kernel|": "가장 큰 |weight.T - kernel|",
    "gradient without .mean() / gradient with it": ".mean()이 없을 때의 기울기 / 있을 때의 기울기",
    "batch size": "배치 크기", "loss": "손실", "loss with a softmax too many": "소프트맥스를 한 번 더 적용한 손실",
    "gradient with it / gradient without": "그때의 기울기 / 원래 기울기",
}

BASICS = {
    "tracing": ("트레이싱: `jit` 안의 `print`는 한 번만 실행됨", """\
`jax.jit`은 호출할 때마다 파이썬 함수를 실행하지 않습니다. 처음 호출할 때 함수를 *트레이싱*합니다. 그 모양과
dtype의 어떤 배열이든 대신하는 추상 값(트레이서)으로 함수를 한 번 실행해 연산을 기록하고, 그것을
컴파일합니다. 그 뒤 모양과 dtype이 같은 호출은 컴파일된 프로그램을 실행할 뿐, 함수의 파이썬 코드는 한 줄도
다시 실행되지 않습니다. 그래서 함수 안의 `print`는 새 모양마다 한 번씩 트레이서를 출력하고,
`jax.debug.print`는 프로그램의 일부가 되어 호출할 때마다 실제 값을 출력합니다. 리스트에 값을 추가하거나,
카운터를 올리거나, NumPy로 난수를 뽑는 것 같은 파이썬의 부수 효과는 모두 트레이싱할 때 한 번만 일어납니다.""",
                "함수를 호출할 때마다 그 파이썬 코드가 실행됩니다."),
    "static": ("정적 인자와 트레이싱되는 인자", """\
트레이싱되는 인자는 트레이싱하는 동안 모양과 dtype만 있고 값이 없으므로, 파이썬의 `if`나 `for`가 그 값에
따라 갈라질 수 없습니다. 이런 인자는 정적 인자로 지정합니다(`static_argnames`, `static_argnums`). 그러면
값이 컴파일된 프로그램의 일부가 되고, 값이 바뀔 때마다 프로그램을 새로 컴파일합니다. 크기, 플래그, 모드는
정적 인자로 두고, 자주 바뀌는 숫자(학습률, 스케줄 안의 스텝 수)는 트레이싱되는 인자로 두세요.""",
               "어떤 파이썬 값이든 `if`나 `for`를 조종할 수 있습니다."),
    "random": ("난수: 명시적인 키, 쓰기 전에 나누기", """\
JAX에는 숨은 전역 난수 생성기가 없습니다. 난수 함수는 키를 받고, 같은 키에서는 항상 같은 숫자를 냅니다. 새
난수가 필요하면 `jax.random.split`으로 키를 나누고, 한 번 쓴 키는 다시 쓰지 않습니다. Flax NNX는 이것을
`nnx.Rngs(seed)`로 감싸 층에 인자로 넘깁니다. 이 프로젝트의 데이터, 초기 가중치, 배치 순서는 NumPy
(`netdata`)에서 나오므로 두 프레임워크가 같은 숫자를 봅니다.""",
               "`torch.manual_seed(0)`을 한 번 부르면, 그 뒤로는 모든 난수가 전역 생성기 하나에서 나옵니다."),
    "vmap": ("`vmap`: 샘플 하나에 대해 쓰고 배치에 대해 실행하기", """\
`jax.vmap(f)`는 파이썬 반복문 없이 함수를 맨 앞 축을 따라 적용합니다. `f`를 한 번 트레이싱하면서 모든 연산에
배치 축을 더합니다. `in_axes`는 어느 인자에 배치 축이 있는지 알려 줍니다(`None`은 모든 샘플이 함께 씀).
`jax.grad`와 조합하면 샘플별 기울기를 얻는데, `loss.backward()`는 이것을 합쳐 버립니다. PyTorch에서 같은
일을 하는 것은 `torch.func.vmap`입니다.""", "모든 함수에 배치 차원을 직접 써 넣습니다."),
    "timing": ("시간 재기: `block_until_ready`", """\
JAX는 작업을 비동기로 보냅니다. `jit`으로 컴파일한 함수는 작업을 대기열에 넣자마자, 나중에 결과가 담길
배열을 돌려줍니다. 호출 직후에 시계를 읽으면 계산이 아니라 작업을 보내는 시간을 재게 됩니다. 시계를 읽기
전에 결과에 `.block_until_ready()`(또는 `jax.block_until_ready(tree)`)를 부르고, 첫 호출은 컴파일하므로 두
번째 호출을 재세요. 아래 숫자는 컴퓨터마다 다르므로, 문서의 불일치 검사는 이 숫자를 비교하지 않습니다.""",
               "시계를 읽기 전에 `torch.cuda.synchronize()`를 부릅니다(CPU 작업은 동기식)."),
}

PITFALLS = {
    "inplace": ("함수형 갱신과 제자리 갱신", """\
`w -= lr * g`는 PyTorch 텐서의 메모리를 직접 바꾸므로, `w`를 들고 있는 모든 곳이 그 변화를 봅니다. JAX 배열은
바뀌지 않습니다. `p - lr * g`와 `a.at[i].set(v)`는 새 배열을 돌려주고, 한 스텝은 새 파라미터를 돌려줍니다.
`jax.jit` 안에서는 XLA가 가능한 한 버퍼를 다시 쓰므로, 함수형이라고 느린 것은 아닙니다. NNX는 배열을
`Variable`에 담아 두므로 `optimizer.update(model, grads)`가 제자리 갱신처럼 보이지만, 실제로는 안의 배열이
새것으로 바뀝니다."""),
    "float64": ("JAX에서 float64를 쓰려면 x64를 켜야 함", """\
JAX는 x64를 켜지 않으면(`jax.config.update("jax_enable_x64", True)`, 또는 `jaxnet/device.py`가 쓰는
`jax.enable_x64` 컨텍스트) float32로 계산하고, `jnp.asarray`는 float64 배열을 아무 경고 없이 float32로
바꿉니다. `torch.from_numpy`는 float64를 그대로 둡니다. `jaxnet.device.array`는 이렇게 정밀도를 잃는 대신
오류를 냅니다."""),
    "tf32": ("NVIDIA GPU의 TF32", """\
Ampere 이후의 NVIDIA GPU에서 JAX의 기본 float32 행렬 곱 정밀도는 XLA가 TF32를 쓰도록 허락합니다. TF32는
float32의 가수 23비트 가운데 10비트만 남깁니다. PyTorch는 행렬 곱에서 TF32를 기본으로 끕니다. 그래서 같은
float32 프로그램이 CPU에서는 1e-7 정도까지 일치하다가 GPU에서는 1e-3 정도까지만 일치합니다.
`jaxnet/device.py`처럼 `jax.default_matmul_precision("highest")`를 지정하면 해결됩니다. 아래는 CPU에서 입력을
TF32로 반올림한 256 × 256 행렬 곱입니다."""),
    "no_grad": ("`torch.no_grad()`에 대응하는 JAX 코드가 없는 이유", """\
`torch.no_grad()`는 기록을 끕니다. 계산 그래프에 들어가면 안 되는 갱신과 테스트에 씁니다. JAX는 기본으로
아무것도 기록하지 않고, `jax.grad`는 넘겨받은 함수만 트레이싱합니다. `value_and_grad` 뒤에 쓴 갱신은
평범한 산술입니다. 가장 비슷한 `jax.lax.stop_gradient`는 미분하는 함수 *안에서* 기울기를 막는 데 씁니다."""),
    "accumulate": ("PyTorch에서는 기울기가 누적됨", """\
`backward()`는 `.grad`에 더합니다. `zero_grad()`(또는 `w.grad.zero_()`)를 잊으면 k번째 스텝은 기울기 k개의 합을
씁니다. 훈련은 돌아가지만 결과가 틀립니다. JAX의 기울기는 호출할 때마다 새로 나오는 반환값입니다."""),
    "layout": ("가중치 레이아웃: `w`와 `weight.T`", """\
`nn.Linear.weight`는 (Dout, Din), `nnx.Linear.kernel`은 (Din, Dout) 레이아웃이고, 기울기와 Adam의 모멘트도 같은
레이아웃을 따릅니다(합성곱도 OIHW와 HWIO로 다릅니다). 전치 없이 한쪽을 다른 쪽에 복사하면, Din ≠ Dout일 때는
바로 오류가 나지만 Din = Dout일 때는 오류 없이 엉뚱한 값을 계산합니다. 이 프로젝트는 기준 레이아웃인
`w` (Din, Dout) 하나만 두고, 경계인 `torchnet/state.py`에서 변환합니다."""),
    "init": ("기본 초기화가 서로 다름", """\
`torch.nn.Linear`는 가중치와 편향을 ±1/√Din 범위의 균등 분포에서 뽑고, `nnx.Linear`는 커널을
`lecun_normal`에서 뽑고 편향을 0으로 둡니다. 같은 층이라도 초기 가중치가 다르면 훈련 곡선이 다릅니다. 그래서
두 구현은 같은 가중치에서 출발해야 비교할 수 있고, `netdata/init.py`가 가중치를 NumPy로 뽑아 두 `build`가
똑같이 불러옵니다."""),
    "mse": ("`mse_loss`는 평균, `optax.l2_loss`는 제곱 오차의 절반", """\
`F.mse_loss(pred, y)`는 `mean((pred - y) ** 2)`입니다. `optax.l2_loss(pred, y)`는 원소마다
`0.5 * (pred - y) ** 2`이고 합치지 않으므로, `optax.l2_loss(...).mean()`은 손실과 기울기를 모두 절반으로
만듭니다. 경사 하강법에서는 학습률이 절반이 되는 셈이고, Adam에서는 거의 드러나지 않아 실수를 찾기가 더
어렵습니다. `jnp.mean((pred - y) ** 2)`나 `optax.squared_error(pred, y).mean()`을 쓰세요."""),
    "jit": ("스텝마다 `nnx.jit`을 부를 때와 scan 한 번", """\
`nnx.jit`은 모듈을 그대로 받지만, 호출할 때마다 모듈 그래프를 훑어 배열로 나누고 다시 조립합니다. 이렇게 작은
모델에서는 그 부가 작업이 시간의 대부분입니다. `jaxnet/loop.py`의 `scan_steps`는 대신 한 덩어리의 스텝을 모두
하나의 `jax.jit` + `jax.lax.scan`으로 돌립니다. 또 `jit`은 새 모양과 dtype으로 처음 호출될 때 컴파일하므로,
시간은 첫 호출이 아니라 두 번째 호출로 재야 합니다."""),
    "adam_step": ("Adam의 스텝은 학습률을 넘을 수 있음", """\
흔히 Adam은 스텝마다 가중치를 많아야 학습률만큼 움직인다고 합니다. Adam의 스텝은 lr · m̂ / (√v̂ + eps)입니다.
첫 스텝에서는 정확히 학습률이고, 기울기가 고르면 대략 학습률이지만, 작은 기울기가 오래 이어진 뒤에 큰 기울기가
오면 v̂가 작아서 스텝이 lr·(1−β₁)/√(1−β₂)까지 커집니다. 기본값 β₁ = 0.9, β₂ = 0.999에서는 약 3.2·lr입니다."""),
    "adam_bias": ("optax의 float32 편향 보정", """\
Adam은 모멘트를 1 − β₁ᵗ와 1 − β₂ᵗ로 나눕니다(편향 보정, bias correction). `optax.scale_by_adam`은 이 두 값을
파라미터의 dtype으로 계산하는데, β도 먼저 그 dtype으로 반올림합니다. float32에서 0.999는 0.99900001287이 되고,
1 − 0.999라는 뺄셈이 이 반올림 오차를 천 배로 키웁니다. 그래서 √v̂가 조금 커지고 float32의 모든 스텝이 조금씩
짧아집니다. 오류도 나지 않고 손실도 멀쩡해 보이지만, 보정을 파이썬 float(float64)로 계산하는 PyTorch의 훈련에서
조금씩 멀어집니다. `jaxnet/adam.py`는 optax의 상태와 모멘트 갱신은 그대로 두고 1 − βᵗ만 −expm1(t · log β)로
계산합니다(log β는 float64 상수). `jaxnet/optim.py`와 `jaxnet/mlp.py`는 `optax.adam`과 `optax.adamw`가 하는 것과
똑같이 이것을 `optax.chain`으로 묶습니다. float64에서는 optax의 보정으로도 충분히 정확합니다."""),
    "adamw": ("Adam의 L2와 AdamW", """\
`torch.optim.Adam(..., weight_decay=wd)`는 모멘트를 계산하기 *전에* `wd * param`을 기울기에 더합니다.
`torch.optim.AdamW`는 Adam의 크기 조정과 상관없이 가중치를 직접 줄입니다. `optax.adamw`는 AdamW 규칙이므로
torch의 weight decay 있는 Adam과 짝이 *아닙니다*. 그 짝은 `optax.chain(optax.add_decayed_weights(wd),
optax.adam(lr))`입니다. 기본값도 다릅니다. `weight_decay`는 `torch.optim.AdamW`에서 1e-2, `optax.adamw`에서
1e-4입니다."""),
    "adam_state": ("Adam의 상태는 저절로 맞춰지지 않음", """\
PyTorch는 파라미터의 Adam 상태(`exp_avg`, `exp_avg_sq`, `step`)를 첫 `step()` 때에야 만들고, `step`은 float
텐서입니다. Optax는 `init`에서 `mu`, `nu`와 int32 `count`를 0으로 만듭니다. Linear 가중치의 모멘트는 가중치처럼
전치되어 있습니다. 한 프레임워크에서 저장한 훈련을 다른 프레임워크에서 이어 가려면 세 가지를 모두 변환해야
하며, 두 `state.py`의 `export_adam`과 `load_adam`이 그 일을 합니다."""),
    "rngs": ("NNX에서 난수는 인자", """\
`nnx.Linear(din, dout, rngs=...)`의 `rngs`에는 기본값이 없습니다. Flax는 숨은 전역 생성기에서 난수를 뽑지
않습니다. 같은 시드는 매번 같은 가중치를 주지만, 같은 숫자로 `torch.manual_seed`를 불렀을 때의 PyTorch
가중치와는 다릅니다."""),
    "logits": ("교차 엔트로피는 로짓을 받고, Optax는 평균을 내지 않음", """\
`F.cross_entropy`와 `optax.softmax_cross_entropy_with_integer_labels`는 모두 소프트맥스 전의 점수(로짓)를 받아
log-softmax를 스스로 적용합니다. 모델의 마지막 층에 소프트맥스를 넣으면 두 번 적용되어 기울기가 작아집니다.
`F.cross_entropy`는 배치 평균을 내지만 Optax 함수는 샘플마다 손실을 돌려주므로, `.mean()`이 없으면 기울기가
합의 기울기, 곧 N배가 됩니다."""),
}
