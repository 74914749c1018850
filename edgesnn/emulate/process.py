"""What every emulated board shares: one supervised process, and one build-if-stale.

`BoardProcess` runs a board (the host board's C program or QEMU) as one supervised
process writing a log file; `build_if_stale` rebuilds a board's binary with make when a
source is newer. host.py and qemu.py hold the two kinds of board.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from ..errors import EdgesnnError

# the source checkout: boards/ and runtime_c/ are next to the edgesnn package
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_DIRS = [os.path.join(ROOT, "runtime_c", "src"), os.path.join(ROOT, "runtime_c", "include")]
# what counts as a board source for freshness: C, headers, make fragments, assembly,
# linker scripts, and every Makefile
SOURCE_SUFFIXES = (".c", ".h", ".mk", ".S", ".ld")


class EmulatorError(EdgesnnError):
    """An emulated board could not be built or started, or died."""


class BoardProcess:
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


def newest_source(dirs) -> float:
    """The newest modification time of a board source under `dirs`."""
    newest = 0.0
    for top in dirs:
        for dirpath, _, files in os.walk(top):
            for f in files:
                if f.endswith(SOURCE_SUFFIXES) or f == "Makefile":
                    newest = max(newest, os.path.getmtime(os.path.join(dirpath, f)))
    return newest


def build_if_stale(what: str, target: str, make_dir: str, make_args: list, source_dirs: list,
                   lock_path: str, tools: list, hint: str, force: bool = False) -> str:
    """Run `make -C make_dir *make_args` when `target` is older than a source under
    `source_dirs` (or `force`); return `target`. `tools` lists what the build needs, each
    a tuple of alternatives (("cc", "gcc") is either); `what` names the build in
    messages ("the host board"); `hint` says how to install missing tools. Several
    processes (test workers) may call this at once: the build runs under a file lock."""
    if not os.path.isfile(os.path.join(make_dir, "Makefile")):
        raise EmulatorError(f"{what} sources are not in {make_dir}; the emulator needs a "
                            "source checkout of edgesnn")

    def fresh() -> bool:
        return (not force and os.path.isfile(target)
                and os.path.getmtime(target) >= newest_source(source_dirs))

    if fresh():
        return target
    missing = [alts[-1] for alts in tools if not any(shutil.which(t) for t in alts)]
    if missing:
        raise EmulatorError(f"building {what} needs {' and '.join(missing)}; {hint}")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    import fcntl
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may build at once
        if fresh():
            return target
        proc = subprocess.run(["make", "-C", make_dir, *make_args], capture_output=True,
                              text=True)
        if proc.returncode != 0 or not os.path.isfile(target):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise EmulatorError(f"building {what} failed (make -C {make_dir}):\n{tail}")
        os.utime(target)  # make may skip relinking; the binary now counts as fresh
    return target
