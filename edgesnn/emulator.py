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


class _BoardProcess:
    """What every emulated board shares: one supervised process writing a log file,
    with liveness, exit codes and "last words" for error messages, stop/kill/restart,
    and a context manager. Subclasses define `start()` and `label`."""

    label = "the board"
    LOG_NOISE: tuple = ()  # log lines that are not the board's words
    proc: "subprocess.Popen | None" = None
    url: "str | None" = None

    def start(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def log_text(self) -> str:
        """Everything the board process logged, across restarts."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _last_words(self, lines: int = 10) -> str:
        text = "\n".join(ln for ln in self.log_text().splitlines()
                         if not any(noise in ln for noise in self.LOG_NOISE)).strip()
        if not text:
            return ""
        return "; its last words:\n" + "\n".join(text.splitlines()[-lines:])

    def _death(self, extra: str = "") -> str:
        code = self.proc.returncode if self.proc is not None else None
        return f"{self.label} exited with code {code}{extra}{self._last_words()}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> "int | None":
        return self.proc.pid if self.proc is not None else None

    def check(self) -> None:
        """Raise EmulatorError if the board died: its exit code and last words."""
        if self.proc is not None and self.proc.poll() is not None:
            raise EmulatorError(self._death())

    def wait(self, timeout: "float | None" = None) -> "int | None":
        """Wait for the board to exit (a crash ends it); its exit code, None on timeout."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 5.0) -> "int | None":
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
        """SIGKILL, like pulling the power (fault tests)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._reap()

    def _reap(self) -> None:
        """Release what the running process held (subclasses with pipes override)."""

    def restart(self, kill: bool = False):
        """Stop (or kill) and start again."""
        self.kill() if kill else self.stop()
        self.proc = None
        return self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.alive else "stopped"
        return f"<{type(self).__name__} {self.url or '-'} {state}>"


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


class HostEmulator(_BoardProcess):
    """One host-board process. `transport` is "tcp" (url socket://127.0.0.1:PORT) or
    "pty" (url /dev/pts/N). Without `flash` a temporary flash file is used and removed
    by `stop()`/`close()`; `restart()` keeps the flash file."""

    label = "the host board"

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

    def _reap(self) -> None:  # the stdout pipe and its drain thread
        if self.proc is not None and self.proc.stdout is not None:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._drain is not None:
            self._drain.join(timeout=1)
            self._drain = None


# ---- QEMU-emulated Cortex-M boards (boards/<name>/, boards/cortexm/) -----------------

QEMU = "qemu-system-arm"
ARM_GCC = "arm-none-eabi-gcc"
# How long a board that reported a fault may take to exit before it is killed: bounded,
# and generous enough for a loaded 2-core CI machine (QEMU normally exits at once).
EXIT_GRACE = 10.0

# name -> QEMU machine and -icount shift (2^shift ns per instruction; the firmware's
# TICK_Q32 assumes this shift: see boards/cortexm/systick.c and docs/boards.md)
QEMU_BOARDS = {
    "mps2-an386": {"machine": "mps2-an386", "shift": 6, "cpu": "cortex-m4"},
    "lm3s6965evb": {"machine": "lm3s6965evb", "shift": 7, "cpu": "cortex-m3"},
    "netduinoplus2": {"machine": "netduinoplus2", "shift": 3, "cpu": "cortex-m4"},
}
CORTEXM_DIR = os.path.join(ROOT, "boards", "cortexm")
_INSTALL_HINT = ("install them with `bash tools/install.sh` or `apt-get install "
                 "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm`")


def _check_board(board: str) -> dict:
    if board not in QEMU_BOARDS:
        raise EmulatorError(f"unknown board {board!r}; the QEMU boards are "
                            f"{', '.join(QEMU_BOARDS)}")
    return QEMU_BOARDS[board]


def firmware_dir(board: str, app: str = "full", fault: int = 0) -> str:
    tag = app if not fault else f"{app}-fault{fault}"
    return os.path.join(ROOT, "build", "boards", board, tag)


def build_firmware(board: str, app: str = "full", fault: int = 0, force: bool = False) -> str:
    """Build boards/<board> (APP=full|infer|noop, FAULT=0|1|2) when its sources are
    newer than the ELF; return the ELF's path."""
    _check_board(board)
    src = os.path.join(ROOT, "boards", board)
    if not os.path.isfile(os.path.join(src, "Makefile")):
        raise EmulatorError(f"the {board} firmware sources are not in {src}; the emulator "
                            "needs a source checkout of edgesnn")
    out = firmware_dir(board, app, fault)
    elf = os.path.join(out, "firmware.elf")
    dirs = [src, CORTEXM_DIR, os.path.join(ROOT, "runtime_c", "src"),
            os.path.join(ROOT, "runtime_c", "include")]

    def fresh() -> bool:
        if force or not os.path.isfile(elf):
            return False
        newest = 0.0
        for top in dirs:
            for dirpath, _, files in os.walk(top):
                for f in files:
                    if f.endswith((".c", ".h", ".ld", ".mk")) or f == "Makefile":
                        newest = max(newest, os.path.getmtime(os.path.join(dirpath, f)))
        return os.path.getmtime(elf) >= newest

    if fresh():
        return elf
    missing = [t for t in ("make", ARM_GCC) if shutil.which(t) is None]
    if missing:
        raise EmulatorError(f"building the {board} firmware needs {' and '.join(missing)}; "
                            + _INSTALL_HINT)
    os.makedirs(out, exist_ok=True)
    import fcntl
    with open(os.path.join(os.path.dirname(out), ".build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if fresh():
            return elf
        proc = subprocess.run(["make", "-C", src, f"OUT={out}", f"APP={app}", f"FAULT={fault}"],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(elf):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise EmulatorError(f"building the {board} firmware failed (make -C {src}):\n{tail}")
        os.utime(elf)
    return elf


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuBoard(_BoardProcess):
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
        self.spec = _check_board(board)
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
        cmd = [QEMU, "-M", self.spec["machine"], "-nographic", "-monitor", "none",
               "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on",
               "-semihosting-config", "enable=on,target=native"]
        if self.icount:
            cmd += ["-icount", f"shift={self.spec['shift']},sleep=off"]
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


def board_emulator(board: str = "host", **kw):
    """HostEmulator for "host", QemuBoard for the QEMU boards."""
    if board == "host":
        return HostEmulator(**kw)
    return QemuBoard(board, **kw)
