"""A training run's settings as one typed dataclass, and the flags both training CLIs share."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field

from netdata import problems
from netdata.stages import NAMES, STAGES as TABLE

from training import cli
from netdata.errors import InputError

# Each stage's defaults (lr, init, steps, data, batch size, dtype, weight decay): netdata.stages, the one table.
# `--preset seed` restores the lecture's values exactly.
STAGES = NAMES
# The CLIs' mlp: one hidden layer of 32 (issue 24). 64,64 lost to softmax regression on iris (0.933 vs 0.956) and
# on two of eight generated CSVs; 32 at lr 1e-2 was the one measured setting at or above it on all ten sets
# (benchmarks/defaults.py; digits 0.978 either way). Over split seeds 0-2 the two tie: each was below softmax on 10
# of 30 set-seed pairs, by one or two test rows (digits at seed 1: 0.970, 64,64 0.983). See docs/training.md.
DEFAULT_HIDDEN = [32]
# --threads default: on a shared 2-core machine torch's default threads ran the mlp on iris at 40-50 steps/s
# against 834 with one thread, at the same moment (issue 17); see docs/training.md (--threads) for the measured figures.
DEFAULT_THREADS = 1
SEED_PRESET = {"lr": problems.LECTURE_LR, "steps": problems.LECTURE_STEPS, "data": "seed"}
# Flags that change what is computed: a resumed run refuses a different value for any of them.
FIXED_ON_RESUME = ("stage", "data", "target", "init", "batch_size", "seed", "dtype", "hidden", "lr", "test_fraction",
                   "val_fraction", "weight_decay")
# Validation and early stopping (classification stages; see training/validation.py). Chosen by measurement:
# benchmarks/defaults.py -> docs/measured/defaults.json, quoted in the README.
CLASSIFIERS = tuple(name for name, stage in TABLE.items() if stage.classifier)
CLASSIFIER_DEFAULTS = {"val_fraction": 0.2, "eval_every": 10, "patience": 10}


@dataclass
class RunConfig:
    stage: str = "module"
    steps: int = problems.LECTURE_STEPS
    lr: float = TABLE["module"].lr
    batch_size: int | None = None  # None: the whole data set every step, as in the lecture
    seed: int = 0
    data: str = "seed"
    target: str | None = None
    init: str = TABLE["module"].init
    hidden: list[int] = field(default_factory=lambda: list(DEFAULT_HIDDEN))
    test_fraction: float = 0.3  # 45 of iris's 150 rows: 30 made one split's 3 hard flowers a 10% swing
    device: str = "auto"
    dtype: str = "float32"
    precision: str = "highest"
    chunk: int = 1000
    save_every: int | None = None
    # Off unless the stage classifies (resolve() sets CLASSIFIER_DEFAULTS), so an older config.json reads alike.
    val_fraction: float = 0.0  # share of the training rows held out to watch (0: none)
    eval_every: int = 10  # steps between validation evaluations
    patience: int = 0  # evaluations without a lower validation loss before the run stops (0: never)
    weight_decay: float = 0.0  # AdamW's decoupled decay
    check_numerics: bool = False
    deterministic: bool = False

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown or "stage" not in d:
            raise InputError(f"config.json is not a run config of this tool (unexpected keys {sorted(unknown)})")
        return cls(**d)


def hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of layer widths") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more widths of at least 1, like 64,64")
    return sizes


def fraction(text: str) -> float:
    value = cli.positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


def fraction_or_zero(text: str) -> float:
    value = cli.number(text, float)
    if not 0 <= value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be at least 0 (off) and below 1")
    return value


def count_or_zero(text: str) -> int:
    value = cli.number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 (off) or more")
    return value


def seed(text: str) -> int:
    value = cli.number(text, int)
    if value < 0:  # NumPy's seed sequences take non-negative integers only
        raise argparse.ArgumentTypeError(f"{text} must be a whole number, 0 or more")
    return value


def decay(text: str) -> float:
    value = cli.number(text, float)
    if not 0 <= value < float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a finite number, 0 or more")
    return value


def add_flags(p: argparse.ArgumentParser) -> None:
    """The flags of jaxnet-train and torchnet-train: the same names, the same meaning."""
    # default=None everywhere: only flags the user typed are compared on --resume.
    p.add_argument("--stage", choices=STAGES, help="which lecture program to train (default: module)")
    p.add_argument("--steps", type=cli.positive_int, help="total steps of the run, counting resumed ones (default 5000)")
    p.add_argument("--lr", type=cli.positive_float, help="learning rate (default: per stage, see docs/training.md)")
    p.add_argument("--batch-size", type=cli.positive_int, help="rows per step (default: the whole data set)")
    p.add_argument("--seed", type=seed, help="seed of data, initial weights and batch order (default 0)")
    p.add_argument("--data", help="seed | linear | iris | digits | PATH (.npz, .csv, .csv.gz or a folder of x.npy/y.npy)")
    p.add_argument("--target", help="CSV target column(s), comma-separated (default: the last column)")
    p.add_argument("--init", help="randn | constant | zeros | torch | flax | PATH (.npz or .safetensors with w, b)")
    p.add_argument("--hidden", type=hidden_sizes,
                   help=f"mlp hidden widths, comma-separated (default {','.join(map(str, DEFAULT_HIDDEN))})")
    p.add_argument("--test-fraction", type=fraction, help="mlp: share of rows held out for the test step (0.3)")
    d = CLASSIFIER_DEFAULTS
    p.add_argument("--val-fraction", type=fraction_or_zero,
                   help=f"classifiers: share of the training rows held out for validation (default {d['val_fraction']}; 0: off)")
    p.add_argument("--eval-every", type=cli.positive_int, help=f"steps between validation evaluations (default {d['eval_every']})")
    p.add_argument("--patience", type=count_or_zero,
                   help=f"stop after N evaluations without a lower validation loss and keep the best weights "
                        f"(default {d['patience']}; 0: never stop)")
    p.add_argument("--weight-decay", type=decay, help=f"mlp, cnn: AdamW's decoupled weight decay (default: mlp "
                                                       f"{TABLE['mlp'].weight_decay}, cnn {TABLE['cnn'].weight_decay})")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), help="auto: the GPU when there is one")
    p.add_argument("--dtype", choices=("float32", "float64"))
    p.add_argument("--precision", choices=("highest", "default"),
                   help="matmul precision: highest (default) = true float32; default = TF32 on NVIDIA GPUs")
    p.add_argument("--chunk", type=cli.positive_int, help="steps per compiled chunk / progress update (1000)")
    p.add_argument("--save-every", type=cli.positive_int, help="write a checkpoint every N steps (and at the end)")
    p.add_argument("--check-numerics", action="store_true", default=None,
                   help="on NaN/inf, replay from the last checkpoint to keep the weights of the exact last finite step")
    p.add_argument("--deterministic", action="store_true", default=None,
                   help="run-to-run identical results on GPU too (XLA deterministic ops; torch deterministic algorithms)")
    p.add_argument("--threads", type=cli.positive_int,
                   help=f"CPU threads of the framework's math (torch intra-op; XLA: 1 = single-threaded, more = "
                        f"its own pool); set before the framework starts (default {DEFAULT_THREADS}, or "
                        f"OMP_NUM_THREADS if set)")
    p.add_argument("--preset", choices=("seed",), help="seed: the lecture's exact lr 1e-6, 5000 steps, its data")
    p.add_argument("--out", help="run folder to write (default: a new folder under runs/)")
    p.add_argument("--resume", help="continue the run in this folder and write back there")
    p.add_argument("--compare", action="store_true", help="also train with the other framework and compare")
    p.add_argument("--json", action="store_true", help="print metrics.json on stdout at the end; no progress bar")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    p.add_argument("--no-cache", action="store_true",
                   help="jax: compile every program afresh, without the persistent compilation cache "
                        "(default: JAXNET_CACHE_DIR, else ~/.cache/jaxnet/xla)")
    # How a run is spread over devices, not what it computes: not saved, so a resume may use other devices.
    p.add_argument("--data-parallel", action="store_true",
                   help="split each batch over all devices (jax: one mesh; torch: one rank per device, via torchrun)")
    p.add_argument("--coordinator", help="HOST:PORT of process 0, for --data-parallel over several processes")
    p.add_argument("--num-processes", type=cli.positive_int, help="processes taking part (with --coordinator)")
    p.add_argument("--process-id", type=int, help="this process's number, 0 .. --num-processes - 1")


def given(args: argparse.Namespace) -> dict:
    """The RunConfig fields the user typed on the command line."""
    names = {f.name for f in dataclasses.fields(RunConfig)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def resolve(args: argparse.Namespace, resumed: RunConfig | None = None) -> RunConfig:
    """Flags -> RunConfig: a resumed run's settings, else the preset, else per-stage defaults."""
    typed = given(args)
    if resumed is not None:
        clash = {k: (typed[k], getattr(resumed, k)) for k in FIXED_ON_RESUME
                 if k in typed and typed[k] != getattr(resumed, k)}
        if clash:
            k, (new, old) = next(iter(clash.items()))
            raise InputError(f"--{k.replace('_', '-')} {new} differs from the resumed run's {old}; "
                             f"drop the flag or start a new run with --out")
        return check_validation(dataclasses.replace(resumed, **typed), typed)
    stage = typed.get("stage", RunConfig.stage)
    t = TABLE[stage]
    base = {"stage": stage, "lr": t.lr, "steps": t.steps, "data": t.data, "init": t.init, "batch_size": t.batch_size,
            "dtype": t.dtype}
    if t.classifier:
        base |= CLASSIFIER_DEFAULTS | {"weight_decay": t.weight_decay}
    if args.preset == "seed":
        base |= SEED_PRESET
    return check_validation(RunConfig(**(base | typed)), typed)


