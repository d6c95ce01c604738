"""Training windows, the combined three-task loss and the training run.

The loss of the seed deck (Parks et al. 2018), summed with equal weights over the batch::

    L_c = BCE(y_c, p_c)                         on pixels whose classification is not masked
    L_o = (y_o - p_o)^2                         idem; y_o = offset / 60 (0 on negatives)
    L_h = y_c / (y_c + eps) * (y_h - p_h)^2     positives only (log NHI in dex)

Offsets are in units of the 60-pixel half window so that the three terms have comparable size.
:func:`train_model` trains a :class:`~cosmicbook.dla.model.DLACNN` built by the caller in place
(settings in a :class:`TrainingConfig`), through :func:`cosmicbook.core.training.fit` with a
``step_fn``.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from cosmicbook.core.checks import positive_int
from cosmicbook.core.training import Checkpoint, FitConfig, FitOptions, History, fit
from cosmicbook.dla.labels import (
    HALF_POSITIVE,
    extract_windows,
    forest_pixels,
    make_labels,
    normalisation,
    sightline_inputs,
)
from cosmicbook.dla.model import DLACNN, OFFSET_SCALE
from cosmicbook.dla.simulate import Sightline, SightlineSimulator

__all__ = ["TASKS", "StreamingWindows", "TaskLosses", "TrainingConfig", "WindowSet", "make_loader",
           "make_windows", "multitask_loss", "train_model"]

#: Names of the three tasks (keys of :class:`TaskLosses` and of the learning curves).
TASKS = ("classification", "offset", "log_nhi")


@dataclass
class WindowSet:
    """Training windows and their labels.

    Attributes
    ----------
    x : numpy.ndarray of float32, shape (n, 1, 400)
    cls : numpy.ndarray of float32, shape (n,)
        1, 0 or -1 (masked).
    offset : numpy.ndarray of float32, shape (n,)
        Pixels (-60..60).
    log_nhi : numpy.ndarray of float32, shape (n,)
        NaN on non-positives.
    clean, sigma : numpy.ndarray of float16, shape (n, 1, 400), optional
        The noise-free normalised flux and its noise; with them, training draws a fresh noise
        realisation for every window in every epoch (the network cannot learn the noise).
    """

    x: np.ndarray
    cls: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray
    clean: np.ndarray | None = None
    sigma: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.cls)


def make_windows(sightlines: Sequence[Sightline], rng: np.random.Generator,
                 per_dla: int = 24, per_subdla: int = 8, per_random: int = 24,
                 noise_model: bool = False) -> WindowSet:
    """Sample labelled windows from simulated sightlines.

    Per sightline: ``per_dla`` windows centred on random pixels within +-60 of each DLA,
    ``per_subdla`` within +-60 of each sub-DLA (hard negatives) and ``per_random`` anywhere in
    the forest region (rest 900-1346 A); windows whose centre label is masked are dropped.
    ``noise_model=True`` also keeps the noise-free flux and the noise of every window
    (``clean``, ``sigma``) so that training can re-draw the noise.
    """
    xs, cs, os_, ns, cl, sg = [], [], [], [], [], []
    for sl in sightlines:
        flux = sightline_inputs(sl)
        lab = make_labels(flux.size, sl.absorbers)
        region = forest_pixels(sl.loglam, sl.z_qso)
        centres = [rng.choice(region, per_random)]
        for row in sl.absorbers:
            k = per_dla if row["kind"] == "DLA" else per_subdla
            centres.append(int(row["pixel"]) + rng.integers(-HALF_POSITIVE, HALF_POSITIVE + 1, k))
        c = np.concatenate(centres)
        c = c[(c >= 0) & (c < flux.size)]
        c = c[lab.cls[c] >= 0]
        xs.append(extract_windows(flux, c))
        cs.append(lab.cls[c].astype(np.float32))
        os_.append(lab.offset[c])
        ns.append(lab.log_nhi[c])
        if noise_model:
            norm = normalisation(sl.loglam, sl.flux, sl.z_qso)
            cl.append(extract_windows(sl.continuum * sl.transmission / norm, c)
                      .astype(np.float16))
            sg.append(extract_windows(1.0 / np.sqrt(sl.ivar) / norm, c).astype(np.float16))
    extra = (np.concatenate(cl), np.concatenate(sg)) if noise_model else (None, None)
    return WindowSet(np.concatenate(xs), np.concatenate(cs), np.concatenate(os_),
                     np.concatenate(ns), *extra)


def make_loader(windows: WindowSet, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
    """A DataLoader of ``(x, cls, offset / 60, log_nhi)`` (plus ``clean, sigma`` when the
    windows have them); shuffling uses a seeded generator."""
    tensors = [torch.from_numpy(windows.x), torch.from_numpy(windows.cls),
               torch.from_numpy(windows.offset / OFFSET_SCALE),
               torch.from_numpy(np.nan_to_num(windows.log_nhi, nan=0.0))]
    if windows.clean is not None and windows.sigma is not None:
        tensors += [torch.from_numpy(windows.clean), torch.from_numpy(windows.sigma)]
    ds = TensorDataset(*tensors)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen)


class StreamingWindows(IterableDataset):
    """Training windows simulated per chunk of sightlines, never all held in memory.

    Every pass (epoch) draws ``n_sightlines`` new sightlines with
    :class:`~cosmicbook.dla.simulate.SightlineSimulator`, ``chunk`` at a time; each chunk is
    cut into windows (:func:`make_windows`, with the noise model), shuffled and yielded as
    batches of ``batch_size``. Memory is that of one chunk (~``chunk`` x 72 windows x 400
    pixels x 8 bytes: ~230 MB at the default 1,000), whatever ``n_sightlines`` is, so the
    paper's 200,000 sightlines per epoch fit in a few GB. Pass ``k`` (counted from 0 by this
    object) uses the seed ``(seed, k)``: epochs see different sightlines.

    Parameters
    ----------
    n_sightlines : int
        Sightlines per pass.
    batch_size : int
    chunk : int
        Sightlines simulated at once.
    seed : int
    per_dla, per_subdla, per_random : int
        Windows per absorber and at random, as in :func:`make_windows`.
    **simulator
        Passed to :class:`~cosmicbook.dla.simulate.SightlineSimulator`.
    """

    def __init__(self, n_sightlines: int, batch_size: int, *, chunk: int = 1000, seed: int = 0,
                 per_dla: int = 4, per_subdla: int = 4, per_random: int = 4, **simulator):
        super().__init__()
        self.n_sightlines = positive_int(n_sightlines, "n_sightlines")
        self.batch_size = positive_int(batch_size, "batch_size")
        self.chunk = positive_int(chunk, "chunk")
        self.seed = seed
        self.windows = dict(per_dla=per_dla, per_subdla=per_subdla, per_random=per_random)
        self.simulator = SightlineSimulator(**simulator)
        self.passes = 0

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.passes])
        self.passes += 1
        done = 0
        while done < self.n_sightlines:
            n = min(self.chunk, self.n_sightlines - done)
            lines = [self.simulator.draw(rng) for _ in range(n)]
            done += n
            w = make_windows(lines, rng, noise_model=True, **self.windows)
            del lines
            order = rng.permutation(len(w))
            tensors = [w.x, w.cls, w.offset / OFFSET_SCALE, np.nan_to_num(w.log_nhi, nan=0.0),
                       w.clean, w.sigma]
            for start in range(0, order.size, self.batch_size):
                idx = order[start:start + self.batch_size]
                yield tuple(torch.from_numpy(np.ascontiguousarray(t[idx])) for t in tensors)


def multitask_loss(output, cls, offset, log_nhi, eps: float = 1e-6):
    """The three losses (tensors): classification, offset, log NHI.

    ``output`` is the model's ``(logit, offset, log_nhi)``; ``cls`` is 1/0/-1 (masked).
    """
    logit, p_off, p_nhi = output
    valid = (cls >= 0).float()
    pos = (cls > 0).float()
    n_valid = valid.sum().clamp(min=1.0)
    target = cls.clamp(min=0.0)
    l_c = (F.binary_cross_entropy_with_logits(logit, target, reduction="none") * valid).sum()
    l_o = (((offset - p_off) ** 2) * valid).sum()
    l_h = ((pos / (pos + eps)) * (log_nhi - p_nhi) ** 2).sum()
    return l_c / n_valid, l_o / n_valid, l_h / n_valid


def _step(model, batch, device):
    x, cls, off, nhi = batch[:4]
    if model.training and len(batch) == 6:  # a fresh noise realisation of every window
        clean, sigma = batch[4].float(), batch[5].float()
        x = clean + sigma * torch.randn(clean.shape, device=clean.device)
    l_c, l_o, l_h = multitask_loss(model(x), cls, off, nhi)
    return l_c + l_o + l_h


class TaskLosses:
    """Per-task validation losses for :func:`fit`'s ``metrics`` (one pass per epoch).

    ``TaskLosses(loader).metrics()`` gives three metric callables; the first computes all
    three losses on the validation loader and the other two read the cached values.
    """

    def __init__(self, loader: DataLoader):
        self.loader = loader
        self._cache: dict[str, float] = {}

    def _compute(self, model, device) -> None:
        sums = np.zeros(3)
        n = 0
        for batch in self.loader:
            x, cls, off, nhi = (t.to(device) for t in batch[:4])
            losses = multitask_loss(model(x), cls, off, nhi)
            sums += np.array([float(v) for v in losses]) * len(x)
            n += len(x)
        self._cache = dict(zip(TASKS, sums / n, strict=True))

    def metrics(self) -> dict:
        def first(model, loader, device):
            self._compute(model, device)
            return self._cache[TASKS[0]]

        out = {TASKS[0]: first}
        for task in TASKS[1:]:
            out[task] = lambda model, loader, device, t=task: self._cache[t]
        return out


def _finite(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and math.isfinite(value))


@dataclass(frozen=True)
class TrainingConfig(FitConfig):
    """How :func:`train_model` trains (the book's settings by default).

    Besides the fields of :class:`~cosmicbook.core.training.FitConfig` (``epochs`` over the
    training windows, over which Adam's learning rate decays from ``lr`` to 0 (cosine), and
    ``batch_size`` windows per step, which a :class:`StreamingWindows` training set sets itself):

    Attributes
    ----------
    weight_decay : float
        Adam's L2 penalty (0: none).
    """

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        if not _finite(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be a non-negative number, got "
                             f"{self.weight_decay!r}")


def train_model(model: DLACNN, train: WindowSet | StreamingWindows, val: WindowSet,
                config: TrainingConfig | None = None, *, seed: int = 0,
                checkpoint: str | os.PathLike | Checkpoint | None = None, resume: bool = True,
                device: str | torch.device | None = None,
                progress: bool | None = None) -> History:
    """Train a :class:`~cosmicbook.dla.model.DLACNN` on windows with the combined loss.

    Adam with a cosine learning-rate decay over ``config.epochs``; checkpoints after every
    epoch. The history holds the total losses and the per-task validation losses
    (:data:`TASKS`).

    Parameters
    ----------
    model : DLACNN
        Trained in place (moved to ``device``, in eval mode on return).
    train : WindowSet or StreamingWindows
        Training windows, or for training sets too large for memory a
        :class:`StreamingWindows` (which sets its own batch size).
    val : WindowSet
        Validation windows.
    config : TrainingConfig, optional
        Epochs, batch size, learning rate and weight decay (default ``TrainingConfig()``).
    seed : int
        Seeds the shuffling and the dropout of every epoch (``FitOptions(seed=...)``).
    checkpoint : path or Checkpoint, optional
        Saved after every epoch; with ``resume=True`` a re-run with the same ``checkpoint``
        resumes (or returns at once when finished).
    resume : bool
        False ignores (and overwrites) an existing checkpoint.
    device : str or torch.device, optional
        Where to train (default: the best available).
    progress : bool, optional
        Progress bars (default: on unless ``COSMICBOOK_PROGRESS=0``).

    Returns
    -------
    History
        Per-epoch training and validation loss, learning rate, duration and the validation
        loss of each task.
    """
    if not isinstance(model, DLACNN):
        raise TypeError(f"model must be a cosmicbook.dla.DLACNN, got {type(model).__name__}")
    config = TrainingConfig() if config is None else config
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, got {type(config).__name__}")
    if (isinstance(train, WindowSet) and len(train) == 0) or len(val) == 0:
        raise ValueError("train and val need at least one window each")
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    if isinstance(train, StreamingWindows):  # batches are made by the dataset itself
        train_loader = DataLoader(train, batch_size=None)
    else:
        train_loader = make_loader(train, config.batch_size, shuffle=True, seed=seed)
    val_loader = make_loader(val, 2048, shuffle=False)
    return fit(model, train_loader, None, opt, epochs=config.epochs, val_loader=val_loader,
               scheduler=sched, device=device, checkpoint=checkpoint, resume=resume,
               progress=progress,
               options=FitOptions(step_fn=_step, metrics=TaskLosses(val_loader).metrics(),
                                  seed=seed))
