"""`jaxnet-train`'s entry point: flags are parsed before JAX loads, so --help answers at once."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from netdata import traincli

    args = traincli.parse(argv, "jax")
    from jaxnet.train import Backend

    return traincli.main(args, "jax", Backend)


if __name__ == "__main__":
    sys.exit(main())
