"""`edgesnn demo`: the main job of the README, host runtime then the emulated board."""
from __future__ import annotations

import time

import numpy as np

from ..data.datasets import load_digits_split
from ..runtime.model import default_model_path, load
from . import numbers
from .output import kib

NAME = "demo"
HELP = ("Run the shipped digits model on the held-out digits with the host runtime, then "
        "flash it to the host emulator board, validate it bit-exact and infer there.")
EXAMPLE = """example:
  edgesnn demo
  edgesnn demo --model my.esnn --steps 8
  edgesnn demo --no-board          # the host runtime part only"""

VALIDATE_N = 200


def add_arguments(p):
    p.add_argument("--model", default=None, help="an .esnn model (default: the shipped digits model)")
    p.add_argument("--steps", "-T", type=numbers.steps, default=None, help="time steps T (default: the model's)")
    p.add_argument("--no-board", action="store_true", help="skip the emulated board")
    p.add_argument("--no-finetune", action="store_true",
                   help="skip the on-board fine-tuning on drifted digits")


def run(args) -> int:
    path = args.model or default_model_path()
    model = load(path)
    _, _, x, y = load_digits_split()
    steps = args.steps or model.default_steps
    print(f"model   {path}")
    print(f"        {model.info()['layers']} layers, flash {kib(len(model.blob))}, "
          f"input {model.input_shape} -> output {model.output_shape}")
    print(f"arena   one-step {kib(model.memory('onestep', steps).total)}, "
          f"T-step {kib(model.memory('tstep', steps).total)}")
    one = model.outputs(x, steps=steps)
    sim = model.simulate(x, steps=steps)
    pred = one.reshape(len(x), -1).argmax(axis=1)
    same = bool(np.array_equal(one, sim))
    t_one, t_sim = (_per_call(model.invoker(mode, steps), model.quantize(x))
                    for mode in ("onestep", "tstep"))
    print(f"digits  {len(x)} held-out samples, T={steps}")
    print(f"        one-step accuracy {100 * np.mean(pred == y):.2f}%  "
          f"({1e6 * t_one:.1f} us/sample)")
    print(f"        T-step outputs identical to one-step: {'yes' if same else 'NO'}  "
          f"({1e6 * t_sim:.1f} us/sample, {t_sim / t_one:.1f}x the one-step time)")
    if args.no_board:
        return 0 if same else 1
    return _board(model, x, y, steps, args.steps, not args.no_finetune) if same else 1


def _per_call(call, q) -> float:
    """Seconds per batch-1 call (each includes the ~5 us Python-to-C crossing)."""
    rows = q.reshape(len(q), -1)
    t0 = time.perf_counter()
    for row in rows:
        call(row)
    return (time.perf_counter() - t0) / len(rows)


FT_EPOCHS = 10


def _finetune(board, model, steps_arg) -> bool:
    """The sensor drifts (edgesnn.data.shifts "gain"): fine-tune the head on the board on 200
    labelled drifted digits, compare with the same run on the host runtime."""
    from ..data.shifts import DESCRIPTIONS, shifted_split
    xf, yf, xe, ye = shifted_split("gain")
    before = float(np.mean(model.predict(xe, steps=steps_arg) == ye))
    res = board.finetune(xf, yf, epochs=FT_EPOCHS, trainable="head", batch=1, steps=steps_arg)
    after = float(np.mean(board.infer(xe, steps=steps_arg).argmax == ye))
    host = load(model.blob)
    host.finetune(xf, yf, epochs=FT_EPOCHS, trainable="head", batch=1, steps=steps_arg)
    same = host.blob == res.blob
    print(f"drift   {DESCRIPTIONS['gain']}: accuracy on {len(xe)} drifted held-out digits "
          f"{100 * before:.2f}%")
    print(f"tune    head fine-tuned on the board, {len(xf)} labelled drifted digits x "
          f"{FT_EPOCHS} epochs in {res.seconds:.1f} s (arena {kib(res.memory['arena_bytes'])}): "
          f"accuracy {100 * after:.2f}%; board model == host run: {'yes' if same else 'NO'}")
    return same


def _board(model, x, y, steps, steps_arg, finetune: bool = True) -> int:
    """The serial journey: emulator up, flash, validate bit-exact, infer, fine-tune on a
    drifted domain, emulator down."""
    from ..emulate import HostEmulator
    from ..serial import connect

    t0 = time.perf_counter()
    with HostEmulator() as emu:
        with connect(emu.url) as board:
            info = board.info()
            print(f"board   {info['name']} emulator at {emu.url} (runtime "
                  f"{info['runtime_version']}, arena {kib(info['arena_bytes'])}, "
                  f"slot {kib(info['slot_bytes'])})")
            res = board.flash(model, progress=False)
            link = board.link
            print(f"flash   {res['bytes']} B to slot {res['slot']} (generation "
                  f"{res['generation']}) in {1e3 * res['seconds']:.0f} ms, verified "
                  f"crc32 0x{res['crc32']:08x}; {link.tx_bytes + link.rx_bytes} B on the wire")
            n = min(VALIDATE_N, len(x))
            val = board.validate(model, x[:n], steps=steps_arg)
            exact = val["agree"] == val["samples"]
            print(f"check   {val['agree']}/{val['samples']} held-out digits bit-exact on the "
                  f"board vs the host runtime{'' if exact else '  MISMATCH'}")
            out = board.infer(x, steps=steps_arg, model=model)
            acc = float(np.mean(out.argmax == y))
            print(f"infer   {len(x)} held-out digits on the board, T={steps}: accuracy "
                  f"{100 * acc:.2f}%  ({1e3 * out.seconds / len(x):.2f} ms/sample over the link, "
                  f"{out.ticks.mean():.0f} {info['tick_kind']}/inference)")
            if finetune and info.get("finetune"):
                exact = _finetune(board, model, steps_arg) and exact
    print(f"        board journey {time.perf_counter() - t0:.1f} s; on a real board: "
          "edgesnn flash --port /dev/ttyACM0 MODEL.esnn")
    return 0 if exact else 1
