"""A scripted fake board for the tests: a TCP server on 127.0.0.1 in a thread (pyserial's
socket:// URL) that speaks the framing of docs/protocol.md with edgesnn.serial.frame and
answers each request as a script says: honestly, or with any lie (tests/test_lying_device.py).
It stops by itself after LIFE seconds, so a host that would hang ends instead."""
from __future__ import annotations

import socket
import struct
import threading
import time

from edgesnn.serial import frame, proto

LIFE = 12.0  # seconds a fake board lives (bounds a hanging host)


def hello_payload(slot_bytes=65536, slots=((0, 0, 0, 0), (0, 0, 0, 0)), active=0xFF,
                  features=1, version=1, max_payload=1024, arena=200000) -> bytes:
    """A HELLO answer: slots are (valid, generation, length, crc32)."""
    p = struct.pack("<HHHHIIIBBBB", version, 1, 2, max_payload, 256 * 1024, arena, slot_bytes,
                    active, 0, 0, features)
    for valid, gen, length, crc in slots:
        p += struct.pack("<BBHIII", valid, 0, 0, gen, length, crc)
    name, runtime = b"liar", b"0.0"
    return p + bytes([len(name)]) + name + bytes([len(runtime)]) + runtime


def answer(req, status=0, payload=b"", seq=None, cmd=None) -> bytes:
    return frame.build_frame(proto.KIND_RESPONSE, req.cmd if cmd is None else cmd,
                             req.seq if seq is None else seq, status, payload)


FLOOD = object()  # a script's answer: stream bytes without a delimiter until the end


class FakeBoard:
    """`script(request_frame) -> bytes | None | FLOOD` decides every answer."""

    def __init__(self, script):
        self.script = script
        self.requests = []
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(4)
        self._srv.settimeout(0.05)
        self.url = f"socket://127.0.0.1:{self._srv.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        end = time.monotonic() + LIFE
        while time.monotonic() < end and not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except socket.timeout:
                continue
            with conn:
                self._session(conn, end)
        self._srv.close()

    def _session(self, conn, end):
        conn.settimeout(0.02)
        reader = frame.FrameReader(proto.KIND_REQUEST)
        flood = False
        while time.monotonic() < end and not self._stop.is_set():
            try:
                if flood:
                    conn.sendall(b"\x55" * 4096)
                data = conn.recv(65536)
                if not data and not flood:
                    return
            except socket.timeout:
                continue
            except OSError:
                return
            for f in reader.feed(data):
                self.requests.append(f.cmd)
                out = self.script(f)
                if out is FLOOD:
                    flood = True
                elif out:
                    try:
                        conn.sendall(out)
                    except OSError:
                        return

    def close(self):
        self._stop.set()
        self._thread.join(LIFE + 1)


def honest(hello=None, **cmds):
    """A script: HELLO answered with `hello` (bytes), commands in `cmds` by name with a
    function(request) -> answer, everything else silent."""
    hello = hello_payload() if hello is None else hello

    def script(req):
        name = proto.COMMAND_NAMES.get(req.cmd, "")
        if name in cmds:
            return cmds[name](req)
        if req.cmd == proto.HELLO:
            return answer(req, payload=hello)
        return None
    return script
