"""한국어 안내서의 본문: 단계마다 핵심 개념, 다음에 해 볼 것, 그리고 생성된 부분을 둘러싼 문구."""

from tools.docs.pages_ko import PITFALLS  # noqa: F401 - 안내서가 단계마다 함정의 제목으로 링크함

TITLE = "PyTorch ⇄ JAX, 단계별로: 강의의 인공 신경망을 두 프레임워크로"

GENERATED = ("이 문서는 `python -m tools.docs`가 `torchnet/`, `jaxnet/`의 코드, 프로그램의 실제 출력, 새로 돌린 "
             "`equivalence check` 결과로 만든 것입니다. 직접 고치지 마세요. 코드(또는 `tools/docs/`)를 고친 뒤 "
             "`python -m tools.docs`를 실행하면 되고, 둘이 어긋나 있으면 `python -m tools.docs --check`가 실패합니다. "
             "[English](guide.md)")

INTRO = """\
강의의 각 단계는 PyTorch(`torchnet/<단계>.py`)와, Flax NNX·Optax를 쓰는 JAX(`jaxnet/<단계>.py`)로 두 번
작성되어 있습니다. 두 파일의 함수 이름과 매개변수는 똑같고(`tests/test_mirroring.py`가 확인합니다),
`equivalence check`가 두 구현이 같은 숫자를 계산한다는 것을 증명합니다. 강의가 말하는 인공 신경망 구현
4단계로 보면, `build`가 1단계(모델 정의), `main`이 2단계(데이터 로딩), `train_step`과 `train`이 3단계(훈련:
순전파(forward propagation), 손실(loss) 계산, 역전파(backpropagation), 갱신), `predict`가 4단계(테스트)입니다.

단계마다 핵심 개념을 몇 문장으로 설명하고, 두 프레임워크에서 달라지는 함수만 나란히 보여 주며(나머지는
링크로 연결), 두 프로그램을 실행하는 방법과 실제 출력, 그 단계에서 만나는 함정, 테스트로 검증하는 풀이가
딸린 연습 문제, 다음에 해 볼 것을 차례로 실었습니다. 각 단계는 CPU에서 몇 초 만에 실행되는 노트북으로도
제공됩니다.

**한 문단으로 보는 차이.** PyTorch의 객체는 상태를 품고 제자리에서 바뀝니다. 텐서는 자신을 만든 연산을
기억하고, `backward()`는 파라미터의 `.grad`에 기울기(gradient)를 써 넣으며, 옵티마이저가 파라미터를 직접 고칩니다.
JAX는 바꿀 수 없는 배열과 순수 함수로 계산하고, 미분과 컴파일과 반복문을 모두 *함수의 변환*으로 다룹니다.
`jax.grad(f)`는 `f`의 기울기를 돌려주는 함수이고, `jax.jit(f)`는 컴파일된 `f`, `jax.lax.scan`은 컴파일된
반복문입니다. Flax NNX는 그 위에서 값이 바뀌는 모듈을 다시 제공하고, Optax의 옵티마이저는 파라미터 트리를
다루는 순수 함수 한 쌍(`init`, `update`)입니다. 그래서 스텝은 상태를 돌려줍니다. `train_step(trainer, x, y)`는
PyTorch에서 손실을, JAX에서 `(trainer, loss)`를 돌려주며, 덕분에 `jax.lax.scan`이 하나의 컴파일된 프로그램
안에서 trainer를 다음 스텝으로 넘길 수 있습니다."""

CHAPTERS = """\
함께 읽을 문서: [PyTorch 사용자를 위한 JAX](jax-for-torch-users{suffix}.md)(트레이싱, 정적 인자와 트레이싱되는
인자, 난수 키, `vmap`, 시간 재기)와 [함정 모음](pitfalls{suffix}.md)(함정마다 한 번씩, 측정한 대가와 함께)."""

