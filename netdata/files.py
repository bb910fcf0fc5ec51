"""User data and weight files (.npz, .csv, .csv.gz, .npy folders, .safetensors), loaded without ever unpickling."""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from netdata.csvfile import read_csv
from netdata.errors import InputError
from netdata.errors import one_line as _fail

CHUNK_ROWS = 1_000_000  # rows validated at a time in a memory-mapped folder, so memory stays bounded
DATA_KINDS = ".npz (arrays x and y), .csv or .csv.gz (header line first), or a folder holding x.npy and y.npy"
WEIGHT_KINDS = ".npz or .safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
MAX_LABEL = 2**31 - 1  # a class index beyond this is a mistake, and would overflow one-hot code later
_NPY_MAGIC = b"\x93NUMPY"




def _pickle_error(path: str, what: str, weights: bool) -> InputError:
    fix = ("load it with torch.load(path, weights_only=True) and save the tensors with "
           "safetensors.torch.save_file(tensors, 'weights.safetensors')" if weights else
           "load it in a Python you trust (for torch: torch.load(path, weights_only=True)) and save plain "
           "arrays with numpy.savez('data.npz', x=x, y=y)")
    return _fail(f"{path} is {what}; unpickling can run arbitrary code, so it is refused: {fix}")


def _check_file(path: str, kinds: str, weights: bool) -> None:
    """Refuse a missing or special path, and a pickle by name or by content (magic bytes, or a torch zip)."""
    if not os.path.exists(path):
        raise _fail(f"{path} does not exist; pass the path of a {kinds}")
    if not os.path.isfile(path):  # a FIFO or device would block or never end
        raise _fail(f"{path} is not a regular file; pass the path of a {kinds}")
    if path.lower().endswith(PICKLE_SUFFIXES):
        raise _pickle_error(path, f"a pickle-based file ({Path(path).suffix})", weights)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise _fail(f"cannot read {path} ({err.strerror}); check that it is readable") from None
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode of pickle protocols 2-5
        raise _pickle_error(path, "a pickle", weights)
    if head == b"PK\x03\x04" and any(n.endswith(".pkl") for n in _zip_names(path)):
        raise _pickle_error(path, "a zip of pickles (as torch.save writes)", weights)


def _zip_names(path: str) -> list[str]:
    try:
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except Exception:  # a broken zip is reported by the reader that follows
        return []


