"""Training the mask UNet with the book's one training loop (:func:`cosmicbook.core.fit`).

The recipe of deepCR (Zhang & Bloom 2020) and of the DESI seed deck: binary cross-entropy on the
per-pixel cosmic-ray truth, pixels flagged as "ignore" (e.g. saturated or bad columns) left out
of the loss, Adam, and batch-norm statistics frozen after 40% of the epochs (the deck: 60 epochs,
frozen after 24), when the learning rate is also divided by 2.5 as in the deepCR package.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from cosmicbook.core.training import (
    Checkpoint,
    FitConfig,
    FitOptions,
    History,
    fit,
    freeze_batchnorm,
)

from .model import UNet

__all__ = ["MaskNetConfig", "freeze_epoch", "make_loader", "masked_bce", "train_mask_net",
           "training_metadata"]


def masked_bce(logits: torch.Tensor, target: torch.Tensor,
               ignore: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy of cosmic-ray logits, averaged over the pixels that count.

    Parameters
    ----------
    logits : torch.Tensor, shape (N, 1, H, W)
        The network's output before the sigmoid.
    target : torch.Tensor, same shape
        Truth mask (1 = cosmic ray, 0 = not), any numeric dtype.
    ignore : torch.Tensor, optional, same shape
        deepCR's "ignore" mask: 1 (True) for pixels left out of the loss (bad pixels, zero
        inverse variance), 0 for the others. This is the third item of a
        :class:`~cosmicbook.deepcr.PatchDataset` patch.

    Returns
    -------
    torch.Tensor
        Scalar: the loss summed over the kept pixels / their number (0 when none is kept).

    Examples
    --------
    >>> logits = torch.tensor([[[[10.0, -10.0]]]]); truth = torch.tensor([[[[1.0, 1.0]]]])
    >>> round(float(masked_bce(logits, truth)), 3)
    5.0
    >>> round(float(masked_bce(logits, truth, torch.tensor([[[[0.0, 1.0]]]]))), 5)
    5e-05
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    loss = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")
    if ignore is None:
        return loss.mean()
    if ignore.shape != loss.shape:
        raise ValueError(f"ignore {tuple(ignore.shape)} and logits {tuple(loss.shape)} differ")
    keep = 1.0 - ignore.to(loss.dtype)
    return (loss * keep).sum() / keep.sum().clamp_min(1.0)


def freeze_epoch(epochs: int, fraction: float = 0.4) -> int:
    """The epoch after which batch-norm statistics are frozen: ``round(fraction * epochs)``.

    >>> freeze_epoch(60)   # the seed deck: 60 epochs, frozen after 24
    24
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction!r}")
    return int(round(fraction * epochs))


def make_loader(dataset: torch.utils.data.Dataset, batch_size: int, *, shuffle: bool,
                seed: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader whose shuffling is driven by a seeded generator (exactly resumable)."""
    if len(dataset) == 0:
        raise ValueError("the dataset is empty: no patches to train on")
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                                       generator=generator, num_workers=0)


@dataclass(frozen=True)
class MaskNetConfig(FitConfig):
    """How :func:`train_mask_net` trains (deepCR's recipe by default).

    Besides the fields of :class:`~cosmicbook.core.training.FitConfig` (``epochs`` over the
    training patches, with no default; ``batch_size`` patches per optimiser step; Adam's
    learning rate ``lr``, deepCR: 0.005):

    Attributes
    ----------
    freeze_fraction : float
        Batch-norm statistics are frozen (:func:`cosmicbook.core.freeze_batchnorm`) at the end
        of epoch ``round(freeze_fraction * epochs)``; 1 never freezes.
    lr_drop : float
        The learning rate is divided by this when batch norm is frozen (deepCR: 2.5).
    """

    epochs: int
    batch_size: int = 16
    lr: float = 0.005
    freeze_fraction: float = 0.4
    lr_drop: float = 2.5

    def __post_init__(self):
        super().__post_init__()
        if self.lr_drop <= 0:
            raise ValueError(f"lr_drop must be positive, got {self.lr_drop!r}")


def train_mask_net(
    model: UNet,
    train_data: torch.utils.data.Dataset,
    val_data: torch.utils.data.Dataset | None = None,
    *,
    config: MaskNetConfig,
    checkpoint: str | os.PathLike | Checkpoint | None = None,
    resume: bool = True,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool | None = None,
) -> History:
    """Train a mask UNet on patches: masked BCE, Adam, batch norm frozen after 40% of epochs.

    Parameters
    ----------
    model : UNet
        Trained in place.
    train_data, val_data : torch.utils.data.Dataset
        Items ``(image, mask)`` or ``(image, mask, ignore)``, tensors of shape ``(1, H, W)``:
        the image in electrons, the truth mask 0/1, 1 for pixels left out of the loss (as
        :class:`~cosmicbook.deepcr.PatchDataset` yields them).
    config : MaskNetConfig
        Epochs, batch size, learning rate and the batch-norm freeze
        (``MaskNetConfig(epochs=60)`` is the seed deck's run).
    checkpoint : path or Checkpoint, optional
        Saved after every epoch; with ``resume=True`` an existing one is continued exactly.
    seed : int
        Seeds the shuffling of every epoch (``FitOptions(seed=...)``).
    device : str or torch.device, optional
        Where to train (default: the best available).
    progress : bool, optional
        Progress bars (default: on unless ``COSMICBOOK_PROGRESS=0``).

    Returns
    -------
    History
        Per-epoch training and validation loss, learning rate, duration.
    """
    if not isinstance(model, UNet):
        raise TypeError(f"model must be a cosmicbook.deepcr.UNet, got {type(model).__name__}")
    if not isinstance(config, MaskNetConfig):
        raise TypeError(f"config must be a MaskNetConfig, got {type(config).__name__}")
    epochs, batch_size, lr_drop = config.epochs, config.batch_size, config.lr_drop
    freeze_at = freeze_epoch(epochs, config.freeze_fraction)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_loader = make_loader(train_data, batch_size, shuffle=True, seed=seed)
    val_loader = None if val_data is None else make_loader(val_data, batch_size, shuffle=False)

    def callback(epoch: int, net: torch.nn.Module, history: History) -> None:
        if epoch == freeze_at and config.freeze_fraction < 1.0:
            freeze_batchnorm(net)
            for group in optimizer.param_groups:
                group["lr"] /= lr_drop

    return fit(model, train_loader, masked_bce, optimizer, epochs=epochs,
               val_loader=val_loader, device=device, checkpoint=checkpoint, resume=resume,
               progress=progress, options=FitOptions(epoch_callback=callback, seed=seed))


def training_metadata(model: UNet, history: History, **extra: Any) -> dict[str, Any]:
    """JSON-ready description of a training run, stored next to shipped weights."""
    records = history.state_dict()["records"]
    clean = {k: [None if isinstance(v, float) and math.isnan(v) else v for v in vals]
             for k, vals in records.items()}
    return {"architecture": model.name, **model.config(), "n_parameters": model.n_parameters,
            "epochs": len(history), "history": clean, **extra}
