#!/usr/bin/env python3
"""Firmware sizes of the Cortex-M boards: text/data/bss of four builds per board,

  noop   the baseline: startup, vector table, fault handler, UART driver, a main that
         echoes the UART (boards/cortexm/noop_main.c)
  infer  inference only: validate + bind a model already in flash, invoke, argmax
         (boards/cortexm/infer_main.c; the model's bytes are not in the binary)
  serve  inference + the serial protocol (upload, two slots, read-back, stats),
         SysTick instruction counter, without fine-tuning (-DESNN_DEVICE_FINETUNE=0)
  full   the shipped firmware: serve + on-device fine-tuning (the FINETUNE_* commands,
         the training engine and the soft-float routines it needs) (boards/cortexm/main.c)

and the framework cost as TFLM measures it: a build's flash bytes (text + data) minus
the baseline's on the same board. RAM (data + bss) is mostly the board's configured
arena and RAM-backed flash slots (see docs/boards.md), so it is shown but not a cost.

    python tools/size_report.py [--board NAME ...] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgesnn.emulate import QEMU_BOARDS, build_firmware  # noqa: E402

APPS = ["noop", "infer", "serve", "full"]
# the targets, for Cortex-M3: TFLM's measured framework cost, and ours in full
TARGETS = {"infer": 9.7 * 1024, "full": 24 * 1024}
TARGET_CPU = "cortex-m3"


def sizes(elf: str) -> dict:
    out = subprocess.run(["arm-none-eabi-size", "-B", elf], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    text, data, bss = map(int, out[:3])
    return {"text": text, "data": data, "bss": bss, "flash": text + data}


def report(boards) -> list:
    rows = []
    for b in boards:
        base = None
        for app in APPS:
            s = sizes(build_firmware(b, app=app))
            if app == "noop":
                base = s["flash"]
            rows.append({"board": b, "cpu": QEMU_BOARDS[b].cpu, "build": app, **s,
                         "framework_cost": s["flash"] - base})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", action="append", choices=sorted(QEMU_BOARDS),
                    help="only this board (repeatable; default all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = report(args.board or list(QEMU_BOARDS))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    hdr = f"{'board':<14} {'cpu':<10} {'build':<6} {'text':>7} {'data':>5} {'bss':>8}  " \
          f"{'framework cost (flash - noop)':>30}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        cost = r["framework_cost"]
        note = ""
        if r["build"] in TARGETS and r["cpu"] == TARGET_CPU:
            t = TARGETS[r["build"]]
            note = f"  ({'within' if cost <= t else 'OVER'} the {t / 1024:.1f} KiB target)"
        print(f"{r['board']:<14} {r['cpu']:<10} {r['build']:<6} {r['text']:>7} {r['data']:>5} "
              f"{r['bss']:>8}  {cost:>8} B = {cost / 1024:5.2f} KiB{note}")
    print("\nbuilt with arm-none-eabi-gcc -Os -mthumb -mfloat-abi=soft, --gc-sections, "
          "newlib-nano;\nbss = the board's arena + RAM-backed flash slots + device state "
          "+ stack (docs/boards.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
