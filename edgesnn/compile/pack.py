"""The packing pipeline behind `edgesnn pack`: float graph -> quantised SNN -> .esnn bytes.

Accuracy is measured on the bytes actually written (read back with blob.read_blob and
run with the numpy integer oracle), so the report describes the deployed model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..format.blob import read_blob, write_blob
from ..format.intmodel import DTYPE_BYTES, MAX_STEPS
from .ir import Graph
from ..format.plan import plan_memory
from ..format.inputs import quantize_input
from .quantize import quantize_graph
from ..format.reference import run_onestep
from ..errors import ShapeError


@dataclass
class PackReport:
    name: str
    steps: int
    percentile: float
    input_scale: float
    input_zero_point: int
    flash_bytes: int  # blob length
    scratch_bytes: int  # one-step arena
    tstep_arena_bytes: int  # T-step arena = steps * scratch_bytes
    naive_arena_bytes: int  # one-step arena without any reuse, for comparison
    layers: list = field(default_factory=list)  # one dict per layer
    warnings: list = field(default_factory=list)
    float_accuracy: Optional[float] = None
    quant_accuracy: Optional[float] = None
    # spiking (NIR) graphs only, from pack_snn: the power-of-two leak's effect on float
    # predictions, and integer T-step vs float (exact beta) prediction agreement
    leak_effect: Optional[dict] = None
    agreement: Optional[float] = None

    def to_text(self) -> str:
        lines = [f"{'#':>2} {'layer':<24} {'op':<9} {'neuron':<6} {'out shape':<14} {'lambda':>8} {'shift':>7} {'w util':>6}"]
        for i, r in enumerate(self.layers):
            lam = f"{r['lambda']:.4g}" if r.get("lambda") is not None else "-"
            sh = f"{r['shift_min']}..{r['shift_max']}" if "shift_min" in r else "-"
            util = f"{r['weight_util']:.2f}" if "weight_util" in r else "-"
            lines.append(f"{i:>2} {r['name'][:24]:<24} {r['op']:<9} {r['neuron']:<6} {str(tuple(r['out_shape'])):<14} {lam:>8} {sh:>7} {util:>6}")
        for i, r in enumerate(self.layers):
            if r.get("approx"):
                lines.append(f"   layer {i} {r['name']}: {r['approx']}" + (f", reset {r['reset']}" if r.get("reset") else ""))
        le = self.leak_effect
        if le:
            txt = f"power-of-two leak effect (float, exact vs mapped beta): predictions agree on {le['agreement']:.4f}"
            if "accuracy_exact" in le:
                txt += f"; accuracy {le['accuracy_exact']:.4f} -> {le['accuracy_mapped']:.4f}"
            lines.append(txt)
        if self.agreement is not None:
            lines.append(f"integer T-step vs float (exact beta) predictions agree on {self.agreement:.4f}")
        lines.append(f"flash {self.flash_bytes} B; arena one-step {self.scratch_bytes} B, "
                     f"T-step (T={self.steps}) {self.tstep_arena_bytes} B (no reuse: {self.naive_arena_bytes} B)")
        if self.float_accuracy is not None:
            lines.append(f"accuracy float {self.float_accuracy:.4f}, quantised (T={self.steps}) {self.quant_accuracy:.4f}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def accuracy(scores: np.ndarray, labels) -> float:
    """Top-1 accuracy; argmax takes the lowest index on ties, as the runtime does."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(labels).reshape(-1)))


def pack_graph(graph: Graph, calib_x, calib_y=None, steps: int = 16, percentile: float = 99.9,
               name: Optional[str] = None, source: Optional[str] = None, classes=None,
               eval_x=None, eval_y=None) -> tuple:
    """Convert `graph` into .esnn bytes. Returns (blob_bytes, PackReport).

    calib_x sets the input range and the thresholds; accuracies are measured on
    (eval_x, eval_y), by default (calib_x, calib_y), when labels are given.
    """
    check_samples_shape(graph, calib_x, "calibration x")
    if eval_x is not None:
        check_samples_shape(graph, eval_x, "evaluation x")
    model, qrep = quantize_graph(graph, calib_x, steps=steps, percentile=percentile)
    plan = plan_memory(model)
    meta = _meta(model, qrep, graph, name, classes, source, ("name", "op", "neuron", "lambda"))
    report = _report(model, plan, qrep, meta["name"], steps, percentile, qrep.warnings)
    ex, ey = (calib_x, calib_y) if eval_x is None else (eval_x, eval_y)
    if ey is not None:
        blob = write_blob(model, plan, meta)
        report.float_accuracy = accuracy(graph.forward(ex), ey)
        view = read_blob(blob)
        q = quantize_input(graph.batch_input(ex), view.input_scale, view.input_zero_point)
        report.quant_accuracy = accuracy(run_onestep(view, q, steps), ey)
        meta["float_accuracy"] = report.float_accuracy
        meta["quant_accuracy"] = report.quant_accuracy
    blob = write_blob(model, plan, meta)
    report.flash_bytes = len(blob)
    return blob, report


