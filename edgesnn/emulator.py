"""The host emulator board (boards/host): build it, start it, stop it, kill it.

    with HostEmulator() as emu:                 # a temporary flash file
        board = edgesnn.connect(emu.url)

The board is a C program running the same device code as the MCU boards over a TCP
socket or a pty; its flash is a file, so state survives `kill()` and `restart()`.
"""
from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from .errors import EdgesnnError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD_DIR = os.path.join(ROOT, "boards", "host")
BUILD_DIR = os.path.join(ROOT, "build", "boards", "host")
BINARY = "edgesnn-host"
SOURCE_DIRS = [BOARD_DIR, os.path.join(ROOT, "runtime_c", "src"),
               os.path.join(ROOT, "runtime_c", "include")]
BANNER = "edgesnn-host ready url="


class EmulatorError(EdgesnnError):
    """The host board could not be built or started, or died."""


def _newest_source() -> float:
    newest = 0.0
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(top):
            for f in files:
                if f.endswith((".c", ".h", ".mk", ".S", ".ld")) or f == "Makefile":
                    newest = max(newest, os.path.getmtime(os.path.join(dirpath, f)))
    return newest


def build_host_board(out_dir: str = BUILD_DIR, force: bool = False) -> str:
    """Build boards/host into `out_dir` when its sources are newer; return the binary."""
    exe = os.path.join(out_dir, BINARY)
    if not os.path.isfile(os.path.join(BOARD_DIR, "Makefile")):
        raise EmulatorError(f"the host board sources are not in {BOARD_DIR}; the emulator "
                            "needs a source checkout of edgesnn")
    if not force and os.path.isfile(exe) and os.path.getmtime(exe) >= _newest_source():
        return exe
    missing = [t for t in ("make",) if shutil.which(t) is None]
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        missing.append("gcc")
    if missing:
        raise EmulatorError(f"building the host board needs {' and '.join(missing)}; install "
                            "them (e.g. `apt-get install build-essential`)")
    os.makedirs(out_dir, exist_ok=True)
    import fcntl
    with open(os.path.join(out_dir, ".build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may build at once
        if not force and os.path.isfile(exe) and os.path.getmtime(exe) >= _newest_source():
            return exe
        proc = subprocess.run(["make", "-C", BOARD_DIR, f"OUT={os.path.abspath(out_dir)}"],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(exe):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise EmulatorError(f"building the host board failed (make -C {BOARD_DIR}):\n{tail}")
        os.utime(exe)  # make may skip relinking; the binary now counts as fresh
    return exe


class HostEmulator:
    """One host-board process. `transport` is "tcp" (url socket://127.0.0.1:PORT) or
    "pty" (url /dev/pts/N). Without `flash` a temporary flash file is used and removed
    by `stop()`/`close()`; `restart()` keeps the flash file."""

    def __init__(self, flash: str | None = None, transport: str = "tcp", arena: int | None = None,
                 slot_bytes: int | None = None, name: str | None = None, port: int = 0,
                 binary: str | None = None, startup_timeout: float = 10.0):
        if transport not in ("tcp", "pty"):
            raise ValueError(f"transport must be 'tcp' or 'pty', got {transport!r}")
        self.transport = transport
        self.arena, self.slot_bytes, self.name = arena, slot_bytes, name
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

    def _last_words(self, lines: int = 12) -> str:
        text = self.log_text().strip()
        if not text:
            return ""
        return "; its last words:\n" + "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        """Everything the board wrote to stderr (its log), across restarts."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def check(self) -> None:
        """Raise EmulatorError if the board died."""
        if self.proc is not None and self.proc.poll() is not None:
            raise EmulatorError(f"the host board exited with code {self.proc.returncode}"
                                f"{self._last_words()}")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout`); return the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._reap()
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL, like pulling the power (fault tests); the flash file stays."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._drain is not None:
            self._drain.join(timeout=1)
            self._drain = None

    def restart(self, kill: bool = False) -> "HostEmulator":
        """Stop (or kill) and start again on the same flash file. `.url` may change
        (a new ephemeral port or pty) unless a fixed `port` was given."""
        self.kill() if kill else self.stop()
        self.proc = None
        return self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "HostEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive else "stopped"
        return f"<HostEmulator {self.url or '-'} {state}>"
