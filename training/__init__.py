"""The training session both CLIs share, in NumPy only: run config, chunks, checkpoints, run folder, test step."""

from __future__ import annotations


def train(config, out, framework: str = "jax", cache: bool = True) -> dict:
    """training.execute.train: a stage trained in this process from a typed RunConfig (config.for_stage)."""
    from training.execute import train as run

    return run(config, out, framework, cache)
