"""Loading sample arrays given on the command line (.npy / .npz / the built-in digits /
the shipped sensor sets basicmotions, japanesevowels, gunpoint, optionally NAME:T for a
window of the first T frames).

Files given by a user are untrusted: `open_arrays` reads every member at once (np.load
reads .npz members lazily, so a truncated or corrupt member would otherwise fail later,
deep in a verb) and turns every way a file can be broken into one EdgesnnError.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import EdgesnnError

DIGITS = "digits"
SENSOR_HELP = ("basicmotions, japanesevowels or gunpoint: shipped sensor sequences "
               "(N, T, C); NAME:T keeps the first T frames")


def sensor_spec(spec: str):
    """(name, window or None) if spec names a shipped sensor set (`basicmotions`,
    `gunpoint:50`, ...), else None. A file of that name on disk wins."""
    from ..data.sensor_sets import SENSOR_SETS
    if not isinstance(spec, str) or os.path.exists(spec):
        return None
    name, sep, win = spec.partition(":")
    if name.lower() not in SENSOR_SETS:
        return None
    if not sep:
        return name.lower(), None
    try:
        t = int(win)
    except ValueError:
        t = 0
    if t < 1:
        raise EdgesnnError(f"{spec}: the window after ':' must be a number of frames >= 1, "
                           f"e.g. {name}:50")
    return name.lower(), t


def is_builtin(spec: str) -> bool:
    """`digits` or a sensor set: data with a held-out split (calibrate on train, report
    on test)."""
    return spec == DIGITS or sensor_spec(spec) is not None


def load_sensor_xy(spec: str, split: str):
    name, window = sensor_spec(spec)
    from ..data.sensor_sets import load_sensor
    x, y, _ = load_sensor(name, split)
    if window is not None:
        if window > x.shape[1]:
            raise EdgesnnError(f"{spec}: {name} has {x.shape[1]} frames per sample; the "
                               f"window must be 1..{x.shape[1]}")
        x = np.ascontiguousarray(x[:, :window])
    return x, y


def open_arrays(path: str, kinds: str = ".npy/.npz"):
    """The array of an .npy file, or {name: array} of every member of an .npz file, all
    read and checked now; one-line errors for a missing, empty, truncated or corrupt
    file. `kinds` names the accepted file kinds in the message."""
    if not os.path.exists(path):
        raise EdgesnnError(f"no such file: {path}")
    if os.path.isdir(path):
        raise EdgesnnError(f"{path} is a directory; give a {kinds} array file")
    if os.path.getsize(path) == 0:
        raise EdgesnnError(f"{path} is empty; give a {kinds} array file")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:  # an NpzFile: decompress and check every member now
            return {name: data[name] for name in data.files}
    except MemoryError:
        raise EdgesnnError(f"{path}: an array is too large for this machine's memory") from None
    except Exception as exc:  # noqa: BLE001 - zipfile, zlib, EOFError, ValueError, ...:
        # whatever breaks while reading a user's file is the file's fault
        why = str(exc).split(". ")[0].strip() or type(exc).__name__
        if "pickled" in why:
            why = "not an array file numpy writes (np.save / np.savez)"
        raise EdgesnnError(f"{path} is not a readable {kinds} array file ({why}); write it "
                           "with np.save(path, x) or np.savez(path, x=..., y=...)") from None


def check_samples(x, name: str, path: str) -> np.ndarray:
    """At least one sample of real numbers (uint8 codes, ints or floats)."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise EdgesnnError(f"{name} in {path} must be real numbers, got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise EdgesnnError(f"{name} in {path} holds no samples (shape {tuple(x.shape)})")
    return x


def load_xy(spec: str, split: str = "test"):
    """Return (x, y or None) from `digits`, a sensor set (NAME[:T]), X.npy, or DATA.npz
    with arrays x [, y]."""
    if sensor_spec(spec) is not None:
        return load_sensor_xy(spec, split)
    if spec == DIGITS:
        from ..data.datasets import load_digits_split
        x_tr, y_tr, x_te, y_te = load_digits_split()
        return (x_tr, y_tr) if split == "train" else (x_te, y_te)
    data = open_arrays(spec)
    if isinstance(data, np.ndarray):
        return check_samples(data, "the array", spec), None
    if "x" not in data:
        raise EdgesnnError(f"{spec} has arrays {sorted(data)}; expected 'x' (and optionally 'y')")
    x = check_samples(data["x"], "x", spec)
    y = data.get("y")
    return x, (None if y is None else check_labels(y, len(x), "y", spec))


def check_labels(y, n: int, name: str, path: str) -> np.ndarray:
    """One integer label per sample (the fine-tuning engine's check: booleans and
    fractions are refused), with the file and array named in the error."""
    from ..runtime.finetune import integer_labels
    try:
        return integer_labels(y, n)
    except (ValueError, EdgesnnError) as exc:  # a ShapeError is an EdgesnnError
        raise EdgesnnError(f"{name} in {path}: {exc}") from None


def check_sequence_input(model, spec: str, x) -> None:
    """Sensor sets are sequences (N, T, C): refuse a blob that does not take them, in one
    line, instead of re-cutting the frames into samples. A flat-input model whose input
    holds exactly one whole window (T*C values) takes it as one sample, as it would the
    8x8 digits."""
    if sensor_spec(spec) is None:
        return
    shape = tuple(model.input_shape)
    numel = int(np.prod(shape))
    if getattr(model, "sequence", False):
        return  # the runtime checks (N, T, *input_shape) against the model's T
    if int(np.prod(x.shape[1:])) == numel:
        return
    raise EdgesnnError(f"{spec} is sequence data of shape {tuple(x.shape)} (samples, frames, "
                       f"channels), but this model is not a sequence blob (its input is one "
                       f"sample of shape {shape}); pack a causal NIR model with --sequence")
