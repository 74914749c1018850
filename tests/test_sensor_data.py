"""The shipped sensor sets (BasicMotions, JapaneseVowels, GunPoint from the aeon wheel's
UEA/UCR .ts files): the numpy .ts reader on hand-written files, the shipped .npz files
against the archive's published facts, their provenance, and the command line
(`--calib basicmotions`, `--input basicmotions`, the one-line errors of issue 13's rough
edges)."""
import json
import os
import subprocess
import sys

import nir
import numpy as np
import pytest

import edgesnn
from edgesnn.cli import main
from edgesnn.data import SENSOR_SETS, load_sensor, sensor_classes, sensor_lengths
from edgesnn.data.sensor_sets import sensor_path
from edgesnn.data.ts_format import parse_ts, read_ts
from edgesnn.errors import EdgesnnError
from edgesnn.format.blob import read_blob
from edgesnn.format.inputs import quantize_input
from edgesnn.format.reference import run_tstep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------ the .ts reader
EQUAL_MULTI = """# a comment: the citation line
@problemName Toy
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true walk run
@data
1,2,3:4,5,6:run
0.5,-1,2e1:7,8,9:walk

-1,-2,-3:0,0,0:run
"""

UNIVARIATE = """@problemName Uni
@univariate true
@equalLength true
@seriesLength 4
@classLabel true 1 2
@data
1,2,3,4:2
5,6,7,8:1
"""

UNEQUAL = """@problemName Vowels
@timestamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b c
@data
1,2:3,4:c
1,2,3,4:5,6,7,8:a
9:9:b
"""


