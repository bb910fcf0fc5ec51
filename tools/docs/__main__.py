"""`python -m tools.docs [--measure | --check] [--out DIR]`: write or check the guides, chapters and notebooks."""

from __future__ import annotations

import sys

from training import cli

PROG = "python -m tools.docs"


def parser() -> cli.Parser:
    p = cli.Parser(prog=PROG, description="write the guides, chapters and notebooks from the code, the templates "
                   "(tools/docs/templates/) and the measurements in docs/measured/guide.json")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--check", action="store_true",
                     help="write nothing; measure afresh and exit 1 if the docs in --out (notebooks run afresh) differ "
                          "from what the code generates")
    act.add_argument("--measure", action="store_true",
                     help="measure afresh (the check, the programs' output, the costs: minutes), store it in "
                          "<out>/measured/guide.json and draw <out>/img/, then write the docs")
    p.add_argument("--out", default="docs", metavar="DIR", help="folder of the guides (default: docs)")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    from tools import docs

    args = parser().parse_args(argv)
    return cli.run(lambda: docs.run(args.out, check_only=args.check, fresh=args.measure), PROG, args.debug)


if __name__ == "__main__":
    sys.exit(main())
