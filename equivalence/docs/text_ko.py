"""한국어 안내서의 본문: 단계마다 PyTorch와 JAX 코드가 왜 다른지, 그리고 둘 사이의 함정."""

TITLE = "PyTorch ⇄ JAX, 단계별로: 강의의 인공신경망을 두 프레임워크로"

GENERATED = ("이 문서는 `equivalence docs`가 `torchnet/`, `jaxnet/`의 코드와 새로 돌린 `equivalence check` 결과로 "
             "만든 것입니다. 직접 고치지 마세요. 코드(또는 `equivalence/docs/`)를 고친 뒤 `equivalence docs`를 "
             "실행하면 되고, 둘이 어긋나 있으면 `equivalence docs --check`가 실패합니다. [English](guide.md)")

INTRO = """\
이 안내서는 한 프레임워크를 아는 사람이 다른 프레임워크를 배우도록 돕습니다. 강의의 각 단계는
PyTorch(`torchnet/<단계>.py`)와, Flax NNX·Optax를 곁들인 JAX(`jaxnet/<단계>.py`)로 함수 하나하나까지
똑같이 두 번 작성되어 있고, `equivalence check`가 두 구현이 같은 숫자를 계산한다는 것을 증명합니다.
아래에서는 단계마다 두 파일의 실제 코드를, 강의가 말하는 인공 신경망 구현 4단계의 순서대로 블록별로
보여 줍니다.

1. **인공 신경망 모델 정의**: 신경망의 구조와 파라미터 `w`
2. **데이터 로딩**: 특징 `x`와 실제 레이블 `y`
3. **훈련**: 순전파(예측 레이블 `y_pred`를 계산하고 손실 함수를 계산), 역전파(기울기 계산),
   경사 하강법(`w` 갱신)을 반복
4. **테스트(실행)**: 훈련이 끝난 파라미터로 순전파 수행

두 파일에는 같은 이름, 같은 매개변수의 함수가 있습니다(`tests/test_mirroring.py`가 확인합니다).
`build`가 1단계, `train_step`과 `train`이 3단계, `predict`가 4단계이고, `main`은 프로그램 전체를
실행합니다. 두 `main()`은 같은 가중치에서 출발해 같은 줄을 출력합니다. `loss_of`(손실만 계산),
`loss_and_grads`와 `export`는 훈련 CLI와 검증을 위한 함수로, 양쪽의 손실과 기울기, 가중치를 숫자 하나하나
비교할 수 있게 해 줍니다.

모든 단계의 스텝은 두 프레임워크 모두 `train_step(trainer, x, y)`이고, 차이는 JAX 자체에서 오는 하나뿐입니다.
PyTorch의 스텝은 trainer를 제자리에서 바꾸고 손실을 돌려주며, JAX의 스텝은 새 상태를 값으로 담아
`(trainer, loss)`를 돌려줍니다. 그래야 `jax.lax.scan`이 하나의 컴파일된 프로그램 안에서 상태를 다음 스텝으로
넘길 수 있습니다. (nn 단계부터는 Flax NNX 객체도 제자리에서 바뀌지만, 모든 JAX 단계가 똑같이 읽히도록
스텝은 여전히 trainer를 돌려줍니다.)

**한 문단으로 보는 차이.** PyTorch의 객체는 상태를 품고 제자리에서 바뀝니다. 텐서는 자신을 만든 연산을
기억하고, `backward()`는 파라미터의 `.grad`에 기울기를 써 넣으며, 옵티마이저가 파라미터를 직접
고칩니다. JAX는 바꿀 수 없는 배열과 순수 함수로 계산하고, 미분과 컴파일과 반복문을 모두
*함수의 변환*으로 다룹니다. `jax.grad(f)`는 `f`의 기울기를 돌려주는 새 함수이고, `jax.jit(f)`는 컴파일된 `f`,
`jax.lax.scan`은 컴파일된 반복문입니다. Flax NNX는 그 위에서 PyTorch처럼 바뀌는 모듈을 되살려 주고,
필요할 때 순수한 세계로 넣었다 꺼내 줍니다(`nnx.split`, `nnx.merge`). Optax의 옵티마이저는 파라미터
트리를 다루는 순수 함수 한 쌍(`init`, `update`)입니다. 아래의 모든 차이는 여기서 나옵니다."""

