"""Training the three networks with the book's loop (:func:`cosmicbook.core.training.fit`).

Each function takes a network built from :mod:`cosmicbook.cherenkov.model`, trains it in place
and returns the :class:`~cosmicbook.core.training.History`; its training settings come in a
small frozen config:

* :func:`train_cleaner` (:class:`CleanerConfig`) -- binary cross-entropy between the cleaner's
  output and the smoothed, min-max normalised source-only map (the authors' code); to fit one
  CPU thread it trains on random ``crop`` x ``crop`` windows of the normalised maps, half of
  them around the source (the network is fully convolutional, so it still runs on whole
  200 x 200 maps).
* :func:`train_regressor` (:class:`RegressorConfig`) -- mean absolute error of the normalised
  (x, y) on cleaned maps.
* :func:`train_localiser` (:class:`LocaliserConfig`) -- CenterNet's penalty-reduced focal loss
  on heat maps, with the eight flips and transpositions of each map as augmentation.

The initial weights are the caller's: ``torch.manual_seed(seed)`` before building the network
gives the runs of the book.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from cosmicbook.cherenkov.model import CNNCleaner, CNNRegressor, HeatmapLocaliser
from cosmicbook.cherenkov.preprocess import (
    cleaner_inputs,
    cleaner_targets,
    heatmap_targets,
    localiser_inputs,
)
from cosmicbook.cherenkov.simulate import CountsMaps
from cosmicbook.core.training import Checkpoint, FitConfig, FitOptions, History, fit

__all__ = ["CleanerConfig", "LocaliserConfig", "RegressorConfig", "focal_loss",
           "regressor_targets", "train_cleaner", "train_localiser", "train_regressor"]


def _check_model(model, cls) -> None:
    if not isinstance(model, cls):
        raise TypeError(f"model must be a cosmicbook.cherenkov.{cls.__name__}, got "
                        f"{type(model).__name__}")


def _check_config(config, cls):
    config = cls() if config is None else config
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    return config


def _loader(tensors, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(seed))


def _check(train: CountsMaps, val: CountsMaps) -> None:
    if len(train) == 0 or len(val) == 0:
        raise ValueError("train and val need at least one map each")


def _crop_centres(maps: CountsMaps, crop: int, rng: np.random.Generator,
                  p_source: float = 0.5) -> np.ndarray:
    """Top-left corners of crops: with probability ``p_source`` around the map's first
    source, else anywhere (background-only crops teach the network to output zero)."""
    npix = maps.counts.shape[-1]
    half = crop // 2
    out = np.empty((len(maps), 2), dtype=np.int64)
    for i in range(len(maps)):
        if maps.n_sources[i] > 0 and rng.uniform() < p_source:
            cx = maps.x[i, 0] + rng.uniform(-0.35, 0.35) * crop
            cy = maps.y[i, 0] + rng.uniform(-0.35, 0.35) * crop
        else:
            cx, cy = rng.uniform(half, npix - half, 2)
        out[i] = [int(np.clip(round(cx) - half, 0, npix - crop)),
                  int(np.clip(round(cy) - half, 0, npix - crop))]
    return out


@dataclass(frozen=True)
class CleanerConfig(FitConfig):
    """How :func:`train_cleaner` trains (the book's settings by default).

    Besides the fields of :class:`~cosmicbook.core.training.FitConfig` (``epochs`` over the
    training maps, ``batch_size`` maps or crops per Adam step, Adam's learning rate ``lr``):

    Attributes
    ----------
    crop : int or None
        Train on crops of this size (a multiple of 4, at least 8, at most the map size),
        drawn once per map, half of them around the source and half anywhere; None trains on
        whole maps. Validation always uses whole maps.
    """

    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    crop: int | None = 96

    def __post_init__(self):
        super().__post_init__()
        if self.crop is not None and (
                isinstance(self.crop, bool) or not isinstance(self.crop, numbers.Integral)
                or self.crop % 4 or self.crop < 8):
            raise ValueError(f"crop must be None or a multiple of 4 of at least 8, got "
                             f"{self.crop!r}")


def train_cleaner(model: CNNCleaner, train: CountsMaps, val: CountsMaps,
                  config: CleanerConfig | None = None, *, seed: int = 0,
                  checkpoint: str | os.PathLike | Checkpoint | None = None,
                  resume: bool = True, device: str | torch.device | None = None,
                  progress: bool | None = None) -> History:
    """Train the seed's :class:`~cosmicbook.cherenkov.model.CNNCleaner` (BCE, Adam).

    Parameters
    ----------
    model : CNNCleaner
        Trained in place (moved to ``device``, in eval mode on return).
    train, val : CountsMaps
        Simulated maps; inputs are their smoothed, stretched counts, targets their smoothed,
        stretched source-only counts.
    config : CleanerConfig, optional
        Epochs, batch size, learning rate and crop size (default ``CleanerConfig()``).
    seed : int
        Seeds the crops and the shuffling of every epoch (``FitOptions(seed=...)``).
    checkpoint : path or Checkpoint, optional
        Saved after every epoch; with ``resume=True`` an existing one is continued (or
        returned at once when finished).
    resume : bool
        False ignores (and overwrites) an existing checkpoint.
    device : str or torch.device, optional
        Where to train (default: the best available).
    progress : bool, optional
        Progress bars (default: on unless ``COSMICBOOK_PROGRESS=0``).

    Returns
    -------
    History
        Per-epoch training and validation loss, learning rate, duration.
    """
    _check_model(model, CNNCleaner)
    config = _check_config(config, CleanerConfig)
    _check(train, val)
    crop = config.crop
    x = cleaner_inputs(train.counts)
    y = cleaner_targets(train.source)
    if crop is not None:
        if crop > x.shape[-1]:
            raise ValueError(f"crop must be a multiple of 4 in [8, {x.shape[-1]}], got {crop}")
        corners = _crop_centres(train, crop, np.random.default_rng(seed))
        x = np.stack([x[i, :, r:r + crop, c:c + crop] for i, (c, r) in enumerate(corners)])
        y = np.stack([y[i, :, r:r + crop, c:c + crop] for i, (c, r) in enumerate(corners)])
    xv, yv = cleaner_inputs(val.counts), cleaner_targets(val.source)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_loader = _loader([torch.from_numpy(x), torch.from_numpy(y)], config.batch_size, True,
                           seed)
    val_loader = _loader([torch.from_numpy(xv), torch.from_numpy(yv)], 64, False, seed)
    return fit(model, train_loader, torch.nn.BCELoss(), opt, epochs=config.epochs,
               val_loader=val_loader, device=device, checkpoint=checkpoint, resume=resume,
               progress=progress, options=FitOptions(seed=seed))


def regressor_targets(maps: CountsMaps) -> np.ndarray:
    """(x, y) of the first source in units of the map size, (N, 2) float32, in [0, 1]."""
    npix = maps.counts.shape[-1]
    return ((np.stack([maps.x[:, 0], maps.y[:, 0]], axis=1) + 0.5) / npix).astype(np.float32)


@dataclass(frozen=True)
class RegressorConfig(FitConfig):
    """How :func:`train_regressor` trains (the seed's settings by default): the fields of
    :class:`~cosmicbook.core.training.FitConfig` only, ``epochs`` over the training maps,
    ``batch_size`` maps per Adam step and Adam's learning rate ``lr``.

    The network's dense units and dropout are :class:`~cosmicbook.cherenkov.model.CNNRegressor`
    arguments.
    """

    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3


def train_regressor(model: CNNRegressor, cleaned_train: np.ndarray, train: CountsMaps,
                    cleaned_val: np.ndarray, val: CountsMaps,
                    config: RegressorConfig | None = None, *, seed: int = 0,
                    checkpoint: str | os.PathLike | Checkpoint | None = None,
                    resume: bool = True, device: str | torch.device | None = None,
                    progress: bool | None = None) -> History:
    """Train the seed's :class:`~cosmicbook.cherenkov.model.CNNRegressor` (MAE, Adam).

    Parameters
    ----------
    model : CNNRegressor
        Built for maps of the size of ``cleaned_train``; trained in place (moved to
        ``device``, in eval mode on return).
    cleaned_train, cleaned_val : numpy.ndarray, shape (N, H, W)
        The cleaner's output for the maps (the seed's input to the regressor).
    train, val : CountsMaps
        The maps (one source each), for the labels.
    config : RegressorConfig, optional
        Epochs, batch size and learning rate (default: the seed's).
    seed : int
        Seeds the shuffling and the dropout of every epoch (``FitOptions(seed=...)``).
    checkpoint : path or Checkpoint, optional
        Saved after every epoch; with ``resume=True`` an existing one is continued (or
        returned at once when finished).
    resume : bool
        False ignores (and overwrites) an existing checkpoint.
    device : str or torch.device, optional
        Where to train (default: the best available).
    progress : bool, optional
        Progress bars (default: on unless ``COSMICBOOK_PROGRESS=0``).

    Returns
    -------
    History
        Per-epoch training and validation loss, learning rate, duration.
    """
    _check_model(model, CNNRegressor)
    config = _check_config(config, RegressorConfig)
    _check(train, val)
    if np.any(train.n_sources < 1) or np.any(val.n_sources < 1):
        raise ValueError("the regressor needs maps with at least one source each")
    x = np.asarray(cleaned_train, dtype=np.float32)[:, None]
    xv = np.asarray(cleaned_val, dtype=np.float32)[:, None]
    if len(x) != len(train) or len(xv) != len(val):
        raise ValueError("cleaned maps and CountsMaps differ in length")
    if x.shape[-1] != model.size or xv.shape[-1] != model.size:
        raise ValueError(f"the model takes {model.size} x {model.size} maps, got "
                         f"{x.shape[-1]} (train) and {xv.shape[-1]} (val) pixels wide")
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_loader = _loader([torch.from_numpy(x), torch.from_numpy(regressor_targets(train))],
                           config.batch_size, True, seed)
    val_loader = _loader([torch.from_numpy(xv), torch.from_numpy(regressor_targets(val))],
                         128, False, seed)
    return fit(model, train_loader, torch.nn.L1Loss(), opt, epochs=config.epochs,
               val_loader=val_loader, device=device, checkpoint=checkpoint, resume=resume,
               progress=progress, options=FitOptions(seed=seed))


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0,
               beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss, per source.

    ``target`` is 1 in the cell of each source centre and a Gaussian bump around it (see
    :func:`~cosmicbook.cherenkov.preprocess.heatmap_targets`); the sum over cells is divided
    by the number of sources in the batch (at least 1).
    """
    p = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    pos = (target >= 1.0).float()
    logp = torch.nn.functional.logsigmoid(logits)
    log1mp = torch.nn.functional.logsigmoid(-logits)
    loss_pos = -pos * (1 - p) ** alpha * logp
    loss_neg = -(1 - pos) * (1 - target) ** beta * p ** alpha * log1mp
    return (loss_pos.sum() + loss_neg.sum()) / pos.sum().clamp(min=1.0)


def _augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One of the 8 flips/transpositions of the square maps, the same for the whole batch."""
    k = int(torch.randint(0, 8, (1,)))
    if k & 1:
        x, y = x.flip(-1), y.flip(-1)
    if k & 2:
        x, y = x.flip(-2), y.flip(-2)
    if k & 4:
        x, y = x.transpose(-1, -2), y.transpose(-1, -2)
    return x, y


def _localiser_step(model, batch, device):
    x, y = batch
    if model.training:
        x, y = _augment(x, y)
    return focal_loss(model(x), y)


@dataclass(frozen=True)
class LocaliserConfig(FitConfig):
    """How :func:`train_localiser` trains (the book's settings by default).

    The fields of :class:`~cosmicbook.core.training.FitConfig`: ``batch_size`` maps per Adam
    step, whose learning rate decays from ``lr`` to 0 (cosine) over the ``epochs`` (passes over
    the training maps).
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3


def train_localiser(model: HeatmapLocaliser, train: CountsMaps, val: CountsMaps,
                    config: LocaliserConfig | None = None, *, seed: int = 0,
                    checkpoint: str | os.PathLike | Checkpoint | None = None,
                    resume: bool = True, device: str | torch.device | None = None,
                    progress: bool | None = None) -> History:
    """Train :class:`~cosmicbook.cherenkov.model.HeatmapLocaliser` with the focal loss.

    Adam with a cosine decay of the learning rate; random flips and transpositions.

    Parameters
    ----------
    model : HeatmapLocaliser
        Takes the two input channels of
        :func:`~cosmicbook.cherenkov.preprocess.localiser_inputs`; trained in place (moved to
        ``device``, in eval mode on return).
    train, val : CountsMaps
        Simulated maps with zero or more sources each.
    config : LocaliserConfig, optional
        Epochs, batch size and learning rate (default ``LocaliserConfig()``).
    seed : int
        Seeds the shuffling and the augmentation of every epoch (``FitOptions(seed=...)``).
    checkpoint : path or Checkpoint, optional
        Saved after every epoch; with ``resume=True`` an existing one is continued (or
        returned at once when finished).
    resume : bool
        False ignores (and overwrites) an existing checkpoint.
    device : str or torch.device, optional
        Where to train (default: the best available).
    progress : bool, optional
        Progress bars (default: on unless ``COSMICBOOK_PROGRESS=0``).

    Returns
    -------
    History
        Per-epoch training and validation loss, learning rate, duration.
    """
    _check_model(model, HeatmapLocaliser)
    config = _check_config(config, LocaliserConfig)
    _check(train, val)
    npix = train.counts.shape[-1]
    tensors = [torch.from_numpy(localiser_inputs(train.counts)),
               torch.from_numpy(heatmap_targets(train.x, train.y, npix))]
    vtensors = [torch.from_numpy(localiser_inputs(val.counts)),
                torch.from_numpy(heatmap_targets(val.x, val.y, npix))]
    if model.in_channels != tensors[0].shape[1]:
        raise ValueError(f"the model takes {model.in_channels} input channels, the maps give "
                         f"{tensors[0].shape[1]}")
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    return fit(model, _loader(tensors, config.batch_size, True, seed), None, opt,
               epochs=config.epochs, val_loader=_loader(vtensors, 256, False, seed),
               scheduler=sched, device=device, checkpoint=checkpoint, resume=resume,
               progress=progress, options=FitOptions(step_fn=_localiser_step, seed=seed))