def _npy_header(fp, available: int, where: str, weights: bool) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Parse one .npy header; refuse object arrays and data shorter than the header promises."""
    magic = fp.read(len(_NPY_MAGIC))
    if magic != _NPY_MAGIC:
        if magic[:1] == b"\x80" or magic[:4] == b"PK\x03\x04":
            raise _pickle_error(where, "a pickle, not a .npy array", weights)
        raise _fail(f"{where} is not a .npy array (bad magic bytes); write it with numpy.save")
    try:
        major, minor = fp.read(2)
        if major not in (1, 2, 3) or minor != 0:
            raise ValueError(f"unknown format version {major}.{minor}")
        # Version 3 differs from 2 only in allowing UTF-8 field names, which numeric arrays never have.
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fp)
        if any(n < 0 for n in shape):
            raise ValueError(f"negative shape {shape}")
    except Exception as err:  # numpy's header parser raises several types on hostile bytes
        raise _fail(f"{where} has a broken .npy header ({err}); write it again with numpy.save") from None
    if dtype.hasobject:
        raise _pickle_error(where, "an object array (stored as a pickle)", weights)
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise _fail(f"{where} holds {dtype} values, not numbers; save a numeric array, e.g. a.astype(numpy.float32)")
    offset = fp.tell()
    need = math.prod(shape) * dtype.itemsize
    if need > available - offset:
        raise _fail(f"{where} is truncated: shape {shape} needs {need} bytes but {max(available - offset, 0)} "
                    f"follow; write it again with numpy.save")
    return shape, fortran, dtype, need


def _read_npz(path: str, keys: tuple[str, ...] | None, weights: bool) -> dict[str, np.ndarray]:
    """The arrays of an .npz (only `keys` when given), read member by member through our own header check."""
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            members = {i.filename[:-4]: i for i in z.infolist() if i.filename.endswith(".npy")}
            if keys is None:
                others = [i.filename for i in z.infolist() if not i.filename.endswith(".npy") and not i.is_dir()]
                if others:
                    raise _fail(f"{path} holds {others[0]!r}, which is not a .npy array; save with numpy.savez")
                keys = tuple(members)
            missing = [k for k in keys if k not in members]
            if missing:
                raise _fail(f"{path} has no array {missing[0]!r} (it has: {', '.join(members) or 'none'}); "
                            f"save with numpy.savez(path, {', '.join(f'{k}={k}' for k in keys)})")
            for key in keys:
                info = members[key]
                with z.open(info) as fp:
                    shape, fortran, dtype, need = _npy_header(fp, info.file_size, f"{path}[{key!r}]", weights)
                    if info.file_size > fp.tell() + need:  # savez writes nothing more; a zip bomb would
                        raise _fail(f"{path}[{key!r}] has data after its array; write it again with numpy.savez")
                    raw = fp.read(need)
                    fp.read()  # at the end now; reading there makes zipfile verify the CRC
                out[key] = np.frombuffer(raw, dtype, count=math.prod(shape)).reshape(
                    shape, order="F" if fortran else "C").copy()
    except InputError:
        raise
    except Exception as err:  # zipfile's failure modes on hostile bytes are not a closed, documented set
        raise _fail(f"cannot read {path} as .npz ({type(err).__name__}: {err}); "
                    f"write it again with numpy.savez") from None
    return out


def _read_folder(path: str) -> dict[str, np.ndarray]:
    out = {}
    for key in ("x", "y"):
        p = os.path.join(path, f"{key}.npy")
        if not os.path.isfile(p):
            raise _fail(f"folder {path} has no {key}.npy; save x (N, Din) and y (N, Dout) there with numpy.save")
        try:
            with open(p, "rb") as fp:
                shape, _, _, _ = _npy_header(fp, os.path.getsize(p), p, False)
            if math.prod(shape) == 0:
                raise _fail(f"{p} is empty (shape {shape}); it needs at least one row and one column")
            out[key] = np.load(p, mmap_mode="r", allow_pickle=False)
        except InputError:
            raise
        except (OSError, ValueError) as err:
            raise _fail(f"cannot memory-map {p} ({err}); write it again with numpy.save") from None
    return out


def rows(a: np.ndarray, start: int, stop: int, dtype) -> np.ndarray:
    """Rows start..stop-1 of `a` (an array or a memmap) as a C-contiguous array of `dtype`."""
    return np.ascontiguousarray(a[start:stop], dtype=dtype)


def _validate(a: np.ndarray, dtype, labels: bool, locate: Callable[[int, int], str]) -> None:
    """Refuse non-finite values (after conversion to `dtype`) or bad labels, CHUNK_ROWS rows at a time."""
    for start in range(0, a.shape[0], CHUNK_ROWS):
        with np.errstate(over="ignore"):  # an overflow to inf is what this looks for
            block = rows(a, start, start + CHUNK_ROWS, dtype if not labels else np.float64)
        block2 = block.reshape(len(block), -1)
        bad = ~np.isfinite(block2)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            value = a[start + r] if a.ndim == 1 else a[start + r, c]
            was = "" if not np.isfinite(value) else f" after conversion to {np.dtype(dtype).name} (it is {value})"
            raise _fail(f"{locate(start + r, c)} is {block2[r, c]}{was}; remove or fill that value")
        if labels:
            bad = (block2 != np.floor(block2)) | (block2 < 0) | (block2 > MAX_LABEL)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise _fail(f"{locate(start + r, c)} is {block2[r, c]}, not a class index; labels must be "
                            f"whole numbers 0..K-1 (for one-hot targets save y.argmax(1))")


def _shape_and_check(x, y, where: str, dtype, labels: bool,
                     locate_x: Callable[[int, int], str], locate_y: Callable[[int, int], str]):
    if x.ndim != 2:
        raise _fail(f"x in {where} has shape {x.shape}; it must be 2-D (N, Din): for one feature x.reshape(-1, 1)")
    if labels:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise _fail(f"labels y in {where} have shape {y.shape}; save 1-D class indices (N,), e.g. y.argmax(1)")
    else:
        if y.ndim == 1:  # a plain vector is one target column
            y = y.reshape(-1, 1)
        if y.ndim != 2:
            raise _fail(f"y in {where} has shape {y.shape}; y must be 2-D (N rows, Dout targets)")
    if x.shape[0] != y.shape[0]:
        raise _fail(f"x in {where} has {x.shape[0]} rows but y has {y.shape[0]}; they must match row for row")
    for key, a in (("x", x), ("y", y)):
        if a.size == 0:
            raise _fail(f"{key} in {where} is empty (shape {a.shape}); it needs at least one row and one column")
    _validate(x, dtype, False, locate_x)
    _validate(y, dtype, labels, locate_y)
    return x, y


def _index_at(path: str, key: str, ndim: int) -> Callable[[int, int], str]:
    # Name the element as the user's own array indexes it, before any reshape of ours.
    return lambda r, c: f"{key}[{r}, {c}] in {path}" if ndim == 2 else f"{key}[{r}] in {path}"


def load_named(path: str, target: str | None = None, dtype=np.float32,
               labels: bool = False) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """load_data, plus the feature and target names (CSV header names; x0.., y0.. for arrays).

    With `labels`, a CSV's label column of names (cat, dog) comes back as those names (str), not indices."""
    path = os.fspath(path)
    low = path.lower()
    if os.path.isdir(path):
        arrays = _read_folder(path)
    else:
        _check_file(path, DATA_KINDS, weights=False)
        if low.endswith(".npz"):
            arrays = _read_npz(path, ("x", "y"), weights=False)
        elif low.endswith((".csv", ".csv.gz")):
            x, y, features, targets, lines = read_csv(path, target, text_labels=labels)
            if labels and y.shape[1] != 1:
                raise _fail(f"labels need exactly one --target column, got {len(targets)}; name one column")
            if y.dtype.kind == "U":  # class names, checked as read: the rest as for numeric labels, on x
                x, _ = _shape_and_check(x, np.zeros(len(y), np.int64), path, dtype, True,
                                        lambda r, c: f"line {lines[r]}, column {features[c]!r} of {path}", None)
                return x.astype(dtype), y[:, 0], features, targets
            x, y = _shape_and_check(x, y, path, dtype, labels,
                                    lambda r, c: f"line {lines[r]}, column {features[c]!r} of {path}",
                                    lambda r, c: f"line {lines[r]}, column {targets[c]!r} of {path}")
            return x.astype(dtype), y.astype(np.int64 if labels else dtype), features, targets
        else:
            raise _fail(f"{path} is not a data file this project reads; use {DATA_KINDS}")
    if target is not None:
        raise _fail(f"--target only applies to CSV files; {path} already separates x and y, so drop --target")
    x, y = _shape_and_check(arrays["x"], arrays["y"], path, dtype, labels,
                            _index_at(path, "x", arrays["x"].ndim), _index_at(path, "y", arrays["y"].ndim))
    features = [f"x{i}" for i in range(x.shape[1])]
    targets = ["y"] if labels else [f"y{i}" for i in range(y.shape[1])]
    if isinstance(x, np.memmap):  # a folder: stays on disk, callers convert per chunk with rows()
        return x, y, features, targets
    return x.astype(dtype), y.astype(np.int64 if labels else dtype), features, targets


