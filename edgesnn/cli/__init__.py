"""The `edgesnn` command line: one module per verb, argparse sub-commands.

Every verb prints what a person needs at a glance, `--json` where a script wants it,
and turns edgesnn errors into one clear line and exit status 2 (never a traceback).
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import sys

from ..errors import EdgesnnError
from . import (bench, board_info, demo, emulate, finetune, flash, infer, inspect_cmd, pack,
               ports_cmd, pull, validate)

VERBS = [pack, inspect_cmd, infer, demo, emulate, flash, board_info, validate, finetune, pull,
         ports_cmd, bench]


class UsageError(EdgesnnError):
    """A command line argparse refuses (unknown option, a number out of range)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (exit 2) like every other error: the
    verb, what was wrong, where to look. Sub-parsers inherit the class."""

    def error(self, message):
        # "argument --epochs/-e: must be ..." reads better as "--epochs must be ..."
        m = re.match(r"argument ([^:/ ]+)[^:]*: (must be .*)", message)
        if m:
            message = f"{m.group(1)} {m.group(2)}"
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgesnn",
        description="Deploy spiking neural networks to microcontrollers.",
        epilog="Run `edgesnn VERB --help` for the options and an example of each verb.")
    parser.add_argument("--version", action="version", version="edgesnn 0.1.0")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb in VERBS:
        p = sub.add_parser(verb.NAME, help=verb.HELP, description=verb.HELP,
                           epilog=verb.EXAMPLE,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        verb.add_arguments(p)
        p.set_defaults(func=verb.run)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"{_prog(argv)}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    try:
        with _quiet_numpy(args.verb):
            return int(args.func(args) or 0)
    except BrokenPipeError:
        return _broken_pipe()
    except EdgesnnError as exc:
        print(f"edgesnn {args.verb}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            return _broken_pipe()
        print(f"edgesnn {args.verb}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"edgesnn {args.verb}: interrupted", file=sys.stderr)
        return 130


def _prog(argv) -> str:
    words = sys.argv[1:] if argv is None else list(argv)
    verbs = {v.NAME for v in VERBS}
    verb = next((w for w in words if w in verbs), None)
    return f"edgesnn {verb}" if verb else "edgesnn"


def _one_line(exc) -> str:
    """The message on one line: the CLI's contract is one line on stderr."""
    return " ".join(str(exc).split())


def _quiet_numpy(verb: str):
    """numpy's RuntimeWarnings (overflow in a cast, ...) must not spill over the one-line
    error or the output: what matters is checked and reported by edgesnn itself. Other
    warnings (e.g. malformed metadata) are printed as one line each."""
    import warnings

    import numpy as np
    ctx = warnings.catch_warnings()

    def show(message, category, *rest, **kw):
        print(f"edgesnn {verb}: warning: {_one_line(message)}", file=sys.stderr)

    class _Both:
        def __enter__(self):
            ctx.__enter__()
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.showwarning = show
            self._np = np.seterr(all="ignore")

        def __exit__(self, *exc):
            np.seterr(**self._np)
            return ctx.__exit__(*exc)
    return _Both()


def _broken_pipe() -> int:
    """`edgesnn inspect m.esnn | head`: the reader left; stop quietly as Unix tools do.
    stdout is pointed at /dev/null so that the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by SIGPIPE
