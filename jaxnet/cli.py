"""`jaxnet-train`'s entry point: flags are parsed before JAX loads, so --help answers at once."""

from __future__ import annotations

import os
import sys
import time

STARTED = time.perf_counter()  # before the imports: metrics.json's timings count them


def main(argv: list[str] | None = None) -> int:
    started = STARTED if argv is None else time.perf_counter()  # in-process calls: from this call on
    from training import traincli

    args = traincli.parse(argv, "jax")
    if args.deterministic:  # XLA reads its flags once, when JAX starts: set them before the import
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()
    from jaxnet.train import Backend

    code = traincli.main(args, "jax", Backend, started)
    if argv is None and not args.coordinator:  # our own process, alone: skip the interpreter's teardown
        from training import cli

        cli.leave(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
