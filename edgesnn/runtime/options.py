"""The fine-tuning options: one frozen object carries them from the caller to the engine.

Host training (Model.finetune), the arena query (Model.finetune_memory), the board run
(Board.finetune) and the CLI all build a `TrainOptions` and hand it on, so a default or
a check is written once (as pyserial keeps a port's settings in one dict). The C engine
receives the same values as its esnn_train_config (runtime/finetune.py, TrainConfig).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from ..format.intmodel import MAX_STEPS  # the format's limit on T (docs/format.md)

TRAIN_MODES = {"reversible": 0, "stored": 1}
TRAINABLE = {"head": 0, "bias": 1, "all": 2}
SURROGATES = {"sigmoid": 0, "atan": 1}
# Default learning rate per subset (normalised units, docs/training.md): with the step
# averaged over a convolution's output positions, one rate suits every layer type.
DEFAULT_LR = {"head": 0.05, "bias": 0.05, "all": 0.05}


def check_steps(steps) -> int:
    """T as the C core takes it: 0 for "the blob's default", else 1..MAX_STEPS."""
    if steps is None:
        return 0
    steps = int(steps)
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be 1..{MAX_STEPS}, got {steps}")
    return steps


def _choice(table: dict, value: str, what: str) -> int:
    if value not in table:
        raise ValueError(f"{what} must be one of {sorted(table)}, got {value!r}")
    return table[value]


@dataclass(frozen=True)
class TrainOptions:
    """What a fine-tuning run trains and how (docs/training.md). `lr` None: the subset's
    DEFAULT_LR; `steps` None: the blob's default T; `slope` None: the surrogate's
    default. Checked when built: a ValueError names the option and its range."""

    mode: str = "reversible"       # "reversible" (memory independent of depth and T) or "stored"
    trainable: str = "head"        # "head" (last layer), "bias" (all biases) or "all"
    lr: float | None = None
    momentum: float = 0.9
    batch: int = 1
    steps: int | None = None
    surrogate: str = "sigmoid"     # "sigmoid" or "atan"
    slope: float | None = None
    verify: bool = False           # check every reversible reconstruction (host only)

    def __post_init__(self):
        _choice(TRAIN_MODES, self.mode, "mode")
        _choice(TRAINABLE, self.trainable, "trainable")
        _choice(SURROGATES, self.surrogate, "surrogate")
        check_steps(self.steps)
        if not 1 <= int(self.batch) <= 65535:
            raise ValueError(f"batch must be 1..65535, got {self.batch}")
        for name, v in (("lr", self.rate), ("momentum", self.momentum)):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be below 1, got {self.momentum}")

    @property
    def rate(self) -> float:
        """The learning rate the engine uses (`lr`, or the subset's default)."""
        return float(DEFAULT_LR[self.trainable] if self.lr is None else self.lr)

    # the C esnn_train_config's enum values of the three choices
    @property
    def mode_code(self) -> int:
        return TRAIN_MODES[self.mode]

    @property
    def trainable_code(self) -> int:
        return TRAINABLE[self.trainable]

    @property
    def surrogate_code(self) -> int:
        return SURROGATES[self.surrogate]

    @classmethod
    def build(cls, options: "TrainOptions | None" = None, **given) -> "TrainOptions":
        """`options` (or the defaults) with the keyword options that were given on top;
        a keyword left at None keeps the option's value. This is how the functions that
        still take the options one by one (Model.finetune(lr=...), ...) build theirs."""
        unknown = sorted(set(given) - FIELDS)
        if unknown:
            raise TypeError(f"unknown fine-tuning option(s) {', '.join(unknown)}; the options "
                            f"are {', '.join(sorted(FIELDS))}")
        given = {k: v for k, v in given.items() if v is not None}
        base = cls() if options is None else options
        if not isinstance(base, cls):
            raise TypeError(f"options must be a TrainOptions, got {type(base).__name__}")
        return replace(base, **given) if given else base

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


FIELDS = frozenset(f.name for f in fields(TrainOptions))


def split_options(kw: dict) -> tuple[dict, dict]:
    """(the TrainOptions fields of `kw`, everything else)."""
    return ({k: v for k, v in kw.items() if k in FIELDS},
            {k: v for k, v in kw.items() if k not in FIELDS})
