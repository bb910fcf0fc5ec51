"""The module stage's notebook: lecture program 6, the model as a class, `nn.Module` and `nnx.Module`."""

from tools.docs.lessons import CURVES_EN, CURVES_KO, Code, Exercise, Md
from tools.docs.lessons.nn import PLOT
from tools.docs.lessons.optim import CELLS as OPTIM_CELLS
from tools.docs.lessons.optim import CHECK as OPTIM_CHECK
from tools.docs.lessons.optim import EXERCISES as OPTIM_EXERCISES
from tools.docs.lessons.optim import JAX as OPTIM_JAX
from tools.docs.lessons.optim import TORCH as OPTIM_TORCH

TITLE = Md("the model as a class", "클래스로 쓴 모델")

TORCH = '''\
class MyOneLayerNet(torch.nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.linear = torch.nn.Linear(din, dout)

    def forward(self, x):
        return self.linear(x)


torch_model = MyOneLayerNet(problems.DIN, problems.DOUT)
''' + OPTIM_TORCH.split("\n", 1)[1].replace("torch_model[0]", "torch_model.linear")

JAX = '''\
import optax


class MyOneLayerNet(nnx.Module):  # torch's forward is __call__; the layers' random keys come from rngs
    def __init__(self, din, dout, rngs):
        self.linear = nnx.Linear(din, dout, rngs=rngs)

    def __call__(self, x):
        return self.linear(x)


jax_model = MyOneLayerNet(problems.DIN, problems.DOUT, nnx.Rngs(0))
''' + OPTIM_JAX.split("\n", 3)[3].replace("jax_model.kernel", "jax_model.linear.kernel").replace(
    "jax_model.bias", "jax_model.linear.bias")

CHECK = OPTIM_CHECK.replace("torch_model[0]", "torch_model").replace("jax_model.kernel", "jax_model.linear.kernel")
CHECK = CHECK.replace("torch_model.weight", "torch_model.linear.weight")

DEVIATION = '''\
import jaxnet.module

# the project's MyOneLayerNet is this one; it trains with jaxnet.optim's Adam (a float64-accurate bias correction,
# lr in the optimizer's state: see the optim notebook) and saves and resumes Adam's state by name
project = jaxnet.module.build(weights, LR)
xs, ys = np.broadcast_to(x, (STEPS, *x.shape)), np.broadcast_to(y, (STEPS, *y.shape))
project, project_losses = jaxnet.module.train(project, xs, ys)
exported = jaxnet.module.export(project)
print(f"the project's losses differ from ours by {rel(project_losses, jax_losses):.1e}; it exports {sorted(exported)}")'''

CELLS = [*OPTIM_CELLS[:3],
         Md("## PyTorch: the lecture's program\n\nThe model becomes a class: `__init__` makes the layers, `forward` says "
            "what the network computes. Training is the optim stage's four calls.",
            "## PyTorch: 강의의 프로그램\n\n모델이 클래스가 됩니다: `__init__`이 층을 만들고 `forward`가 네트워크의 계산을 "
            "말합니다. 학습은 optim 스테이지의 네 호출 그대로입니다."),
         Code(TORCH),
         Md("## JAX: the same, idiomatic\n\nAn `nnx.Module` is a plain Python class: `__call__` is `forward`, and layers "
            "take an `nnx.Rngs` for their random start (which the shared weights replace). The step and the scan are "
            "the optim stage's.",
            "## JAX: 같은 계산, JAX다운 코드\n\n`nnx.Module`은 평범한 Python 클래스입니다: `__call__`이 `forward`이고, 층은 "
            "무작위 시작을 위해 `nnx.Rngs`를 받습니다 (공통 가중치가 그것을 덮어씁니다). 스텝과 scan은 optim 스테이지와 "
            "같습니다."),
         Code(JAX),
         Md(CURVES_EN, CURVES_KO), Code(PLOT), OPTIM_CELLS[9], Code(CHECK),
         Md("## Why the project's own version looks different\n\n`jaxnet/module.py` defines the same class; it trains "
            "with the optim stage's Adam (float64-accurate bias correction, learning rate in the optimizer's state) and "
            "exports Adam's moments by name, so that a run can stop and resume in either framework.",
            "## 프로젝트의 버전은 왜 다르게 생겼나\n\n`jaxnet/module.py`는 같은 클래스를 정의합니다. optim 스테이지의 Adam"
            "(float64만큼 정확한 편향 보정, 옵티마이저 상태 속 학습률)으로 학습하고, Adam의 모멘트를 이름으로 내보내서 어느 "
            "프레임워크에서든 멈췄다가 이어서 학습할 수 있습니다."),
         Code(DEVIATION, "deviation")]

EXERCISES = [
    Exercise("Two layers: write `TwoLayerNet(nnx.Module)` with `nnx.Linear(4, 8)`, a ReLU and `nnx.Linear(8, 2)` "
             "(attributes `first` and `second`); the check builds the PyTorch twin and compares them with "
             "`equivalence.port`.",
             "두 층: `nnx.Linear(4, 8)`, ReLU, `nnx.Linear(8, 2)`로 된 `TwoLayerNet(nnx.Module)`을 쓰세요 (속성 이름 "
             "`first`, `second`). 검사가 PyTorch 쌍둥이를 만들어 `equivalence.port`로 비교합니다.",
             "TwoLayerNet = None  # your code: class TwoLayerNet(nnx.Module): ...",
             "class TwoLayerNet(nnx.Module):\n"
             "    def __init__(self, rngs):\n"
             "        self.first = nnx.Linear(4, 8, rngs=rngs)\n"
             "        self.second = nnx.Linear(8, 2, rngs=rngs)\n\n"
             "    def __call__(self, x):\n"
             "        return self.second(nnx.relu(self.first(x)))",
             'from equivalence import port\n\n'
             'twin = torch.nn.Sequential()\n'
             'twin.first, twin.relu, twin.second = torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)\n'
             'assert TwoLayerNet is not None and port.compare(twin, TwoLayerNet(nnx.Rngs(0)), x).passed, "not the twin"\n'
             'print("right: the same two layers, the same function")'),
    OPTIM_EXERCISES[1]._replace(
        solution=OPTIM_EXERCISES[1].solution.replace("jm = nnx.Linear(problems.DIN, problems.DOUT, rngs=nnx.Rngs(0))\n"
                                                     "jm.kernel[...], jm.bias[...]", "jm = MyOneLayerNet(problems.DIN, "
                                                     "problems.DOUT, nnx.Rngs(0))\njm.linear.kernel[...], jm.linear.bias[...]")
        .replace("jnp.abs(jm.kernel", "jnp.abs(jm.linear.kernel")),
]