MEASURE = """\
각 단계의 끝에는 강의의 설정({steps} 스텝, 학습률 1e-6, 시드 0, CPU)으로 float32와 float64에서 새로 돌린
`equivalence check` 결과가 있습니다. 세 구현이 같은 데이터와 같은 가중치에서 출발합니다. PyTorch, JAX,
그리고 float64 NumPy 기준 구현(`equivalence/reference.py`: 강의의 NumPy 코드에 편향, 평균 제곱 오차,
Adam을 더한 것)입니다. 검증은 각 쌍마다 네 가지를 잽니다. **predictions**(순전파 한 번),
**gradients**(손실과 기울기), **update**(Adam 상태를 포함한 훈련 한 스텝), **trajectory**(모든 스텝의 손실과 마지막
가중치)입니다. 오차는 노름 기준 상대 오차 ‖a − b‖ / ‖기준값‖이고, 표에는 그 자릿수만 적습니다(`< 1e-7`은
1e-8과 1e-7 사이). 그래야 이 문서가 어느 컴퓨터에서나 똑같이 만들어지기 때문입니다. 정확한 값은
`equivalence check`를 실행하면 볼 수 있습니다. 허용 오차는 훈련의 **카오스 지평**(chaos horizon)까지만
적용합니다. 카오스 지평은 float64 기준 구현을 1 ulp만 다른 시작점에서 돌렸을 때 자기 자신과의 차이가 같은 허용
오차를 넘는 스텝입니다. 최솟값 근처의 Adam(그리고 입력이 0에 있는 ReLU)은 반올림 오차를 키우므로, 그 스텝
이후에는 올바른 두 프로그램도 기준 구현이 자기 자신과 일치하는 것보다 더 가깝게 일치할 수 없습니다. 그래서 그
뒤로는 각 프레임워크의 손실이 1 ulp씩 흔든 기준 구현 네 개가 보이는 퍼짐 안에 있어야 합니다. 강의의 설정에서는
지평이 훈련 전체이고, 학습률 1e-2의 Adam은 float64에서 약 2900 스텝입니다(`equivalence check --lr 1e-2 --steps 5000`으로
확인할 수 있습니다). 허용 오차는 `equivalence/tolerance.py`에 있습니다."""

PICTURE = ("{steps} 스텝 동안 {dtype}로 훈련할 때 두 프레임워크의 스텝별 손실(왼쪽, 두 곡선이 겹쳐 보입니다)과, "
           "스텝마다 두 손실의 차이의 절댓값을 로그 눈금으로 그린 것(오른쪽)입니다. 같은 산술을 두 번 구현했을 때 "
           "{dtype}의 반올림 오차가 남기는 차이입니다.")

LABELS = {
    "contents": "차례",
    "how": "읽는 법",
    "calls": "호출 대응표",
    "calls_note": "이 단계에서 새로 나오는 호출만 적었습니다. 앞 단계의 대응은 그대로 유효합니다.",
    "code": "코드, 블록별로",
    "pitfalls": "함정",
    "measured": "측정한 동등성",
    "measure_how": "동등성을 재는 방법",
    "quantity": "측정량", "tolerance": "허용 오차", "dtype": "dtype", "why": "근거",
    "pass": "✓", "fail": "✗ 실패",
    "all_pass": "{n}개 비교가 모두 통과했습니다.",
    "some_fail": "{total}개 중 {n}개 비교가 실패했습니다. 자세한 내용은 `equivalence check --stage {stage}`로 확인하세요.",
    "first_bad": "처음 벗어난 스텝 {step}",
    "torch": "PyTorch", "jax": "JAX / Flax NNX / Optax",
    "shared": "두 프레임워크는 `netdata.problems.{name}`이 만든 같은 NumPy 배열에서 출발합니다.",
    "shared_again": "데이터는 `netdata.problems.{name}`에서 옵니다. 코드는 [{stage}](#{anchor}) 단계에 있습니다.",
    "data_lines": "`main()`에서 데이터를 준비하는 줄",
    "no_prose": "(이 단계의 설명은 아직 없습니다. 코드와 측정 결과는 아래에 있습니다.)",
    "stage": "단계",
    "oracle": "기준 구현",
    "stage_doc": "두 파일의 설명:",
}

