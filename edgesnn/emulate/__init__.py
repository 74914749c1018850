"""Emulated boards: one supervised process class and one build-if-stale (process), the
host board (host), the QEMU-emulated Cortex-M boards (qemu) and where each board's facts
live (boards: read from boards/<name>/Makefile)."""
from __future__ import annotations

from .boards import QEMU_BOARDS
from .host import HostEmulator, build_host_board
from .process import EmulatorError
from .qemu import QemuBoard, build_firmware

__all__ = ["QEMU_BOARDS", "EmulatorError", "HostEmulator", "QemuBoard", "board_emulator",
           "build_firmware", "build_host_board"]


def board_emulator(board: str = "host", **kw):
    """HostEmulator for "host", QemuBoard for the QEMU boards."""
    if board == "host":
        return HostEmulator(**kw)
    return QemuBoard(board, **kw)