GLOSSARY = """\
## 용어

이 문서는 한 개념에 한 용어만 씁니다. 강의의 영어 용어는 처음 나올 때 괄호 안에 함께 적습니다.

| 영어 | 이 문서의 용어 | 뜻 |
|---|---|---|
| forward propagation / forward pass | 순전파 | 입력에서 예측과 손실까지 계산하는 과정 |
| backpropagation / backward pass | 역전파 | 손실의 기울기를 거꾸로 계산하는 과정 |
| loss / loss function | 손실, 손실 함수 | 예측이 정답에서 얼마나 먼지 나타내는 값과 그 함수 |
| gradient | 기울기 | 손실을 각 파라미터로 미분한 값 |
| gradient descent | 경사 하강법 | 기울기의 반대 방향으로 파라미터를 옮기는 방법 |
| learning rate (lr) | 학습률 | 한 스텝에 움직이는 크기 |
| weight / bias | 가중치, 편향 | 모델의 파라미터 `w`와 `b` |
| layout | 레이아웃 | 가중치 배열의 축 순서, 예: (Din, Dout) |
| batch | 배치 | 한 스텝에 함께 처리하는 샘플 묶음 |
| step | 스텝 | 파라미터를 한 번 갱신하는 단위 |
| trace / tracing | 트레이싱 | `jax.jit`이 함수를 추상 값으로 한 번 실행해 연산을 기록하는 일 |
| static / traced argument | 정적 인자 / 트레이싱되는 인자 | 값이 컴파일에 들어가는 인자 / 모양과 dtype만 들어가는 인자 |
| in place | 제자리 | 새 배열을 만들지 않고 메모리를 직접 바꾸는 것 |
| tolerance | 허용 오차 | 두 구현이 같다고 인정하는 오차의 한계 |
| pytree | pytree | 배열을 담은 dict, list, tuple의 임의의 중첩 |"""

MEASURE = """\
`equivalence check`는 모든 단계를 강의의 설정({steps} 스텝, 학습률 1e-6, 시드 0, CPU)으로 float32와
float64에서 같은 데이터와 가중치로 세 번 실행합니다. PyTorch, JAX, 그리고 float64 NumPy 기준 구현
(`equivalence/reference.py`)입니다. 각 쌍마다 네 가지 양을 잽니다. **예측**(순전파 한 번), **기울기**(손실과
기울기), **갱신**(Adam의 상태를 포함한 훈련 한 스텝), **궤적**(모든 스텝의 손실과 마지막 가중치)입니다. 오차는
노름 기준 상대 오차 ‖a − b‖ / ‖기준값‖이고, 표에는 가장 나쁜 쌍의 자릿수만 적습니다(`< 1e-7`은 1e-8과 1e-7
사이). 그래야 이 문서가 어느 컴퓨터에서나 똑같이 만들어집니다. 허용 오차는 훈련의 **카오스 지평**(chaos
horizon)까지 적용합니다. 기준 구현을 1 ulp만 다른 시작점에서 돌렸을 때 자기 자신과의 차이가 허용 오차를 넘는
스텝이며, 강의의 설정에서는 훈련 전체가 그 안에 들어갑니다. 허용 오차는 `equivalence/tolerance.py`에
있습니다."""

TOLERANCE_WHY = {
    "float64": "단위 반올림 오차 1.1e-16에, 5000 스텝 동안 반올림 오차가 커지는 정도를 곱한 값",
    "float32": "단위 반올림 오차 6e-8(행렬 곱을 float32 그대로 계산)에 같은 정도를 곱한 값",
    "tf32": "TF32 행렬 곱을 쓰는 float32(가수 10비트, 반올림 오차 4.9e-4): NVIDIA GPU에서 JAX의 기본값",
}

QUANTITIES = {"predictions": "예측", "gradients": "기울기", "update": "갱신", "trajectory": "궤적"}

PICTURE = ("동등성 검증의 {steps} 스텝 훈련({dtype}): 두 프레임워크의 스텝별 손실(왼쪽, 두 곡선이 겹쳐 보입니다)과 "
           "스텝마다 두 손실의 차이의 절댓값을 로그 눈금으로 그린 것(오른쪽)입니다.")