def check_samples_shape(graph: Graph, x, what: str, sequence: bool = False,
                        steps: Optional[int] = None) -> None:
    """Samples must be (N, *input_shape) (any layout with that many values per sample,
    e.g. 8x8 digits for a (64,) input), or with `sequence` (N, T, *input_shape) with
    T == steps. A batch that only fits by re-cutting samples (sequence data (N, T, C) for
    a (C,) input without `sequence`) is refused with a one-line error, never reshaped."""
    x = np.asarray(x)
    shape = tuple(int(d) for d in graph.input_shape)
    numel = int(np.prod(shape))
    dims = ", ".join(map(str, shape))
    sh = str(shape)
    if x.ndim < 2 or x.shape[0] == 0:
        return  # a single flat sample or no samples: the quantiser's own checks apply
    per = int(np.prod(x.shape[1:]))
    if sequence:
        if x.ndim >= 3 and int(np.prod(x.shape[2:])) == numel:
            if steps is not None and x.shape[1] != steps:
                give = (f"give --steps {x.shape[1]} (T must be the number of frames), or "
                        if x.shape[1] <= MAX_STEPS else
                        f"a sequence blob takes at most {MAX_STEPS} steps; ")
                raise ShapeError(
                    f"{what} has shape {tuple(x.shape)}: sequences of {x.shape[1]} frames, but "
                    f"steps is {steps}; {give}keep a window of the first T frames (x[:, :T]; "
                    f"on the command line NAME:T, e.g. basicmotions:{steps})")
            return
        raise ShapeError(f"{what} has shape {tuple(x.shape)}; a sequence model takes "
                         f"(N, T, {dims}): T frames of the input shape {sh} per sample")
    if per == numel:
        return
    if x.ndim >= 3 and int(np.prod(x.shape[2:])) == numel:
        raise ShapeError(f"{what} has shape {tuple(x.shape)}: {x.shape[1]} frames of the "
                         f"model's input shape {sh} per sample, i.e. sequence data; pass "
                         "--sequence (pack_snn(..., sequence=True)) to pack a model driven by "
                         "one frame per step")
    raise ShapeError(f"{what} has shape {tuple(x.shape)}: {per} values per sample, but the "
                     f"model's input shape {sh} has {numel}")


def _meta(model, qrep, graph, name, classes, source, layer_keys, **extra) -> dict:
    """The blob's metadata JSON (docs/format.md section 6); key order is kept stable so
    that packing the same model twice gives the same bytes."""
    n_out = model.tensors[model.output_tensor].numel
    meta = {"name": name or "model"}
    if source:
        meta["source"] = source
    meta["classes"] = list(classes) if classes is not None else [str(i) for i in range(n_out)]
    meta["input_shape"] = list(graph.input_shape)
    meta.update(extra)
    meta["layers"] = [{k: r.get(k) for k in layer_keys} for r in qrep.layers]
    if "output_scale" in qrep.layers[-1]:  # I32 readout: float logits ~= total / (output_scale * T)
        meta["output_scale"] = qrep.layers[-1]["output_scale"]
    return meta


def _report(model, plan, qrep, name, steps, percentile, warnings) -> "PackReport":
    """The pack report: one row per layer with its output, arena place and size."""
    rows = []
    for r, layer in zip(qrep.layers, model.layers):
        t = model.tensors[layer.out]
        rows.append({**r, "out_shape": list(t.dims), "out_dtype": "U8" if DTYPE_BYTES[t.dtype] == 1 else "I32",
                     "arena_offset": plan.offsets[layer.out], "param_bytes": _param_bytes(layer)})
    return PackReport(name, steps, percentile, model.input_scale, model.input_zero_point, 0,
                      plan.scratch_bytes, steps * plan.scratch_bytes, plan.naive_bytes, rows,
                      list(warnings))


