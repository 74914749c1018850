"""Small output helpers shared by the verbs: tables and JSON."""
from __future__ import annotations

import json
import sys


def table(rows, headers) -> str:
    """Left-aligned text table; every cell is str()'d."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def emit_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_plain)
    sys.stdout.write("\n")


def _plain(o):
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def kib(n: int) -> str:
    return f"{n} B ({n / 1024:.1f} KiB)"
