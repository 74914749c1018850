"""Training loop shared by the framework-export tests (snnTorch, Norse): Adam on the
spike-count readout, fixed seed, so each test's network is the same on every run."""
from __future__ import annotations

import torch


def train_counts(net, counts, xtr, ytr, epochs: int, lr: float = 5e-3):
    """Train `net` so that `counts(net, x)` (output spike counts) classifies ytr."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xt, yt = torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr)
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(counts(net, xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net
