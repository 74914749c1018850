"""Numbers a user hands in (timeouts, counts, ranges): one check per kind.

The Python API (edgesnn.connect, Link, ...) and the CLI's argparse types (cli/numbers.py)
use the same functions, so `--timeout nan` and `connect(timeout=float("nan"))` are refused
with the same words. Each raises ValueError naming the value and the range.
"""
from __future__ import annotations

import math
import numbers


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def float_in(value, name: str, lo: float | None = None, hi: float | None = None,
             lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite float within [lo, hi] (open ends where asked); NaN and inf are refused."""
    v = _number(value, name)
    below = lo is not None and (v <= lo if lo_open else v < lo)
    above = hi is not None and (v >= hi if hi_open else v > hi)
    if not math.isfinite(v) or below or above:
        left = "" if lo is None else ("(" if lo_open else "[") + f"{lo:g}"
        right = "" if hi is None else f"{hi:g}" + (")" if hi_open else "]")
        if lo is not None and hi is not None:
            rng = f"in {left}, {right}"
        elif lo is not None:
            rng = f"{'>' if lo_open else '>='} {lo:g}"
        elif hi is not None:
            rng = f"{'<' if hi_open else '<='} {hi:g}"
        else:
            rng = "finite"
        raise ValueError(f"{name} must be a finite number {rng}, got {value!r}")
    return v


def positive_seconds(value, name: str = "timeout") -> float:
    """A finite number of seconds > 0 (a timeout)."""
    return float_in(value, name, lo=0.0, lo_open=True)


def int_in(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer within [lo, hi]; 1.5, NaN and "x" are refused, 2.0 is taken as 2."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, str):
        try:
            v = int(value.strip())
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    else:
        f = _number(value, name)
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        v = int(f)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = (f"{lo}..{hi}" if lo is not None and hi is not None else
               f">= {lo}" if lo is not None else f"<= {hi}")
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    return v


def count(value, name: str = "retries") -> int:
    """An integer >= 0 (retries, a seed)."""
    return int_in(value, name, lo=0)
