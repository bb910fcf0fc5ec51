"""`python -m tests.port.speed`: seconds of port.compare on a 12-layer BERT (hidden 64), float64, 3 SGD steps."""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import transformers
from flax import nnx

from equivalence import port

from .hf import bert


def main(runs: int = 3) -> list[float]:
    config = transformers.BertConfig(**{**bert.CONFIG, "hidden_size": 64, "num_hidden_layers": 12,
                                        "intermediate_size": 128}, attn_implementation="eager")
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    twin = bert.Bert(config, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    ids, labels = rng.integers(0, config.vocab_size, (2, 8)), rng.integers(0, 3, 2)
    seconds, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        report = port.compare(model, twin, ids, target=labels, loss=torch.nn.CrossEntropyLoss(), steps=3,
                              optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert report.passed, str(report)
    print(f"12-layer BERT, float64, forward + 3 SGD steps: {', '.join(f'{s:.1f}' for s in seconds)} s wall, "
          f"{', '.join(f'{s:.1f}' for s in cpu)} s CPU (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")
    return seconds


if __name__ == "__main__":
    main()
