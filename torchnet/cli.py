"""`torchnet-train`'s entry point: flags are parsed before PyTorch loads, so --help answers at once."""

from __future__ import annotations

import contextlib
import os
import sys
import time

STARTED = time.perf_counter()  # before the imports: metrics.json's timings count them
QUIET_RANK_GRACE_S = 2.0


def main(argv: list[str] | None = None) -> int:
    """argv None: this process's own command line (console script, `python -m`, a torchrun rank)."""
    started = STARTED if argv is None else time.perf_counter()  # in-process calls: from this call on
    from training import traincli

    quiet = argv is None and _torchrun_rank_but_not_the_first()
    code = None
    try:
        with _one_voice(quiet):
            args = traincli.parse(argv, "torch")
            from torchnet.train import Backend

            code = traincli.main(args, "torch", Backend, started)
    except SystemExit as stop:  # argparse: a bad flag is exit 2, --help exit 0
        code = stop.code
        raise
    finally:
        if quiet and code == 2:  # let the first rank say it before torchrun stops every rank at our exit
            time.sleep(QUIET_RANK_GRACE_S)
    if argv is None:  # the process is ours to end: a data-parallel rank leaves without finalizing
        from torchnet import parallel

        code = parallel.leave(code)
        from training import cli

        cli.leave(code)  # the process is ours and done: skip the interpreter's teardown of torch
    return code


def _torchrun_rank_but_not_the_first() -> bool:
    # torchrun gives every rank the same flags, so every rank finds the same bad one; the first rank of
    # each host says it, the others exit 2 without a word. (torchrun itself then prints its
    # ChildFailedError summary and exits 1: a launcher's exit status is its own, no rank can set it.)
    return "TORCHELASTIC_RUN_ID" in os.environ and os.environ.get("LOCAL_RANK", "0") != "0"


class _DropErrorLines:
    """stderr without the CLI's one-line `...: error: ...` messages; everything else passes through."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return len(text) if text.startswith("torchnet-train: error:") else self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _one_voice(quiet: bool):
    if not quiet:
        yield
        return
    loud, sys.stderr = sys.stderr, _DropErrorLines(sys.stderr)
    try:
        yield
    finally:
        sys.stderr = loud


if __name__ == "__main__":
    sys.exit(main())