def _param_bytes(layer) -> int:
    return sum(a.nbytes for a in (layer.weights, layer.bias, layer.shift, layer.mult) if a is not None)


def pack_onnx(path, calib_x, calib_y=None, steps: int = 16, percentile: float = 99.9,
              name: Optional[str] = None, **kw) -> tuple:
    """load_onnx + pack_graph; name defaults to the file's stem, source to its file name."""
    from .onnx_import import load_onnx

    graph = load_onnx(path)
    if isinstance(path, (str, os.PathLike)):
        base = os.path.basename(os.fspath(path))
        name = name or os.path.splitext(base)[0]
        kw.setdefault("source", base)
    return pack_graph(graph, calib_x, calib_y, steps=steps, percentile=percentile, name=name, **kw)


def pack_snn(graph: Graph, calib_x, calib_y=None, steps: int = 16, sequence: bool = False,
             name: Optional[str] = None, source: Optional[str] = None, classes=None,
             eval_x=None, eval_y=None) -> tuple:
    """A spiking graph (Neuron nodes, e.g. from NIR) -> causal .esnn bytes.

    The report's layers carry the leak approximation (`approx`) and `leak_effect`
    compares float simulations with exact and mapped betas on the evaluation data;
    `quant_accuracy` / `agreement` come from the integer oracle on the written bytes.
    """
    from .ir import simulate
    from ..format.reference import run_tstep
    from .snn_quantize import leak_effect, quantize_snn

    check_samples_shape(graph, calib_x, "calibration x", sequence, steps)
    if eval_x is not None:
        check_samples_shape(graph, eval_x, "evaluation x", sequence, steps)
    model, qrep = quantize_snn(graph, calib_x, steps=steps, sequence=sequence)
    plan = plan_memory(model)
    notes = list(graph.import_notes)
    meta = _meta(model, qrep, graph, name, classes, source,
                 ("name", "op", "neuron", "approx", "leak_shift"),
                 dynamics="causal", sequence=bool(sequence), import_notes=notes)
    report = _report(model, plan, qrep, meta["name"], steps, 100.0, notes + list(qrep.warnings))
    ex, ey = (calib_x, calib_y) if eval_x is None else (eval_x, eval_y)
    ex = np.asarray(ex, dtype=np.float64)
    report.leak_effect = leak_effect(graph, qrep.leaks, ex, steps, sequence, ey)
    fl = simulate(graph, ex, steps, sequence)
    view = read_blob(write_blob(model, plan, meta))
    q = quantize_input(ex, view.input_scale, view.input_zero_point)
    qs = run_tstep(view, q.reshape(len(ex), -1), steps)
    pf = fl.reshape(len(ex), -1).argmax(axis=1)
    pq = qs.reshape(len(ex), -1).argmax(axis=1)
    report.agreement = float(np.mean(pf == pq))  # integer vs float (exact beta) predictions
    meta["float_int_agreement"] = report.agreement
    meta["leak_effect"] = report.leak_effect
    if ey is not None:
        report.float_accuracy = accuracy(fl.reshape(len(ex), -1), ey)
        report.quant_accuracy = accuracy(qs, ey)
        meta["float_accuracy"] = report.float_accuracy
        meta["quant_accuracy"] = report.quant_accuracy
    blob = write_blob(model, plan, meta)
    report.flash_bytes = len(blob)
    return blob, report


def pack_nir(path, calib_x, calib_y=None, steps: int = 16, name: Optional[str] = None,
             reset: str = "auto", dt: Optional[float] = None, sequence: bool = False,
             norse_tau="auto", **kw) -> tuple:
    """load_nir + pack_snn; name defaults to the file's stem, source to its file name."""
    from .nir_import import load_nir

    graph = load_nir(path, dt=dt, reset=reset, norse_tau=norse_tau)
    if isinstance(path, (str, os.PathLike)):
        base = os.path.basename(os.fspath(path))
        name = name or os.path.splitext(base)[0]
        kw.setdefault("source", base)
    return pack_snn(graph, calib_x, calib_y, steps=steps, sequence=sequence, name=name, **kw)
