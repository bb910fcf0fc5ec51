"""`torchnet-train`'s entry point: flags are parsed before PyTorch loads, so --help answers at once."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from training import traincli

    args = traincli.parse(argv, "torch")
    from torchnet.train import Backend

    return traincli.main(args, "torch", Backend)


if __name__ == "__main__":
    sys.exit(main())
