"""`edgesnn finetune`: fine-tune a model on labelled samples, on the host runtime or on a
board (--port), with the same engine, configuration and sample order."""
from __future__ import annotations

import sys
import zlib

import numpy as np

from ..errors import EdgesnnError
from ..runtime.finetune import labels_array
from ..runtime.options import DEFAULT_LR, SURROGATES, TRAIN_MODES, TRAINABLE, TrainOptions
from .board_args import add_port_arguments, open_board
from . import numbers
from .data import check_labels, check_samples, open_arrays
from .output import emit_json

NAME = "finetune"
HELP = ("Fine-tune a model on labelled samples (DATA.npz with X or Xq, and y): on the host "
        "runtime into a new .esnn, or on a board over serial (--port), where the result "
        "becomes the active model only once it is completely written and verified.")
EXAMPLE = """example:
  edgesnn finetune digits.esnn shifted.npz -o tuned.esnn              # host runtime
  edgesnn finetune --port /dev/ttyACM0 shifted.npz --epochs 2          # on the board
  edgesnn finetune --port socket://127.0.0.1:5555 shifted.npz --trainable bias \\
      --lr 0.002 -o from_board.esnn --json
  edgesnn finetune --abort --port /dev/ttyACM0     # end a session a crashed host left
DATA.npz holds X (float samples, shape (N, *input_shape), quantised with the model's
input scale) or Xq (uint8 input codes), and y (integer labels 0..classes-1). The board
run uses the same configuration and sample order as the host run, so both give the
same model bit for bit (edgesnn pull reads it back). An interrupted board run leaves
the previous model active."""


def add_arguments(p):
    p.add_argument("files", nargs="*", metavar="[MODEL.esnn] DATA.npz",
                   help="host: MODEL.esnn DATA.npz; with --port: DATA.npz (the board's "
                        "active model is fine-tuned; a MODEL given is checked against it)")
    p.add_argument("-o", "--output", default=None,
                   help="write the fine-tuned model here (required without --port; with "
                        "--port the new model is read back from the board)")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", "-e", type=numbers.positive_int, default=5, help="passes over DATA (default 5)")
    t.add_argument("--lr", type=numbers.float_range(0), default=None,
                   help="learning rate in normalised units (default: "
                        + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items()) + ")")
    t.add_argument("--trainable", choices=sorted(TRAINABLE), default="head",
                   help="what to train: the classifier head, every bias, or all (default head)")
    t.add_argument("--mode", choices=sorted(TRAIN_MODES), default="reversible",
                   help="reversible (activation memory flat in depth and T, the default) or "
                        "stored (ordinary backprop, the memory baseline)")
    t.add_argument("--batch", "-b", type=numbers.int_range(1, 65535), default=1, help="samples per update (default 1)")
    t.add_argument("--momentum", type=numbers.float_range(0, 1, hi_open=True), default=0.9, help="SGD momentum (default 0.9)")
    t.add_argument("--steps", "-T", type=numbers.steps, default=None,
                   help="time steps T (default: the model's)")
    t.add_argument("--surrogate", choices=sorted(SURROGATES), default="sigmoid",
                   help="surrogate spike derivative (default sigmoid)")
    t.add_argument("--slope", type=numbers.float_range(0, lo_open=True), default=None,
                   help="surrogate shape (default: sigmoid 4, atan 2)")
    t.add_argument("--seed", type=numbers.count, default=0, help="shuffling seed (default 0)")
    t.add_argument("--no-shuffle", action="store_true", help="train in the file's order")
    p.add_argument("--eval", default=None, metavar="EVAL.npz",
                   help="report accuracy before and after on these labelled samples (host runtime)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (board runs)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--abort", action="store_true",
                   help="with --port and no files: end the fine-tuning session open on the "
                        "board, whichever host began it (one a crashed or killed host left "
                        "behind); nothing is written, the active model stays")
    add_port_arguments(p, required_default=None)


