"""Fault injection for the serial-protocol tests and tools/bench_protocol.py: a
fault-injecting TCP proxy (loopback only), and KillAtFrame, a port wrapper that kills
the board mid-request.

    with FaultProxy(("127.0.0.1", board_port), up=Faults(corrupt=0.01),
                    down=Faults(corrupt=0.01), seed=1) as proxy:
        board = edgesnn.connect(proxy.url)

`up` is client -> board, `down` is board -> client. Per byte: drop, corrupt (xor a
random non-zero value) or duplicate with the given probabilities; per received chunk:
delay by up to `max_delay` seconds with probability `delay` (order is kept). `cut_after`
closes a connection after that many bytes have passed up (or down) on it; the proxy
keeps accepting new connections. The RNG is seeded per (seed, connection, direction).
"""
from __future__ import annotations

import ipaddress
import select
import socket
import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Faults:
    drop: float = 0.0
    corrupt: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    max_delay: float = 0.005
    cut_after: int | None = None  # bytes forwarded in this direction, per connection


@dataclass
class Counters:
    forwarded: int = 0
    dropped: int = 0
    corrupted: int = 0
    duplicated: int = 0
    delayed: int = 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


class FaultProxy:
    def __init__(self, target, up: Faults | None = None, down: Faults | None = None,
                 seed: int = 0, max_connections: int = 1000):
        self.target = target  # (host, port), or a callable returning one (board restarts)
        self.up = up or Faults()
        self.down = down or Faults()
        self.seed = seed
        self.max_connections = max_connections
        self.stats = {"up": Counters(), "down": Counters()}
        self.connections = 0
        self.cuts = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(4)
        self.port = self._listen.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"

    @staticmethod
    def target_of(url: str):
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        return host, int(port)

    # ---- lifetime --------------------------------------------------------------
    def start(self) -> "FaultProxy":
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def close(self) -> None:
        self._stop.set()
        try:
            self._listen.close()
        except OSError:
            pass
        self.cut_all()
        for t in self._threads:
            t.join(timeout=2)

    def cut_all(self) -> None:
        """Close every open connection now (like pulling the cable)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # ---- plumbing ----------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set() and self.connections < self.max_connections:
            r, _, _ = select.select([self._listen], [], [], 0.05)
            if not r:
                continue
            try:
                client, _ = self._listen.accept()
            except OSError:
                return
            target = self.target() if callable(self.target) else self.target
            if not _loopback(target[0]):
                client.close()
                raise ValueError(f"FaultProxy only forwards to loopback, not {target[0]}")
            try:
                board = socket.create_connection(target, timeout=2)
            except OSError:
                client.close()
                continue
            for s in (client, board):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
            n = self.connections
            self.connections += 1
            with self._lock:
                self._socks += [client, board]
            pair = {"open": True}
            for name, src, dst, faults in (("up", client, board, self.up),
                                           ("down", board, client, self.down)):
                rng = np.random.default_rng([self.seed, n, 0 if name == "up" else 1])
                t = threading.Thread(target=self._pump,
                                     args=(name, src, dst, faults, rng, pair, client, board),
                                     daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, name, src, dst, faults: Faults, rng, pair, client, board) -> None:
        count = self.stats[name]
        passed = 0
        try:
            while not self._stop.is_set() and pair["open"]:
                r, _, _ = select.select([src], [], [], 0.05)
                if not r:
                    continue
                data = src.recv(4096)
                if not data:
                    break
                cut = False
                if faults.cut_after is not None and passed + len(data) >= faults.cut_after:
                    data = data[:max(0, faults.cut_after - passed)]
                    cut = True
                passed += len(data)
                out = self._mangle(data, faults, rng, count)
                if faults.delay and rng.random() < faults.delay:
                    count.delayed += 1
                    time.sleep(rng.uniform(0, faults.max_delay))
                if out:
                    dst.sendall(out)
                if cut:
                    self.cuts += 1
                    break
        except OSError:
            pass
        finally:
            pair["open"] = False
            for s in (client, board):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            with self._lock:
                self._socks = [s for s in self._socks if s not in (client, board)]

    @staticmethod
    def _mangle(data: bytes, f: Faults, rng, count: Counters) -> bytes:
        if not data or not (f.drop or f.corrupt or f.duplicate):
            count.forwarded += len(data)
            return data
        a = np.frombuffer(data, dtype=np.uint8)
        r = rng.random((3, len(a)))
        drop = r[0] < f.drop
        corrupt = (r[1] < f.corrupt) & ~drop
        dup = (r[2] < f.duplicate) & ~drop
        x = a.copy()
        x[corrupt] ^= rng.integers(1, 256, size=int(corrupt.sum()), dtype=np.uint8)
        reps = np.where(drop, 0, np.where(dup, 2, 1))
        out = np.repeat(x, reps).tobytes()
        count.dropped += int(drop.sum())
        count.corrupted += int(corrupt.sum())
        count.duplicated += int(dup.sum())
        count.forwarded += len(out)
        return out


class KillAtFrame:
    """A port wrapper that SIGKILLs the board (`emu.kill()`) while request frame number
    `frames` (counting from 0, wake-up bytes not counted) is being written: after writing
    `extra` bytes of it (a frame cut in the middle, or the whole frame) and waiting
    `settle` seconds (the board may be mid flash write). The write then fails as a dead
    port does (OSError)."""

    def __init__(self, port, emu, frames, extra, settle):
        self.port, self.emu, self.frames, self.extra, self.settle = port, emu, frames, extra, settle
        self.timeout = port.timeout
        self.seen = 0

    def write(self, data):
        if data == b"\x00":
            return self.port.write(data)
        if self.seen == self.frames:
            if self.extra:
                self.port.write(data[:self.extra])
            time.sleep(self.settle)
            self.emu.kill()
            raise OSError("board killed")
        self.seen += 1
        return self.port.write(data)

    @property
    def in_waiting(self):
        return self.port.in_waiting

    def read(self, n):
        return self.port.read(n)

    def close(self):
        from edgesnn.serial.link import close_port
        close_port(self.port)