def test_ts_equal_length_multivariate():
    d = parse_ts(EQUAL_MULTI)
    assert d.x.dtype == np.float32 and d.x.shape == (3, 3, 2)  # (N, T, C)
    np.testing.assert_array_equal(d.x[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(d.x[1, :, 0], [0.5, -1, 20])
    assert d.class_names == ["walk", "run"]
    np.testing.assert_array_equal(d.y, [1, 0, 1])  # indices into @classLabel's order
    assert d.y.dtype == np.int64 and d.equal_length and d.problem_name == "Toy"
    np.testing.assert_array_equal(d.lengths, [3, 3, 3])
    assert d.comments == ["a comment: the citation line"]


def test_ts_univariate():
    d = parse_ts(UNIVARIATE)
    assert d.x.shape == (2, 4, 1) and d.class_names == ["1", "2"]
    np.testing.assert_array_equal(d.x[:, :, 0], [[1, 2, 3, 4], [5, 6, 7, 8]])
    np.testing.assert_array_equal(d.y, [1, 0])


def test_ts_unequal_length_zero_padded_with_lengths():
    d = parse_ts(UNEQUAL)
    assert d.x.shape == (3, 4, 2) and not d.equal_length
    np.testing.assert_array_equal(d.lengths, [2, 4, 1])
    np.testing.assert_array_equal(d.x[0], [[1, 3], [2, 4], [0, 0], [0, 0]])  # zeros after the end
    np.testing.assert_array_equal(d.x[2], [[9, 9], [0, 0], [0, 0], [0, 0]])
    np.testing.assert_array_equal(d.y, [2, 0, 1])


@pytest.mark.parametrize("text, msg", [
    ("@problemName X\n@classLabel true a\n1,2:a\n", "expected a @tag"),
    ("@problemName X\n@classLabel true a b\n", "no @data"),
    ("@problemName X\n@data\n1,2:a\n", "no @classLabel"),
    ("@classLabel false\n@data\n1,2\n", "only classification"),
    ("@classLabel true a\n@data\n", "no cases"),
    ("@classLabel true a b\n@data\n1,2,x:a\n", "not a number"),
    ("@classLabel true a b\n@data\n1,2,3:z\n", "'z' is not one of"),
    ("@classLabel true a b\n@data\n1,2,3\n", "separated by ':'"),
    ("@dimensions 2\n@classLabel true a b\n@data\n1,2,3:a\n", "1 dimensions, expected 2"),
    ("@classLabel true a b\n@data\n1,2,3:4,5:a\n", "different lengths"),
    ("@equalLength true\n@classLabel true a b\n@data\n1,2,3:a\n1,2:b\n", "@equalLength true but case 2"),
    ("@seriesLength 5\n@equalLength true\n@classLabel true a b\n@data\n1,2,3:a\n", "@seriesLength 5"),
    ("@timeStamps true\n@classLabel true a b\n@data\n(1,2):a\n", "@timeStamps true"),
    ("@univariate maybe\n@classLabel true a\n@data\n1:a\n", "true or false"),
    ("@dimensions two\n@classLabel true a\n@data\n1:a\n", "whole number"),
    ("@classLabel true a a\n@data\n1:a\n", "twice"),
])
def test_ts_malformed_is_one_line_error(text, msg):
    with pytest.raises(EdgesnnError) as exc:
        parse_ts(text, source="bad.ts")
    assert msg in str(exc.value) and "\n" not in str(exc.value)
    assert str(exc.value).startswith("bad.ts")


def test_read_ts_file_and_missing(tmp_path):
    p = tmp_path / "toy.ts"
    p.write_text(UNIVARIATE)
    assert read_ts(str(p)).x.shape == (2, 4, 1)
    with pytest.raises(EdgesnnError, match="cannot read"):
        read_ts(str(tmp_path / "nope.ts"))


# ------------------------------------------------------------------ the shipped files
FACTS = {  # name: (train, test, channels, (min T, max T), classes), from the archive
    "basicmotions": (40, 40, 6, (100, 100), 4),
    "japanesevowels": (270, 370, 12, (7, 29), 9),
    "gunpoint": (50, 150, 1, (150, 150), 2),
}


@pytest.mark.parametrize("name", SENSOR_SETS)
def test_shipped_sets_match_the_archive(name):
    n_tr, n_te, c, (tmin, tmax), k = FACTS[name]
    for split, n in (("train", n_tr), ("test", n_te)):
        x, y, prov = load_sensor(name, split)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape == (n, tmax, c) and y.shape == (n,)
        assert np.all(np.isfinite(x)) and set(np.unique(y)) == set(range(k))
        lengths = sensor_lengths(name, split)
        assert lengths.shape == (n,) and lengths.min() >= tmin and lengths.max() <= tmax
        # padding rule: zeros after each series' true end
        for i in np.flatnonzero(lengths < tmax)[:20]:
            assert not np.any(x[i, lengths[i]:])
    assert len(sensor_classes(name)) == k
    # both splits together span the published length range
    both = np.concatenate([sensor_lengths(name, "train"), sensor_lengths(name, "test")])
    assert (both.min(), both.max()) == (tmin, tmax)


def test_shipped_class_counts():
    assert np.bincount(load_sensor("basicmotions", "train")[1]).tolist() == [10] * 4
    assert np.bincount(load_sensor("japanesevowels", "train")[1]).tolist() == [30] * 9
    assert np.bincount(load_sensor("gunpoint", "test")[1]).tolist() == [76, 74]
    assert sensor_classes("basicmotions") == ["Standing", "Running", "Walking", "Badminton"]


@pytest.mark.parametrize("name", SENSOR_SETS)
def test_provenance(name):
    prov = load_sensor(name, "test")[2]
    assert "from aeon 1.6.0 (wheel aeon-1.6.0-py3-none-any.whl, sha256 " in prov
    folder = {"basicmotions": "BasicMotions", "japanesevowels": "JapaneseVowels",
              "gunpoint": "GunPoint"}[name]
    for split in ("TRAIN", "TEST"):
        line = next(ln for ln in prov.splitlines() if ln.startswith(f"{folder}_{split}.ts sha256 "))
        assert len(line.split()[-1]) == 64
    assert "source: " in prov and "timeseriesclassification.com" in prov
    assert "licence: " in prov and "header comments of the .ts file:" in prov


def test_shipped_size_and_packaging():
    sizes = {n: os.path.getsize(sensor_path(n)) for n in SENSOR_SETS}
    assert sum(sizes.values()) < 800_000, sizes  # about 0.7 MB, as issue 13 estimated
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert "data/sensors/*.npz" in f.read()
    with open(os.path.join(ROOT, "MANIFEST.in")) as f:
        assert "edgesnn/data/sensors/*.npz" in f.read()


def test_load_sensor_bad_names():
    with pytest.raises(EdgesnnError, match="unknown sensor data set"):
        load_sensor("ecg", "train")
    with pytest.raises(EdgesnnError, match="split must be"):
        load_sensor("gunpoint", "validation")


def test_tool_rebuilds_from_a_wheel_bit_for_bit(tmp_path):
    """tools/make_sensor_datasets.py on a stand-in wheel holding the shipped sets' .ts
    files written back from the .npz: the same arrays come out. (The real wheel is not
    downloaded by tests.)"""
    import zipfile
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import make_sensor_datasets as tool
    finally:
        sys.path.pop(0)
    wheel = tmp_path / "aeon-9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("aeon-9.9.dist-info/METADATA", "Name: aeon\nVersion: 9.9\n")
        for name, (folder, _) in tool.SETS.items():
            classes = sensor_classes(name)
            for split in ("train", "test"):
                x, y, _ = load_sensor(name, split)
                lengths = sensor_lengths(name, split)
                rows = [":".join(",".join(repr(float(v)) for v in x[i, :lengths[i], c])
                                 for c in range(x.shape[2])) + ":" + classes[y[i]]
                        for i in range(len(x))]
                text = (f"#header for {name}\n@problemName {folder}\n@timeStamps false\n"
                        f"@univariate {'true' if x.shape[2] == 1 else 'false'}\n"
                        f"@dimensions {x.shape[2]}\n"
                        f"@equalLength {'true' if name != 'japanesevowels' else 'false'}\n"
                        f"@classLabel true {' '.join(classes)}\n@data\n" + "\n".join(rows))
                zf.writestr(f"aeon/datasets/data/{folder}/{folder}_{split.upper()}.ts", text)
    out = tmp_path / "out"
    written = tool.build(str(wheel), str(out))
    assert set(written) == set(SENSOR_SETS)
    for name in SENSOR_SETS:
        with np.load(out / f"{name}.npz") as new, np.load(sensor_path(name)) as old:
            assert sorted(new.files) == sorted(old.files)
            for k in new.files:
                if k != "provenance":
                    np.testing.assert_array_equal(new[k], old[k])
            assert "from aeon 9.9 (wheel aeon-9.9-py3-none-any.whl" in str(new["provenance"])
    first = (out / "gunpoint.npz").read_bytes()
    tool.build(str(wheel), str(out))
    assert (out / "gunpoint.npz").read_bytes() == first  # deterministic bytes


# ------------------------------------------------------------------ the command line
DT = 1e-4


def _lif(n, beta):
    tau = np.full((n,), DT / (1 - beta))
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.ones(n),
                   v_reset=np.zeros(n))


@pytest.fixture(scope="module")
def imu_nir(tmp_path_factory):
    """A small causal 6-16-4 LIF network (random weights; no training: the tests are
    about data plumbing and bit-exactness, not accuracy), as a NIR file."""
    rng = np.random.default_rng(0)
    nodes = {"input": nir.Input(input_type=np.array([6])),
             "fc1": nir.Affine(weight=rng.normal(0, 0.1, (16, 6)), bias=np.zeros(16)),
             "lif1": _lif(16, 0.875),
             "fc2": nir.Affine(weight=rng.normal(0, 0.5, (4, 16)), bias=np.zeros(4)),
             "lif2": _lif(4, 0.875),
             "output": nir.Output(output_type=np.array([4]))}
    names = list(nodes)
    path = tmp_path_factory.mktemp("imu") / "imu.nir"
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])),
                                      type_check=False))
    return str(path)


