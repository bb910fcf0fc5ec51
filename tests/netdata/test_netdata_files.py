"""netdata.files: every data kind loads to the canonical arrays, and every user mistake is one fixable line."""

import gzip
import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
from safetensors.numpy import save_file

from netdata import files
from netdata.errors import InputError


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_npz_loads_x_and_y_as_float32(tmp_path):
    x, y = np.arange(12.0).reshape(6, 2), np.arange(18.0).reshape(6, 3)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    gx, gy = files.load_data(str(tmp_path / "d.npz"))
    assert gx.dtype == gy.dtype == np.float32
    np.testing.assert_array_equal(gx, x)
    np.testing.assert_array_equal(gy, y)


def test_a_plain_target_vector_becomes_one_column_and_labels_become_int64(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array([0.0, 2.0, 1.0, 2.0]))
    _, y = files.load_data(str(tmp_path / "d.npz"))
    assert y.shape == (4, 1)
    _, labels = files.load_data(str(tmp_path / "d.npz"), labels=True)
    assert labels.dtype == np.int64 and labels.tolist() == [0, 2, 1, 2]


def test_csv_takes_the_last_column_as_target_by_default(tmp_path):
    x, y = files.load_data(write(tmp_path / "d.csv", "a,b,t\n1,2,3\n4,5,6\n"))
    assert x.tolist() == [[1, 2], [4, 5]] and y.tolist() == [[3], [6]]


def test_csv_target_names_several_columns_in_the_order_given(tmp_path):
    x, y, features, targets = files.load_named(write(tmp_path / "d.csv", "a,b,c,d\n1,2,3,4\n"), target="d, b")
    assert features == ["a", "c"] and targets == ["d", "b"]
    assert x.tolist() == [[1, 3]] and y.tolist() == [[4, 2]]


def test_gzipped_csv_reads_like_plain_csv(tmp_path):
    text = "x1,x2,y\n0.5,-1,1\n2,3e2,0\n"
    with gzip.open(tmp_path / "d.csv.gz", "wt") as f:
        f.write(text)
    plain = files.load_data(write(tmp_path / "d.csv", text), labels=True)
    packed = files.load_data(str(tmp_path / "d.csv.gz"), labels=True)
    assert all(np.array_equal(a, b) for a, b in zip(plain, packed))


