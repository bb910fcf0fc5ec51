"""The one table of stages: every fact about a lesson stage, read by the programs, the CLIs, the check and the docs."""

from __future__ import annotations

from dataclasses import dataclass

from netdata.problems import LECTURE_LR, LECTURE_STEPS


@dataclass(frozen=True)
class Stage:
    name: str
    lecture: str  # the lecture's program the stage writes
    bias: bool  # False: the lecture's y_pred = x @ w
    init: str  # its initial weights, a netdata.init scheme, the same in both frameworks
    lr: float  # its programs' and the CLIs' default learning rate
    check_lr: float  # `equivalence check`'s train regime: the loss falls below half within its steps
    loss: str  # "half_sse": 0.5 * sum((y_pred - y)^2), the lecture's; "mse": its mean; "cross_entropy"
    optimizer: str  # "sgd" (w -= lr * grad), "adam", "adamw" (Adam with decoupled weight decay)
    classifier: bool = False  # holds out validation and test rows; --val-fraction, --patience, --weight-decay
    no_data_parallel: str = ""  # why --data-parallel is refused (empty: it runs)
    steps: int = LECTURE_STEPS  # the CLIs' default --steps
    data: str = "seed"  # the CLIs' default --data
    batch_size: int | None = None  # the CLIs' default --batch-size (None: the whole data set)
    dtype: str = "float32"  # the CLIs' default --dtype
    weight_decay: float = 0.0  # the CLIs' default --weight-decay (classifiers only)
    check_steps: int | None = None  # `equivalence check`'s default steps when not the common count


# Learning rates: the lecture's 1e-6 stalls where the loss is a mean (nn: the gradient is 1/128 of the summed one)
# and under Adam (a step moves a weight by about lr, so at most ~1.6e-2 in 5000 steps). manual and autograd start
# from randn as the lecture does, the others from nn.Linear's default.
# The classifiers train in float64. cnn: in float32 PyTorch's and XLA's convolutions round differently and
# minibatch Adam grows the gap ~10x per 15-50 steps (measured: 1e-6 at step 20, 2% at step 100), so the two CLIs stopped early at different
# steps (310, 380) and 5 of 539 digits test predictions differed. In float64 they agree to 2.5e-13 over the run.
# mlp: float64 too. In float32 the validation losses of the two frameworks differed by 1e-4..1e-3 after 100-200
# steps, and on one of eight 3-blob CSVs the runs stopped at 260 and 270 (different test predictions); in float64
# all eight stopped at the same step with identical confusion matrices (benchmarks/defaults.py's blobs recipe).
# The cnn runs minibatches: its dropout masks are (steps, batch, features), a full digits batch x 1000 steps 320 MB.
# The mlp CLI's decay: AdamW's decoupled w -= lr * 1.0 * w each step holds every weight near |w| ~ 1 (without it,
# 64,64 at lr 1e-2 bottomed out after ~20 steps on digits: test 0.959). With hidden 32 the lr is 1e-2 (3e-3 did not
# reach iris's best in 1000 steps: 0.933 against softmax regression's 0.956; 1e-2: 0.956).
# The cnn's NumPy oracle takes 2-7 ms a step, so the default check runs it for 100 steps.
# Their gradients are sums written by hand with no module to wrap: DDP would average them over the ranks.
HAND_SUM = "it sums its gradient by hand; --data-parallel needs a loss that is a mean over the batch"
STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("manual", "NumPy / PyTorch by hand", bias=False, init="randn", lr=LECTURE_LR, check_lr=1e-3,
          loss="half_sse", optimizer="sgd", no_data_parallel=HAND_SUM),
    Stage("autograd", "loss.backward()", bias=False, init="randn", lr=LECTURE_LR, check_lr=1e-3,
          loss="half_sse", optimizer="sgd", no_data_parallel=HAND_SUM),
    Stage("nn", "nn.Sequential(nn.Linear) + mse_loss", bias=True, init="torch", lr=0.1, check_lr=0.1, loss="mse",
          optimizer="sgd"),
    Stage("optim", "torch.optim.Adam", bias=True, init="torch", lr=1e-2, check_lr=1e-2, loss="mse", optimizer="adam"),
    Stage("module", "an nn.Module subclass", bias=True, init="torch", lr=1e-2, check_lr=1e-2, loss="mse",
          optimizer="adam"),
    Stage("mlp", "classification and test on real data", bias=True, init="torch", lr=1e-2, check_lr=1e-2,
          loss="cross_entropy", optimizer="adamw", classifier=True, steps=1000, data="iris", dtype="float64", weight_decay=1.0),
    Stage("cnn", "features learnt from images", bias=True, init="torch", lr=1e-2, check_lr=1e-2,
          loss="cross_entropy", optimizer="adamw", classifier=True, steps=1000, data="digits", batch_size=64, dtype="float64", check_steps=100,
          no_data_parallel="BatchNorm's batch statistics would be each device's own rows, not the batch's"),
)}
NAMES = tuple(STAGES)  # in the lecture's order
LINEAR = tuple(name for name in NAMES if not STAGES[name].classifier)  # the lecture's one linear network, six ways
