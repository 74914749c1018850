"""`edgesnn pack`: ONNX model -> quantized, planned, validated .esnn blob."""
from __future__ import annotations

import os

from ..errors import EdgesnnError
from ..format.intmodel import MAX_STEPS
from . import numbers
from .data import SENSOR_HELP, is_builtin, load_xy
from .output import emit_json

NAME = "pack"
HELP = "Import an ONNX or NIR model, quantize it with calibration data and write an .esnn blob."
EXAMPLE = """example:
  edgesnn pack model.onnx -o model.esnn --calib digits --steps 16
  edgesnn pack model.onnx -o model.esnn --calib calib.npz --percentile 99.99 --json
  edgesnn pack snn.nir -o snn.esnn --calib digits --steps 16 --reset subtract
  edgesnn pack imu.nir -o imu.esnn --calib basicmotions:50 --sequence   # T = 50 frames
(--calib takes DATA.npz with arrays x [and y], `digits`, or a shipped sensor set
 (basicmotions, japanesevowels, gunpoint; NAME:T keeps the first T frames): calibrate
 on the train split and report accuracy on the held-out split)"""


def add_arguments(p):
    p.add_argument("model", help="the ONNX model (an ANN with ReLU/Clip activations) or a NIR graph "
                   "(HDF5; snnTorch/Norse/... export), told apart by content")
    p.add_argument("-o", "--output", required=True, help="the .esnn file to write")
    p.add_argument("--calib", required=True,
                   help="calibration data: DATA.npz (x, optional y), `digits`, or "
                   + SENSOR_HELP + " (NIR models: with --sequence)")
    p.add_argument("--steps", "-T", type=numbers.steps, default=None,
                   help="time steps T stored as default (1..63; default 16, or with --sequence "
                   "the number of frames of the calibration sequences)")
    p.add_argument("--percentile", type=numbers.float_range(0, 100, lo_open=True), default=99.9,
                   help="activation percentile used as IF threshold for plain ReLU (default 99.9)")
    p.add_argument("--name", default=None, help="model name stored in the metadata")
    p.add_argument("--reset", choices=("auto", "subtract", "zero"), default="auto",
                   help="NIR only: reset of IF/LIF neurons (NIR cannot express subtraction; "
                   "auto guesses snnTorch-style subtract-one-step-late and says so)")
    p.add_argument("--dt", type=numbers.float_range(0, lo_open=True), default=None,
                   help="NIR only: the exporter's time step (default: Norse's 1e-3 for a graph that looks "
                   "like a Norse export, i.e. r = 1 and tau < 1e-3 everywhere, else snnTorch's 1e-4)")
    p.add_argument("--sequence", action="store_true",
                   help="NIR only: the input is T frames per sample (calib x of shape (N, T, ...))")
    p.add_argument("--json", action="store_true", help="machine-readable report")


def is_nir(path: str) -> bool:
    """NIR graphs are HDF5 files: the HDF5 magic (or, for an unreadable file, the extension)."""
    from ..compile.nir_import import HDF5_MAGIC
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_MAGIC or path.lower().endswith((".nir", ".h5", ".hdf5"))
    except OSError:
        return path.lower().endswith(".nir")


def run(args) -> int:
    from ..compile.pack import pack_onnx
    from ..runtime.model import Model

    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise EdgesnnError(f"--steps must be 1..{MAX_STEPS}, got {args.steps}")
    if not os.path.exists(args.model):
        raise EdgesnnError(f"no such file: {args.model}")
    calib_x, calib_y = load_xy(args.calib, split="train")
    eval_x, eval_y = (load_xy(args.calib, split="test") if is_builtin(args.calib)
                      else (calib_x, calib_y))
    if args.steps is None:
        args.steps = 16
        if args.sequence and calib_x.ndim >= 3:
            args.steps = int(calib_x.shape[1])  # T = the frames of each sequence
            if not 1 <= args.steps <= MAX_STEPS:
                raise EdgesnnError(
                    f"{args.calib}: the calibration sequences have {args.steps} frames, more "
                    f"than the {MAX_STEPS} steps a sequence blob takes; keep a window of the "
                    "first T frames (NAME:T for a shipped set, e.g. basicmotions:50; x[:, :T] for "
                    "your own data)")
    if is_nir(args.model):
        from ..compile.pack import pack_nir
        blob, report = pack_nir(args.model, calib_x, calib_y, steps=args.steps, name=args.name,
                                reset=args.reset, dt=args.dt, sequence=args.sequence,
                                eval_x=eval_x, eval_y=eval_y)
    else:
        blob, report = pack_onnx(args.model, calib_x, calib_y, steps=args.steps,
                                 percentile=args.percentile, name=args.name,
                                 eval_x=eval_x, eval_y=eval_y)
    model = Model(blob)  # the C core validates what we are about to write
    model.save(args.output)
    if args.json:
        emit_json({"output": args.output, "flash_bytes": report.flash_bytes,
                   "arena_bytes": model.arena_bytes,
                   "arena_bytes_tstep": report.tstep_arena_bytes,
                   "steps": report.steps, "float_accuracy": report.float_accuracy,
                   "quant_accuracy": report.quant_accuracy, "layers": report.layers,
                   "agreement": report.agreement,
                   "leak_effect": report.leak_effect,
                   "warnings": report.warnings})
        return 0
    print(report.to_text())
    print(f"wrote {args.output} ({len(blob)} bytes); the C runtime validated it")
    return 0
