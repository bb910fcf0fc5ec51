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


def read_csv(path: str, target: str | None) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[int]]:
    """All cells of a CSV as float64: (x, y, feature names, target names, file line of each row)."""
    values, lines = array.array("d"), []  # 8 bytes a cell, where a list of floats would take 32
    try:
        with (gzip.open if path.lower().endswith(".gz") else open)(path, "rt", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            features, targets = _columns(path, header, target)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines, e.g. a trailing one
                if len(row) != len(header):
                    raise _fail(f"line {reader.line_num} of {path} has {len(row)} cells but the header has "
                                f"{len(header)}; give every row one value per column")
                try:
                    values.extend(float(c) for c in row)
                except ValueError:
                    j = next(j for j, c in enumerate(row) if not _is_number(c))
                    cell = row[j] if len(row[j]) <= 40 else row[j][:40] + "..."
                    raise _fail(f"line {reader.line_num}, column {header[j]!r} of {path} is {cell!r}, not a "
                                f"number; fix or remove that value") from None
                lines.append(reader.line_num)
    except InputError:
        raise
    except UnicodeDecodeError:
        raise _fail(f"{path} is not UTF-8 text; save it as a UTF-8 CSV") from None
    except (OSError, EOFError, zlib.error, csv.Error) as err:  # gzip: BadGzipFile is an OSError
        raise _fail(f"cannot read {path} as CSV ({type(err).__name__}: {err}); save it again as plain CSV") from None
    if not lines:
        raise _fail(f"{path} has a header but no data rows; add at least one row of numbers")
    table = np.frombuffer(values, dtype=np.float64).reshape(len(lines), len(header))
    return (table[:, [header.index(h) for h in features]], table[:, [header.index(t) for t in targets]],
            features, targets, lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