def test_pack_and_infer_basicmotions_sequence(imu_nir, tmp_path, capsys):
    """--calib basicmotions:50 --sequence: calibrate on the train split (first 50 of 100
    frames: a sequence blob takes at most 63 steps today), T defaults to the frames;
    infer --input basicmotions:50 runs the test split T-step, equal to the oracle."""
    out = tmp_path / "imu.esnn"
    assert main(["pack", imu_nir, "-o", str(out), "--calib", "basicmotions:50", "--sequence",
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["steps"] == 50 and rep["quant_accuracy"] is not None
    model = edgesnn.load(str(out))
    assert model.sequence and model.default_steps == 50
    x, y, _ = load_sensor("basicmotions", "test")
    x = x[:, :50]
    # the reported accuracy is on the held-out split
    got = model.simulate(x)
    assert rep["quant_accuracy"] == pytest.approx(float(np.mean(got.argmax(1) == y)))
    view = read_blob(model.blob)
    q = quantize_input(x, view.input_scale, view.input_zero_point)
    np.testing.assert_array_equal(got, run_tstep(view, q.reshape(len(x), -1), 50))
    assert main(["infer", str(out), "--input", "basicmotions:50", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mode"] == "tstep" and res["steps"] == 50  # a sequence blob runs T-step
    np.testing.assert_array_equal(np.asarray(res["outputs"]), got.reshape(len(x), -1))
    assert res["accuracy"] == pytest.approx(rep["quant_accuracy"])


def _cli(*args):
    """The real command line in a subprocess: exit status and stderr lines."""
    r = subprocess.run([sys.executable, "-m", "edgesnn", *args], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)
    return r.returncode, r.stderr.strip().splitlines()


def test_pack_sequence_data_without_sequence_flag(imu_nir, tmp_path):
    """Issue 13's rough edge: (N, T, C) calibration data without --sequence was
    mis-broadcast into N*T samples ('operands could not be broadcast')."""
    rc, err = _cli("pack", imu_nir, "-o", str(tmp_path / "x.esnn"), "--calib", "basicmotions")
    assert rc == 2 and len(err) == 1, err
    assert "sequence data; pass --sequence" in err[0] and "(40, 100, 6)" in err[0]
    assert not (tmp_path / "x.esnn").exists()


@pytest.mark.parametrize("calib, steps, msg", [
    ("basicmotions", [], "more than the 63 steps"),
    ("basicmotions", ["--steps", "16"], "sequences of 100 frames, but steps is 16"),
    ("basicmotions:20", ["--steps", "16"], "give --steps 20"),
    ("basicmotions:0", [], "must be a number of frames >= 1"),
    ("gunpoint:10", [], "shape (50, 10, 1)"),  # a 1-channel set for a 6-input model
])
def test_pack_sequence_errors(imu_nir, tmp_path, capsys, calib, steps, msg):
    assert main(["pack", imu_nir, "-o", str(tmp_path / "x.esnn"), "--calib", calib,
                 "--sequence", *steps]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err


def test_infer_sensor_input_on_a_non_sequence_blob(capsys):
    """The digits model is not a sequence blob: one line saying so, no re-cutting."""
    from edgesnn.runtime.model import default_model_path
    assert main(["infer", default_model_path(), "--input", "basicmotions"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is sequence data" in err[0] and "not a sequence blob" in err[0]


def test_finetune_causal_blob_is_refused_before_reading_data(imu_nir, tmp_path, capsys):
    """Issue 13's rough edge: finetune on a causal blob said the input shape was wrong;
    now it says what is unsupported, before touching the data file (missing here)."""
    blob = tmp_path / "imu.esnn"
    assert main(["pack", imu_nir, "-o", str(blob), "--calib", "basicmotions:8", "--sequence"]) == 0
    capsys.readouterr()
    rc, err = _cli("finetune", str(blob), str(tmp_path / "no_such.npz"), "-o",
                   str(tmp_path / "t.esnn"))
    assert rc == 2 and len(err) == 1, err
    assert "fine-tuning of causal (temporal) models is not supported yet (issue 14)" in err[0]
    assert "Traceback" not in err[0] and not (tmp_path / "t.esnn").exists()


def test_help_lists_the_sensor_sets(capsys):
    for verb in ("pack", "infer", "validate", "bench"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "basicmotions, japanesevowels or gunpoint" in text, verb
