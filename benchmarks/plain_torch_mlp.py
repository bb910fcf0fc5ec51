"""What a user would write: the CLIs' MLP on digits in plain PyTorch (benchmarks/cli.py's anchor).

    python benchmarks/plain_torch_mlp.py [STEPS] [cpu|gpu] [float32|float64]   # prints one JSON line: its timings

Same rows (netdata's split, 20% of the training rows held out as the CLIs do), sizes 64, the CLIs' default
--hidden (training/config.py), 10; Adam lr 1e-2, full batch, one CPU thread (the CLIs' --threads default), the dtype benchmarks/cli.py passes. No run folder, figures or checkpoints.
"""

import json
import sys
import time

t0 = time.perf_counter()
import torch  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # the repository root, for netdata and training
from netdata import datasets  # noqa: E402
from training import config, validation  # noqa: E402

imported = time.perf_counter()
steps, where, dtype = (int(sys.argv[1]) if len(sys.argv) > 1 else 1000, sys.argv[2] if len(sys.argv) > 2 else "cpu",
                       getattr(torch, sys.argv[3] if len(sys.argv) > 3 else "float32"))
device = "cuda" if where == "gpu" else "cpu"
torch.set_num_threads(1)
ds = datasets.load("digits")
train, test = datasets.stratified_split(ds.labels, 0.3, 0)
train = train[validation.split(ds.labels[train], 0.2, 0)[0]]
x, x_test, _, _ = datasets.standardize(ds.x[train], ds.x[test])
x, x_test = (torch.tensor(a, dtype=dtype, device=device) for a in (x, x_test))
y, y_test = (torch.tensor(ds.labels[i], device=device) for i in (train, test))
torch.manual_seed(0)
building = time.perf_counter()
sizes = [64, *config.DEFAULT_HIDDEN, 10]
layers = [m for a, b in zip(sizes, sizes[1:]) for m in (torch.nn.Linear(a, b), torch.nn.ReLU())][:-1]
model = torch.nn.Sequential(*layers).to(device, dtype)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)  # the first optimizer imports torch._dynamo
started = time.perf_counter()
for _ in range(steps):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
final = loss.item()
trained = time.perf_counter()
with torch.no_grad():
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
print(json.dumps({"steps": steps, "rows": len(train), "dtype": str(dtype).removeprefix("torch."), "final_loss": final, "test_accuracy": accuracy,
                  "timings": {"imports_s": imported - t0, "build_s": started - building, "train_s": trained - started,
                              "eval_s": time.perf_counter() - trained, "total_s": time.perf_counter() - t0}}))
