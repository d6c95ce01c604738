"""Exponential moving averages of model weights (GAN generators, TAN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

def update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    """One step of an exponential moving average of a model's weights (in place).

    Every parameter of ``average`` moves a fraction ``1 - decay`` of the way to the
    corresponding one of ``model``; buffers (batch-norm statistics) are copied. GAN loops use
    it for the averaged generator they return (Yazici et al. 2019).

    Parameters
    ----------
    average, model : torch.nn.Module
        Two instances of the same architecture.
    decay : float
        In [0, 1): 0 copies the model, 0.99 averages over about the last 100 steps.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> a, m = nn.Linear(1, 1), nn.Linear(1, 1)
    >>> with torch.no_grad():
    ...     _ = a.weight.fill_(0.0), m.weight.fill_(1.0)
    >>> update_average(a, m, decay=0.75)
    >>> a.weight.item()
    0.25
    """
    import torch

    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must lie in [0, 1), got {decay!r}")
    with torch.no_grad():
        for p_avg, p in zip(average.parameters(), model.parameters(), strict=True):
            p_avg.lerp_(p, 1.0 - decay)
        for b_avg, b in zip(average.buffers(), model.buffers(), strict=True):
            b_avg.copy_(b)
