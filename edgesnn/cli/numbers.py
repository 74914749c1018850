"""argparse types for numeric options: one per kind, with the checks of edgesnn.checks.

`--timeout nan`, `--retries -5` or `--steps 99` stop at parsing with one line naming
the option and the range (cli/__init__.py turns argparse's errors into that line).
"""
from __future__ import annotations

import argparse

from .. import checks
from ..format.intmodel import MAX_STEPS


def _wrap(fn, *args, **kw):
    def parse(text: str):
        try:
            return fn(text, "value", *args, **kw)
        except ValueError as exc:
            # "value must be ..." -> "must be ...": argparse prefixes the option's name
            raise argparse.ArgumentTypeError(str(exc).removeprefix("value ")) from None
    parse.__name__ = fn.__name__  # argparse names the type in its own messages
    return parse


def seconds(text: str) -> float:
    """A timeout: a finite number of seconds > 0."""
    return _wrap(checks.positive_seconds)(text)


def int_range(lo: int | None = None, hi: int | None = None):
    """An integer option within [lo, hi] (either end open when None)."""
    return _wrap(checks.int_in, lo, hi)


def float_range(lo: float | None = None, hi: float | None = None, lo_open: bool = False,
                hi_open: bool = False):
    """A finite float option within lo..hi; NaN and inf are refused."""
    return _wrap(checks.float_in, lo, hi, lo_open, hi_open)


count = int_range(0)            # retries, seeds: 0, 1, 2, ...
positive_int = int_range(1)     # epochs, samples, bytes
steps = int_range(1, MAX_STEPS)  # time steps T (docs/format.md)
