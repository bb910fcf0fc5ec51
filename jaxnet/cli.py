"""`jaxnet-train`'s entry point: flags are parsed before JAX loads, so --help answers at once."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    from training import traincli

    args = traincli.parse(argv, "jax")
    if args.deterministic:  # XLA reads its flags once, when JAX starts: set them before the import
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()
    from jaxnet.train import Backend

    return traincli.main(args, "jax", Backend)


if __name__ == "__main__":
    sys.exit(main())
