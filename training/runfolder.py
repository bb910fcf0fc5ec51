"""The run folder both CLIs write and read (config, weights, state, metrics, plots), every file written atomically."""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np

from netdata.errors import InputError, one_line

CONFIG, WEIGHTS, STATE, METRICS = "config.json", "weights.safetensors", "state.safetensors", "metrics.json"
CLASSES = "classes.json"  # a labelled file's class names, in the order of the class indices
_PREFIX_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _fsync_dir(folder: str) -> None:
    # The rename lives in the directory entry; without this a power cut can forget it.
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a directory; its replace is durable enough
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network mounts) refuse it; the replace itself already happened
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that a crash at any moment leaves the old complete file or the new one."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # Same folder as the target: os.replace is only atomic within one file system.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600; a run folder should read like any file the user makes
            umask = os.umask(0)  # the only way to read the umask; it is set back at once
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _jsonable(obj):
    """Plain JSON values: NumPy scalars and arrays unwrapped, non-finite floats as null (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json(path: str | os.PathLike, obj) -> None:
    """Atomically write `obj` as indented JSON in insertion order; NaN and infinities become null."""
    text = json.dumps(_jsonable(obj), indent=2, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def read_json(path: str | os.PathLike):
    """The value in a JSON file; InputError if it is missing or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; pass a run folder that the training CLI wrote") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {path} ({type(err).__name__}); check the file or train again") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                         f"fix it or train again") from None


def read_classes(path: str | os.PathLike) -> list[str]:
    """The class names a run stored, refusing a file that is not a list of distinct strings."""
    names = read_json(path)
    names = names.get("class_names") if isinstance(names, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise InputError(f"{path} does not hold a list of distinct class names; restore it or train again")
    return names


def write_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray],
                      metadata: dict[str, str] | None = None) -> None:
    """Atomically write `tensors` (with string `metadata`) as one .safetensors file."""
    from safetensors.numpy import save

    # np.asarray(order="C"), not np.ascontiguousarray, which would turn a 0-d step counter into shape (1,).
    data = save({k: np.asarray(v, order="C") for k, v in tensors.items()}, metadata=metadata)
    atomic_write_bytes(path, data)


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of a .safetensors file; InputError if it is missing, truncated or not one."""
    from safetensors import safe_open

    if not os.path.isfile(path):
        raise InputError(f"{path} does not exist; pass a run folder that the training CLI wrote")
    try:
        with safe_open(os.fspath(path), framework="np") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as err:  # SafetensorError, OSError, or TypeError for dtypes NumPy lacks
        raise one_line(f"{path} is not a complete .safetensors file ({err}); it may be truncated: "
                       f"train again or restore it from a backup") from None


def read_state(path: str | os.PathLike, required: tuple[str, ...] = ("step",)
               ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """read_safetensors, refusing a foreign file: one without every key in `required`."""
    tensors, metadata = read_safetensors(path)
    missing = [k for k in required if k not in tensors]
    if missing:
        raise InputError(f"{path} is not a training state of this project: it lacks {', '.join(missing)} "
                         f"(it has: {', '.join(tensors) or 'nothing'}); pass the state.safetensors of a run")
    return tensors, metadata


def new_run_dir(prefix: str, root: str | os.PathLike = "runs", now: datetime | None = None) -> Path:
    """A new, empty folder root/<YYYYmmdd-HHMMSS>-<prefix>, with -2, -3, ... added if the name is taken."""
    if not _PREFIX_OK.fullmatch(prefix):
        raise InputError(f"run name {prefix!r} is not a plain folder name; use letters, digits, '.', '_' and '-'")
    stem = f"{(now or datetime.now()):%Y%m%d-%H%M%S}-{prefix}"
    try:
        os.makedirs(root, exist_ok=True)
        for n in range(1, 10_000):
            path = Path(root) / (stem if n == 1 else f"{stem}-{n}")
            try:
                os.mkdir(path)  # atomic: two runs started in the same second cannot both get one name
                return path
            except FileExistsError:
                continue
    except OSError as err:
        raise InputError(f"cannot create a run folder in {root} ({err.strerror}); "
                         f"choose a folder you can write to") from None
    raise InputError(f"{root} already holds 9999 runs named {stem}; choose another run name or folder")


def save_figure(fig, path: str | os.PathLike, **savefig_kwargs) -> None:
    """Atomically save a matplotlib figure; the format follows the file's suffix (.png, .svg, .pdf)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # no display on a training server; switching pyplot's would close its figures
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".").lower() or "png", **savefig_kwargs)
    atomic_write_bytes(path, buf.getvalue())
    if "matplotlib.pyplot" in sys.modules:  # pyplot keeps the figures it made alive until closed
        sys.modules["matplotlib.pyplot"].close(fig)  # (not imported for this: pyplot costs ~0.3 s to load)