LABELS = {
    "contents": "차례", "notebook": "노트북",
    "differs": "무엇이 다른가", "also": "이 단계부터 모든 JAX 단계가 쓰는 반복문({links})입니다. trainer를 한 번 배열로 펼치고, 하나의 `jax.jit` 안에서 `jax.lax.scan` 한 번으로 모든 스텝을 돌리며, trainer는 트레이싱할 때 다시 조립합니다:",
    "picture_alt": "{stage}: PyTorch와 JAX의 손실 곡선과 그 차이",
    "same": "# … 양쪽이 같음",
    "rest": "두 파일의 나머지(모양이 같아 링크만 걸었습니다)",
    "run": "실행하기", "both_print": "두 프로그램 모두 이렇게 출력합니다:",
    "not_run": "(이 문서를 만들 때 실행하지 않았습니다)",
    "pitfalls_here": "이 단계에서 만나는 함정:", "exercises": "연습 문제", "solution": "풀이",
    "solution_in": "`{path}`({links}):", "prints": "`{call}`의 결과:", "next": "다음에 해 볼 것",
    "measure_how": "동등성을 재는 방법",
    "stage": "단계", "tolerance": "허용 오차", "dtype": "dtype", "why": "근거",
    "pass": "✓", "fail": "✗ 실패",
    "torch": "PyTorch", "jax": "JAX / Flax NNX / Optax",
    "no_prose": "(이 단계의 설명은 아직 없습니다. 코드와 출력, 측정 결과는 아래에 있습니다.)",
}

NOTEBOOK = {
    "from_guide": "같은 단계를 코드와 나란히 설명한 [안내서]({guide})도 있습니다.",
    "setup": "두 프레임워크는 같은 NumPy 데이터와 가중치에서 출발합니다(`equivalence.stages.row`):",
    "train": "같은 가중치에서 학습률 {lr}로 두 프레임워크를 {steps} 스텝씩 훈련합니다:",
    "compare": "훈련된 가중치를 비교합니다. 차이는 가중치가 움직인 거리에 대한 비율입니다(`equivalence check`의 float32 허용 오차는 1e-5):",
    "run": "전체 프로그램 `python -m torchnet.{stage}`와 `python -m jaxnet.{stage}`의 출력:",
    "solutions": "테스트로 검증하는 풀이: [안내서]({guide}).",
}

RESULT_NAMES = {
    "torch loss": "torch의 손실", "jax loss": "jax의 손실", "loss without bias": "편향이 없을 때의 손실",
    "relative difference": "상대 차이", "second .grad / first .grad": "두 번째 .grad / 첫 번째 .grad",
    "shape of d loss / d x": "d 손실 / d x의 모양",
    "gradient with l2_loss / gradient with mse": "l2_loss의 기울기 / mse의 기울기",
    "relative error without .T": ".T가 없을 때의 상대 오차", "relative error with .T": ".T가 있을 때의 상대 오차",
    "Din != Dout": "Din != Dout일 때",
    "β₂ changed on both sides": "양쪽 모두 β₂를 바꿨을 때", "β₂ changed on torch's side only": "torch 쪽만 β₂를 바꿨을 때",
    "first step / lr": "첫 스텝 / 학습률", "step after 10000 quiet steps / lr": "기울기 0인 스텝 10000번 뒤의 스텝 / 학습률",
    "bound (1 - β₁) / √(1 - β₂)": "상한 (1 - β₁) / √(1 - β₂)",
    "relative difference of the outputs": "출력의 상대 차이", "largest |weight.T - kernel|": "가장 큰 |weight.T - kernel|",
    "gradient without .mean() / gradient with it": ".mean()이 없을 때의 기울기 / 있을 때의 기울기",
    "batch size": "배치 크기", "loss": "손실", "loss with a softmax too many": "소프트맥스를 한 번 더 적용한 손실",
    "gradient with it / gradient without": "그때의 기울기 / 원래 기울기",
    "NCHW images as they are": "NCHW 이미지를 그대로 넣었을 때",
    "relative difference after the transpose": "전치한 뒤의 상대 차이",
    "|running mean difference|, Flax momentum 0.1": "|이동 평균의 차이|, Flax momentum 0.1",
    "|running mean difference|, Flax momentum 0.9": "|이동 평균의 차이|, Flax momentum 0.9",
}

