"""A real malicious pickle, in every disguise a user might hand over, is refused and never runs."""

import io
import pickle
import zipfile

import numpy as np
import pytest

from netdata import files
from netdata.errors import InputError


class Payload:
    """Unpickling this calls open(marker, "w"): the file appearing proves code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def evil_bytes(marker) -> bytes:
    return pickle.dumps(Payload(marker))


def torch_like_zip(marker) -> bytes:
    # torch.save's format: a zip whose archive/data.pkl is the pickle and archive/data/0 the storage.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", evil_bytes(marker))
        z.writestr("archive/data/0", b"\0" * 16)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def object_array(marker) -> np.ndarray:
    return np.array([Payload(marker), 1], dtype=object)


def test_the_payload_really_runs_when_unpickled(tmp_path):
    # The control: without it, "the marker never appeared" below could not fail.
    marker = tmp_path / "marker"
    pickle.loads(evil_bytes(marker)).close()
    assert marker.exists()
    marker.unlink()
    np.save(tmp_path / "o.npy", object_array(marker), allow_pickle=True)
    np.load(tmp_path / "o.npy", allow_pickle=True)[0].close()
    assert marker.exists()


def plain_pickle(folder, marker, name):
    (folder / name).write_bytes(evil_bytes(marker))
    return folder / name


def npy_in_folder(folder, marker, name):
    data = folder / "data"
    data.mkdir()
    np.save(data / "x.npy", object_array(marker), allow_pickle=True)
    np.save(data / "y.npy", np.zeros(2))
    return data


def inside_npz(folder, marker, name):
    np.savez(folder / name, x=object_array(marker), y=np.zeros(2), w=object_array(marker))
    return folder / name


def torch_zip(folder, marker, name):
    (folder / name).write_bytes(torch_like_zip(marker))
    return folder / name


DATA_CASES = [
    (plain_pickle, "data.pkl"), (plain_pickle, "data.pickle"), (plain_pickle, "data.pt"),
    (plain_pickle, "renamed.npz"), (plain_pickle, "renamed.csv"), (plain_pickle, "renamed.csv.gz"),
    (npy_in_folder, ""), (inside_npz, "data.npz"), (torch_zip, "model.pth"), (torch_zip, "renamed.npz"),
]
WEIGHT_CASES = [
    (plain_pickle, "w.pkl"), (plain_pickle, "w.ckpt"), (plain_pickle, "w.bin"), (plain_pickle, "renamed.npz"),
    (plain_pickle, "renamed.safetensors"), (inside_npz, "w.npz"), (torch_zip, "pytorch_model.bin"),
    (torch_zip, "renamed.npz"), (torch_zip, "renamed.safetensors"),
]


@pytest.mark.parametrize("make, name", DATA_CASES)
def test_load_data_refuses_a_pickle_without_running_it(tmp_path, make, name):
    marker = tmp_path / "marker"
    path = make(tmp_path, marker, name)
    with pytest.raises(InputError) as info:
        files.load_data(str(path))
    assert not marker.exists()
    assert "pickle" in str(info.value) and "numpy.savez" in str(info.value)


@pytest.mark.parametrize("make, name", WEIGHT_CASES)
def test_load_weights_refuses_a_pickle_without_running_it(tmp_path, make, name):
    marker = tmp_path / "marker"
    path = make(tmp_path, marker, name)
    with pytest.raises(InputError) as info:
        files.load_weights(str(path))
    assert not marker.exists()
    message = str(info.value)
    assert "pickle" in message and "weights_only=True" in message and "safetensors.torch.save_file" in message
