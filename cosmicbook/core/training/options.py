"""The less common settings of :func:`~cosmicbook.core.training.fit`: :class:`FitOptions`.

Most calls of :func:`fit` need a model, loaders, a loss, an optimizer and a number of epochs.
The knobs most callers leave at their defaults -- a custom step, metrics, an epoch callback,
gradient clipping, per-epoch seeding, precision and compilation -- travel together in one
frozen :class:`FitOptions`, checked when it is built, so that a call stays short and a recipe
can be stored and compared as one object.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._validate import _nonnegative_int
from .history import History
from .precision import PRECISIONS

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["Batch", "FitOptions", "MetricFn", "StepFn"]

#: Batch layout understood by the default step: ``(inputs, targets)`` or with ``weights``.
Batch = Any
#: ``step_fn(model, batch, device) -> scalar loss tensor``.
StepFn = Callable[["nn.Module", Batch, "torch.device"], "torch.Tensor"]
#: ``metric(model, val_loader, device) -> float``.
MetricFn = Callable[["nn.Module", Any, "torch.device"], float]


@dataclass(frozen=True)
class FitOptions:
    """Optional settings of :func:`~cosmicbook.core.training.fit`, validated on construction.

    The defaults reproduce a plain ``fit`` call: the default step, no metrics, no callback, no
    clipping, no re-seeding, ``"auto"`` precision (float32 on the CPU) and no compilation.

    Attributes
    ----------
    step_fn : callable, optional
        ``step_fn(model, batch, device) -> scalar loss tensor`` replaces forward + loss (for
        multitask models or dict batches); the batch is already on ``device``. Used for both
        training (then backward, clipping and the optimizer step follow) and validation;
        ``fit``'s ``loss_fn`` may then be ``None``.
    metrics : dict of str -> callable, optional
        ``metric(model, val_loader, device) -> float`` evaluated after every epoch with the
        model in eval mode under ``torch.no_grad()`` (``val_loader`` may be ``None``); the
        values are stored in the history under their names, which must differ from the
        history's own columns.
    epoch_callback : callable, optional
        ``epoch_callback(epoch, model, history)`` after each epoch's history entry (epoch is
        1-based) and *before* the checkpoint is written; a truthy return value stops training
        (``history.stopped_early`` is then True). Use it for early stopping, saving figures, or
        ``freeze_batchnorm(model)`` after N epochs, which the checkpoint then remembers.
    grad_clip : float, optional
        Clip the global L2 norm of the gradients to this value (a finite number above 0)
        before each optimizer step.
    seed : int, optional
        If given (a non-negative int), at the start of epoch ``e`` torch's global RNG and the
        loader's generator(s) are re-seeded with ``seed + e``: shuffling and dropout of an
        epoch then depend only on ``(seed, e)``. Without it, exact resumes rely on the saved
        RNG states.
    precision : {"auto", "float32", "bfloat16"}
        Forward passes and losses (training and validation) in bfloat16 autocast or in
        float32; ``"auto"`` is bfloat16 on a CUDA device that supports it and float32 on the
        CPU (see :mod:`cosmicbook.core.training.precision`).
    compile : bool
        Run the forward passes through :func:`torch.compile` (opt-in; for long GPU runs).

    Raises
    ------
    ValueError
        For a bad ``grad_clip``, ``seed``, ``precision`` or ``compile``, or a metric name
        clashing with the history's columns.
    TypeError
        When ``step_fn``, ``epoch_callback`` or a metric is not callable.

    Examples
    --------
    >>> FitOptions(grad_clip=1, seed=0)
    FitOptions(step_fn=None, metrics=None, epoch_callback=None, grad_clip=1.0, seed=0, \
precision='auto', compile=False)
    >>> FitOptions(precision="fp16")
    Traceback (most recent call last):
    ...
    ValueError: precision must be one of ('auto', 'float32', 'bfloat16'), got 'fp16'
    """

    step_fn: StepFn | None = None
    metrics: Mapping[str, MetricFn] | None = None
    epoch_callback: Callable[[int, nn.Module, History], bool | None] | None = None
    grad_clip: float | None = None
    seed: int | None = None
    precision: str = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        if self.step_fn is not None and not callable(self.step_fn):
            raise TypeError("step_fn must be callable: step_fn(model, batch, device) -> loss")
        for name, fn in dict(self.metrics or {}).items():
            if not isinstance(name, str) or name in History.BASE_KEYS:
                raise ValueError(f"metric name {name!r} must be a string other than "
                                 f"{History.BASE_KEYS}")
            if not callable(fn):
                raise TypeError(f"metric {name!r} must be callable(model, val_loader, device)")
        if self.epoch_callback is not None and not callable(self.epoch_callback):
            raise TypeError("epoch_callback must be callable(epoch, model, history)")
        clip = self.grad_clip
        if clip is not None:
            if isinstance(clip, bool) or not isinstance(clip, numbers.Real) or not (
                math.isfinite(clip) and clip > 0
            ):
                raise ValueError(f"grad_clip must be a positive number, got {clip!r}")
            object.__setattr__(self, "grad_clip", float(clip))
        if self.seed is not None:
            object.__setattr__(self, "seed", _nonnegative_int(self.seed, "seed"))
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be True or False, got {self.compile!r}")
