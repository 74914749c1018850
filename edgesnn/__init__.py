"""edgesnn: deploy spiking neural networks to memory-constrained devices.

    import edgesnn
    model = edgesnn.load("digits.esnn")        # validated by the C core
    labels = model.predict(x)                  # one-step fixed-point inference
    counts = model.simulate(x, steps=8)        # explicit T-step simulation
    model.arena_bytes                          # exact arena the device needs
"""
from .errors import (ArenaError, BlobError, EdgesnnError, QuantizeError, ShapeError,
                     UnsupportedOpError)
from .runtime import Memory, Model, default_model_path, load, load_default

__version__ = "0.1.0"

__all__ = [
    "ArenaError", "BlobError", "EdgesnnError", "Memory", "Model", "QuantizeError",
    "ShapeError", "UnsupportedOpError", "default_model_path", "load", "load_default",
]
