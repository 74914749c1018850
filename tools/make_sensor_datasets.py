"""Build edgesnn/data/sensors/<name>.npz from the .ts files bundled in an aeon wheel.

The tool never downloads anything: fetch the wheel yourself (it is only read as a zip;
aeon is not installed or imported), then

    pip download --no-deps aeon==1.6.0 -d /tmp/aeon
    python tools/make_sensor_datasets.py /tmp/aeon/aeon-1.6.0-py3-none-any.whl

Each .npz holds x_train / x_test float32 (N, T, C), y_train / y_test int64 indices into
class_names, lengths_train / lengths_test int64 (N,) (frames before padding; unequal-
length sets are zero-padded to the longest series of either split), and provenance: one
string naming the aeon version, the wheel's file name and sha256, the sha256 of every
source .ts file, the data set's origin and citation, and the header comments of the
.ts file. The output is deterministic (fixed zip timestamps), so re-running the tool on
the same wheel gives the same bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from edgesnn.data.ts_format import PAD_RULE, parse_ts  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "edgesnn", "data",
                       "sensors")

# name -> (aeon folder, origin/citation line). The citations are the ones the UEA/UCR
# archive (timeseriesclassification.com, linked from aeon's loader docstrings) asks for.
SETS = {
    "basicmotions": ("BasicMotions",
                     "UEA multivariate archive: A. Bagnall et al., 'The UEA multivariate time "
                     "series classification archive, 2018', arXiv:1811.00075; "
                     "https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions"),
    "japanesevowels": ("JapaneseVowels",
                       "UCI Machine Learning Repository (Japanese Vowels, CC BY 4.0): M. Kudo, "
                       "J. Toyama and M. Shimbo, 'Multidimensional Curve Classification Using "
                       "Passing-Through Regions', Pattern Recognition Letters 20(11-13), "
                       "1103-1111, 1999; in the UEA multivariate archive (arXiv:1811.00075); "
                       "https://timeseriesclassification.com/description.php?Dataset=JapaneseVowels"),
    "gunpoint": ("GunPoint",
                 "UCR time series archive: H. A. Dau et al., 'The UCR Time Series Archive', "
                 "IEEE/CAA J. Autom. Sinica 6(6), 2019; GunPoint by C. A. Ratanamahatana and "
                 "E. Keogh (2005); "
                 "https://timeseriesclassification.com/description.php?Dataset=GunPoint"),
}
LICENCE = ("redistributed here as in the aeon wheel (aeon: BSD-3-Clause); the data are the "
           "archive's, cite the sources above when you publish results on them")


def _version(zf: zipfile.ZipFile, wheel: str) -> str:
    for n in zf.namelist():
        if n.endswith(".dist-info/METADATA"):
            m = re.search(r"^Version: (\S+)", zf.read(n).decode("utf-8", "replace"), re.M)
            if m:
                return m.group(1)
    m = re.match(r"aeon-([^-]+)-", os.path.basename(wheel))
    return m.group(1) if m else "unknown"


def build(wheel: str, out_dir: str = OUT_DIR) -> dict:
    """Write the three .npz files; returns {name: (path, bytes)}."""
    with open(wheel, "rb") as f:
        wheel_sha = hashlib.sha256(f.read()).hexdigest()
    written = {}
    with zipfile.ZipFile(wheel) as zf:
        version = _version(zf, wheel)
        for name, (folder, cite) in SETS.items():
            parts, shas = {}, []
            for split in ("TRAIN", "TEST"):
                member = f"aeon/datasets/data/{folder}/{folder}_{split}.ts"
                raw = zf.read(member)
                shas.append(f"{os.path.basename(member)} sha256 {hashlib.sha256(raw).hexdigest()}")
                parts[split] = parse_ts(raw.decode("utf-8"), source=member)
            tr, te = parts["TRAIN"], parts["TEST"]
            if tr.class_names != te.class_names or tr.x.shape[2] != te.x.shape[2]:
                raise SystemExit(f"{folder}: train and test disagree on classes or channels")
            t = max(tr.x.shape[1], te.x.shape[1])
            equal = bool(tr.equal_length and te.equal_length)
            prov = [f"{folder} from aeon {version} (wheel {os.path.basename(wheel)}, sha256 "
                    f"{wheel_sha}), aeon/datasets/data/{folder}/",
                    *shas,
                    f"source: {cite}",
                    f"licence: {LICENCE}",
                    "layout: x (N, T, C) float32 = cases, frames, channels; y int64 indices "
                    "into class_names",
                    ("equal-length series" if equal else f"unequal-length series padded to "
                     f"T={t} with {PAD_RULE}"),
                    "header comments of the .ts file:",
                    *[f"  {c}" for c in tr.comments if c]]
            arrays = dict(
                x_train=_pad(tr.x, t), y_train=tr.y, x_test=_pad(te.x, t), y_test=te.y,
                lengths_train=tr.lengths, lengths_test=te.lengths,
                class_names=np.array(tr.class_names), provenance=np.array("\n".join(prov)))
            path = os.path.join(out_dir, f"{name}.npz")
            os.makedirs(out_dir, exist_ok=True)
            _savez_deterministic(path, arrays)
            written[name] = (path, os.path.getsize(path))
    return written


def _pad(x: np.ndarray, t: int) -> np.ndarray:
    out = np.zeros((x.shape[0], t, x.shape[2]), dtype=np.float32)
    out[:, :x.shape[1]] = x
    return out


def _savez_deterministic(path: str, arrays: dict) -> None:
    """np.savez_compressed, but with a fixed timestamp in the zip so the bytes repeat."""
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as zf:
        for key, val in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(val), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    os.replace(path + ".tmp", path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", help="a downloaded aeon wheel (.whl), e.g. aeon-1.6.0-py3-none-any.whl")
    ap.add_argument("-o", "--out-dir", default=OUT_DIR, help="where to write <name>.npz")
    args = ap.parse_args(argv)
    total = 0
    for name, (path, size) in build(args.wheel, args.out_dir).items():
        print(f"wrote {os.path.relpath(path)}: {size} bytes")
        total += size
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
