"""The training session both CLIs share, in NumPy only: run config, chunks, checkpoints, run folder, test step."""