BLOCK_TITLES = {
    "imports": "0. 가져오기(import)",
    "model": "1. 인공 신경망 모델 정의",
    "data": "2. 데이터 로딩",
    "train": "3. 훈련: 순전파, 손실 함수, 역전파, 갱신",
    "test": "4. 테스트: 훈련된 파라미터로 순전파",
    "other": "그 밖의 코드",
}

STAGES = {
    "manual": ("손으로 직접", """\
강의의 첫 PyTorch 코드는 NumPy 코드를 다른 이름으로 쓴 것에 가깝습니다. `x.mm(w)`, `x.t()`,
`.pow(2).sum()`처럼요. JAX 쪽도 마찬가지입니다. `jax.numpy`가 NumPy의 API를 거의 그대로 따르기 때문에
`x @ w`, `x.T`, `jnp.sum(...)`으로 씁니다. 기울기는 양쪽 모두 손으로 유도합니다. 손실 함수
`0.5 * sum((y_pred - y)**2)`를 `y_pred`로 미분하면 `y_pred - y`이고, `y_pred = x @ w`에 연쇄 법칙을
적용하면 `w`에 대한 기울기 `x.T @ (y_pred - y)`가 나옵니다.

진짜 차이는 한 스텝의 마지막 줄, 즉 경사 하강법으로 `w`를 갱신하는 부분에 있습니다. PyTorch는 강의처럼
`w -= lr * grad_w`로 `w`를 제자리에서 바꿉니다. JAX 배열은 절대 바뀌지 않으므로 `train_step`은 새 `w`를
담은 *새* `Trainer`를 돌려줍니다. 이것은 JAX를 느리게 만드는 제약이 아니라 빠르게 만드는 이유입니다.
(가중치, 배치)에서 (새 가중치, 손실)로 가는 순수 함수이기 때문에 `jax.jit`으로 컴파일할 수 있고,
`jax.lax.scan`으로 5000 스텝 전체를 파이썬을 거치지 않는 하나의 컴파일된 반복문으로 돌릴 수 있습니다.
PyTorch 쪽은 강의의 파이썬 `for` 문을 그대로 씁니다. 즉시 실행(eager) 모드의 PyTorch는 연산을 호출하는
순간 바로 실행합니다."""),
    "autograd": ("자동 미분", """\
손으로 쓴 기울기 두 줄을 `loss.backward()`가 대신합니다. PyTorch는 순전파가 진행되는 동안
`requires_grad=True`인 텐서로 한 연산을 모두 기록해 두고(강의 코드는 `w`에 이 설정을 빠뜨렸고, `build`가
채워 넣습니다), `backward()`가 그 기록을 거꾸로 따라가며 역전파 결과를 `w.grad`에 *더합니다*. 더하기
때문에 스텝마다 기울기를 지워야 하고(`w.grad.zero_()`), `w`로 하는 연산은 모두 기록되기 때문에 갱신
자체는 `torch.no_grad()` 안에서 해야 합니다.

JAX에는 지울 기록도, 끌 기록도 없으므로 이런 수고가 없습니다. `jax.value_and_grad(loss_fn)`은 *함수*를
받아서, 손실과 첫 번째 인자에 대한 기울기를 함께 계산하는 새 함수를 돌려줍니다. `loss_fn` 바깥의 것은
미분되지 않고, 기울기는 쌓이는 속성이 아니라 반환값입니다. 대신 모델이 파라미터의 함수여야 합니다.
`forward(params, x)`와 `loss_fn(params, x, y)`는 가중치를 인자로 받는데, 여기서는 평범한 dict입니다.
이런 구조를 *pytree*(배열을 담은 dict, list, tuple의 임의의 중첩)라고 부르고, 갱신은 그 트리 위의
`jax.tree.map` 한 번으로 끝납니다."""),
    "nn": ("라이브러리의 층과 평균 제곱 오차", """\
이제 가중치를 라이브러리가 관리합니다. `nn.Sequential` 안의 `torch.nn.Linear(Din, Dout)`에는 편향이
있고, 손으로 쓴 손실 함수 대신 `F.mse_loss`를 씁니다. Flax NNX에서는 `nnx.Linear`가 대응하며, NNX 모듈도
PyTorch 모듈처럼 값이 바뀌는 평범한 파이썬 객체입니다. 겉보기엔 비슷해도 속에서는 세 가지가 달라집니다.

*가중치의 배치.* PyTorch는 `weight`를 (Dout, Din) 모양으로 저장하고 `x @ weight.T + bias`를 계산합니다.
Flax는 `kernel`을 (Din, Dout) 모양으로 저장하고 `x @ kernel + bias`를 계산합니다. 즉 `kernel`이 강의의
`w`이고, PyTorch의 `weight`는 그 전치입니다(변환은 `torchnet/state.py`와 `jaxnet/state.py`에서 합니다).

*손실 함수.* `mse_loss`는 강의의 `0.5 * sum`이 아니라 N × Dout개 원소 전체의 평균입니다. 그래서 기울기가
이전의 2 / (N · Dout)배, 여기서는 1/64로 줄어들고, 강의의 학습률 1e-6으로는 가중치가 전보다 더 조금
움직입니다.

*갱신.* `nnx.value_and_grad(mse)(model, x, y)`는 `model` 안의 모든 `nnx.Param`에 대해 미분하고, 기울기를
모델과 같은 모양의 트리인 `nnx.State`로 돌려줍니다. `nnx.state(model, nnx.Param)`이 파라미터를 같은 모양의
트리로 꺼내고, `jax.tree.map`이 잎마다 `p - lr * g`를 계산하며, `nnx.update`가 결과를 모델에 다시 써
넣습니다. 5000 스텝을 빠르게 돌리기 위해 `train`은 스텝 함수를 `scan_steps`(`jaxnet/loop.py`)에
넘깁니다. 이 함수는 trainer(모델과 학습률)를 한 번만 정적인 구조와 배열 트리로 나누고(`nnx.split`),
하나의 `jax.jit` 안에서 `jax.lax.scan`으로 모든 스텝을 돌리며, trainer는 트레이스할 때만 다시 조립하고
(`nnx.merge`) 스텝이 돌려준 상태를 다음 스텝으로 넘깁니다. 학습률도 그 배열 가운데 하나로, 컴파일된
프로그램이 읽는 값이므로 학습률을 바꿔도 다시 컴파일하지 않습니다."""),
    "optim": ("옵티마이저: Adam", """\
이제 갱신은 `torch.optim.Adam`이 맡습니다. PyTorch의 옵티마이저는 파라미터를 참조로 들고 있다가
`step()`에서 각 `param.grad`를 읽어 `param`을 제자리에서 바꾸고, `zero_grad()`는 `backward()`가 쌓아 둔
기울기를 지웁니다.

Optax는 이것을 순수한 조각으로 나눕니다. `optax.adam(lr)`은 `GradientTransformation`, 즉
`init(params) -> state`와 `update(grads, state, params) -> (updates, state)`라는 두 함수의 쌍이며,
파라미터를 직접 건드리지 않습니다. `nnx.Optimizer(model, tx, wrt=nnx.Param)`이 이것을 다시 PyTorch와
비슷한 객체로 감싸서 Adam의 상태(`mu`, `nu`, `count`)를 보관하고, `update(model, grads)`로 모델에 갱신을
적용합니다. 그래서 훈련 스텝의 모양은 PyTorch와 같고, `zero_grad()`만 없습니다. 지울 것이 없기 때문입니다.

`optax.adam(lr)`은 학습률을 컴파일된 프로그램의 상수로 만들어, 학습률이 바뀌면 프로그램도 새로 만들어야
합니다. `adam(model, lr)`은 이것을 `optax.inject_hyperparams`로 감싸서 학습률을 옵티마이저 상태 안,
`mu`와 `nu` 옆에 두고, 컴파일된 스텝은 그것을 값으로 읽습니다.

Adam은 양쪽이 같은 공식에 같은 기본값을 씁니다(betas 0.9와 0.999, 편향 보정한 2차 모멘트의 제곱근에
더하는 eps 1e-8). 두 파일 모두 이 값을 `netdata/problems.py`(`BETAS`, `EPS`)에서 가져오므로 두 쪽이
어긋날 수 없습니다. Adam에서는
기울기의 크기와 상관없이 각 가중치가 스텝마다 대략 학습률만큼 움직이므로, 평균 제곱 오차의 1/64는 더 이상
문제가 되지 않습니다."""),
    "module": ("클래스로 정의한 모델", """\
마지막 선형 모델은 클래스로 정의합니다. PyTorch에서는 `torch.nn.Module`을 상속하고,
`super().__init__()`을 호출하고(이것이 `model.parameters()`가 `self.linear`를 찾을 수 있게 하는 등록
장치를 준비합니다), `forward`를 씁니다. `model(x)`를 부르면 `Module.__call__`이 훅을 실행한 뒤 `forward`를
부릅니다. Flax NNX에서는 `nnx.Module`을 상속하고, `super().__init__()` 없이 `__call__`을 직접 씁니다.
NNX는 객체의 속성을 따라가며 파라미터를 찾기 때문입니다.

또 하나의 차이는 난수입니다. PyTorch의 층은 전역 난수 생성기(`torch.manual_seed`)에서 초기 가중치를
뽑지만, NNX의 층은 넘겨받은 `rngs=nnx.Rngs(seed)`에서 뽑습니다. 그래서 파라미터를 만드는 생성자는 모두
`rngs`를 받아 아래로 넘겨 줍니다. 두 `build` 모두 그다음에 공유 가중치를 불러오므로, 검증은 같은
출발점에서 비교합니다. 훈련 코드는 optim 단계와 똑같습니다. 바로 이것이 강의가 말하려는 점입니다. 훈련
반복문은 모델이 어떻게 정의되었는지 신경 쓰지 않습니다."""),
    "mlp": ("분류하는 다층 퍼셉트론", """\
7번째 프로그램은 강의 본문보다 한 걸음 더 나아갑니다. 선형 층 사이사이에 ReLU를 넣고, 회귀 대신 분류를
합니다. `torch.nn.ModuleList`는 `nnx.List`가 되고, `F.relu`는 `nnx.relu`(곧 `jax.nn.relu`)가 됩니다.
손실 함수는 교차 엔트로피입니다. `F.cross_entropy(logits, labels)`는 소프트맥스를 거치지 않은 점수(로짓)와
정수 클래스 레이블을 받아 log-softmax를 스스로 적용하고 배치 평균을 냅니다.
`optax.softmax_cross_entropy_with_integer_labels(logits, labels)`는 같은 계산을 샘플마다 해서 행마다 값
하나를 돌려주므로, `.mean()`은 직접 붙여야 합니다.

이제 테스트는 훈련에 쓰지 않은 행에 대한 정확도입니다. 로짓이 가장 큰 클래스가 예측 레이블입니다. 두
`main()`은 같은 가중치(`netdata.problems.STAGE_INIT`, NumPy로 뽑은 nn.Linear 방식)에서 출발해 같은 손실과
테스트 정확도를 출력합니다."""),
}

