"""Numerical precision and compilation of the training loops (GPU knobs, off on the CPU).

``precision="auto"`` trains in bfloat16 autocast on a CUDA device that supports it (the
matrix products and convolutions run in bfloat16 while the weights, the optimizer state and
the reductions stay in float32: no loss scaling is needed, unlike float16) and in plain
float32 everywhere else, so that CPU results are bit-identical to a run without the knob.
``compile=True`` wraps the model's forward pass in :func:`torch.compile` (the parameters,
and so the checkpoints, stay those of the original module); compilation costs tens of
seconds up front and pays off only for long runs on a GPU.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["PRECISIONS", "autocast", "maybe_compile", "resolve_precision"]

#: Values of the ``precision`` knob.
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")


def resolve_precision(precision: str, device: torch.device) -> str:
    """What ``precision`` means on ``device``: ``"float32"`` or ``"bfloat16"``.

    ``"auto"`` is bfloat16 on a CUDA device that supports it, float32 otherwise. An explicit
    ``"bfloat16"`` is honoured on the CPU too (slower there on most processors, but it lets
    a reader check a GPU configuration's numerics on a laptop).

    Raises
    ------
    ValueError
        For a value not in :data:`PRECISIONS`.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """A context in which forward passes and losses run at ``precision`` on ``device``
    (:func:`torch.autocast` for bfloat16, a no-op for float32)."""
    import torch

    if resolve_precision(precision, device) == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def maybe_compile(model: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(model)`` when ``enabled`` (the compiled wrapper shares the model's
    parameters), else ``model`` itself.

    Raises
    ------
    ValueError
        When ``enabled`` is not a bool.
    """
    if not isinstance(enabled, bool):
        raise ValueError(f"compile must be True or False, got {enabled!r}")
    if not enabled:
        return model
    import torch

    return torch.compile(model)