def stage_options(cfg: RunConfig) -> dict:
    """Keyword arguments of a stage's build() beyond (weights, lr, device): the classifiers' weight decay."""
    return {"weight_decay": cfg.weight_decay} if cfg.stage in CLASSIFIERS else {}


def check_validation(cfg: RunConfig, typed: dict) -> RunConfig:
    """Refuse validation flags a run cannot use, each with the fix."""
    asked = [k for k in ("val_fraction", "eval_every", "patience", "weight_decay") if k in typed]
    if cfg.stage not in CLASSIFIERS and asked:
        raise InputError(f"--{asked[0].replace('_', '-')} applies to the classifying stages ({', '.join(CLASSIFIERS)}); "
                         f"drop it for --stage {cfg.stage}")
    if cfg.patience and not cfg.val_fraction:
        raise InputError(f"--patience {cfg.patience} watches a validation split, and --val-fraction is 0; "
                         f"give --val-fraction above 0 or --patience 0")
    return cfg


def for_stage(stage: str, **fields) -> RunConfig:
    """A new run's settings as `--stage STAGE` and these flags give them: the stage's defaults, then `fields`."""
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(RunConfig)})
    if unknown:
        raise InputError(f"for_stage: unknown setting {unknown[0]!r}; use RunConfig's fields (e.g. lr, steps, data)")
    if stage not in STAGES:
        raise InputError(f"for_stage: unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    return resolve(argparse.Namespace(stage=stage, preset=None, **fields))