def load_labelled(path: str):
    """(X, y, quantized) from DATA.npz: X (float) or Xq (uint8 codes), and y."""
    data = open_arrays(path, ".npz")
    if isinstance(data, np.ndarray):
        raise EdgesnnError(f"{path} is a single array; fine-tuning needs labels: save "
                           "np.savez(path, X=samples, y=labels) (or Xq=uint8 codes)")
    keys = set(data)
    xs = [k for k in ("X", "x") if k in keys]
    qs = [k for k in ("Xq", "xq") if k in keys]
    ys = [k for k in ("y", "Y") if k in keys]
    if (not xs and not qs) or not ys:
        missing = " and ".join(w for w, ok in (("X (or Xq)", xs or qs), ("y", ys)) if not ok)
        raise EdgesnnError(f"{path} has arrays {sorted(keys)}; missing {missing}. Expected X "
                           "(float samples, shape (N, *input_shape)) or Xq (uint8 codes), "
                           "and y (integer labels)")
    if xs and qs:
        raise EdgesnnError(f"{path} has both {xs[0]} and {qs[0]}; keep one (X: float samples "
                           "quantised with the model's input scale, Xq: uint8 codes)")
    if qs:
        x = data[qs[0]]
        if x.dtype != np.uint8:
            raise EdgesnnError(f"{qs[0]} in {path} must be uint8 input codes, got {x.dtype}")
    else:
        x = data[xs[0]]
    x = check_samples(x, (qs or xs)[0], path)
    return x, check_labels(data[ys[0]], len(x), ys[0], path), bool(qs)


def _refuse_causal(model, where: str) -> None:
    """Fine-tuning trains rate-coded IF networks (one-step or T-step); causal (temporal)
    models, LIF/LI and sequence blobs, are not supported yet (issue 14)."""
    if getattr(model, "causal", False):
        kind = "a sequence (temporal) blob" if model.sequence else "a causal (temporal) blob"
        raise EdgesnnError(f"{where} is {kind}: fine-tuning of causal (temporal) models is "
                           "not supported yet (issue 14); fine-tune the source model (e.g. in "
                           "snnTorch) and pack it again")


def _check(model, x, y, quantized: bool, path: str):
    """The host's own checks, before any training or board traffic."""
    try:
        q = model.input_codes(x, quantized)
        labels_array(y, q.shape[0], int(np.prod(model.output_shape)))
    except (ValueError, EdgesnnError) as exc:
        raise EdgesnnError(f"{path}: {exc}") from None
    return q.shape[0]


def _accuracy(blob: bytes, ev) -> float:
    from ..runtime.model import Model
    x, y, quantized = ev
    m = Model(blob)
    return float(np.mean(m.predict(x, quantized=quantized) == np.asarray(y)))