STAGES = {
    "manual": ("손으로 직접", """\
강의의 첫 프로그램을 두 프레임워크 모두 NumPy와 비슷한 문법으로 씁니다. `x.mm(w)`와 `x @ w`, `x.t()`와
`x.T`입니다. 기울기는 양쪽 모두 손으로 유도합니다. 손실 `0.5 * sum((y_pred - y)**2)`에
`y_pred = x @ w`를 거쳐 연쇄 법칙을 적용하면 `x.T @ (y_pred - y)`가 나옵니다. 진짜 차이는 갱신에 있습니다.
PyTorch는 `w -= lr * grad_w`로 `w`를 제자리에서 바꾸지만, JAX 배열은 바뀌지 않으므로 `train_step`이 *새*
`Trainer`를 돌려줍니다. 그래서 `jax.jit`이 스텝을 컴파일하고 `jax.lax.scan`이 모든 스텝을 하나의 컴파일된
반복문으로 돌릴 수 있습니다."""),
    "autograd": ("자동 미분", """\
손으로 쓴 기울기를 `loss.backward()`가 대신합니다. PyTorch는 `requires_grad=True`인 텐서로 한 연산을 모두
기록해 두고, `backward()`가 그 기록을 거꾸로 따라가며 결과를 `w.grad`에 *더합니다*. 그래서 스텝마다
`w.grad.zero_()`로 지워야 하고, 갱신은 `torch.no_grad()` 안에서 해야 합니다. JAX는 아무것도 기록하지 않습니다.
`jax.value_and_grad(loss_fn)`은 함수를 받아, 첫 번째 인자에 대한 기울기까지 함께 돌려주는 새 함수를
만듭니다. 대신 모델이 파라미터의 함수여야 합니다. 여기서 파라미터는 평범한 dict(*pytree*)이고, 갱신은 그 위의
`jax.tree.map` 한 번입니다."""),
    "nn": ("라이브러리의 층과 평균 제곱 오차", """\
이제 가중치를 라이브러리가 관리합니다. `torch.nn.Linear`와 Flax NNX의 `nnx.Linear`는 둘 다 값이 바뀌는
파이썬 객체입니다. PyTorch는 `weight`를 (Dout, Din) 레이아웃으로 저장해 `x @ weight.T + bias`를 계산하고,
Flax는 `kernel`을 강의의 `w`와 같은 (Din, Dout) 레이아웃으로 저장합니다. `F.mse_loss`는 강의의 `0.5 * sum`이
아니라 N × Dout개 원소 전체의 평균이라서, 여기서는 기울기가 이전의 1/64가 됩니다.
`nnx.value_and_grad(mse)(model, x, y)`는 모델 안의 모든 `nnx.Param`에 대해 미분합니다. 이 단계부터 `train`은
스텝 함수를 `scan_steps`(아래)에 넘깁니다. 모든 스텝이 하나의 `jax.jit` 안에서 돌고, 학습률은 트레이싱되는
값이라 바꿔도 다시 컴파일하지 않습니다."""),
    "optim": ("옵티마이저: Adam", """\
이제 갱신은 `torch.optim.Adam`이 맡습니다. 옵티마이저가 파라미터를 들고 있다가, `step()`에서 각 `.grad`를
읽어 파라미터를 제자리에서 바꿉니다. Optax는 이를 순수 함수로 나눕니다. `optax.adam(lr)`은
`init(params) -> state`와 `update(grads, state, params) -> (updates, state)`의 쌍이고, `nnx.Optimizer`가 이를
다시 객체로 감싸 `update(model, grads)`로 모델을 바꿉니다. `optax.adam` 자체도 `scale_by_adam` 다음에
`scale_by_learning_rate`를 잇는 chain입니다. 이 단계는 그 chain을 직접 쓰되, `scale_by_adam`은 float32에서도
PyTorch만큼 정확하게 편향 보정(bias correction)을 하는 `jaxnet/adam.py`의 것을 씁니다(함정 모음 참고).
양쪽 모두 β₁, β₂, eps를 `netdata/problems.py`에서 가져옵니다. Adam은 기울기 제곱의 평균의 제곱근으로 나누므로, 기울기의 크기와 상관없이 가중치가 스텝마다
대략 학습률만큼 움직이고 평균이 만든 1/64는 더 이상 문제가 되지 않습니다. 그래도 한 스텝이
lr·(1−β₁)/√(1−β₂) ≈ 3.2·lr까지 갈 수 있습니다(함정 모음에서 측정)."""),
    "module": ("클래스로 정의한 모델", """\
모델을 클래스로 정의합니다. PyTorch에서는 `torch.nn.Module`을 상속하고 `super().__init__()`을 호출한 뒤
(`model.parameters()`가 `self.linear`를 찾을 수 있도록 등록 장치를 준비합니다) `forward`를 씁니다. Flax NNX에서는
`nnx.Module`을 상속하고 `super().__init__()` 없이 `__call__`을 씁니다. NNX는 속성을 따라가며 파라미터를
찾습니다. 난수는 인자입니다. 파라미터를 만드는 NNX 층은 모두 `rngs=nnx.Rngs(seed)`를 받습니다. 훈련 코드는
optim 단계와 똑같습니다. 훈련 반복문은 모델이 어떻게 정의되었는지 신경 쓰지 않습니다."""),
    "mlp": ("분류하는 다층 퍼셉트론", """\
선형 층 사이에 ReLU를 넣고, 회귀 대신 분류를 합니다. `torch.nn.ModuleList`는 `nnx.List`가, `F.relu`는
`nnx.relu`가 됩니다. `F.cross_entropy(logits, labels)`는 log-softmax를 적용하고 배치 평균을 내지만,
`optax.softmax_cross_entropy_with_integer_labels`는 샘플마다 손실을 돌려주므로 `.mean()`을 직접 붙여야 합니다.
테스트는 훈련에 쓰지 않은 행에 대한 정확도이고, 로짓(logit)이 가장 큰 클래스가 예측입니다."""),
    "cnn": ("특징을 스스로 배우는 합성곱 신경망", """\
합성곱, 배치 정규화, ReLU, 최대 풀링으로 된 블록 두 개 뒤에 드롭아웃과 선형 층을 두고, 8×8 숫자 이미지를
분류합니다. PyTorch는 NCHW 이미지에 OIHW 커널을, Flax는 NHWC 이미지에 HWIO 커널을 쓰므로, 각 파일이 한
경계에서 레이아웃을 바꿉니다. 배치 정규화는 훈련 모드에서 바뀌는 이동 통계를 상태로 들고 있습니다. JAX에서는
그 상태가 `value_and_grad` 안에서 바뀌고, NNX가 변화를 모델에 되돌려 줍니다. 드롭아웃은 양쪽 모두 `netdata`의
난수열에서 같은 마스크를 뽑으므로 두 훈련을 비교할 수 있습니다."""),
}

