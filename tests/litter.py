"""A pytest plugin: the suite fails if the checkout's runs/ folder changes while it runs (tests write to tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

RUNS = Path(__file__).resolve().parents[1] / "runs"


def _listing() -> set[str]:
    """Every path under runs/, relative to it: a new run folder, or a file added to an old one, shows."""
    if not RUNS.is_dir():
        return set()
    return {os.path.relpath(os.path.join(top, name), RUNS)
            for top, dirs, files in os.walk(RUNS) for name in dirs + files}


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")  # pytest-xdist workers have it; the controller sees the whole run


def pytest_sessionstart(session: pytest.Session) -> None:
    if _controller(session.config):
        session.config.stash[_KEY] = _listing()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _controller(config) or _KEY not in config.stash:
        return
    before, after = config.stash[_KEY], _listing()
    added, removed = sorted(after - before), sorted(before - after)
    if not added and not removed:
        return
    shown = ", ".join([f"+{p}" for p in added[:5]] + [f"-{p}" for p in removed[:5]])
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = (f"the suite changed the checkout's runs/ ({len(added)} added, {len(removed)} removed: {shown}); "
               f"a test must write under its tmp_path (pass --out) and a failing command must leave no folder")
    if reporter is not None:
        reporter.write_line(f"LITTER: {message}", red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_KEY = pytest.StashKey[set]()
