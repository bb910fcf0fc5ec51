"""What every command line of the project shares: one-line errors with exit code 2, typed flag values."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from netdata.errors import InputError

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag prints one line (no usage block) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_BAD_INPUT)


def number(text: str, kind: type[int] | type[float]) -> int | float:
    """`text` read as `kind`, or argparse's error saying what it is not (the flag validators' shared first step)."""
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def output_file(text: str) -> Path:
    """A file the command will write (atomically, at its end): its folder must exist now, not after the work."""
    path = Path(text)
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: the folder {str(path.parent)!r} does not exist; create it first")
    return path


def positive_int(text: str) -> int:
    value = number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def positive_float(text: str) -> float:
    value = number(text, float)
    if not value > 0 or value == float("inf"):  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return value


def run(main: Callable[[], int], prog: str, debug: bool = False) -> int:
    """Call `main`; an InputError becomes one line on stderr and exit code 2 (--debug: traceback)."""
    try:
        return main()
    except InputError as err:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"{prog}: error: {err}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; files already written are complete\n")
        return 130


def leave(code: int) -> int:
    """End a finished command-line process at once with `code`, its streams flushed.

    Why: Python's teardown of a process that loaded jax or torch (module finalizers, the XLA client's thread
    pools) costs ~0.5 s of CPU, over a second of wall time on a busy machine, and leaves nothing behind: every
    file of a run was written atomically and renamed. Only a process entry point calls this, never a test.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)
