"""Framing efficiency of an upload: image bytes / all bytes on the wire (both ways).

    python tools/bench_protocol.py [--model M.esnn] [--repeat N] [--json]

Uploads the model to the host emulator board through a transport that counts every
byte written and read, on a clean link and through a proxy corrupting 1% of the bytes
in both directions (tools/faultproxy.py). Target: >= 90% on the clean link.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import edgesnn  # noqa: E402
from edgesnn.emulate import HostEmulator  # noqa: E402
from edgesnn.serial import Board, Link, open_port  # noqa: E402


class CountingPort:
    """Wraps a pyserial port; counts the bytes that cross it."""

    def __init__(self, port):
        self.port = port
        self.written = 0
        self.read_bytes = 0

    @property
    def timeout(self):
        return self.port.timeout

    @timeout.setter
    def timeout(self, v):
        self.port.timeout = v

    @property
    def in_waiting(self):
        return self.port.in_waiting

    def write(self, data):
        self.written += len(data)
        return self.port.write(data)

    def read(self, n):
        data = self.port.read(n)
        self.read_bytes += len(data)
        return data

    def close(self):
        from edgesnn.serial.link import close_port
        close_port(self.port)


def upload_once(url, blob, timeout, retries):
    counting = CountingPort(open_port(url))
    board = Board(Link(counting, timeout=timeout, retries=retries, name=url), url=url)
    try:
        board.info()  # connect as `edgesnn flash` does; not counted below
        w0, r0 = counting.written, counting.read_bytes
        t0 = time.perf_counter()
        res = board.upload(blob)
        seconds = time.perf_counter() - t0
        wire = counting.written - w0 + counting.read_bytes - r0
        return {"image_bytes": len(blob), "wire_bytes": wire,
                "tx_bytes": counting.written - w0, "rx_bytes": counting.read_bytes - r0,
                "efficiency": len(blob) / wire, "seconds": seconds,
                "retransmissions": board.link.retransmissions, "slot": res["slot"]}
    finally:
        board.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=edgesnn.default_model_path())
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    blob = edgesnn.load(args.model).blob
    from faultproxy import FaultProxy, Faults
    rows = {}
    with HostEmulator() as emu:
        runs = [upload_once(emu.url, blob, 0.5, 10) for _ in range(args.repeat)]
        rows["clean"] = runs
        f = Faults(corrupt=0.01)
        with FaultProxy(lambda: FaultProxy.target_of(emu.url), up=f, down=f, seed=1) as proxy:
            rows["corrupt_1pct"] = [upload_once(proxy.url, blob, 0.05, 40)
                                    for _ in range(args.repeat)]
    summary = {}
    for name, runs in rows.items():
        summary[name] = {
            "image_bytes": len(blob),
            "wire_bytes_mean": sum(r["wire_bytes"] for r in runs) / len(runs),
            "efficiency_mean": sum(r["efficiency"] for r in runs) / len(runs),
            "efficiency_min": min(r["efficiency"] for r in runs),
            "seconds_median": sorted(r["seconds"] for r in runs)[len(runs) // 2],
            "retransmissions_mean": sum(r["retransmissions"] for r in runs) / len(runs),
        }
    if args.json:
        json.dump({"model": args.model, "repeat": args.repeat, "summary": summary}, sys.stdout,
                  indent=2)
        print()
        return 0
    print(f"model {args.model}: {len(blob)} bytes, {args.repeat} uploads each, host emulator "
          "over TCP loopback")
    for name, s in summary.items():
        print(f"{name:<13} efficiency {100 * s['efficiency_mean']:.1f}% "
              f"(min {100 * s['efficiency_min']:.1f}%), {s['wire_bytes_mean']:.0f} B on the "
              f"wire, upload {1e3 * s['seconds_median']:.1f} ms (median), "
              f"{s['retransmissions_mean']:.1f} retransmissions")
    ok = summary["clean"]["efficiency_min"] >= 0.90
    print(f"target >= 90% on the clean link: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
