"""Networks exported for deployment: ``torch.export`` programs saved and loaded again.

An exported program is the network's
graph with its weights, free of the Python class that built it, so a real-time pipeline (a
telescope's trigger farm, a C++ service through AOTInductor) can run it without importing
``cosmicbook``. :func:`export_model` traces a network in eval mode on an example batch (the
batch size stays free) and writes the program atomically; :func:`load_exported` reads it
back as a callable module.

Exported programs are pickles of a graph and tensors: load only files you trust.

Examples
--------
>>> import tempfile, torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 1))
>>> x = torch.randn(2, 1, 16, 16)
>>> with tempfile.TemporaryDirectory() as tmp:
...     again = load_exported(export_model(net, x, f"{tmp}/net.pt2"))
>>> torch.allclose(again(x), net(x), atol=1e-6)
True
>>> again(torch.randn(5, 1, 16, 16)).shape
torch.Size([5, 1, 16, 16])
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["export_model", "load_exported"]

#: The largest batch an exported program accepts (torch.export needs a bound).
MAX_BATCH = 65536


def export_model(model: nn.Module, example: torch.Tensor, path: str | os.PathLike, *,
                 dynamic_batch: bool = True) -> Path:
    """Export ``model`` with ``torch.export`` and save the program.

    Parameters
    ----------
    model : torch.nn.Module
        Traced in eval mode (dropout off, batch-norm running statistics); its training mode
        is restored afterwards.
    example : torch.Tensor
        An example input batch of at least two samples; only its batch size may change
        later (with ``dynamic_batch``).
    path : str or path-like
        Destination, conventionally ``*.pt2``; written under a temporary name and moved into
        place, so a crash leaves no half-written file.
    dynamic_batch : bool
        Keep the first dimension free (1 to :data:`MAX_BATCH`); otherwise the program only
        accepts the example's shape.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        If ``example`` is not a tensor with a batch of at least two samples (a batch of one
        would be specialised to one by the tracer).
    """
    import torch

    if not isinstance(example, torch.Tensor) or example.ndim < 1:
        raise ValueError(f"example must be a torch.Tensor batch, got {type(example).__name__}")
    if dynamic_batch and example.shape[0] < 2:
        raise ValueError(f"the example batch needs at least 2 samples to keep the batch size "
                         f"free, got {example.shape[0]}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no folder {path.parent} to write {path.name} into")
    was_training = model.training
    model.eval()
    try:
        shapes = None
        if dynamic_batch:
            batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
            shapes = ({0: batch},)
        with torch.no_grad():
            program = torch.export.export(model, (example,), dynamic_shapes=shapes)
    finally:
        model.train(was_training)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp.pt2")
    try:
        torch.export.save(program, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_exported(path: str | os.PathLike) -> nn.Module:
    """Load a program written by :func:`export_model` as a callable module.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not an exported program.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no exported program {path}")
    try:
        program = torch.export.load(path)
    except Exception as err:  # torch raises several types for a file that is not a program
        raise ValueError(f"{path} is not a torch.export program: {err}") from err
    return program.module()
