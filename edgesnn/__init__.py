"""edgesnn: deploy spiking neural networks to memory-constrained devices.

    import edgesnn
    model = edgesnn.load("digits.esnn")        # validated by the C core
    labels = model.predict(x)                  # one-step fixed-point inference
    counts = model.simulate(x, steps=8)        # explicit T-step simulation
    model.arena_bytes                          # exact arena the device needs
    board = edgesnn.connect("/dev/ttyACM0")    # a board over serial (docs/protocol.md)
"""
from .errors import (ArenaError, BlobError, BoardError, EdgesnnError, LinkTimeout,
                     QuantizeError, SerialLinkError, ShapeError, UnsupportedOpError)
from .compile import build  # the graph builders: edgesnn.build.reversible_mlp(...)
from .runtime.model import Memory, Model, default_model_path, load, load_default
from .serial import Board, connect

__version__ = "0.1.0"

__all__ = [
    "ArenaError", "BlobError", "Board", "BoardError", "build", "EdgesnnError", "LinkTimeout", "Memory",
    "Model", "QuantizeError", "SerialLinkError", "ShapeError", "UnsupportedOpError", "connect",
    "default_model_path", "load", "load_default",
]
