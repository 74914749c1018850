"""`edgesnn demo`: the main job of the README on the default target and model."""
from __future__ import annotations

import time

import numpy as np

from ..datasets import load_digits_split
from ..runtime import default_model_path, load
from .output import kib

NAME = "demo"
HELP = "Run the shipped digits model on the held-out digits with the host runtime."
EXAMPLE = """example:
  edgesnn demo
  edgesnn demo --model my.esnn --steps 8"""


def add_arguments(p):
    p.add_argument("--model", default=None, help="an .esnn model (default: the shipped digits model)")
    p.add_argument("--steps", "-T", type=int, default=None, help="time steps T (default: the model's)")


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
    t0 = time.perf_counter()
    one = model.outputs(x, steps=steps)
    t1 = time.perf_counter()
    sim = model.simulate(x, steps=steps)
    t2 = time.perf_counter()
    pred = one.reshape(len(x), -1).argmax(axis=1)
    same = bool(np.array_equal(one, sim))
    print(f"digits  {len(x)} held-out samples, T={steps}")
    print(f"        one-step accuracy {100 * np.mean(pred == y):.2f}%  "
          f"({1e6 * (t1 - t0) / len(x):.1f} us/sample)")
    print(f"        T-step outputs identical to one-step: {'yes' if same else 'NO'}  "
          f"({1e6 * (t2 - t1) / len(x):.1f} us/sample, {(t2 - t1) / max(t1 - t0, 1e-9):.1f}x slower)")
    return 0 if same else 1
