"""The host emulator board over a wire format written out here by hand (COBS + CRC-32
framing and the command layouts of docs/protocol.md), independently of edgesnn/serial/:
a mistake made the same way in edgesnn/serial/ and the device code would pass the other
serial tests but not this one.

HELLO, upload of the shipped model in 1020-byte chunks, COMMIT, one INFER per mode
compared with edgesnn.load(...).outputs(...), read-back, a kill -9 and restart on the
same flash file (the model must still be there) and a RESET.
"""
import os
import signal
import struct
import subprocess
import zlib

import numpy as np
import serial

import edgesnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODEL = os.path.join(ROOT, "edgesnn", "models", "digits.esnn")
HELLO, STATS, RESET, BEGIN, CHUNK, COMMIT, INFER, READ_SLOT = 1, 2, 3, 0x10, 0x11, 0x12, 0x20, 0x30


def cobs_encode(data: bytes) -> bytes:
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out += b"\xff" + block
                block.clear()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ValueError("bad COBS")
        out += data[i + 1:i + code]
        i += code
        if code < 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


class Link:
    def __init__(self, url):
        self.port = serial.serial_for_url(url, timeout=0.5)
        self.seq = 0
        self.port.write(b"\x00")  # flush a half frame in the device's buffer

    def request(self, cmd, payload=b"", retries=10):
        self.seq = (self.seq + 1) & 0xFFFF
        head = struct.pack("<BBHhH", 0xA5, cmd, self.seq, 0, len(payload)) + payload
        frame = cobs_encode(head + struct.pack("<I", zlib.crc32(head))) + b"\x00"
        for _ in range(retries):
            self.port.write(frame)
            while True:
                raw = self.port.read_until(b"\x00")
                if not raw.endswith(b"\x00"):
                    break  # timeout: retransmit the same bytes
                body = cobs_decode(raw[:-1])
                if len(body) < 12:
                    continue
                kind, rcmd, seq, status, plen = struct.unpack_from("<BBHhH", body)
                if (kind != 0x5A or plen != len(body) - 12
                        or zlib.crc32(body[:8 + plen]) != struct.unpack_from("<I", body, 8 + plen)[0]):
                    continue
                if seq == self.seq and rcmd == cmd:
                    return status, body[8:8 + plen]
        raise TimeoutError(f"no response to cmd 0x{cmd:02x}")

    def ok(self, cmd, payload=b""):
        status, data = self.request(cmd, payload)
        assert status == 0, f"cmd 0x{cmd:02x} failed with status {status}"
        return data

    def hello(self):
        p = self.ok(HELLO)
        (proto, fmaj, fmin, maxp, ram, arena, slot_bytes, active, tick_kind) = \
            struct.unpack_from("<HHHHIIIBB", p)
        slots = [struct.unpack_from("<BBHIII", p, 24 + 16 * i) for i in range(2)]
        n = p[56]
        name = p[57:57 + n].decode()
        version = p[58 + n:58 + n + p[57 + n]].decode()
        return dict(proto=proto, format=(fmaj, fmin), max_payload=maxp, ram=ram, arena=arena,
                    slot_bytes=slot_bytes, active=active, tick_kind=tick_kind,
                    slots=[dict(valid=s[0], generation=s[3], length=s[4], crc=s[5]) for s in slots],
                    name=name, version=version)

    def close(self):
        self.port.close()


def start(binary, flash):
    proc = subprocess.Popen([binary, "--flash", flash, "--tcp", "0", "--name", "smoke"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("edgesnn-host ready url="), f"banner: {line!r}"
    return proc, line.split("url=", 1)[1]


def test_host_board_speaks_the_hand_written_wire_format(host_board_exe, tmp_path):
    blob = open(MODEL, "rb").read()
    model = edgesnn.load(MODEL)
    flash = str(tmp_path / "flash.bin")
    binary = host_board_exe
    proc, url = start(binary, flash)
    try:
        link = Link(url)
        h = link.hello()
        assert h["proto"] == 1 and h["max_payload"] == 1024 and h["slot_bytes"] >= len(blob)
        gen0 = max(s["generation"] for s in h["slots"] if s["valid"]) if h["active"] != 0xFF else 0

        # upload + commit
        crc = zlib.crc32(blob)
        (nxt,) = struct.unpack("<I", link.ok(BEGIN, struct.pack("<II", len(blob), crc)))
        while nxt < len(blob):
            data = blob[nxt:nxt + 1020]
            (nxt,) = struct.unpack("<I", link.ok(CHUNK, struct.pack("<I", nxt) + data))
        slot, _, _, gen = struct.unpack("<BBHI", link.ok(COMMIT))
        assert gen == gen0 + 1
        h = link.hello()
        assert h["active"] == slot and h["slots"][slot]["crc"] == crc

        # one INFER per mode, compared with the Python binding of the same C core
        rng = np.random.default_rng(0)
        q = rng.integers(0, 256, size=model.input_shape, dtype=np.uint8)
        for mode, name in ((0, "onestep"), (1, "tstep")):
            p = link.ok(INFER, struct.pack("<BBH", mode, 0, 0) + q.tobytes())
            dtype, _, numel, argmax, ticks = struct.unpack_from("<BBHII", p)
            out = np.frombuffer(p[12:], dtype=np.uint8 if dtype == 1 else "<i4")
            want = model.outputs(q, mode=name, quantized=True).reshape(-1)
            assert numel == want.size and np.array_equal(out, want), (name, out, want)
            assert argmax == int(np.argmax(want))

        # read back
        back = b""
        while len(back) < len(blob):
            n = min(1024, len(blob) - len(back))
            back += link.ok(READ_SLOT, struct.pack("<BBHI", slot, 0, n, len(back)))
        assert back == blob

        # kill -9, restart on the same flash: the committed model is still active
        link.close()
        proc.kill()
        proc.wait()
        proc, url = start(binary, flash)
        link = Link(url)
        h = link.hello()
        assert h["active"] == slot and h["slots"][slot]["generation"] == gen, h
        # RESET: answered, then the device reboots into the same model
        link.ok(RESET)
        stats = struct.unpack_from("<10I", link.ok(STATS))  # later fields: appended
        assert stats[9] == 2 and link.hello()["active"] == slot, stats
        link.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
