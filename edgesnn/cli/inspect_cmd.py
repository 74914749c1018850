"""`edgesnn inspect`: what is inside an .esnn blob, and what it needs to run."""
from __future__ import annotations

from ..format.blob import read_blob
from ..format.intmodel import LF_TARGET_HI, OP_COUPLE, mode_support
from ..runtime.model import load
from .output import emit_json, table

NAME = "inspect"
HELP = "Show an .esnn blob's layers, tensors, memory plan and arena needs."
EXAMPLE = """example:
  edgesnn inspect model.esnn
  edgesnn inspect model.esnn --json | jq .arena_bytes"""

OPS = {1: "dense", 2: "conv2d", 3: "sumpool2d", 4: "add", 5: "couple"}
NEURONS = {0: "none", 1: "IF", 2: "LIF", 3: "LI"}
FLAGS = {1: "reset-zero", 2: "strict", 4: "delayed-reset"}
DTYPES = {1: "u8", 2: "i32"}


def add_arguments(p):
    p.add_argument("model", help="the .esnn model file")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _couple_target(layer):
    """'lo' / 'hi': the channel half a COUPLE layer adds to (None for other ops)."""
    if layer.op != OP_COUPLE:
        return None
    return "hi" if layer.flags & LF_TARGET_HI else "lo"


def _finetune_arena(model) -> dict:
    """Exact fine-tuning arena per trainable subset (reversible mode, default T), or why
    the model cannot be fine-tuned."""
    from ..runtime.finetune import TrainError
    from ..runtime.options import TRAINABLE
    try:
        return {t: model.finetune_memory(trainable=t, mode="reversible") for t in TRAINABLE}
    except TrainError as exc:
        return {"unsupported": str(exc).split(": ", 1)[-1]}


def run(args) -> int:
    model = load(args.model)  # validated by the C core first
    with open(args.model, "rb") as f:
        view = read_blob(f.read())
    info = model.info()
    layers = []
    for i, l in enumerate(view.layers):
        t = view.tensors[l.out]
        layers.append({
            "index": i, "name": l.name, "op": OPS[l.op], "neuron": NEURONS[l.neuron],
            "leak_shift": l.leak_shift,
            "flags": [n for b, n in FLAGS.items() if l.flags & b and l.op != OP_COUPLE],
            "target": _couple_target(l),
            "inputs": l.inputs, "output": l.out, "out_shape": list(t.dims),
            "shift": ([int(l.shift.min()), int(l.shift.max())] if l.shift is not None
                      and len(l.shift) else None),
            "weights": int(l.weights.size) if l.weights is not None else 0,
        })
    tensors = [{"index": i, "dtype": DTYPES[t.dtype], "shape": list(t.dims),
                "bytes": t.nbytes, "arena_offset": view.arena_offsets[i]}
               for i, t in enumerate(view.tensors)]
    modes = mode_support(view)
    finetune = _finetune_arena(model)
    if args.json:
        emit_json({**info, "modes": modes, "layers": layers, "tensors": tensors, "finetune": finetune,
                   "crc32": f"0x{view.crc32:08x}", "meta": view.meta})
        return 0
    print(f"{args.model}: edgesnn blob v{info['format_version']}, {info['flash_bytes']} bytes, "
          f"crc32 0x{view.crc32:08x}, name {info['name']!r}")
    print(f"input {tuple(info['input_shape'])} u8 (scale {info['input_scale']:.6g}, "
          f"zero point {info['input_zero_point']}) -> output {tuple(info['output_shape'])}")
    print(f"default T = {info['default_steps']}; {info['macs']} MACs per one-step inference")
    print(f"one-step: {'yes' if modes['onestep'] else 'no'} ({modes['onestep_reason']})")
    print(f"T-step: yes ({modes['tstep_reason']})")
    print()
    print(table([[l["index"], l["name"],
                  l["op"] + (f" (target {l['target']})" if l["target"] else ""),
                  l["neuron"] + (f"/{l['leak_shift']}" if l["leak_shift"] else "")
                  + (f" [{','.join(l['flags'])}]" if l["flags"] else ""), l["inputs"], l["output"],
                  tuple(l["out_shape"]), "-" if l["shift"] is None else
                  f"{l['shift'][0]}..{l['shift'][1]}", l["weights"]] for l in layers],
                ["#", "name", "op", "neuron", "in", "out", "shape", "shift", "weights"]))
    print()
    print(table([[t["index"], t["dtype"], tuple(t["shape"]), t["bytes"], t["arena_offset"]]
                 for t in tensors], ["tensor", "dtype", "shape", "bytes", "arena offset"]))
    print()
    one = f"{info['arena_bytes']} B" if modes["onestep"] else "n/a"
    print(f"arena: one-step {one}, T-step (T={info['default_steps']}) "
          f"{info['arena_bytes_tstep']} B; persistent {model.memory('tstep').persistent} B")
    if "unsupported" in finetune:
        print(f"fine-tuning: {finetune['unsupported']}")
    else:
        print("fine-tuning arena (reversible, T={}): {}".format(info["default_steps"], ", ".join(
            f"{t} {m['arena_bytes']} B" for t, m in finetune.items())))
    return 0
