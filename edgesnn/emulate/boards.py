"""Where each emulated board's facts live: its Makefile (boards/<name>/Makefile).

A QEMU board's Makefile sets CPU (the firmware's -mcpu), QEMU_MACHINE (qemu -M) and
QEMU_ICOUNT_SHIFT (2^shift ns per instruction, which the firmware's TICK_Q32 assumes:
see boards/cortexm/systick.c and docs/boards.md). Python reads them from there and keeps
no copy, so a new board is a new folder with a Makefile and nothing else to register.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .process import ROOT, EmulatorError

BOARDS_DIR = os.path.join(ROOT, "boards")
_ASSIGN = re.compile(r"^([A-Z][A-Z0-9_]*)\s*:?=\s*(.*?)\s*$")


@dataclass(frozen=True)
class QemuSpec:
    """One QEMU board as its Makefile describes it."""
    name: str
    machine: str       # qemu-system-arm -M
    cpu: str           # -mcpu of the firmware build
    icount_shift: int  # -icount shift=


def makefile_vars(path: str) -> dict:
    """The simple `NAME := value` assignments of a Makefile (no expansion)."""
    out = {}
    with open(path) as f:
        for line in f:
            m = _ASSIGN.match(line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def _scan(boards_dir: str = BOARDS_DIR) -> dict:
    found = {}
    if not os.path.isdir(boards_dir):  # an installed package without the sources
        return found
    for name in sorted(os.listdir(boards_dir)):
        mk = os.path.join(boards_dir, name, "Makefile")
        if not os.path.isfile(mk):
            continue
        v = makefile_vars(mk)
        if "QEMU_MACHINE" in v:
            found[name] = QemuSpec(name=name, machine=v["QEMU_MACHINE"], cpu=v["CPU"],
                                   icount_shift=int(v["QEMU_ICOUNT_SHIFT"]))
    return found


# name -> QemuSpec of every boards/<name>/Makefile that names a QEMU machine
QEMU_BOARDS = _scan()


def qemu_spec(board: str) -> QemuSpec:
    if board not in QEMU_BOARDS:
        raise EmulatorError(f"unknown board {board!r}; the QEMU boards are "
                            f"{', '.join(QEMU_BOARDS)}")
    return QEMU_BOARDS[board]
