"""The `edgesnn` command line: one module per verb, argparse sub-commands.

Every verb prints what a person needs at a glance, `--json` where a script wants it,
and turns edgesnn errors into one clear line and exit status 2 (never a traceback).
"""
from __future__ import annotations

import argparse
import sys

from ..errors import EdgesnnError
from . import (bench, board_info, demo, emulate, finetune, flash, infer, inspect_cmd, pack,
               ports_cmd, pull, validate)

VERBS = [pack, inspect_cmd, infer, demo, emulate, flash, board_info, validate, finetune, pull,
         ports_cmd, bench]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EdgesnnError as exc:
        print(f"edgesnn {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"edgesnn {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"edgesnn {args.verb}: interrupted", file=sys.stderr)
        return 130
