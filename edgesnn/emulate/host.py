"""The host emulator board (boards/host): build it, start it, stop it, kill it.

    with HostEmulator() as emu:                 # a temporary flash file
        board = edgesnn.connect(emu.url)

The board is a C program running the same device code as the MCU boards over a TCP
socket or a pty; its flash is a file, so state survives `kill()` and `restart()`.
"""
from __future__ import annotations

import os
import selectors
import subprocess
import tempfile
import threading
import time

from .process import ROOT, RUNTIME_DIRS, BoardProcess, EmulatorError, build_if_stale

BOARD_DIR = os.path.join(ROOT, "boards", "host")
BUILD_DIR = os.path.join(ROOT, "build", "boards", "host")
BINARY = "edgesnn-host"
BANNER = "edgesnn-host ready url="


def build_host_board(out_dir: str = BUILD_DIR, force: bool = False) -> str:
    """Build boards/host into `out_dir` when its sources are newer; return the binary."""
    out_dir = os.path.abspath(out_dir)
    return build_if_stale(
        "the host board", os.path.join(out_dir, BINARY), BOARD_DIR, [f"OUT={out_dir}"],
        [BOARD_DIR, *RUNTIME_DIRS], os.path.join(out_dir, ".build.lock"),
        tools=[("make",), ("cc", "gcc")],
        hint="install them (e.g. `apt-get install build-essential`)", force=force)


class HostEmulator(BoardProcess):
    """One host-board process. `transport` is "tcp" (url socket://127.0.0.1:PORT) or
    "pty" (url /dev/pts/N). Without `flash` a temporary flash file is used and removed
    by `stop()`/`close()`; `restart()` keeps the flash file."""

    label = "the host board"

    def __init__(self, flash: str | None = None, transport: str = "tcp", arena: int | None = None,
                 slot_bytes: int | None = None, name: str | None = None, port: int = 0,
                 binary: str | None = None, startup_timeout: float = 10.0,
                 session_idle: float | None = None):
        if transport not in ("tcp", "pty"):
            raise ValueError(f"transport must be 'tcp' or 'pty', got {transport!r}")
        self.transport = transport
        self.arena, self.slot_bytes, self.name = arena, slot_bytes, name
        # seconds a fine-tuning session may idle before it is stale (None: the board's
        # default, 0: never; docs/protocol.md section 6)
        self.session_idle = session_idle
        self.port = int(port)  # 0: an ephemeral port, a new one on each start
        self.binary = binary
        self.startup_timeout = startup_timeout
        self._tmp = tempfile.mkdtemp(prefix="edgesnn-host-")
        self.flash_path = os.path.abspath(flash) if flash else os.path.join(self._tmp, "flash.bin")
        self.temporary_flash = flash is None
        self.log_path = os.path.join(self._tmp, "board.log")
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self._drain: threading.Thread | None = None

    # ---- lifetime --------------------------------------------------------------
    def start(self) -> "HostEmulator":
        if self.alive:
            return self
        exe = self.binary or build_host_board()
        cmd = [exe, "--flash", self.flash_path]
        cmd += ["--pty"] if self.transport == "pty" else ["--tcp", str(self.port)]
        if self.arena is not None:
            cmd += ["--arena", str(self.arena)]
        if self.slot_bytes is not None:
            cmd += ["--slot-bytes", str(self.slot_bytes)]
        if self.name is not None:
            cmd += ["--name", self.name]
        if self.session_idle is not None:
            cmd += ["--session-idle", str(int(round(self.session_idle * 1000)))]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True)
        except OSError as exc:
            raise EmulatorError(f"cannot start {exe}: {exc.strerror}") from exc
        finally:
            log.close()
        self.url = self._wait_banner()
        return self

    def _wait_banner(self) -> str:
        proc = self.proc
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + self.startup_timeout
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise EmulatorError(f"the host board printed no ready line within "
                                        f"{self.startup_timeout:.0f} s{self._last_words()}")
                if not sel.select(timeout=min(left, 0.1)):
                    if proc.poll() is not None:
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        finally:
            sel.close()
        line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if not line.startswith(BANNER):
            code = proc.wait(timeout=5) if proc.poll() is None and not line else proc.poll()
            if code is None:
                self.kill()
                raise EmulatorError(f"unexpected first line from the host board: {line!r}"
                                    f"{self._last_words()}")
            raise EmulatorError(f"the host board exited with code {code}{self._last_words()}")
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return line[len(BANNER):].split()[0]

    def _drain_stdout(self) -> None:
        try:
            while self.proc is not None and os.read(self.proc.stdout.fileno(), 4096):
                pass
        except (OSError, ValueError, AttributeError):
            pass

    def _reap(self) -> None:  # the stdout pipe and its drain thread
        if self.proc is not None and self.proc.stdout is not None:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._drain is not None:
            self._drain.join(timeout=1)
            self._drain = None
