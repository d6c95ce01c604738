"""One training loop for the whole book: :func:`fit`, with checkpoints that resume exactly.

Every chapter that trains a "plain" supervised model (cosmic-ray masks with a UNet, 1D CNNs on
traces, denoising autoencoders...) calls :func:`fit`; chapters with unusual loops (GANs) write
their own but reuse :class:`Checkpoint` and :class:`History`.

What :func:`fit` does, per epoch::

    model.train()
    for batch in train_loader:            # (inputs, targets) or (inputs, targets, weights)
        loss = loss_fn(model(inputs), targets[, weights])   # or step_fn(model, batch, device)
        loss.backward(); clip gradients (optional); optimizer.step()
    model.eval(); with torch.no_grad(): validation loss, metrics
    scheduler.step()                      # once per epoch
    history.append(...); epoch_callback(...)  # may stop early or freeze batch-norm
    checkpoint.save(...)                  # model, optimizer, scheduler, history, RNG states

Reproducibility
---------------
A run interrupted at any epoch and restarted with the same call continues from its last
checkpoint and ends with weights *bit-identical* to an uninterrupted run (on the CPU; GPU
kernels are only deterministic with ``seed_everything(..., deterministic=True)``). This works
because the checkpoint holds, besides model and optimizer, the scheduler state, the history,
the python/numpy/torch/CUDA random states and the state of the ``torch.Generator`` of the
training ``DataLoader`` (``DataLoader(..., shuffle=True, generator=g)``), which decides the
shuffling order. Optionally ``fit(..., seed=s)`` re-seeds that generator and torch's global
RNG with ``s + epoch`` at the start of every epoch, so that each epoch's shuffling and dropout
depend only on ``(s, epoch)`` and not on how many random numbers were drawn before.

Checkpoints are pickles (``torch.load(weights_only=False)``): only load files you trust.

Examples
--------
>>> import torch
>>> from torch.utils.data import DataLoader, TensorDataset
>>> from cosmicbook.core.device import seed_everything
>>> from cosmicbook.core.training import fit, predict
>>> rng = seed_everything(0)
>>> x = torch.randn(256, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
>>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
...                     generator=torch.Generator().manual_seed(0))
>>> model = torch.nn.Linear(3, 1)
>>> opt = torch.optim.Adam(model.parameters(), lr=0.05)
>>> history = fit(model, loader, torch.nn.MSELoss(), opt, epochs=20, progress=False)
>>> history["train_loss"][-1] < 1e-2
True
>>> predict(model, x.numpy(), progress=False).shape
(256, 1)
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import os
import random
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .device import get_device
from .progress import progress as _progress

if TYPE_CHECKING:
    import torch
    from astropy.table import Table
    from matplotlib.axes import Axes
    from torch import nn

__all__ = [
    "Checkpoint",
    "checkpoint_name",
    "History",
    "evaluate",
    "fit",
    "freeze_batchnorm",
    "frozen_batchnorm_layers",
    "predict",
    "unfreeze_batchnorm",
    "update_average",
]

logger = logging.getLogger(__name__)

#: Batch layout understood by the default step: ``(inputs, targets)`` or with ``weights``.
Batch = Any
#: ``step_fn(model, batch, device) -> scalar loss tensor``.
StepFn = Callable[["nn.Module", Batch, "torch.device"], "torch.Tensor"]
#: ``metric(model, val_loader, device) -> float``.
MetricFn = Callable[["nn.Module", Any, "torch.device"], float]

_CHECKPOINT_FORMAT = "cosmicbook-checkpoint"
_CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------------------------
# small validators
# --------------------------------------------------------------------------------------------
def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _nonnegative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _as_float(value: object) -> float:
    """``None`` -> NaN; tensors and numpy scalars -> python float."""
    if value is None:
        return math.nan
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


def _check_loader(loader: Any, name: str) -> None:
    if loader is None or not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of batches (e.g. a DataLoader), got "
                        f"{type(loader).__name__}")
    try:
        n = len(loader)
    except TypeError:  # an IterableDataset without __len__: checked while iterating
        return
    if n == 0:
        raise ValueError(
            f"{name} is empty (len 0): check the dataset size and batch_size/drop_last"
        )


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------
class History:
    """Per-epoch record of a training run: losses, metrics, learning rate and wall time.

    Stored as a dict of equally long lists, ``history.records``, with the keys

    ``epoch``
        1-based epoch number (int).
    ``train_loss``
        Mean training loss over the epoch, weighted by batch size, in the units of the loss.
        Measured while the weights change, so it lags the end-of-epoch model slightly.
    ``val_loss``
        Validation loss of the end-of-epoch model, weighted by batch size (NaN without
        validation data).
    ``lr``
        Learning rate of the optimizer's first parameter group during the epoch.
    ``seconds``
        Wall-clock duration of the epoch (training, validation and metrics), in s.
    any metric name
        Values returned by the ``metrics`` callables of :func:`fit` (NaN for epochs in which
        the metric was not computed).

    Attributes
    ----------
    records : dict of str -> list
    stopped_early : bool
        True when an ``epoch_callback`` stopped the run.

    Examples
    --------
    >>> h = History()
    >>> h.append(1, train_loss=0.5, val_loss=0.6, lr=1e-3, seconds=2.0)
    >>> h.append(2, train_loss=0.3, val_loss=0.4, lr=1e-3, seconds=2.1, iou=0.7)
    >>> h["val_loss"], h["iou"][1]
    ([0.6, 0.4], 0.7)
    >>> h.best_epoch()
    2
    """

    BASE_KEYS: tuple[str, ...] = ("epoch", "train_loss", "val_loss", "lr", "seconds")

    def __init__(self) -> None:
        self.records: dict[str, list] = {key: [] for key in self.BASE_KEYS}
        self.stopped_early: bool = False

    # -- container protocol -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records["epoch"])

    def __getitem__(self, key: str) -> list:
        try:
            return self.records[key]
        except KeyError:
            raise KeyError(f"history has no {key!r}; it has {list(self.records)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.records

    def keys(self) -> list[str]:
        """All record names: the base keys, then metric names in order of appearance."""
        return list(self.records)

    @property
    def metric_names(self) -> list[str]:
        """The names of the extra metrics (everything but :attr:`BASE_KEYS`)."""
        return [k for k in self.records if k not in self.BASE_KEYS]

    @property
    def last(self) -> dict[str, float]:
        """The most recent epoch's record as a dict (empty when there is none)."""
        if not len(self):
            return {}
        return {k: v[-1] for k, v in self.records.items()}

    def __repr__(self) -> str:
        if not len(self):
            return "History(0 epochs)"
        last = self.last
        parts = [f"epoch {last['epoch']}", f"train_loss={last['train_loss']:.4g}"]
        if not math.isnan(last["val_loss"]):
            parts.append(f"val_loss={last['val_loss']:.4g}")
        parts += [f"{k}={last[k]:.4g}" for k in self.metric_names]
        stop = ", stopped early" if self.stopped_early else ""
        return f"History({len(self)} epochs; last: {', '.join(parts)}{stop})"

    # -- recording --------------------------------------------------------------------------
    def append(
        self,
        epoch: int,
        train_loss: float,
        val_loss: float | None = None,
        *,
        lr: float | None = None,
        seconds: float | None = None,
        **metrics: float,
    ) -> None:
        """Add one epoch's record. ``None`` is stored as NaN; a new metric is back-filled.

        Parameters
        ----------
        epoch : int
            1-based epoch number.
        train_loss, val_loss : float
            Mean losses of the epoch (``val_loss=None`` without validation data).
        lr : float, optional
            Learning rate used during the epoch.
        seconds : float, optional
            Duration of the epoch in s.
        **metrics : float
            Extra named values, e.g. ``iou=0.8``.
        """
        epoch = _nonnegative_int(epoch, "epoch")
        n = len(self)
        row: dict[str, float | int] = {
            "epoch": epoch,
            "train_loss": _as_float(train_loss),
            "val_loss": _as_float(val_loss),
            "lr": _as_float(lr),
            "seconds": _as_float(seconds),
        }
        row.update({name: _as_float(value) for name, value in metrics.items()})
        for key in row:
            if key not in self.records:
                self.records[key] = [math.nan] * n
        for key, column in self.records.items():
            column.append(row.get(key, math.nan))

    def best_epoch(self, key: str = "val_loss", mode: str = "min") -> int:
        """Epoch number with the lowest (``mode="min"``) or highest (``"max"``) ``key``.

        NaN entries are ignored. Raises ``ValueError`` when ``key`` has no finite value.
        """
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        values = np.asarray(self[key], dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            raise ValueError(f"history has no finite {key!r} value")
        masked = np.where(finite, values, np.inf if mode == "min" else -np.inf)
        index = int(np.argmin(masked) if mode == "min" else np.argmax(masked))
        return int(self.records["epoch"][index])

    # -- (de)serialisation ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A plain-python copy (lists of floats) suitable for ``torch.save`` or JSON."""
        return {
            "records": {k: list(v) for k, v in self.records.items()},
            "stopped_early": bool(self.stopped_early),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the contents with those of :meth:`state_dict`'s output."""
        records = state.get("records") if isinstance(state, Mapping) else None
        if not isinstance(records, Mapping):
            raise ValueError("not a History state dict: it has no 'records' mapping")
        missing = [k for k in self.BASE_KEYS if k not in records]
        if missing:
            raise ValueError(f"History state dict lacks {missing}")
        lengths = {k: len(v) for k, v in records.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"History state dict has columns of unequal length: {lengths}")
        ordered = list(self.BASE_KEYS) + [k for k in records if k not in self.BASE_KEYS]
        self.records = {k: list(records[k]) for k in ordered}
        self.stopped_early = bool(state.get("stopped_early", False))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> History:
        """Build a History from :meth:`state_dict`'s output."""
        history = cls()
        history.load_state_dict(state)
        return history

    def to_table(self) -> Table:
        """The history as an :class:`astropy.table.Table`, one row per epoch.

        ``seconds`` carries the unit ``s``; the losses are in the (arbitrary) units of the
        loss function. ``meta["stopped_early"]`` records an early stop.
        """
        import astropy.units as u
        from astropy.table import Table

        table = Table(meta={"stopped_early": self.stopped_early})
        table["epoch"] = np.asarray(self.records["epoch"], dtype=np.int64)
        for key in self.records:
            if key != "epoch":
                table[key] = np.asarray(self.records[key], dtype=np.float64)
        table["seconds"].unit = u.s
        table["train_loss"].description = "mean training loss over the epoch"
        table["val_loss"].description = "validation loss of the end-of-epoch model"
        table["lr"].description = "learning rate (first parameter group)"
        table["seconds"].description = "wall-clock duration of the epoch"
        return table

    def plot(
        self, ax: Axes | None = None, keys: Sequence[str] | None = None, logy: bool = True
    ) -> Axes:
        """Learning curves: each of ``keys`` against epoch.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure is made when omitted.
        keys : sequence of str, optional
            Records to plot; default: ``train_loss`` and, when validated, ``val_loss``.
        logy : bool
            Logarithmic y axis (ignored, linear axis, when a plotted value is <= 0).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6.0, 4.0))
        if keys is None:
            keys = [
                k for k in ("train_loss", "val_loss")
                if np.isfinite(np.asarray(self.records[k], dtype=float)).any()
            ]
        elif isinstance(keys, str):
            keys = [keys]
        labels = {"train_loss": "training", "val_loss": "validation"}
        epochs = np.asarray(self.records["epoch"])
        plotted = []
        for key in keys:
            values = np.asarray(self[key], dtype=float)
            ax.plot(epochs, values, marker="o", markersize=3, label=labels.get(key, key))
            plotted.append(values[np.isfinite(values)])
        values = np.concatenate(plotted) if plotted else np.empty(0)
        if logy and values.size and (values > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if set(keys) <= {"train_loss", "val_loss"} else "value")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if keys:
            ax.legend()
        ax.grid(True, alpha=0.3)
        return ax


# --------------------------------------------------------------------------------------------
# freezing batch normalisation
# --------------------------------------------------------------------------------------------
_FROZEN_ATTR = "_cosmicbook_bn_frozen"
_HOOK_ATTR = "_cosmicbook_bn_hook"


def _keep_eval_pre_hook(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook of a frozen batch-norm layer: run it in eval mode, whatever
    ``model.train()`` said, so it normalises with (and never updates) its running stats."""
    if getattr(module, _FROZEN_ATTR, False):
        module.training = False


def _batchnorm_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from torch.nn.modules.batchnorm import _BatchNorm

    return [(name, m) for name, m in model.named_modules() if isinstance(m, _BatchNorm)]


def _freeze_layer(layer: nn.Module, freeze_affine: bool) -> None:
    if getattr(layer, _HOOK_ATTR, None) is None:
        setattr(layer, _HOOK_ATTR, layer.register_forward_pre_hook(_keep_eval_pre_hook))
    setattr(layer, _FROZEN_ATTR, True)
    layer.eval()
    if freeze_affine:
        for p in layer.parameters(recurse=False):
            p.requires_grad_(False)


def _unfreeze_layer(layer: nn.Module, training: bool) -> None:
    handle = getattr(layer, _HOOK_ATTR, None)
    if handle is not None:
        handle.remove()
    for attr in (_HOOK_ATTR, _FROZEN_ATTR):
        if attr in layer.__dict__:
            delattr(layer, attr)
    for p in layer.parameters(recurse=False):
        p.requires_grad_(True)
    layer.train(training)


def freeze_batchnorm(model: nn.Module, *, freeze_affine: bool = False) -> int:
    """Freeze every batch-norm layer of ``model``: fixed running statistics from now on.

    As in deepCR (Zhang & Bloom 2020), training a segmentation net for some epochs and then
    freezing batch normalisation makes the network behave identically in training and
    inference, and stops small late-training batches from corrupting the statistics.

    Mechanism: each ``BatchNorm*`` layer (including ``SyncBatchNorm`` and the lazy variants)
    gets a forward pre-hook that switches it to eval mode right before every forward call.
    The layer therefore normalises with its running mean/variance and never updates them (nor
    ``num_batches_tracked``), even after ``model.train()``, inside or outside :func:`fit`.
    All other layers keep training normally. The hook survives ``copy.deepcopy`` and pickling
    of the model; it is not part of the ``state_dict``, but :class:`Checkpoint` records which
    layers are frozen and re-freezes them on load, so a resumed run stays frozen.

    Parameters
    ----------
    model : torch.nn.Module
    freeze_affine : bool
        Also stop training the layers' learnable scale and shift (``weight``, ``bias``) by
        setting ``requires_grad=False``. deepCR keeps them trainable (the default).

    Returns
    -------
    int
        The number of batch-norm layers frozen (a ``UserWarning`` is issued when 0).

    Examples
    --------
    Freeze after the first 10 epochs of :func:`fit`:

    >>> def freeze_after_10(epoch, model, history):  # doctest: +SKIP
    ...     if epoch == 10:
    ...         freeze_batchnorm(model)
    >>> fit(model, loader, loss_fn, opt, epochs=40,  # doctest: +SKIP
    ...     epoch_callback=freeze_after_10)
    """
    layers = _batchnorm_layers(model)
    if not layers:
        warnings.warn("freeze_batchnorm: the model has no batch-norm layer", stacklevel=2)
    for _, layer in layers:
        _freeze_layer(layer, freeze_affine)
    return len(layers)


def unfreeze_batchnorm(model: nn.Module) -> int:
    """Undo :func:`freeze_batchnorm`: the layers follow ``model.train()/eval()`` again.

    Affine parameters get ``requires_grad=True`` back. Returns the number of layers unfrozen.
    """
    count = 0
    for _, layer in _batchnorm_layers(model):
        if getattr(layer, _FROZEN_ATTR, False):
            _unfreeze_layer(layer, model.training)
            count += 1
    return count


def frozen_batchnorm_layers(model: nn.Module) -> dict[str, bool]:
    """Names of the frozen batch-norm layers -> whether their affine parameters are frozen too.

    The root module, if it is itself a batch-norm layer, is named ``""``.
    """
    return {
        name: not any(p.requires_grad for p in layer.parameters(recurse=False))
        for name, layer in _batchnorm_layers(model)
        if getattr(layer, _FROZEN_ATTR, False)
    }


# --------------------------------------------------------------------------------------------
# RNG state
# --------------------------------------------------------------------------------------------
def _rng_state() -> dict[str, Any]:
    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002 - the legacy global RNG is saved on purpose
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        try:
            state["mps"] = mps.get_rng_state()
        except Exception:  # MPS present but unusable: nothing to save
            pass
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            warnings.warn(
                f"checkpoint holds RNG states of {len(cuda_states)} CUDA device(s) but this "
                f"machine has {torch.cuda.device_count()}: CUDA RNG states not restored",
                stacklevel=3,
            )
    if "mps" in state and getattr(torch, "mps", None) is not None:
        try:
            torch.mps.set_rng_state(state["mps"].cpu())
        except Exception:  # not on a Mac any more: nothing to restore
            pass


def _loader_generators(loader: Any) -> list[torch.Generator]:
    """The distinct ``torch.Generator`` objects that drive a DataLoader's shuffling."""
    import torch

    sampler = getattr(loader, "sampler", None)
    batch_sampler = getattr(loader, "batch_sampler", None)
    candidates = (
        getattr(loader, "generator", None),
        getattr(sampler, "generator", None),
        getattr(getattr(batch_sampler, "sampler", None), "generator", None),
    )
    found: list[torch.Generator] = []
    for g in candidates:
        if isinstance(g, torch.Generator) and all(g is not other for other in found):
            found.append(g)
    return found


# --------------------------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------------------------
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


def checkpoint_name(prefix: str, *settings: Any, suffix: str = ".ckpt") -> str:
    """A checkpoint file name that changes whenever a setting of the run changes.

    ``prefix_<8 hex digits>.ckpt``, the digits hashing ``repr(settings)``: a rerun with the same
    settings finds (and resumes or skips) its checkpoint, a run with any other setting starts
    afresh instead of resuming a run it does not belong to.

    Parameters
    ----------
    prefix : str
        Readable start of the name (``"deepcr_2-32"``).
    *settings
        Everything that shapes the training (data sizes, seeds, recipe, epochs); their
        ``repr`` must be stable (numbers, strings, lists, tuples).
    suffix : str
        File extension.

    Examples
    --------
    >>> checkpoint_name("net", 1, [2, 3]) == checkpoint_name("net", 1, [2, 3])
    True
    >>> checkpoint_name("net", 1, [2, 3]) == checkpoint_name("net", 1, [2, 4])
    False
    """
    import hashlib

    key = hashlib.sha1(repr(list(settings)).encode()).hexdigest()[:8]
    return f"{prefix}_{key}{suffix}"


class Checkpoint:
    """A training checkpoint file: model, optimizer, scheduler, epoch, history and RNG states.

    Writes are atomic: the file is written next to its destination under a temporary name,
    flushed to disk, and moved into place with :func:`os.replace`, so a run killed while saving
    (a Colab timeout, a batch-system wall-time limit) leaves the previous checkpoint intact.

    The file is a pickle read with ``torch.load(weights_only=False)``: load only checkpoints
    you trust.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (conventionally ``*.pt``); parent folders are created on save.

    Examples
    --------
    >>> ckpt = Checkpoint("results/unet.pt")                        # doctest: +SKIP
    >>> ckpt.save(model, opt, epoch=3, history=history)             # doctest: +SKIP
    >>> state = ckpt.load(model, opt)                               # doctest: +SKIP
    >>> state["epoch"], state["history"]                            # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if isinstance(path, Checkpoint):
            path = path.path
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r}, exists={self.exists()})"

    def __fspath__(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        """Whether the checkpoint file exists."""
        return self.path.is_file()

    def remove(self) -> None:
        """Delete the checkpoint file, if any (to force a fresh start)."""
        self.path.unlink(missing_ok=True)

    def save(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any | None = None,
        *,
        epoch: int,
        history: History | None = None,
        generators: Sequence[torch.Generator] = (),
        extra: Any = None,
    ) -> Path:
        """Write the checkpoint atomically.

        Parameters
        ----------
        model : torch.nn.Module
            Its ``state_dict()`` and the names of its frozen batch-norm layers are saved.
        optimizer, scheduler : optional
            Objects with ``state_dict()``; ``None`` saves nothing for them.
        epoch : int
            Number of completed epochs.
        history : History, optional
        generators : sequence of torch.Generator
            Extra generators whose state to save, e.g. the one of a shuffling DataLoader.
        extra : picklable, optional
            Anything else worth keeping (the resolved run profile, normalisation constants).

        Returns
        -------
        pathlib.Path
            The checkpoint path.
        """
        import torch

        payload = {
            "format": _CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "epoch": _nonnegative_int(epoch, "epoch"),
            "model": model.state_dict(),
            "optimizer": None if optimizer is None else optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "history": None if history is None else history.state_dict(),
            "rng": _rng_state(),
            "generators": [g.get_state() for g in generators],
            "frozen_batchnorm": frozen_batchnorm_layers(model),
            "extra": extra,
            "torch_version": torch.__version__,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name in the same folder (so os.replace is atomic), created with
        # open(..., "xb") rather than mkstemp so that the file gets the usual umask permissions.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "xb") as f:
                torch.save(payload, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.path

    def read(self, map_location: Any = "cpu") -> dict[str, Any]:
        """The raw checkpoint dict, without applying it to anything.

        Raises ``FileNotFoundError`` when the file is missing and ``ValueError`` when it is not
        a checkpoint written by :meth:`save`.
        """
        import torch

        if not self.exists():
            raise FileNotFoundError(f"no checkpoint at {self.path}")
        payload = torch.load(self.path, map_location=map_location, weights_only=False)
        if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
            raise ValueError(
                f"{self.path} is not a cosmicbook checkpoint (written by Checkpoint.save); "
                f"for a bare state_dict use model.load_state_dict(torch.load(path))"
            )
        return payload

    def load(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        scheduler: Any | None = None,
        *,
        map_location: Any = "cpu",
        generators: Sequence[torch.Generator] = (),
        restore_rng: bool = True,
        strict: bool = True,
    ) -> dict[str, Any]:
        """Restore a saved state into ``model`` (and optimizer, scheduler, RNGs) in place.

        Parameters
        ----------
        model : torch.nn.Module
            Receives the weights (``load_state_dict(strict=strict)``); batch-norm layers that
            were frozen when saving are frozen again, others unfrozen.
        optimizer, scheduler : optional
            Receive their saved states; ``ValueError`` if the checkpoint has none for them.
            Optimizer state tensors are moved to the device of the model's parameters.
        map_location : str, torch.device or callable
            Where to load tensors first; the default ``"cpu"`` works on any machine.
        generators : sequence of torch.Generator
            Receive the states saved with :meth:`save` (same order).
        restore_rng : bool
            Restore python, numpy, torch (and CUDA) global RNG states, as needed for an exact
            resume.
        strict : bool
            Passed to ``model.load_state_dict``.

        Returns
        -------
        dict
            The checkpoint contents; ``"epoch"`` (completed epochs, int), ``"history"``
            (a :class:`History`, empty if none was saved) and ``"extra"`` are the useful keys.
        """
        payload = self.read(map_location)
        try:
            model.load_state_dict(payload["model"], strict=strict)
        except RuntimeError as err:
            raise RuntimeError(
                f"checkpoint {self.path} does not fit this model (was the architecture "
                f"changed? delete the file or pass resume=False to start over): {err}"
            ) from err
        frozen = payload.get("frozen_batchnorm") or {}
        for name, layer in _batchnorm_layers(model):
            if name in frozen:
                _freeze_layer(layer, bool(frozen[name]))
            elif getattr(layer, _FROZEN_ATTR, False):
                _unfreeze_layer(layer, model.training)
        for obj, key in ((optimizer, "optimizer"), (scheduler, "scheduler")):
            if obj is None:
                continue
            if payload.get(key) is None:
                raise ValueError(f"checkpoint {self.path} holds no {key} state to load")
            try:
                obj.load_state_dict(payload[key])
            except (ValueError, KeyError) as err:
                raise ValueError(
                    f"the {key} state in {self.path} does not fit this {key}: {err}"
                ) from err
        if generators:
            saved = payload.get("generators") or []
            if len(saved) == len(generators):
                for g, state in zip(generators, saved, strict=True):
                    g.set_state(state.cpu())
            else:
                warnings.warn(
                    f"checkpoint holds {len(saved)} generator state(s) for {len(generators)} "
                    f"generator(s): generators not restored, shuffling will differ",
                    stacklevel=2,
                )
        if restore_rng and payload.get("rng") is not None:
            _set_rng_state(payload["rng"])
        payload["history"] = (
            History.from_state_dict(payload["history"]) if payload.get("history") else History()
        )
        return payload


# --------------------------------------------------------------------------------------------
# batches and losses
# --------------------------------------------------------------------------------------------
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
                f"weights), got {layout}; pass step_fn=... for other batch layouts"
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
            f"NaN/inf (check inputs and targets, lower the learning rate, or set grad_clip)"
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
    metrics: Mapping[str, MetricFn] | None = None,
    epoch_callback: Callable[[int, nn.Module, History], bool | None] | None = None,
    progress: bool | None = None,
    grad_clip: float | None = None,
    step_fn: StepFn | None = None,
    seed: int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; checkpoint, resume, validate, report progress.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device``; on return it is in eval mode.
    train_loader : iterable
        Yields batches ``(inputs, targets)`` or ``(inputs, targets, weights)`` (tuples or
        lists of tensors, e.g. from a ``DataLoader`` over a ``TensorDataset``), moved to
        ``device`` before use. Any other layout needs ``step_fn``. For an exactly resumable
        run shuffle with a seeded generator: ``DataLoader(ds, shuffle=True,
        generator=torch.Generator().manual_seed(0))``.
    loss_fn : callable or None
        ``loss_fn(output, targets)`` -> scalar tensor; with a 3-item batch it is called as
        ``loss_fn(output, targets, weights)`` (per-pixel or per-sample weights, e.g.
        ``lambda o, t, w: F.binary_cross_entropy_with_logits(o, t, weight=w)``); a ``TypeError``
        explains the mismatch when it takes only two arguments. May be ``None`` with
        ``step_fn``.
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
    metrics : dict of str -> callable, optional
        ``metric(model, val_loader, device) -> float`` evaluated after every epoch with the
        model in eval mode under ``torch.no_grad()`` (``val_loader`` may be ``None``); the
        values are stored in the history under their names.
    epoch_callback : callable, optional
        ``epoch_callback(epoch, model, history)`` after each epoch's history entry (epoch is
        1-based) and *before* the checkpoint is written; a truthy return value stops training
        (``history.stopped_early`` is then True). Use it for early stopping, saving figures, or
        ``freeze_batchnorm(model)`` after N epochs, which the checkpoint then remembers.
    progress : bool or None
        Show an epoch bar and a per-epoch batch bar with the running mean loss; ``None``
        follows ``COSMICBOOK_PROGRESS``.
    grad_clip : float, optional
        Clip the global L2 norm of the gradients to this value before each optimizer step.
    step_fn : callable, optional
        ``step_fn(model, batch, device) -> scalar loss tensor`` replaces forward + loss (for
        multitask models or dict batches); the batch is already on ``device``. Used for both
        training (then backward, clipping and the optimizer step follow) and validation.
    seed : int, optional
        If given, at the start of epoch ``e`` torch's global RNG and the loader's
        generator(s) are re-seeded with ``seed + e``: shuffling and dropout of an epoch then
        depend only on ``(seed, e)``. Without it, exact resumes rely on the saved RNG states.

    Returns
    -------
    History
        One record per epoch (including those of a resumed checkpoint).

    Raises
    ------
    ValueError
        For a non-positive ``epochs``, an empty loader, a bad ``grad_clip``/``seed``, metric
        names clashing with the history's columns, or a non-scalar loss.
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
    epochs = _positive_int(epochs, "epochs")
    step = _Step(loss_fn, step_fn)
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not isinstance(name, str) or name in History.BASE_KEYS:
            raise ValueError(f"metric name {name!r} must be a string other than "
                             f"{History.BASE_KEYS}")
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be callable(model, val_loader, device)")
    if epoch_callback is not None and not callable(epoch_callback):
        raise TypeError("epoch_callback must be callable(epoch, model, history)")
    if grad_clip is not None:
        if isinstance(grad_clip, bool) or not isinstance(grad_clip, numbers.Real) or not (
            math.isfinite(grad_clip) and grad_clip > 0
        ):
            raise ValueError(f"grad_clip must be a positive number, got {grad_clip!r}")
        grad_clip = float(grad_clip)
    if seed is not None:
        seed = _nonnegative_int(seed, "seed")
    ckpt = None if checkpoint is None else Checkpoint(checkpoint)

    dev = get_device(device)
    model.to(dev)
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
                    loss = step(model, batch, dev)
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
                val_loss = _run_validation(model, val_loader, step, dev, epoch)
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
