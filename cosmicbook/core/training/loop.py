"""The supervised loop: :func:`fit`, :func:`evaluate` and :func:`predict`."""

from __future__ import annotations

import inspect
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..device import get_device
from ..progress import progress as _progress
from ._validate import _as_float, _check_loader, _positive_int
from .checkpoint import Checkpoint
from .history import History
from .options import FitOptions, StepFn
from .precision import autocast, maybe_compile
from .rng import _loader_generators

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)


def _to_device(obj: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) tuple/list/dict batch to ``device``."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_device(x, device) for x in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(x, device) for x in obj)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


def _batch_size(obj: Any) -> int:
    """Leading dimension of the first tensor found in the batch (1 if none)."""
    import torch

    if isinstance(obj, torch.Tensor):
        return int(obj.shape[0]) if obj.ndim else 1
    if isinstance(obj, (tuple, list)):
        items: Iterable = obj
    elif isinstance(obj, Mapping):
        items = obj.values()
    else:
        return 1
    for item in items:
        if isinstance(item, (torch.Tensor, tuple, list, Mapping)):
            return _batch_size(item)
    return 1


def _accepts_weights(loss_fn: Callable) -> bool:
    """Whether ``loss_fn(output, target, weights)`` can be called (True when unknowable)."""
    from torch import nn

    target = loss_fn.forward if isinstance(loss_fn, nn.Module) else loss_fn
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(None, None, None)
    except TypeError:
        return False
    return True


class _Step:
    """Computes the loss of one batch: ``step_fn`` if given, else the default layout."""

    def __init__(self, loss_fn: Callable | None, step_fn: StepFn | None) -> None:
        if step_fn is None and loss_fn is None:
            raise ValueError("give a loss_fn, or a step_fn that returns the loss")
        if step_fn is not None and not callable(step_fn):
            raise TypeError("step_fn must be callable: step_fn(model, batch, device) -> loss")
        if step_fn is None and not callable(loss_fn):
            raise TypeError("loss_fn must be callable: loss_fn(output, target[, weights])")
        self.loss_fn = loss_fn
        self.step_fn = step_fn
        self.weights_ok = step_fn is not None or _accepts_weights(loss_fn)

    def __call__(self, model: nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        if self.step_fn is not None:
            return self.step_fn(model, batch, device)
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            layout = (f"a {type(batch).__name__} of {len(batch)} items"
                      if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}")
            raise TypeError(
                f"fit's default step expects batches (inputs, targets) or (inputs, targets, "
                f"weights), got {layout}; pass a step_fn (fit: options=FitOptions(step_fn=...)) "
                f"for other batch layouts"
            )
        output = model(batch[0])
        if len(batch) == 2:
            return self.loss_fn(output, batch[1])
        if not self.weights_ok:
            raise TypeError(
                f"the batches have a third item (weights) but loss_fn {self.loss_fn!r} takes "
                f"only (output, target); use a loss accepting (output, target, weights) or "
                f"drop the weights from the dataset"
            )
        return self.loss_fn(output, batch[1], batch[2])


def _loss_value(loss: Any, phase: str, epoch: int, batch: int, n_batches: int | None) -> float:
    import torch

    where = f"epoch {epoch}, batch {batch}" + (f" of {n_batches}" if n_batches else "")
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"the {phase} loss at {where} must be a scalar tensor, got {shape}; use a loss "
            f"with reduction='mean'"
        )
    value = float(loss.detach())
    if not math.isfinite(value):
        raise RuntimeError(
            f"{phase} loss is {value} at {where}: training diverged or the data holds "
            f"NaN/inf (check inputs and targets, lower the learning rate, or set "
            f"FitOptions(grad_clip=...))"
        )
    return value