def run(args) -> int:
    from ..runtime.model import load
    files = list(args.files)
    if args.abort:
        return _abort(args, files)
    if not files:
        raise EdgesnnError("give MODEL.esnn DATA.npz (host runtime), --port URL DATA.npz "
                           "(on a board), or --port URL --abort (end a board's session)")
    on_board = args.port is not None
    if on_board and len(files) not in (1, 2):
        raise EdgesnnError("with --port give DATA.npz (and optionally the board's MODEL.esnn)")
    if not on_board and len(files) != 2:
        raise EdgesnnError("give MODEL.esnn DATA.npz to fine-tune on the host runtime, or "
                           "--port URL DATA.npz to fine-tune on a board")
    if not on_board and not args.output:
        raise EdgesnnError("give -o NEW.esnn: where to write the fine-tuned model")
    data_path = files[-1]
    model_path = files[0] if len(files) == 2 else None
    host_model = load(model_path) if model_path else None
    if host_model is not None:
        _refuse_causal(host_model, model_path)  # before reading any data
    x, y, quantized = load_labelled(data_path)
    ev = load_labelled(args.eval) if args.eval else None
    opts = TrainOptions(mode=args.mode, trainable=args.trainable, lr=args.lr,
                        momentum=args.momentum, batch=args.batch, steps=args.steps,
                        surrogate=args.surrogate, slope=args.slope)
    kw = dict(options=opts, epochs=args.epochs, shuffle=not args.no_shuffle, seed=args.seed,
              quantized=quantized)
    lr = opts.rate
    emit = None if args.json else _printer(args.epochs)

    if on_board:
        with open_board(args) as board:
            model = host_model or board.active_model()
            _refuse_causal(model, model_path or f"the model on {args.port}")
            n = _check(model, x, y, quantized, data_path)
            info = board.info()
            where = f"board {info['name']!r} at {args.port}"
            before = _accuracy(model.blob, ev) if ev else None
            if emit:
                _header(where, model, n, args, lr)
            show = not (args.no_progress or args.json) and sys.stderr.isatty()
            res = board.finetune(x, y, progress=emit, bar=show,
                                 model=model if model_path else None, **kw)
        blob = res.blob
    else:
        model = host_model
        n = _check(model, x, y, quantized, data_path)
        where = "the host runtime"
        before = _accuracy(model.blob, ev) if ev else None
        if emit:
            _header(where, model, n, args, lr)
        res = model.finetune(x, y, progress=emit, **kw)  # model now holds the new weights
        blob = model.blob
    if args.output:
        from ..runtime.model import Model
        Model(blob).save(args.output)  # validated, written atomically
    after = _accuracy(blob, ev) if ev else None
    crc = zlib.crc32(blob)

    if args.json:
        out = res.as_dict()
        out.update({"target": "board" if on_board else "host", "samples": n,
                    "epochs": args.epochs, "trainable": args.trainable, "mode": args.mode,
                    "lr": lr, "batch": args.batch, "steps": args.steps or model.default_steps,
                    "bytes": len(blob), "crc32": f"0x{crc:08x}", "output": args.output})
        if on_board:
            out["port"] = args.port
        if ev:
            out["eval_accuracy_before"], out["eval_accuracy_after"] = before, after
        emit_json(out)
        return 0
    mem = res.memory
    print(f"memory  arena {mem['arena_bytes']} B = {mem['persistent_bytes']} persistent + "
          f"{mem['scratch_bytes']} scratch; measured peaks {mem['persistent_peak']} + "
          f"{mem['scratch_peak']} B")
    print(f"updates {res.updates}, saturated parameters {res.saturated}")
    if on_board:
        bm = res.board_memory
        parts = []
        if "stack_peak" in bm:
            parts.append(f"stack peak {bm['stack_peak']}/{bm.get('stack_bytes', '?')} B")
        if "arena_peak" in bm:
            parts.append(f"arena peak {bm['arena_peak']}/{info['arena_bytes']} B")
        if res.ticks:
            parts.append(f"{res.ticks / max(1, n * args.epochs):.0f} {res.tick_kind}/sample")
        if parts:
            print(f"board   {', '.join(parts)}")
        print(f"commit  slot {res.slot}, generation {res.generation}, {len(blob)} B, crc32 "
              f"0x{crc:08x}: active (the previous model stays in slot {1 - res.slot})")
    if ev:
        print(f"eval    accuracy on {args.eval}: {100 * before:.2f}% -> {100 * after:.2f}%")
    if args.output:
        print(f"wrote   {args.output}: {len(blob)} B, crc32 0x{crc:08x} (validated by the C loader)")
    if on_board:
        print(f"time    {res.seconds:.2f} s over the link")
    return 0


def _abort(args, files) -> int:
    """`finetune --abort --port URL`: end the board's fine-tuning session."""
    if args.port is None or files:
        raise EdgesnnError("--abort takes --port URL and no files: it ends the fine-tuning "
                           "session open on that board")
    with open_board(args) as board:
        ended = board.finetune_abort()
        info = board.info()
    act = info["active"]
    runs = ("no valid model" if act is None else
            f"slot {info['active_slot']}, generation {act['generation']}")
    if args.json:
        emit_json({"port": args.port, "board": info["name"], "ended": ended is not None,
                   "idle": ended and ended["idle"], "active_slot": info["active_slot"]})
        return 0
    if ended is None:
        print(f"no fine-tuning session was open on {info['name']} at {args.port}; nothing "
              f"to end (it runs {runs})")
    else:
        idle = "" if ended["idle"] is None else f", idle {ended['idle']:.1f} s"
        print(f"ended the fine-tuning session on {info['name']} at {args.port}{idle}; nothing "
              f"was written, it runs {runs}")
    return 0


def _header(where: str, model, n: int, args, lr: float) -> None:
    print(f"finetune on {where}: {n} samples x {args.epochs} epochs, trainable={args.trainable}, "
          f"mode={args.mode}, lr={lr:g}, batch={args.batch}, "
          f"T={args.steps or model.default_steps}", flush=True)


def _printer(epochs: int):
    from tqdm import tqdm

    def emit(row):  # tqdm.write: above a progress bar, if one is drawn
        tqdm.write(f"epoch {row['epoch']}/{epochs}  loss {row['loss']:.4f}  "
                   f"accuracy {100 * row['accuracy']:.2f}%", file=sys.stdout)
        sys.stdout.flush()
    return emit
