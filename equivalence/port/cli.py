"""`equivalence port TORCH_FACTORY NNX_FACTORY --input x.npy`: check a port from the command line (exit 0 / 1 / 2)."""

from __future__ import annotations

import importlib
import sys

import numpy as np

from training import cli

from .errors import PortError
from .numerics import DTYPES


def parser() -> cli.Parser:
    p = cli.Parser(prog="equivalence port", description=__doc__)
    p.add_argument("torch_factory", metavar="TORCH_FACTORY", help="package.module:function returning the torch model")
    p.add_argument("nnx_factory", metavar="NNX_FACTORY", help="package.module:function returning its NNX twin")
    p.add_argument("--input", required=True, metavar="FILE.npy", help="the torch model's input")
    p.add_argument("--jax-input", metavar="FILE.npy", help="the NNX model's input when its layout differs (NHWC)")
    p.add_argument("--dtype", choices=DTYPES, default="float64")
    p.add_argument("--train", action="store_true", help="BatchNorm with batch statistics")
    p.add_argument("--names", action="append", default=[], metavar="TORCH.PATH=NNX.PATH",
                   help="pair a torch path with an NNX path ('*' matches one segment); repeatable")
    p.add_argument("--output", metavar="FIELD", help="the output field to compare (default: logits, "
                   "last_hidden_state, else the first element)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    return p


def names(pairs: list[str]) -> dict[str, str]:
    out = {}
    for item in pairs:
        torch_path, sep, nnx_path = item.partition("=")
        if not sep or not torch_path:
            raise PortError(f"--names {item!r}: write torch.path=nnx.path (e.g. model.layers.*.mlp=blocks.*.ffn).")
        out[torch_path] = nnx_path
    return out


def factory(spec: str):
    """The object a `package.module:function` names, called; the current folder is importable."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise PortError(f"{spec!r} is not package.module:function (e.g. mypkg.models:make_torch_model).")
    import os

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `equivalence port mymodels:make` from the folder holding mymodels.py
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise PortError(f"cannot load {spec!r}: {err}; check the module is importable from here.") from None
    if not callable(fn):
        raise PortError(f"{spec!r} is not callable; name a function that returns the model.")
    return fn()


def array(path: str | None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise PortError(f"cannot read {path!r} as a .npy array: {err}; save it with np.save.") from None


def run(args) -> int:
    from flax import nnx
    from torch import nn

    from .compare import compare

    x, jax_x, pairs_ = array(args.input), array(args.jax_input), names(args.names)
    torch_model, nnx_model = factory(args.torch_factory), factory(args.nnx_factory)
    if not isinstance(torch_model, nn.Module):
        raise PortError(f"{args.torch_factory} returned a {type(torch_model).__name__}, not a torch.nn.Module.")
    if not isinstance(nnx_model, nnx.Module):
        raise PortError(f"{args.nnx_factory} returned a {type(nnx_model).__name__}, not a flax.nnx.Module.")
    report = compare(torch_model, nnx_model, x, jax_x=jax_x, dtype=args.dtype, train=args.train,
                     names=pairs_ or None, output=args.output)
    print(report.to_json() if args.json else report)
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as done:  # --help (0) or a bad flag (2, one line already written)
        return int(done.code or 0)
    return cli.run(lambda: run(args), "equivalence port", args.debug)
