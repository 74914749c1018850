"""QEMU-emulated Cortex-M boards (boards/<name>/ on boards/cortexm/): build the firmware,
boot it in qemu-system-arm with its UART on a TCP port. Each board's QEMU facts
(machine, cpu, icount shift) come from its Makefile through boards.py."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from .boards import QEMU_BOARDS, QemuSpec, qemu_spec
from .process import ROOT, RUNTIME_DIRS, BoardProcess, EmulatorError, build_if_stale

QEMU = "qemu-system-arm"
ARM_GCC = "arm-none-eabi-gcc"
# How long a board that reported a fault may take to exit before it is killed: bounded,
# and generous enough for a loaded 2-core CI machine (QEMU normally exits at once).
EXIT_GRACE = 10.0
CORTEXM_DIR = os.path.join(ROOT, "boards", "cortexm")
_INSTALL_HINT = ("install them with `bash tools/install.sh` or `apt-get install "
                 "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm`")

__all__ = ["QEMU_BOARDS", "QemuSpec", "QemuBoard", "build_firmware", "firmware_dir"]


def firmware_dir(board: str, app: str = "full", fault: int = 0) -> str:
    tag = app if not fault else f"{app}-fault{fault}"
    return os.path.join(ROOT, "build", "boards", board, tag)


def build_firmware(board: str, app: str = "full", fault: int = 0, force: bool = False) -> str:
    """Build boards/<board> (APP=full|infer|noop, FAULT=0|1|2) when its sources are
    newer than the ELF; return the ELF's path."""
    qemu_spec(board)
    src = os.path.join(ROOT, "boards", board)
    out = firmware_dir(board, app, fault)
    return build_if_stale(
        f"the {board} firmware", os.path.join(out, "firmware.elf"), src,
        [f"OUT={out}", f"APP={app}", f"FAULT={fault}"], [src, CORTEXM_DIR, *RUNTIME_DIRS],
        os.path.join(os.path.dirname(out), ".build.lock"), tools=[("make",), (ARM_GCC,)],
        hint=_INSTALL_HINT, force=force)


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuBoard(BoardProcess):
    """One QEMU-emulated Cortex-M board running the edgesnn firmware, its UART on a TCP
    port of 127.0.0.1 (url socket://127.0.0.1:PORT). The same interface as
    HostEmulator: start/stop/kill/check/url/log_text, a context manager.

    The firmware's two model slots live in RAM (QEMU does not let firmware program
    these boards' flash): a flashed model is lost when QEMU exits, and `restart()`
    boots an empty board. `log_text()` is QEMU's own output: its messages and what the
    firmware writes through semihosting (stack/arena high-water marks, fault reports).
    """

    LOG_NOISE = ("QEMU waiting for connection",)

    def __init__(self, board: str = "lm3s6965evb", port: int = 0, elf: str | None = None,
                 fault: int = 0, startup_timeout: float = 30.0, icount: bool = True):
        self.spec = qemu_spec(board)
        self.board = board
        self.name = board
        self.label = f"board {board}"
        self.port = int(port)
        self.elf = elf
        self.fault = int(fault)
        self.startup_timeout = float(startup_timeout)
        self.icount = icount
        self._tmp = tempfile.mkdtemp(prefix=f"edgesnn-{board}-")
        self.log_path = os.path.join(self._tmp, "qemu.log")
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.banner: str | None = None
        self.temporary_flash = True
        self.flash_path = "(RAM: lost when QEMU exits)"

    def command(self, port: int) -> list:
        cmd = [QEMU, "-M", self.spec.machine, "-nographic", "-monitor", "none",
               "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on",
               "-semihosting-config", "enable=on,target=native"]
        if self.icount:
            cmd += ["-icount", f"shift={self.spec.icount_shift},sleep=off"]
        return cmd + ["-kernel", self.elf_path]

    # ---- lifetime --------------------------------------------------------------
    def start(self) -> "QemuBoard":
        if self.alive:
            return self
        if shutil.which(QEMU) is None:
            raise EmulatorError(f"emulating {self.board} needs {QEMU}; " + _INSTALL_HINT)
        self.elf_path = self.elf or build_firmware(self.board, fault=self.fault)
        port = self.port or _free_port()
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as exc:
            raise EmulatorError(f"cannot start {QEMU}: {exc.strerror}") from exc
        finally:
            log.close()
        self.banner = self._wait_banner(port)
        self.url = f"socket://127.0.0.1:{port}"
        return self

    def _wait_banner(self, port: int) -> str:
        """Connect (QEMU starts the CPU only then: wait=on), read the banner line,
        disconnect; QEMU then listens for the next client on the same port."""
        import socket
        deadline = time.monotonic() + self.startup_timeout
        sock = None
        while sock is None:
            if self.proc.poll() is not None:
                raise EmulatorError(f"board {self.board} exited with code "
                                    f"{self.proc.returncode} before it listened on port "
                                    f"{port}{self._last_words()}")
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise EmulatorError(f"QEMU did not open port {port} within "
                                        f"{self.startup_timeout:.0f} s{self._last_words()}")
                time.sleep(0.05)
        buf = b""
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise EmulatorError(f"board {self.board} printed no banner within "
                                        f"{self.startup_timeout:.0f} s; what it sent: "
                                        f"{buf[-200:]!r}{self._last_words()}")
                sock.settimeout(min(left, 0.2))
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:  # QEMU closed the socket: it is exiting
                    self._wait_exit(EXIT_GRACE)
                    raise EmulatorError(self._death(f"; it sent: {buf[-200:]!r}" if buf else ""))
                buf += chunk
        finally:
            sock.close()
        line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        prefix = f"edgesnn-{self.board} ready"
        if prefix not in line:
            try:  # a fault report: the firmware exits QEMU right after it
                self.proc.wait(timeout=EXIT_GRACE)
            except subprocess.TimeoutExpired:
                self.kill()
                raise EmulatorError(f"unexpected first line from board {self.board}: "
                                    f"{line!r}{self._last_words()}") from None
            raise EmulatorError(self._death())
        return line[line.index(prefix):]

    def _wait_exit(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def layout(self) -> dict:
        """The banner's key=value fields (ram, flash, arena, stack, device, calib)."""
        out = {}
        for word in (self.banner or "").split():
            if "=" in word:
                k, v = word.split("=", 1)
                out[k] = v
        return out

    def peaks(self) -> dict:
        """The last stack and arena high-water marks the firmware reported (bytes):
        {"stack_peak", "stack_bytes", "arena_peak", "arena_bytes"}; {} before any
        inference or fine-tuning request (STATS reports the same marks over the link)."""
        import re
        found = re.findall(r"stack_peak=(\d+)/(\d+) arena_peak=(\d+)/(\d+)", self.log_text())
        if not found:
            return {}
        s, sb, a, ab = map(int, found[-1])
        return {"stack_peak": s, "stack_bytes": sb, "arena_peak": a, "arena_bytes": ab}

    def restart(self, kill: bool = False) -> "QemuBoard":
        """Stop and boot again: the RAM flash starts empty."""
        return super().restart(kill)

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive else "stopped"
        return f"<QemuBoard {self.board} {self.url or '-'} {state}>"
