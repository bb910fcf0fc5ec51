"""CSV data files (plain or gzip): a header line naming the columns, then one row of numbers a line."""

from __future__ import annotations

import array
import csv
import gzip
import zlib

import numpy as np

from netdata.errors import InputError
from netdata.errors import one_line as _fail


def _columns(path: str, header: list[str], target: str | None) -> tuple[list[str], list[str]]:
    """(feature names, target names) from a CSV header, checked before any row is read."""
    if not header or all(_is_number(h) for h in header):
        raise _fail(f"the first line of {path} is {'empty' if not header else 'numbers'}, not column names; "
                    f"start the file with a header line naming the columns (e.g. x1,x2,y)")
    dup = next((h for i, h in enumerate(header) if h in header[:i] or not h), None)
    if dup is not None:
        raise _fail(f"{path} has {'a repeated' if dup else 'an empty'} column name {dup!r} in its header; "
                    f"give every column a distinct name")
    targets = [t.strip() for t in target.split(",")] if target is not None else [header[-1]]
    unknown = next((t for t in targets if t not in header), None)
    if unknown is not None:
        raise _fail(f"--target column {unknown!r} is not in {path}; its columns are: {', '.join(header)}")
    if len(set(targets)) != len(targets):
        raise _fail(f"--target {target} names a column twice; name each target column once")
    features = [h for h in header if h not in targets]
    if not features:
        raise _fail(f"--target takes every column of {path}, leaving no features; leave at least one column out")
    return features, targets


def read_csv(path: str, target: str | None, text_labels: bool = False
             ) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[int]]:
    """All cells of a CSV as float64: (x, y, feature names, target names, file line of each row).

    With `text_labels`, one target column of class labels may hold names (cat, dog): then y is those
    names, stripped, as a (N, 1) array of str, for the caller to map to class indices.
    """
    values, lines = array.array("d"), []  # 8 bytes a cell, where a list of floats would take 32
    names: list[str] = []  # the label column's cells as written, when text labels are allowed
    try:
        with (gzip.open if path.lower().endswith(".gz") else open)(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            features, targets = _columns(path, header, target)
            label = header.index(targets[0]) if text_labels and len(targets) == 1 else -1
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines, e.g. a trailing one
                if len(row) != len(header):
                    raise _fail(f"line {reader.line_num} of {path} has {len(row)} cells but the header has "
                                f"{len(header)}; give every row one value per column")
                if label >= 0:
                    names.append(row[label].strip())
                    row = row[:label] + ["0"] + row[label + 1:]  # filled in below, as a number or a name
                try:
                    values.extend(float(c) for c in row)
                except ValueError:
                    j = next(j for j, c in enumerate(row) if not _is_number(c))
                    cell = row[j] if len(row[j]) <= 40 else row[j][:40] + "..."
                    hint = ("; text in a target column names classes: train it with --stage mlp, or fix the value"
                            if header[j] in targets else "; fix or remove that value")
                    raise _fail(f"line {reader.line_num}, column {header[j]!r} of {path} is {cell!r}, not a "
                                f"number{hint}") from None
                lines.append(reader.line_num)
    except InputError:
        raise
    except UnicodeDecodeError:
        raise _fail(f"{path} is not UTF-8 text; save it as a UTF-8 CSV") from None
    except (OSError, EOFError, zlib.error, csv.Error) as err:  # gzip: BadGzipFile is an OSError
        raise _fail(f"cannot read {path} as CSV ({type(err).__name__}: {err}); save it again as plain CSV") from None
    if not lines:
        raise _fail(f"{path} has a header but no data rows; add at least one row of numbers")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(header)).copy()
    x = table[:, [header.index(h) for h in features]]
    if label >= 0:
        if all(_is_number(n) for n in names):  # numeric labels: class indices, checked by the caller
            return x, np.array([float(n) for n in names]).reshape(-1, 1), features, targets, lines
        empty = next((i for i, n in enumerate(names) if not n), None)
        if empty is not None:
            raise _fail(f"line {lines[empty]}, column {targets[0]!r} of {path} is empty; give every row a class")
        # A control character (NUL, tab, ...) in a class name is a damaged file, and numpy's str arrays drop
        # trailing NULs: "\x00" would silently become the empty class "".
        odd = next((i for i, n in enumerate(names) if not n.isprintable()), None)
        if odd is not None:
            raise _fail(f"line {lines[odd]}, column {targets[0]!r} of {path} is {names[odd]!r}, a class name with a "
                        f"control character; fix that value")
        return x, np.array(names, dtype=str).reshape(-1, 1), features, targets, lines
    return x, table[:, [header.index(t) for t in targets]], features, targets, lines


def class_indices(names: np.ndarray, known: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """(labels 0..K-1, class names): names sorted as strings, or in the order `known` (a stored run's) gives."""
    classes = sorted(set(names.tolist())) if known is None else list(known)
    unknown = sorted(set(names.tolist()) - set(classes))
    if unknown:
        raise _fail(f"class {unknown[0]!r} is not one of the run's classes ({', '.join(classes)}); a resumed run "
                    f"needs the data it was trained on, or start a new run with --out")
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[n] for n in names.tolist()], dtype=np.int64), classes


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
