"""Checkpoint files that resume a run exactly; names that change with the settings."""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._validate import _nonnegative_int
from .batchnorm import (
    _FROZEN_ATTR,
    _batchnorm_layers,
    _freeze_layer,
    _unfreeze_layer,
    frozen_batchnorm_layers,
)
from .history import History
from .rng import _rng_state, _set_rng_state

if TYPE_CHECKING:
    import torch
    from torch import nn

_CHECKPOINT_FORMAT = "cosmicbook-checkpoint"
_CHECKPOINT_VERSION = 1



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