NEXT = {
    "manual": "`problems.LECTURE_LR`를 1e-3으로 바꾸고 두 프로그램을 다시 실행해 보세요. 손실이 268에서 60 아래로 "
              "떨어집니다. 그다음 autograd 단계에서 기울기 두 줄이 사라지는 것을 보세요.",
    "autograd": "두 프로그램의 실행 시간을 재 보세요(`time python -m torchnet.autograd`). JAX는 한 번 컴파일해 "
                "5000 스텝을 한 프로그램으로 돌리고, PyTorch는 연산을 하나씩 실행합니다. nn 단계에서는 가중치를 "
                "라이브러리에 맡깁니다.",
    "nn": "`equivalence check --stage nn --dtype float64`를 실행해 float32의 오차와 비교해 보세요. 그다음 갱신을 "
          "옵티마이저에 맡기는 optim 단계로 넘어가세요.",
    "optim": "`torchnet-train --stage optim --steps 2000`과 같은 플래그의 `jaxnet-train`을 실행해 보세요. 둘 다 같은 "
             "형식의 실행 폴더를 씁니다. module 단계에서는 모델을 클래스로 옮깁니다.",
    "module": "층을 하나 더 넣고(연습 문제 1), 두 모델을 층마다 비교하는 `equivalence.port`로 PyTorch와 맞는지 "
              "확인해 보세요(`docs/port.md`).",
    "mlp": "실제 데이터로 훈련해 보세요: `jaxnet-train --stage mlp --data digits`. 그다음 이미지에서 특징을 스스로 "
           "배우는 cnn 단계로 넘어가세요.",
    "cnn": "내 컴퓨터에서 두 프레임워크의 속도를 비교해 보세요: `python benchmarks/bench.py --help`.",
}