def test_csv_line_numbers_count_the_header_and_blank_lines(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,3\n\n4,oops,6\n")
    message = refusal(files.load_data, path)
    assert "line 4, column 'b'" in message and "'oops'" in message


def _npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    return str(tmp_path / "d.npz")


REFUSALS = {
    "missing path": (lambda p: str(p / "nope.npz"), {}, ["does not exist", ".csv"]),
    "unknown kind": (lambda p: write(p / "d.txt", "a,b\n1,2\n"), {}, ["not a data file", ".npz", ".csv.gz"]),
    "single npy": (lambda p: np.save(p / "x.npy", np.ones(3)) or str(p / "x.npy"), {}, ["folder holding x.npy"]),
    "npz without y": (lambda p: _npz(p, x=np.ones((2, 2)), z=np.ones(2)), {}, ["no array 'y'", "it has: x, z"]),
    "row counts differ": (lambda p: _npz(p, x=np.ones((3, 2)), y=np.ones(4)), {}, ["3 rows but y has 4"]),
    "x not 2-D": (lambda p: _npz(p, x=np.ones(3), y=np.ones(3)), {}, ["shape (3,)", "2-D", "reshape(-1, 1)"]),
    "y 3-D": (lambda p: _npz(p, x=np.ones((3, 1)), y=np.ones((3, 1, 1))), {}, ["y in", "2-D"]),
    "nan in x": (lambda p: _npz(p, x=np.array([[1, 2, 3], [4, 5, np.nan]]), y=np.ones(2)), {}, ["x[1, 2]", "nan"]),
    "inf in y": (lambda p: _npz(p, x=np.ones((2, 1)), y=np.array([[1.0, -np.inf], [0, 0]])), {}, ["y[0, 1]", "-inf"]),
    "float32 overflow": (lambda p: _npz(p, x=np.array([[1e300]]), y=np.ones(1)), {},
                         ["x[0, 0]", "after conversion to float32", "1e+300"]),
    "empty array": (lambda p: _npz(p, x=np.ones((0, 2)), y=np.ones(0)), {}, ["empty", "(0, 2)"]),
    "string array": (lambda p: _npz(p, x=np.array([["a"]]), y=np.ones(1)), {}, ["not numbers"]),
    "target on npz": (lambda p: _npz(p, x=np.ones((1, 1)), y=np.ones(1)), {"target": "y"}, ["only applies to CSV"]),
    "csv non-numeric": (lambda p: write(p / "d.csv", "a,b,y\n1,2,3\n4,abc,6\n"), {}, ["line 3, column 'b'", "'abc'"]),
    "csv nan": (lambda p: write(p / "d.csv", "a,b,y\n1,nan,3\n"), {}, ["line 2, column 'b'", "nan"]),
    "csv no rows": (lambda p: write(p / "d.csv", "a,b,y\n"), {}, ["no data rows"]),
    "csv empty": (lambda p: write(p / "d.csv", ""), {}, ["header line"]),
    "csv no header": (lambda p: write(p / "d.csv", "1,2,3\n4,5,6\n"), {}, ["numbers, not column names"]),
    "csv ragged": (lambda p: write(p / "d.csv", "a,b,y\n1,2\n"), {}, ["line 2", "2 cells", "header has 3"]),
    "csv repeated name": (lambda p: write(p / "d.csv", "a,a,y\n1,2,3\n"), {}, ["repeated column name 'a'"]),
    "csv unknown target": (lambda p: write(p / "d.csv", "a,b,y\n1,2,3\n"), {"target": "q"}, ["'q'", "a, b, y"]),
    "csv all targets": (lambda p: write(p / "d.csv", "a,y\n1,2\n"), {"target": "a,y"}, ["no features"]),
    "csv not utf-8": (lambda p: (p / "d.csv").write_bytes(b"a,\xff\n1,2\n") and str(p / "d.csv"), {}, ["UTF-8"]),
    "labels not whole": (lambda p: _npz(p, x=np.ones((2, 1)), y=np.array([0, 1.5])), {"labels": True},
                         ["y[1]", "1.5", "whole numbers"]),
    "labels negative": (lambda p: write(p / "d.csv", "a,c\n1,0\n2,-1\n"), {"labels": True},
                        ["line 3, column 'c'", "-1"]),
    "labels two targets": (lambda p: write(p / "d.csv", "a,b,c\n1,0,1\n"), {"labels": True, "target": "b,c"},
                           ["exactly one --target"]),
    "labels one-hot": (lambda p: _npz(p, x=np.ones((2, 1)), y=np.eye(2)), {"labels": True}, ["argmax"]),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_each_user_mistake_is_refused_with_one_line_naming_it(tmp_path, case):
    make, kwargs, phrases = REFUSALS[case]
    message = refusal(files.load_data, make(tmp_path), **kwargs)
    for phrase in phrases:
        assert phrase in message


def _folder(tmp_path, x, y):
    folder = tmp_path / "data"
    folder.mkdir()
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return str(folder)


def test_a_folder_comes_back_memory_mapped_and_rows_converts_one_slice(tmp_path):
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    gx, gy = files.load_data(_folder(tmp_path, x, np.arange(10) % 3), labels=True)
    assert isinstance(gx, np.memmap) and gx.dtype == np.float64  # conversion is left to the caller
    part = files.rows(gx, 2, 5, np.float32)
    assert part.dtype == np.float32 and part.flags.c_contiguous
    np.testing.assert_array_equal(part, x[2:5])
    assert files.rows(gy, 0, 4, np.int64).tolist() == [0, 1, 2, 0]


def test_a_folder_missing_y_or_holding_a_truncated_array_is_refused(tmp_path):
    folder = _folder(tmp_path, np.ones((4, 2)), np.ones(4))
    with open(os.path.join(folder, "y.npy"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) - 8)
    assert "y.npy is truncated" in refusal(files.load_data, folder)
    os.remove(os.path.join(folder, "y.npy"))
    assert "has no y.npy" in refusal(files.load_data, folder)


def test_a_big_memmapped_folder_is_validated_chunk_by_chunk_and_names_the_bad_row(tmp_path, monkeypatch):
    folder = tmp_path / "big"
    folder.mkdir()
    n = 3_000_000
    x = np.lib.format.open_memmap(folder / "x.npy", mode="w+", dtype=np.float32, shape=(n, 4))
    x[:] = 1.0
    x[n - 1, 3] = np.nan
    x.flush()
    del x
    np.save(folder / "y.npy", np.zeros((n, 1), np.float32))
    monkeypatch.setattr(files, "CHUNK_ROWS", 250_000)
    tracemalloc.start()
    try:
        message = refusal(files.load_data, str(folder))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"x[{n - 1}, 3]" in message and "nan" in message
    # A whole-array scan would allocate at least an n*4 boolean mask (12 MB); chunks stay near 1 MB.
    assert peak < 6_000_000, peak
    x = np.load(folder / "x.npy", mmap_mode="r+")
    x[n - 1, 3] = 2.0
    x.flush()
    del x
    gx, gy = files.load_data(str(folder))
    assert isinstance(gx, np.memmap) and gx.shape == (n, 4) and gy.shape == (n, 1)


def test_an_npz_with_a_flipped_bit_or_a_padded_member_is_refused_unread(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((3, 2)), y=np.ones(3))
    raw = bytearray(path.read_bytes())
    raw[raw.find(b"\x00\x00\xf0?") + 3] ^= 1  # one bit of the first 1.0 in x
    path.write_bytes(bytes(raw))
    assert "Bad CRC-32" in refusal(files.load_data, str(path))
    member = io.BytesIO()
    np.save(member, np.ones((2, 2)))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", member.getvalue() + bytes(5_000_000))  # tiny on disk, large when inflated
        z.writestr("y.npy", member.getvalue())
    assert "has data after its array" in refusal(files.load_data, str(path))


def test_weights_load_from_npz_and_safetensors_alike(tmp_path):
    weights = {"w": np.arange(6, dtype=np.float32).reshape(3, 2), "b": np.ones(2, np.float32)}
    np.savez(tmp_path / "w.npz", **weights)
    save_file(weights, str(tmp_path / "w.safetensors"))
    for name in ("w.npz", "w.safetensors"):
        got = files.load_weights(str(tmp_path / name))
        assert sorted(got) == ["b", "w"]
        np.testing.assert_array_equal(got["w"], weights["w"])


def test_a_truncated_or_corrupt_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({"w": np.ones((50, 50), np.float32)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    assert ".safetensors" in refusal(files.load_weights, str(path))
    path.write_bytes(b"\xff" * 8 + data[8:])
    assert ".safetensors" in refusal(files.load_weights, str(path))
    assert "not a weights file" in refusal(files.load_weights, write(tmp_path / "w.csv", "w\n1\n"))


def test_the_canonical_linear_layout_passes_the_weight_check():
    files.check_linear_weights({"w": np.zeros((4, 2)), "b": np.zeros(2)}, 4, 2, bias=True)
    files.check_linear_weights({"w": np.zeros((4, 2))}, 4, 2, bias=False)


WEIGHT_REFUSALS = {
    "no w": ({"weight": np.zeros((2, 4))}, True, ["no 'w'", "(4, 2)", "weight.T"]),
    "torch layout": ({"w": np.zeros((2, 4)), "b": np.zeros(2)}, True, ["(2, 4)", "needs (4, 2)", "transpose"]),
    "wrong size": ({"w": np.zeros((3, 2)), "b": np.zeros(2)}, True, ["shape (3, 2)", "needs (4, 2)"]),
    "no b": ({"w": np.zeros((4, 2))}, True, ["no 'b'", "(2,)"]),
    "b without bias": ({"w": np.zeros((4, 2)), "b": np.zeros(2)}, False, ["no bias"]),
    "b wrong shape": ({"w": np.zeros((4, 2)), "b": np.zeros(3)}, True, ["b has shape (3,)", "(2,)"]),
    "nan in w": ({"w": np.array([[0, 0]] * 3 + [[0, np.nan]]), "b": np.zeros(2)}, True, ["w[3, 1]", "nan"]),
    "inf in b": ({"w": np.zeros((4, 2)), "b": np.array([np.inf, 0])}, True, ["b[0]", "inf"]),
}


@pytest.mark.parametrize("case", WEIGHT_REFUSALS)
def test_weights_that_do_not_fit_the_layer_are_refused(case):
    weights, bias, phrases = WEIGHT_REFUSALS[case]
    message = refusal(files.check_linear_weights, weights, 4, 2, bias)
    for phrase in phrases:
        assert phrase in message
