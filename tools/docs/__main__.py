"""`python -m tools.docs [--check] [--out DIR]`: write or check the guides, chapters, notebooks and docs/img/."""

from __future__ import annotations

import sys

from training import cli

PROG = "python -m tools.docs"


def parser() -> cli.Parser:
    p = cli.Parser(prog=PROG, description="write the guides, chapters, notebooks and docs/img/ from the code, its "
                   "output and a fresh check")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the docs in --out (notebooks run afresh) differ from what the code generates")
    p.add_argument("--out", default="docs", metavar="DIR", help="folder of the guides (default: docs)")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    from tools import docs

    args = parser().parse_args(argv)
    return cli.run(lambda: docs.run(args.out, check_only=args.check), PROG, args.debug)


if __name__ == "__main__":
    sys.exit(main())
