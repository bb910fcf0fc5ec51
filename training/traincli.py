"""The body of `jaxnet-train` and `torchnet-train`: flags -> RunConfig -> run folder, for either backend."""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Callable

from training import cli, config, openrun, runfolder, session, shards, summary, threads
from training.execute import execute as execute_run
from training.compare import compare
from training.openrun import prog_name

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C


def parser(prog: str) -> cli.Parser:
    p = cli.Parser(prog=prog, description=f"{prog}: train one lecture stage; writes a run folder both "
                                          f"frameworks can read and resume.")
    config.add_flags(p)
    return p


def parse(argv: list[str] | None, framework: str):
    """Flags only: no framework is imported yet, so --help and flag errors answer at once."""
    args = parser(prog_name(framework)).parse_args(argv)
    threads.set_threads(args.threads, framework)
    return args


def execute(args, framework: str, make_backend: Callable, quiet: bool,
              started: float | None = None) -> tuple[dict, session.Run]:
    """One run as the flags ask: open (or resume) it, then train it to metrics.json."""
    now = time.perf_counter()
    started = now if started is None else started
    launch = shards.launch(args, framework)
    run = openrun.open_run(args, framework, launch.writer)
    run.timings["imports_s"] = now - started  # up to this call, as before the split: opening the run is not imports
    return execute_run(run, framework, make_backend, launch, quiet, cache=not args.no_cache,
                       compare=args.compare, started=started)


def main(args, framework: str, make_backend: Callable, started: float | None = None) -> int:
    """`started`: the entry point's perf_counter() at the process's start, before the framework's imports."""
    prog = prog_name(framework)
    quiet = args.json or not sys.stdout.isatty()

    def body() -> int:
        try:
            metrics, run = execute(args, framework, make_backend, quiet, started)
        except session.Diverged as err:
            sys.stderr.write(f"{prog}: diverged: {err}\n")
            return session.EXIT_DIVERGED
        except session.Interrupted as err:
            folder = err.metrics["run_folder"]
            sys.stderr.write(f"{prog}: interrupted at step {err.step} of {err.metrics['steps']}; the run is saved "
                             f"in {folder}; continue it with: {prog} --resume {shlex.quote(folder)}\n")
            return EXIT_INTERRUPTED
        if not run.writes:  # a data-parallel process other than 0: process 0 reports for the run
            return 0
        if args.compare:
            metrics["compare"] = compare(metrics, run, framework)
            runfolder.write_json(run.folder / runfolder.METRICS, metrics)
        if args.json:
            print(json.dumps(metrics))
        else:
            summary.print_summary(metrics)
        return 0

    return cli.run(body, prog, args.debug)
