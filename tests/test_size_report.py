"""tools/size_report.py on the Cortex-M3 board: the four builds link, their framework
costs are ordered as the builds nest, and the issue's flash targets hold (byte counts of
a deterministic build, not timings: a regression guard for the firmware's size).
Fails, never skips, without the toolchain (tools/install.sh)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def test_cortex_m3_framework_cost_within_the_targets():
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc missing: run tools/install.sh (CI does)")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "size_report.py"),
                        "--board", "lm3s6965evb", "--json"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = {row["build"]: row for row in json.loads(r.stdout)}
    assert list(rows) == ["noop", "infer", "serve", "full"]
    cost = {b: rows[b]["framework_cost"] for b in rows}
    assert cost["noop"] == 0 and rows["noop"]["flash"] > 0
    assert 0 < cost["infer"] < cost["serve"] < cost["full"]  # each build adds to the last
    assert cost["infer"] <= 9.7 * 1024, cost   # TFLM's measured framework cost
    assert cost["full"] <= 24 * 1024, cost     # inference + fine-tuning + protocol