PITFALLS = {
    "inplace": ("함수형 갱신과 제자리 갱신", """\
`w -= lr * g`는 PyTorch 텐서의 메모리를 직접 바꾸므로, `w`를 들고 있는 모든 곳이 그 변화를 봅니다. JAX
배열은 바뀌지 않습니다. `p - lr * g`나 `a.at[i].set(v)`는 새 배열을 돌려주고, 한 스텝은 새 파라미터를
돌려줍니다. `jax.jit` 안에서는 XLA가 가능한 한 버퍼를 재사용하므로 함수형이라고 느린 것은 아닙니다. NNX는
배열을 `Variable` 상자에 담아 제자리 갱신의 느낌을 되살리지만(`optimizer.update(model, grads)`가 `model`을
바꿈), 상자 안의 배열은 고쳐지는 것이 아니라 새것으로 교체됩니다."""),
    "float64": ("JAX에서 float64를 쓰려면 x64를 켜야 함", """\
JAX는 x64를 켜지 않으면(`jax.config.update("jax_enable_x64", True)`, 또는 `jaxnet/device.py`가 쓰는
`jax.enable_x64` 컨텍스트) float32로 계산하고, `jnp.asarray`는 float64 배열을 조용히 float32로
바꿉니다. `torch.from_numpy`는 float64를 그대로 둡니다. `jaxnet.device.array`는 조용히 자르지 않고 오류를
냅니다."""),
    "tf32": ("NVIDIA GPU의 TF32", """\
Ampere 이후의 NVIDIA GPU에서는 JAX의 기본 float32 행렬 곱 정밀도가 XLA에 TF32 사용을 허락합니다. 가수가
10비트라서 상대 반올림 오차가 6e-8이 아니라 약 5e-4입니다. PyTorch는 행렬 곱에서 TF32를 기본으로 끕니다
(`torch.backends.cuda.matmul.allow_tf32`가 False). 그래서 같은 float32 프로그램이 CPU에서는 1e-7 정도까지
일치하다가 GPU에서는 1e-3 정도까지만 일치합니다. `jaxnet/device.py`처럼
`jax.default_matmul_precision("highest")`를 지정하면 해결됩니다.
`equivalence check --device gpu --precision default`로 그 차이를 볼 수 있고, 이때는 더 느슨한 `tf32`
허용 오차를 적용합니다."""),
    "no_grad": ("`torch.no_grad()`에 해당하는 JAX 코드가 없는 이유", """\
`torch.no_grad()`는 기록을 끕니다. 계산 그래프에 들어가면 안 되는 갱신을 할 때, 그리고 기록에 드는
메모리를 아끼려고 테스트할 때 씁니다. JAX는 기본적으로 아무것도 기록하지 않습니다. `jax.grad`는 넘겨받은
함수만, 그것도 변환된 함수가 호출될 때만 추적합니다. `value_and_grad` 뒤에 쓴 갱신은 평범한 산술이고,
`predict`는 평범한 함수 호출입니다. 가장 가까운 친척인 `jax.lax.stop_gradient`는 정반대의 일을 합니다.
미분하는 함수 *안에서* 기울기가 흐르지 않게 막습니다."""),
    "accumulate": ("PyTorch에서는 기울기가 누적됨", """\
`backward()`는 `.grad`에 더합니다. `zero_grad()`(또는 `w.grad.zero_()`)를 잊으면 k번째 스텝은 기울기 k개의
합을 씁니다. 훈련은 돌아가지만 틀리게 돌아갑니다. JAX의 기울기는 호출할 때마다 새로 나오는 반환값이라
잊을 것이 없고, 일부러 누적하려면 `+`를 `jax.tree.map`으로 명시해야 합니다."""),
    "layout": ("가중치 배치: `w`와 `weight.T`", """\
`nn.Linear.weight`는 (Dout, Din), `nnx.Linear.kernel`은 (Din, Dout)이고, 기울기와 Adam의 모멘트도 같은
배치를 따릅니다. 전치 없이 한쪽을 다른 쪽에 복사하면 Din ≠ Dout일 때는 요란하게 실패하지만, Din == Dout일
때는 조용히 다른 값을 계산합니다. 테스트 모음은 바로 이 버그를 일부러 심어 봅니다
(`test_loading_w_untransposed_into_torch_linear_fails_the_torch_pairs`). 이 프로젝트는 기준 배치인
`w` (Din, Dout) 하나만 두고, 경계인 `torchnet/state.py`에서 변환합니다."""),
    "init": ("기본 초기화가 서로 다름", """\
`torch.nn.Linear`는 가중치와 편향을 ±1/√Din 범위의 균등 분포에서 뽑고(a = √5인 `kaiming_uniform_`),
`nnx.Linear`는 커널을 `lecun_normal`(분산 1/Din인 절단 정규 분포)에서 뽑고 편향은 0으로 둡니다. 강의의
`torch.randn(Din, Dout)`은 또 다른 세 번째 방법입니다. 같은 층이라도 초기 가중치가 다르면 훈련 곡선도
다릅니다. 그래서 두 구현은 같은 가중치에서 출발해야 비교할 수 있고, `netdata/init.py`가 모든 방식을 NumPy로
뽑아 두 `build`가 똑같이 불러옵니다."""),
    "mse": ("`mse_loss`는 평균, `optax.l2_loss`는 제곱 오차의 절반", """\
`F.mse_loss(pred, y)`는 `mean((pred - y) ** 2)`입니다. `optax.l2_loss(pred, y)`는 원소마다
`0.5 * (pred - y) ** 2`이고 합치지도 않습니다. 그래서 `optax.l2_loss(...).mean()`을 쓰면 손실과 기울기가
모두 절반이 됩니다. 평범한 경사 하강법에서는 학습률이 절반이 되는 셈이고, Adam에서는 (eps를 빼면 기울기의
크기를 무시하므로) 거의 드러나지 않아 실수를 찾기가 더 어렵습니다. `jnp.mean((pred - y) ** 2)`나
`optax.squared_error(pred, y).mean()`을 쓰세요."""),
    "jit": ("`nnx.jit`의 부담과 split/merge", """\
`nnx.jit`은 모듈을 그대로 받을 수 있어 편하지만, 호출할 때마다 모듈 그래프를 훑어 배열로 나누고 다시
조립합니다. 이렇게 작은 모델에서는 그 부가 작업이 시간의 대부분입니다. `jaxnet/loop.py`의 측정으로는
스텝마다 `nnx.jit`을 부르면 스텝당 약 320 µs, 객체를 한 번만 나누고 모든 스텝을 하나의 `jax.jit` +
`jax.lax.scan`으로 돌리며 `nnx.merge`는 트레이스할 때만 하면 약 2 µs입니다. 또 `jit`은 새로운 모양과
dtype으로 처음 호출될 때 컴파일하므로, 시간은 첫 호출이 아니라 두 번째 호출로 재야 합니다. mlp 단계가
즉시 실행용 `value_and_grad`를 `jit`으로 감싸는 것도 같은 이유입니다. 그러지 않으면 작은 연산 수십 개가
하나씩 따로 실행(그리고 컴파일)됩니다."""),
    "adamw": ("Adam의 L2와 AdamW", """\
`torch.optim.Adam(..., weight_decay=wd)`는 L2 정규화입니다. `wd * param`을 모멘트를 계산하기 *전에*
기울기에 더하므로, Adam이 다른 기울기처럼 크기를 다시 조정합니다. `torch.optim.AdamW`는 Adam의 조정과
상관없이 가중치를 직접 줄입니다(`param *= 1 - lr * wd`). `optax.adamw`는 AdamW 규칙이므로, torch의
weight decay 있는 Adam과 짝이 *아닙니다*. 그 짝은
`optax.chain(optax.add_decayed_weights(wd), optax.adam(lr))`입니다. 기본값도 다릅니다.
`weight_decay`는 `torch.optim.AdamW`에서 1e-2, `optax.adamw`에서 1e-4입니다.
`equivalence matrix`가 이런 대응을 실제로 재어 보여 줍니다."""),
    "adam_state": ("Adam의 상태는 저절로 맞춰지지 않음", """\
PyTorch는 파라미터의 Adam 상태(`exp_avg`, `exp_avg_sq`, `step`)를 첫 `step()` 때에야 파라미터 객체를 키로
만들고, `step`은 float 텐서입니다. Optax는 `init`에서 파라미터 트리 모양으로 `mu`, `nu`와 int32 `count`를
0으로 만듭니다. Linear 가중치의 모멘트는 가중치처럼 전치되어 있습니다. 한 프레임워크에서 저장한 훈련을
다른 프레임워크에서 이어 가려면 이 세 가지를 모두 변환해야 합니다. 두 `state.py`의 `export_adam`과
`load_adam`이 그 일을 합니다."""),
    "rngs": ("NNX에서 난수는 인자", """\
`nnx.Linear(din, dout, rngs=...)`의 `rngs`에는 기본값이 없습니다. Flax는 숨은 전역 생성기에서 난수를 뽑지
않습니다. 층을 만드는 모듈은 `nnx.Rngs`를 받아 아래로 넘깁니다. 같은 시드는 매번 같은 가중치를 주지만,
같은 숫자로 `torch.manual_seed`를 불렀을 때의 PyTorch 가중치와는 다릅니다."""),
    "logits": ("교차 엔트로피는 로짓을 받고, Optax는 평균을 내지 않음", """\
`F.cross_entropy`와 `optax.softmax_cross_entropy_with_integer_labels`는 모두 소프트맥스 전의 점수(로짓)를
받아 log-softmax를 스스로 적용합니다. 모델의 마지막 층에 소프트맥스를 넣으면 두 번 적용되는 셈입니다.
`F.cross_entropy`는 기본으로 배치 평균을 내지만 Optax 함수는 샘플마다 손실을 돌려주므로, `.mean()`이 없으면
기울기가 합의 기울기, 곧 N배가 됩니다."""),
}
