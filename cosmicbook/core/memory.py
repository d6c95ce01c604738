"""How much memory a profile needs: an estimate printed before anything heavy runs.

A reader about to run a chapter's ``full`` profile on a Colab GPU wants to know whether it
fits *before* it crashes an hour in. :func:`estimate_training_memory` adds up what a training
holds at once:

* the weights, their gradients and the optimizer's state (Adam keeps two tensors per weight);
* the activations one training batch keeps for the backward pass, measured by running the
  model once on a small example batch with forward hooks on every leaf module and scaling
  the stored outputs to the batch size (a close upper bound: in-place activations and
  views are counted as copies);
* the data the profile holds in memory (given by the chapter, in bytes), and apart from it
  the data sets a training copies to the accelerator (``device_data``: a GAN's training set
  moved to the GPU once, rather than batch by batch).

The result is an estimate for float32 training; bfloat16 autocast roughly halves the
activations. Framework overhead (the CUDA context, ~0.3-0.5 GB; the allocator's caching) is
not included.
"""

from __future__ import annotations

import contextlib
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

__all__ = ["MemoryEstimate", "activation_bytes", "estimate_training_memory", "format_bytes",
           "isolated_rng"]


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable size (``"12 MB"``, ``"1.4 GB"``)."""
    n = float(n)
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training holds at once, by kind.

    Attributes
    ----------
    weights, gradients, optimizer : int
        Parameters, their gradients, the optimizer's per-parameter state.
    activations : int
        Outputs stored for the backward pass of one batch of ``batch_size``.
    data : int
        Data sets held in (host) memory.
    batch_size : int
    device_data : int
        Copies of data sets that the training keeps on the accelerator (on the CPU, in host
        memory next to ``data``).
    """

    weights: int
    gradients: int
    optimizer: int
    activations: int
    data: int = 0
    batch_size: int = 1
    device_data: int = 0

    @property
    def total(self) -> int:
        """The sum of all parts (bytes)."""
        return (self.weights + self.gradients + self.optimizer + self.activations + self.data
                + self.device_data)

    @property
    def device(self) -> int:
        """What sits on the accelerator (bytes): everything but the data sets in host memory
        (``data``)."""
        return self.total - self.data

    def __add__(self, other: MemoryEstimate) -> MemoryEstimate:
        """Two trainings held at once (e.g. a GAN's two networks); the batch of the first."""
        return MemoryEstimate(self.weights + other.weights, self.gradients + other.gradients,
                              self.optimizer + other.optimizer,
                              self.activations + other.activations, self.data + other.data,
                              self.batch_size, self.device_data + other.device_data)

    def __str__(self) -> str:
        if not (self.weights or self.activations):  # data only: a chapter without a network
            return f"about {format_bytes(self.total)} of data (no network to train)"
        parts = (f"weights {format_bytes(self.weights)}, gradients "
                 f"{format_bytes(self.gradients)}, optimizer {format_bytes(self.optimizer)}, "
                 f"activations {format_bytes(self.activations)} at batch {self.batch_size}")
        data = f"data {format_bytes(self.data)}"
        if self.device_data:
            data += f" + {format_bytes(self.device_data)} copied to the GPU"
        return (f"about {format_bytes(self.total)} ({parts}; {data}); "
                f"on the GPU about {format_bytes(self.device)} plus the CUDA context")


def _leaf_modules(model: nn.Module) -> list[nn.Module]:
    """The modules without children, where a parametrized module (e.g. a convolution under
    ``torch.nn.utils.parametrizations.spectral_norm``) counts as one: its parametrizations
    compute a weight per forward pass, not an activation per sample, and are skipped."""
    from torch.nn.utils import parametrize

    inner = {id(p) for m in model.modules() if parametrize.is_parametrized(m)
             for p in m.parametrizations.modules()}
    return [m for m in model.modules()
            if id(m) not in inner and all(id(c) in inner for c in m.children())]


def activation_bytes(model: nn.Module, *example: Any, **kwargs: Any) -> int:
    """Bytes of the outputs of every leaf module in one forward pass of ``example`` (a
    parametrized module, e.g. a spectrally normalised convolution, counts as a leaf).

    The model runs once in training mode (so that batch normalisation and dropout behave as
    in training; their running statistics are restored afterwards) without gradients.

    Parameters
    ----------
    model : torch.nn.Module
    *example, **kwargs
        The inputs of ``model(*example, **kwargs)``.

    Returns
    -------
    int
        Bytes; scale by the ratio of batch sizes for another batch.
    """
    import copy

    import torch

    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    handles = [m.register_forward_hook(hook) for m in _leaf_modules(model)]
    try:
        model.train()
        with torch.no_grad(), isolated_rng():
            model(*example, **kwargs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        model.load_state_dict(state)
    return int(total)


@contextlib.contextmanager
def isolated_rng():
    """Run a block without touching the global random states of torch (CPU), numpy and
    Python: an estimate that builds models and runs them must not change the numbers of the
    notebook that prints it."""
    import random

    import numpy as np
    import torch

    py, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002 (the legacy global)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)  # noqa: NPY002


def estimate_training_memory(model: nn.Module, example: Any, batch_size: int, *,
                             data_bytes: int = 0, optimizer_states: int = 2,
                             forward_kwargs: dict | None = None) -> MemoryEstimate:
    """Estimate the memory of training ``model`` at ``batch_size`` (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
    example : torch.Tensor or tuple of torch.Tensor
        A small input batch (leading dimension = its batch size, e.g. 1 or 2).
    batch_size : int
        The training batch size.
    data_bytes : int
        Bytes of the data the profile holds in memory.
    optimizer_states : int
        Tensors of optimizer state per parameter (Adam: 2; SGD: 0; SGD with momentum: 1).
    forward_kwargs : dict, optional
        Keyword arguments of the forward pass.

    Returns
    -------
    MemoryEstimate

    Raises
    ------
    ValueError
        For a non-positive ``batch_size`` or negative ``data_bytes``/``optimizer_states``.
    """
    import torch

    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if data_bytes < 0 or optimizer_states < 0:
        raise ValueError("data_bytes and optimizer_states must be non-negative")
    inputs = example if isinstance(example, tuple) else (example,)
    n_example = next(int(t.shape[0]) for t in inputs if isinstance(t, torch.Tensor))
    act = activation_bytes(model, *inputs, **(forward_kwargs or {}))
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable = sum(p.numel() * p.element_size() for p in model.parameters()
                    if p.requires_grad)
    return MemoryEstimate(weights=int(weights), gradients=int(trainable),
                          optimizer=int(optimizer_states * trainable),
                          activations=int(act * batch_size / n_example),
                          data=int(data_bytes), batch_size=int(batch_size))
