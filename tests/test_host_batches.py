"""On the CPU a minibatch run gathers its chunks on the host: the same rows, shapes and dtypes as the device would."""

import numpy as np
import pytest

from jaxnet.train import Backend
from netdata import batches
from training import rundata
from training.config import RunConfig

CASES = {  # stage -> (data, batch): targets, class labels, images
    "optim": ("linear", 16),
    "mlp": ("iris", 16),
    "cnn": ("digits", 32),
}


@pytest.mark.parametrize("stage", CASES)
def test_a_chunks_host_batches_are_the_rows_its_indices_name(stage):
    data_name, batch = CASES[stage]
    cfg = RunConfig(stage=stage, data=data_name, batch_size=batch, steps=20, dtype="float32")
    data = rundata.load(cfg)
    with Backend(cfg, data) as backend:
        assert backend.host_batches  # the CPU and a minibatch
        x, y, idx = backend._batches(5, 4)
        assert idx is None
        want = batches.indices(cfg.seed, data.n, batch, 5, 4)
        np.testing.assert_array_equal(np.asarray(x), data.x[want].astype(np.float32))
        np.testing.assert_array_equal(np.asarray(y), data.y[want])
        assert x.shape == (4, batch, *data.x.shape[1:]) and x.dtype == np.float32
        labels = np.issubdtype(data.y.dtype, np.integer)
        assert np.issubdtype(y.dtype, np.integer) if labels else y.dtype == np.float32


def test_the_full_batch_stays_on_the_device():
    cfg = RunConfig(stage="optim", data="linear", steps=20, dtype="float32")
    with Backend(cfg, rundata.load(cfg)) as backend:
        assert not backend.host_batches
