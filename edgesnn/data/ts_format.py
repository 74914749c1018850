"""A small numpy reader of the UEA/UCR `.ts` time-series classification format.

The format (as written by sktime/aeon and the timeseriesclassification.com archive):

    # free-text comment lines (kept: they carry the data set's description/citation)
    @problemName BasicMotions
    @timeStamps false          (only false is supported: values, not (time, value) pairs)
    @missing false             (optional; '?' or NaN values are read as NaN either way)
    @univariate false
    @dimensions 6              (optional for univariate data)
    @equalLength true
    @seriesLength 100          (optional; checked when given with @equalLength true)
    @classLabel true A B C ... (the class names, in order: y indexes this list)
    @data
    v,v,...,v:v,v,...,v:label  (one case per line: one comma-separated series per
                               dimension, ':' between dimensions, the class label last)

Tags are case-insensitive (aeon's own files spell @timeStamps / @timestamps both ways).

Unequal-length series (e.g. JapaneseVowels, 7-29 frames) are padded to the longest with
zeros after their end; `lengths` keeps every case's true number of frames, so a user can
mask or crop. Within one case every dimension must have the same length.

Every way a file can be malformed is one EdgesnnError line naming the file and line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import EdgesnnError

PAD_RULE = "zeros after the end of each shorter series (lengths keeps the true lengths)"


@dataclass
class TsData:
    """One parsed .ts file. x is float32 (N, T, C): cases, frames (time), channels."""
    x: np.ndarray
    y: np.ndarray  # int64 indices into class_names
    class_names: list
    lengths: np.ndarray  # int64 (N,): frames per case before padding
    problem_name: str = ""
    equal_length: bool = True
    comments: list = field(default_factory=list)  # the '#' header lines, without '#'


def _bool(value: str, tag: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise EdgesnnError(f"{where}: @{tag} must be true or false, got {value.strip()!r}")
    return v == "true"


def parse_ts(text: str, source: str = "<text>") -> TsData:
    """Parse the text of a .ts file (classification problems with class labels)."""
    header: dict = {}
    comments: list = []
    class_names: Optional[list] = None
    lines = text.splitlines()
    i = 0
    for i, raw in enumerate(lines):
        line = raw.strip()
        where = f"{source} line {i + 1}"
        if not line:
            continue
        if line.startswith("#"):
            comments.append(line[1:].strip())
            continue
        if not line.startswith("@"):
            raise EdgesnnError(f"{where}: expected a @tag or a # comment before @data, got "
                               f"{line[:40]!r}")
        tag, _, value = line[1:].partition(" ")
        tag = tag.lower()
        if tag == "data":
            break
        if tag == "classlabel":
            parts = value.split()
            if not parts or not _bool(parts[0], "classLabel", where):
                raise EdgesnnError(f"{where}: only classification files are supported "
                                   "(@classLabel true NAME NAME ...)")
            class_names = parts[1:]
            if not class_names:
                raise EdgesnnError(f"{where}: @classLabel true lists no class names")
            if len(set(class_names)) != len(class_names):
                raise EdgesnnError(f"{where}: @classLabel lists a class name twice")
        elif tag in ("timestamps", "missing", "univariate", "equallength"):
            header[tag] = _bool(value, tag, where)
        elif tag in ("dimensions", "serieslength"):
            try:
                header[tag] = int(value.strip())
            except ValueError:
                raise EdgesnnError(f"{where}: @{tag} must be a whole number, got "
                                   f"{value.strip()!r}") from None
            if header[tag] < 1:
                raise EdgesnnError(f"{where}: @{tag} must be at least 1, got {header[tag]}")
        elif tag == "problemname":
            header[tag] = value.strip()
        # other tags (@targetLabel false, @target ...) are ignored
    else:
        raise EdgesnnError(f"{source}: no @data line; not a .ts time-series file")
    if class_names is None:
        raise EdgesnnError(f"{source}: no @classLabel line; only classification files are "
                           "supported")
    if header.get("timestamps", False):
        raise EdgesnnError(f"{source}: @timeStamps true is not supported (values only)")
    dims = header.get("dimensions")
    if header.get("univariate") is True:
        if dims not in (None, 1):
            raise EdgesnnError(f"{source}: @univariate true with @dimensions {dims}")
        dims = 1
    label_index = {name: k for k, name in enumerate(class_names)}

    series, labels = [], []
    for j in range(i + 1, len(lines)):
        line = lines[j].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {j + 1}"
        parts = line.split(":")
        if len(parts) < 2:
            raise EdgesnnError(f"{where}: a case needs its values and a class label "
                               "separated by ':'")
        label = parts[-1].strip()
        if label not in label_index:
            raise EdgesnnError(f"{where}: class label {label!r} is not one of @classLabel "
                               f"{' '.join(class_names)}")
        chans = parts[:-1]
        if dims is None:
            dims = len(chans)
        if len(chans) != dims:
            raise EdgesnnError(f"{where}: {len(chans)} dimensions, expected {dims}")
        rows = []
        for c, chan in enumerate(chans):
            try:
                vals = [float("nan") if v.strip() == "?" else float(v) for v in chan.split(",")]
            except ValueError:
                bad = next(v for v in chan.split(",") if not _is_number(v))
                raise EdgesnnError(f"{where}: dimension {c + 1} has a value that is not a "
                                   f"number: {bad.strip()[:20]!r}") from None
            rows.append(vals)
        n = len(rows[0])
        if any(len(r) != n for r in rows):
            raise EdgesnnError(f"{where}: the dimensions of one case have different lengths "
                               f"({sorted({len(r) for r in rows})})")
        series.append(np.asarray(rows, dtype=np.float64).T)  # (T, C)
        labels.append(label_index[label])
    if not series:
        raise EdgesnnError(f"{source}: no cases after @data")

    lengths = np.array([len(s) for s in series], dtype=np.int64)
    equal = bool(np.all(lengths == lengths[0]))
    if header.get("equallength") is True:
        if not equal:
            k = int(np.argmax(lengths != lengths[0]))
            raise EdgesnnError(f"{source}: @equalLength true but case {k + 1} has "
                               f"{lengths[k]} values, case 1 has {lengths[0]}")
        want = header.get("serieslength")
        if want is not None and lengths[0] != want:
            raise EdgesnnError(f"{source}: @seriesLength {want} but the cases have "
                               f"{lengths[0]} values")
    t_max = int(lengths.max())
    x = np.zeros((len(series), t_max, dims), dtype=np.float32)  # padding rule: zeros
    for k, s in enumerate(series):
        x[k, :len(s)] = s
    return TsData(x=x, y=np.asarray(labels, dtype=np.int64), class_names=list(class_names),
                  lengths=lengths, problem_name=header.get("problemname", ""),
                  equal_length=bool(header.get("equallength", equal)), comments=comments)


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return v.strip() == "?"


def read_ts(path: str) -> TsData:
    """Read a .ts file from disk (UTF-8; see parse_ts)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise EdgesnnError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # some archive headers carry latin-1 names
    return parse_ts(text, source=path)
