"""The fine-tuning engine's C tests (runtime_c/tests/test_train.c) under ASan + UBSan,
on the shipped model and the packed MLP and conv architectures (and reversible ones)."""
from __future__ import annotations

import os
import re
import subprocess

from conftest import ROOT


def test_training_engine_under_sanitizers(tmp_path, default_model, packed_archs, reversible_blobs):
    paths = [os.path.join(ROOT, "edgesnn", "models", "digits.esnn")]
    for name, blob in list(packed_archs.items())[:2] + list(reversible_blobs.items()):
        p = tmp_path / f"{name}.esnn"
        p.write_bytes(blob)
        paths.append(str(p))
    out = str(tmp_path / "build")
    r = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "runtime_c"), "test-train",
                        f"OUT={out}", "TRAIN_BLOBS=" + " ".join(paths)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    m = re.findall(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
    assert m and int(m[-1][1]) == 0 and int(m[-1][0]) >= 200 * len(paths)
