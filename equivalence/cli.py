"""`equivalence`: check that torchnet and jaxnet compute the same numbers, and show the proof."""

from __future__ import annotations

import sys

from netdata import problems

from training import cli

DTYPES = ("float32", "float64")


def _check(args) -> int:
    from equivalence.lecture import report
    from equivalence.lecture.check import check_all
    from equivalence.lecture.stages import REGIMES, TRAIN_STEPS, Setup

    setup = Setup(dtype=args.dtype, device=args.device, precision=args.precision,
                  steps=problems.LECTURE_STEPS if args.steps is None else args.steps,
                  lr=problems.LECTURE_LR if args.lr is None else args.lr, seed=args.seed,
                  regime="lecture" if args.lr is None else "custom")
    regimes = () if args.lr is not None else REGIMES if args.regime == "both" else (args.regime,)
    results = check_all(args.stage, setup, regimes, train_steps=None if args.steps else TRAIN_STEPS)
    if args.json:
        print(report.as_json(results, setup))
    else:
        report.print_table(results, setup)
    return 0 if all(r["passed"] for r in results) else 1


def parser() -> cli.Parser:
    from equivalence.lecture.stages import STAGES

    p = cli.Parser(prog="equivalence", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=cli.Parser)
    c = sub.add_parser("check", help="compare predictions, gradients, one update and a training run")
    c.add_argument("--stage", nargs="+", choices=STAGES, default=list(STAGES), metavar="S",
                   help=f"stages to check (default: all of {', '.join(STAGES)})")
    c.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    c.add_argument("--dtype", choices=DTYPES, default="float32")
    c.add_argument("--precision", choices=("highest", "default"), default="highest",
                   help="JAX matmul precision; 'default' means TF32 on NVIDIA GPUs (PyTorch stays full float32)")
    c.add_argument("--steps", type=cli.positive_int, default=None,
                   help="length of the compared training runs (default: 1000 steps in each regime, the cnn 100)")
    c.add_argument("--lr", type=cli.positive_float, default=None,
                   help="one run at this lr (regime 'custom') instead of the regimes")
    c.add_argument("--regime", choices=("lecture", "train", "both"), default="both",
                   help="the lecture's lr 1e-6, a per-stage lr at which the loss falls by half or more, or both (default)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    c.add_argument("--debug", action="store_true", help="show full tracebacks")
    c.set_defaults(func=_check)
    m = sub.add_parser("matrix", help="the torch -> Optax translation table, each row measured", add_help=False)
    m.set_defaults(func=None)
    o = sub.add_parser("port", help="check your own torch model against its Flax NNX twin, layer by layer",
                       add_help=False)
    o.set_defaults(func=None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["matrix"]:  # its own flags live with the translator
        from equivalence.translate import matrix
        return matrix.main(argv[1:])
    if argv[:1] == ["port"]:  # its own flags live with the port checker
        from equivalence.port import cli as port_cli
        return port_cli.main(argv[1:])
    args = parser().parse_args(argv)
    return cli.run(lambda: args.func(args), "equivalence", getattr(args, "debug", False))


if __name__ == "__main__":
    sys.exit(main())