def _len_or_none(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _run_validation(model: nn.Module, loader: Any, step: _Step, device: torch.device,
                    epoch: int) -> float:
    import torch

    model.eval()
    total, count = 0.0, 0
    n_batches = _len_or_none(loader)
    with torch.no_grad():
        for i, batch in enumerate(loader, start=1):
            batch = _to_device(batch, device)
            value = _loss_value(step(model, batch, device), "validation", epoch, i, n_batches)
            size = _batch_size(batch)
            total += value * size
            count += size
    if count == 0:
        raise ValueError("the validation loader yielded no batches")
    return total / count


def _model_device(model: nn.Module) -> torch.device:
    import torch

    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _model_float_dtype(model: nn.Module) -> torch.dtype | None:
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


# --------------------------------------------------------------------------------------------
# fit / evaluate / predict
# --------------------------------------------------------------------------------------------
def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable[..., torch.Tensor] | None,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    val_loader: Iterable | None = None,
    scheduler: Any | None = None,
    device: str | torch.device | None = None,
    checkpoint: str | os.PathLike[str] | Checkpoint | None = None,
    resume: bool = True,
    progress: bool | None = None,
    options: FitOptions | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; checkpoint, resume, validate, report progress.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device``; on return it is in eval mode.
    train_loader : iterable
        Yields batches ``(inputs, targets)`` or ``(inputs, targets, weights)`` (tuples or
        lists of tensors, e.g. from a ``DataLoader`` over a ``TensorDataset``), moved to
        ``device`` before use. Any other layout needs a ``step_fn`` in ``options``. For an
        exactly resumable run shuffle with a seeded generator: ``DataLoader(ds, shuffle=True,
        generator=torch.Generator().manual_seed(0))``.
    loss_fn : callable or None
        ``loss_fn(output, targets)`` -> scalar tensor; with a 3-item batch it is called as
        ``loss_fn(output, targets, weights)`` (per-pixel or per-sample weights, e.g.
        ``lambda o, t, w: F.binary_cross_entropy_with_logits(o, t, weight=w)``); a ``TypeError``
        explains the mismatch when it takes only two arguments. May be ``None`` with
        ``options.step_fn``.
    optimizer : torch.optim.Optimizer
        Built on ``model.parameters()`` before calling fit (moving the model keeps the
        parameter objects, so the optimizer stays valid).
    epochs : int
        Total number of epochs, *including* those already done in a resumed checkpoint.
    val_loader : iterable, optional
        Validation batches, same layout; the validation loss of the end-of-epoch model, in
        eval mode and under ``torch.no_grad()``, is the batch-size-weighted mean of the
        per-batch losses (exact for ``reduction="mean"`` losses over samples).
    scheduler : optional
        A learning-rate scheduler stepped once per epoch, after validation.
        ``ReduceLROnPlateau`` gets the validation loss (the training loss without
        ``val_loader``). Per-batch schedules (``OneCycleLR``) are not supported: write the
        steps per epoch, or a custom loop.
    device : str, torch.device or None
        See :func:`~cosmicbook.core.device.get_device`; ``None`` picks CUDA > MPS > CPU.
    checkpoint : str, path or Checkpoint, optional
        Written after every epoch (atomically).
    resume : bool
        If ``checkpoint`` exists, continue from it: weights, optimizer, scheduler, history,
        RNG states and the loader's generator are restored, training resumes at the next
        epoch, and a finished run (``epochs`` reached, or stopped early) returns its history
        at once without training. ``False`` ignores and later overwrites the file.
    progress : bool or None
        Show an epoch bar and a per-epoch batch bar with the running mean loss; ``None``
        follows ``COSMICBOOK_PROGRESS``.
    options : FitOptions, optional
        The less common settings, validated when the :class:`FitOptions` is built: a custom
        ``step_fn`` (then ``loss_fn`` may be ``None``), ``metrics`` evaluated after every
        epoch, an ``epoch_callback`` (early stopping, ``freeze_batchnorm``...), ``grad_clip``,
        a per-epoch ``seed``, ``precision`` and ``compile``. ``None`` means ``FitOptions()``.

    Returns
    -------
    History
        One record per epoch (including those of a resumed checkpoint).

    Raises
    ------
    ValueError
        For a non-positive ``epochs``, an empty loader, or a non-scalar loss (a bad
        ``grad_clip``/``seed``/``precision`` or a metric name clashing with the history's
        columns is refused by :class:`FitOptions` itself).
    RuntimeError
        When a loss is NaN or infinite (the message names epoch and batch), or when the
        checkpoint does not fit the model.
    """
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    if options is None:
        options = FitOptions()
    elif not isinstance(options, FitOptions):
        raise TypeError(f"options must be a FitOptions, got {type(options).__name__}")
    epochs = _positive_int(epochs, "epochs")
    step = _Step(loss_fn, options.step_fn)
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    metrics = dict(options.metrics or {})
    epoch_callback, grad_clip, seed = options.epoch_callback, options.grad_clip, options.seed
    ckpt = None if checkpoint is None else Checkpoint(checkpoint)

    dev = get_device(device)
    model.to(dev)
    cast = autocast(options.precision, dev)
    forward = maybe_compile(model, options.compile)
    generators = _loader_generators(train_loader)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)

    history = History()
    start = 0
    if ckpt is not None and resume and ckpt.exists():
        state = ckpt.load(model, optimizer, scheduler, generators=generators)
        history, start = state["history"], int(state["epoch"])
        if history.stopped_early or start >= epochs:
            why = "stopped early" if history.stopped_early else f"{start} epochs done"
            logger.info("checkpoint %s is complete (%s): not training", ckpt.path, why)
            model.eval()
            return history
        logger.info("resuming from %s after epoch %d of %d", ckpt.path, start, epochs)

    n_batches = _len_or_none(train_loader)
    epoch_bar = _progress(total=epochs, initial=start, desc="training", unit="epoch",
                          enabled=progress)
    try:
        for epoch in range(start + 1, epochs + 1):
            t0 = time.perf_counter()
            if seed is not None:
                torch.manual_seed(seed + epoch)
                for g in generators:
                    g.manual_seed(seed + epoch)
            lr = float(optimizer.param_groups[0]["lr"])

            # -- training ---------------------------------------------------------------
            model.train()
            total, count = 0.0, 0
            batch_bar = _progress(train_loader, desc=f"epoch {epoch}/{epochs}", unit="batch",
                                  total=n_batches, leave=False, enabled=progress)
            try:
                for i, batch in enumerate(batch_bar, start=1):
                    batch = _to_device(batch, dev)
                    optimizer.zero_grad(set_to_none=True)
                    with cast:
                        loss = step(forward, batch, dev)
                    value = _loss_value(loss, "training", epoch, i, n_batches)
                    loss.backward()
                    if grad_clip is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                    optimizer.step()
                    size = _batch_size(batch)
                    total += value * size
                    count += size
                    batch_bar.set_postfix(loss=f"{total / count:.4g}", refresh=False)
            finally:
                batch_bar.close()
            if count == 0:
                raise ValueError("train_loader yielded no batches")
            train_loss = total / count

            # -- validation and metrics -------------------------------------------------
            val_loss = math.nan
            if val_loader is not None:
                model.eval()
                with cast:
                    val_loss = _run_validation(forward, val_loader, step, dev, epoch)
            values: dict[str, float] = {}
            if metrics:
                model.eval()
                with torch.no_grad():
                    for name, fn in metrics.items():
                        values[name] = _as_float(fn(model, val_loader, dev))

            if scheduler is not None:
                if plateau:
                    scheduler.step(val_loss if val_loader is not None else train_loss)
                else:
                    scheduler.step()

            history.append(epoch, train_loss, val_loss, lr=lr,
                           seconds=time.perf_counter() - t0, **values)
            stop = bool(epoch_callback(epoch, model, history)) if epoch_callback else False
            history.stopped_early = stop
            if ckpt is not None:
                ckpt.save(model, optimizer, scheduler, epoch=epoch, history=history,
                          generators=generators)

            postfix = {"train": f"{train_loss:.4g}"}
            if val_loader is not None:
                postfix["val"] = f"{val_loss:.4g}"
            epoch_bar.set_postfix(postfix, refresh=False)
            epoch_bar.update(1)
            if stop:
                logger.info("epoch_callback stopped training after epoch %d", epoch)
                break
    finally:
        epoch_bar.close()
    model.eval()
    return history


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    device: str | torch.device | None = None,
    step_fn: StepFn | None = None,
) -> float:
    """Mean loss of ``model`` over ``loader`` (eval mode, no gradients), as :func:`fit`
    computes the validation loss: per-batch losses weighted by batch size.

    ``device=None`` evaluates where the model already is. The model is left in eval mode.
    """
    _check_loader(loader, "loader")
    step = _Step(loss_fn, step_fn)
    dev = _model_device(model) if device is None else get_device(device)
    model.to(dev)
    return _run_validation(model, loader, step, dev, epoch=0)


def _to_numpy(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out.detach().cpu().numpy()
    if isinstance(out, (tuple, list)):
        return tuple(_to_numpy(x) for x in out)
    if isinstance(out, Mapping):
        return {k: _to_numpy(v) for k, v in out.items()}
    raise TypeError(f"the model returned a {type(out).__name__}; predict handles tensors and "
                    f"tuples/lists/dicts of tensors")


def _concatenate(chunks: list) -> Any:
    first = chunks[0]
    if isinstance(first, tuple):
        return tuple(_concatenate([c[i] for c in chunks]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concatenate([c[k] for c in chunks]) for k in first}
    return np.concatenate(chunks, axis=0)


def predict(
    model: nn.Module,
    inputs: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> np.ndarray | tuple | dict:
    """Run ``model`` on ``inputs`` in batches (eval mode, no gradients) and return numpy.

    Parameters
    ----------
    inputs : numpy.ndarray or torch.Tensor, shape (N, ...)
        Samples along the first axis, e.g. ``(N, 1, H, W)`` image cutouts. Numpy input is
        converted batch by batch (so a large array is never copied whole); big-endian FITS
        data is byte-swapped and floating data cast to the model's dtype (``float64`` ->
        ``float32``).
    batch_size : int
        Samples per forward pass.
    device : str, torch.device or None
        ``None`` runs where the model already is; anything else is passed to
        :func:`~cosmicbook.core.device.get_device` (``"auto"`` picks the best) and the model
        is moved there.
    progress : bool or None
        Show a progress bar over batches; ``None`` follows ``COSMICBOOK_PROGRESS``.

    Returns
    -------
    numpy.ndarray, shape (N, ...)
        The concatenated outputs (a tuple or dict of arrays if the model returns several).
        The model's train/eval mode is restored afterwards.
    """
    import torch

    batch_size = _positive_int(batch_size, "batch_size")
    if not isinstance(inputs, torch.Tensor):
        inputs = np.asarray(inputs)
        if inputs.dtype == object:
            raise TypeError("predict needs a numeric array, got dtype=object")
    if inputs.ndim == 0 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must have at least one sample along axis 0, got shape "
                         f"{tuple(inputs.shape)}")
    dev = _model_device(model) if device is None else get_device(device)
    model.to(dev)
    dtype = _model_float_dtype(model)
    n = int(inputs.shape[0])

    def batch_at(start: int) -> torch.Tensor:
        chunk = inputs[start:start + batch_size]
        if isinstance(chunk, np.ndarray):
            if not chunk.dtype.isnative:
                chunk = chunk.astype(chunk.dtype.newbyteorder("="))
            chunk = torch.from_numpy(np.ascontiguousarray(chunk))
        if dtype is not None and chunk.is_floating_point():
            chunk = chunk.to(dtype)
        return chunk.to(dev, non_blocking=dev.type == "cuda")

    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            starts = _progress(range(0, n, batch_size), desc="predict", unit="batch",
                               leave=False, enabled=progress)
            try:
                for start in starts:
                    chunks.append(_to_numpy(model(batch_at(start))))
            finally:
                starts.close()
    finally:
        model.train(was_training)
    return _concatenate(chunks)