def load_data(path: str, target: str | None = None, dtype=np.float32,
              labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """x (N, Din) and y (N, Dout) from a data file, or y as int64 class labels (N,) when `labels`.

    A folder of x.npy and y.npy comes back as read-only memmaps in the files' own dtype, validated but
    never read whole: convert a slice at a time with `rows(a, start, stop, dtype)`. Every other kind
    comes back in memory as `dtype` (labels: int64). Bad input raises InputError.
    """
    x, y, _, _ = load_named(path, target, dtype, labels)
    return x, y


def load_weights(path: str) -> dict[str, np.ndarray]:
    """Every array of an .npz or .safetensors weights file, by name."""
    path = os.fspath(path)
    _check_file(path, WEIGHT_KINDS, weights=True)
    if path.lower().endswith(".npz"):
        out = _read_npz(path, None, weights=True)
    elif path.lower().endswith(".safetensors"):
        from safetensors.numpy import load_file
        try:
            out = load_file(path)
        except Exception as err:  # SafetensorError, or TypeError for dtypes NumPy lacks (bfloat16)
            raise _fail(f"cannot read {path} as .safetensors ({type(err).__name__}: {err}); save it again "
                        f"with safetensors.numpy.save_file as float32") from None
    else:
        raise _fail(f"{path} is not a weights file this project reads; use {WEIGHT_KINDS}")
    if not out:
        raise _fail(f"{path} holds no arrays; save at least w (Din, Dout)")
    return out


def check_linear_weights(weights: dict[str, np.ndarray], din: int, dout: int, bias: bool) -> None:
    """Refuse weights that do not fit one linear layer x @ w + b with din inputs and dout outputs."""
    if "w" not in weights:
        torch_hint = "; from torch's nn.Linear save w = weight.T and b = bias" if "weight" in weights else ""
        raise _fail(f"the weights have no 'w' (they have: {', '.join(weights) or 'nothing'}); a linear layer "
                    f"needs w of shape ({din}, {dout}){torch_hint}")
    w = np.asarray(weights["w"])
    if w.shape != (din, dout):
        hint = ("; that is torch's nn.Linear.weight layout (Dout, Din), so save its transpose"
                if w.shape == (dout, din) else "; make them for this data or pick weights of the right size")
        raise _fail(f"w has shape {w.shape} but the data needs ({din}, {dout}) "
                    f"({din} features -> {dout} targets){hint}")
    if bias and "b" not in weights:
        raise _fail(f"the weights have no 'b'; add b of shape ({dout},) or train without a bias")
    if not bias and "b" in weights:
        raise _fail("the weights have a 'b' but the model has no bias; remove b or train with a bias")
    arrays = {"w": w}
    if bias:
        arrays["b"] = np.asarray(weights["b"])
        if arrays["b"].shape != (dout,):
            raise _fail(f"b has shape {arrays['b'].shape} but the data needs ({dout},)")
    for key, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise _fail(f"{key} holds {a.dtype} values, not numbers; save it as float32")
        bad = np.argwhere(~np.isfinite(a))
        if len(bad):
            idx = tuple(int(i) for i in bad[0])
            raise _fail(f"{key}{list(idx)} is {a[idx]}; the weights must be finite numbers")
