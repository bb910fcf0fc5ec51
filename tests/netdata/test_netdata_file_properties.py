"""Any bytes handed over as a data or weights file load correctly or raise InputError: no other error, no hang."""

import contextlib
import gzip
import io
import os
import signal
import tempfile

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save as safetensors_bytes

from netdata import files
from netdata.errors import InputError

SETTINGS = settings(max_examples=30, deadline=None)


class Hang(BaseException):
    """A BaseException, so that no `except Exception` inside the loaders can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float = 10.0):
    if not hasattr(signal, "setitimer"):  # no SIGALRM on Windows: run unguarded
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"still loading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_or_refuse(call, *args, **kwargs):
    """The call's result, or None when it raised InputError (with a one-line message); anything else fails."""
    with time_limit():
        try:
            return call(*args, **kwargs)
        except InputError as err:
            assert "\n" not in str(err)
            return None


def assert_sound(result, labels=False):
    if result is None:
        return
    x, y = (np.asarray(a) for a in result)
    assert x.ndim == 2 and x.shape[0] >= 1 and x.shape[1] >= 1 and len(y) == len(x)
    assert np.isfinite(x.astype(np.float32)).all()
    if labels and y.dtype.kind == "U":  # a CSV's class names: each a non-empty printable name
        assert y.ndim == 1 and all(name and name.isprintable() for name in y.tolist())
    elif labels:
        assert y.ndim == 1 and (y.astype(np.int64) >= 0).all()
    else:
        assert y.ndim == 2 and np.isfinite(y.astype(np.float32)).all()


@st.composite
def damaged(draw, valid: bytes) -> bytes:
    """`valid` with a few bytes flipped, cut off or inserted; sometimes untouched."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(max_size=12))
    return bytes(data)


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_bytes(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


GOOD, BAD = [0.0, 1.0, 2.0, 3.0, 1.5, -2.0], [1e300, np.nan, np.inf]
# Mostly clean arrays, so that a fair share of the files load and get checked, not only refused.
VALUES = st.one_of(st.sampled_from(GOOD), st.sampled_from(GOOD), st.sampled_from(GOOD), st.sampled_from(BAD))
ARRAYS = st.tuples(st.integers(0, 5), st.integers(1, 3), st.booleans()).flatmap(
    lambda s: st.lists(VALUES if s[2] else st.sampled_from(GOOD), min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
        lambda v: np.array(v, dtype=np.float64).reshape(s[:2])))
NPZ = st.tuples(ARRAYS, ARRAYS).map(lambda xy: npz_bytes(x=xy[0], y=xy[1][:, 0])).flatmap(damaged)
GOOD_CELLS = st.sampled_from(["0", "1", "2", " 3 ", "1.5", "-2.5", "3e1", '"2"'])
CELLS = st.one_of(GOOD_CELLS, GOOD_CELLS, GOOD_CELLS, st.text(alphabet="0123456789.-e", max_size=4),
                  st.sampled_from(["nan", "", "x", "-inf", "1e999", "1,", '"', "\t"]))


@st.composite
def csv_text(draw) -> str:
    """Mostly tables of the header's width; now and then a bad cell, a ragged row or a numeric header."""
    header = draw(st.sampled_from(["a,b", "a,b,c", "p,q", "a,b", "a,b,c", "1,2", "a", ""]))
    width = max(header.count(",") + 1, 1)
    lines = [header]
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.sampled_from([width, width, width, 1, 3]))
        lines.append(",".join(draw(st.lists(CELLS, min_size=n, max_size=n))))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def written(folder: str, name: str, data: bytes) -> str:
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


@SETTINGS
@given(st.one_of(st.binary(max_size=400), csv_text().map(str.encode), csv_text().map(str.encode)),
       st.booleans(), st.booleans())
@example(b"\x00,\x01\n0,\x00", False, True)  # found by hypothesis: numpy's str arrays dropped the NUL class name
def test_any_bytes_as_csv_load_soundly_or_are_refused(data, packed, labels):
    with tempfile.TemporaryDirectory() as folder:
        name, payload = ("d.csv.gz", gzip.compress(data)) if packed else ("d.csv", data)
        assert_sound(load_or_refuse(files.load_data, written(folder, name, payload), labels=labels), labels)


@SETTINGS
@given(st.one_of(st.binary(max_size=400), NPZ), st.booleans())
def test_any_bytes_as_npz_load_soundly_or_are_refused(data, labels):
    with tempfile.TemporaryDirectory() as folder:
        path = written(folder, "d.npz", data)
        assert_sound(load_or_refuse(files.load_data, path, labels=labels), labels)
        weights = load_or_refuse(files.load_weights, path)
        assert weights is None or all(isinstance(v, np.ndarray) for v in weights.values())


@SETTINGS
@given(ARRAYS.map(npy_bytes).flatmap(damaged), ARRAYS.map(lambda a: npy_bytes(a[:, 0])).flatmap(damaged),
       st.booleans())
def test_any_bytes_as_an_npy_folder_load_soundly_or_are_refused(x_data, y_data, labels):
    with tempfile.TemporaryDirectory() as folder:
        written(folder, "x.npy", x_data)
        written(folder, "y.npy", y_data)
        result = load_or_refuse(files.load_data, folder, labels=labels)
        assert_sound(result, labels)
        del result  # the memmaps hold the files open; release them before the folder goes


@SETTINGS
@given(st.one_of(st.binary(max_size=300), st.builds(
    lambda a: safetensors_bytes({"w": a, "b": a[0].copy()}), ARRAYS.filter(len)).flatmap(damaged)))
def test_any_bytes_as_safetensors_load_as_arrays_or_are_refused(data):
    with tempfile.TemporaryDirectory() as folder:
        weights = load_or_refuse(files.load_weights, written(folder, "w.safetensors", data))
        assert weights is None or all(isinstance(v, np.ndarray) for v in weights.values())


FINITE = st.floats(allow_nan=False, allow_infinity=False, width=32)


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda d: st.lists(st.lists(FINITE, min_size=d, max_size=d), min_size=1,
                                                    max_size=8)))
def test_well_formed_csv_round_trips_exactly(table):
    header = [f"c{j}" for j in range(len(table[0]))] + ["target"]
    lines = [",".join(header)] + [",".join(repr(v) for v in row + [row[0]]) for row in table]
    with tempfile.TemporaryDirectory() as folder:
        x, y = files.load_data(written(folder, "t.csv", ("\n".join(lines) + "\n").encode()))
    expected = np.array(table, dtype=np.float32).reshape(len(table), -1)
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y[:, 0], expected[:, 0])
