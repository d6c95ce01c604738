"""Training the frame classifiers with :func:`cosmicbook.core.training.fit`, and calibrating them.

:func:`train_classifier` trains a :class:`~cosmicbook.crayfis.model.TrackCNN` built by the caller
in place (settings in a :class:`ClassifierConfig`) with binary cross-entropy for any binary
labels: D1 vs D2 (the weak classifier), track vs noise (the oracle) or real vs generated frames
(the two-sample test). :func:`fit_temperature` rescales its logits on held-out data so that the
probabilities are calibrated (temperature scaling), which the mixture formula needs;
:class:`Calibration` also offers isotonic regression.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import isotonic_regression, minimize_scalar
from torch.utils.data import DataLoader, TensorDataset

from cosmicbook.core.stats import roc_auc
from cosmicbook.core.training import Checkpoint, FitConfig, FitOptions, History, fit, predict
from cosmicbook.crayfis.model import TrackCNN, to_input

__all__ = ["Calibration", "ClassifierConfig", "fit_temperature", "predict_logits", "sigmoid",
           "train_classifier"]


def sigmoid(z) -> np.ndarray:
    """The logistic function, numerically stable, as float64."""
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def _check_xy(frames, labels, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = to_input(frames)
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{name}: need one label per frame, got {y.shape} for {len(x)} frames")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{name}: labels must be 0/1 (or bool)")
    if y.min() == y.max():
        raise ValueError(f"{name}: labels hold a single class")
    return x, y.astype(np.float32)


@dataclass(frozen=True)
class ClassifierConfig(FitConfig):
    """How :func:`train_classifier` trains (the chapter's settings by default): the fields
    of :class:`~cosmicbook.core.training.FitConfig`, with ``batch_size`` frames per Adam step
    and a learning rate that decays from ``lr`` to 0 (cosine) over the ``epochs`` (passes over
    the training frames).
    """

    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3


def train_classifier(model: TrackCNN, frames, labels, val_frames, val_labels,
                     config: ClassifierConfig | None = None, *, seed: int = 0,
                     checkpoint: str | os.PathLike | Checkpoint | None = None,
                     resume: bool = True, device: str | torch.device | None = None,
                     progress: bool | None = None) -> History:
    """Train a :class:`TrackCNN` to predict ``labels`` from 8-bit frames.

    Adam with a cosine decay of the learning rate, binary cross-entropy; the history holds the
    validation loss and AUC of every epoch.

    Parameters
    ----------
    model : TrackCNN
        Trained in place; on the CPU and in eval mode on return.
    frames : array_like, shape (n, h, w)
        ADC values (0-255).
    labels : array_like of 0/1, shape (n,)
    val_frames, val_labels : array_like
        Held-out frames and labels (validation loss and AUC).
    config : ClassifierConfig, optional
        Epochs, batch size and learning rate (default ``ClassifierConfig()``).
    seed : int
        Seeds the shuffling of every epoch (``FitOptions(seed=...)``); the initial weights are the
        caller's (``torch.manual_seed(seed)`` before building the model).
    checkpoint : str or Path, optional
        Checkpoint file for :func:`~cosmicbook.core.training.fit`; with ``resume=True`` a
        re-run resumes (or returns at once when finished).
    resume : bool
        False ignores (and overwrites) an existing checkpoint.
    device : str, optional
    progress : bool, optional

    Returns
    -------
    History
    """
    if not isinstance(model, TrackCNN):
        raise TypeError(f"model must be a cosmicbook.crayfis.TrackCNN, got "
                        f"{type(model).__name__}")
    config = ClassifierConfig() if config is None else config
    if not isinstance(config, ClassifierConfig):
        raise TypeError(f"config must be a ClassifierConfig, got {type(config).__name__}")
    x, y = _check_xy(frames, labels, "frames")
    xv, yv = _check_xy(val_frames, val_labels, "val_frames")
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                              batch_size=config.batch_size, shuffle=True, generator=gen)
    val_loader = DataLoader(TensorDataset(torch.from_numpy(xv), torch.from_numpy(yv)),
                            batch_size=1024)

    def auc(model, loader, device):
        logits = predict(model, xv, batch_size=1024, progress=False)
        return roc_auc(logits, yv)

    history = fit(model, train_loader, F.binary_cross_entropy_with_logits, opt,
                  epochs=config.epochs, val_loader=val_loader, scheduler=sched, device=device,
                  checkpoint=checkpoint, resume=resume, progress=progress,
                  options=FitOptions(metrics={"val_auc": auc}, seed=seed))
    model.cpu().eval()
    return history


def predict_logits(model: TrackCNN, frames, batch_size: int = 1024) -> np.ndarray:
    """Logits of ``model`` on 8-bit frames, float64 of shape ``(n,)``."""
    out = predict(model, to_input(frames), batch_size=batch_size, progress=False)
    return np.asarray(out, dtype=np.float64).reshape(-1)


def fit_temperature(logits, labels) -> float:
    """The temperature ``T`` minimising the log loss of ``sigmoid(logits / T)`` on held-out data.

    Parameters
    ----------
    logits : array_like, shape (n,)
    labels : array_like of 0/1, shape (n,)

    Returns
    -------
    float
        ``T`` in [0.05, 20]; divide logits by it before the sigmoid.
    """
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if z.shape != y.shape:
        raise ValueError(f"logits and labels differ in length: {z.size} and {y.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits contain NaN or infinite values")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1")

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


@dataclass
class Calibration:
    """A monotone map from classifier logits to calibrated probabilities.

    ``kind="temperature"``: ``sigmoid(logit / temperature)``. ``kind="isotonic"``: isotonic
    regression (pool-adjacent-violators) of the held-out labels on the logits, interpolated
    linearly between the centres of its blocks (``x``: mean logit of each block, ``y``: its
    fraction of positives) and constant beyond the ends. Isotonic calibration corrects a
    classifier whose *ranking* is right but whose confidence is off differently in different
    regions (what a single temperature cannot do); it needs more held-out data.

    Build it with :meth:`fit`; call it on logits.
    """

    kind: str
    temperature: float = 1.0
    x: np.ndarray | None = None
    y: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("temperature", "isotonic"):
            raise ValueError(f"kind must be 'temperature' or 'isotonic', got {self.kind!r}")
        if self.kind == "isotonic":
            if self.x is None or self.y is None or len(self.x) != len(self.y) or not len(self.x):
                raise ValueError("isotonic calibration needs equally long, non-empty x and y")
            self.x = np.asarray(self.x, dtype=np.float64)
            self.y = np.asarray(self.y, dtype=np.float64)
            if np.any(np.diff(self.x) <= 0) or np.any(np.diff(self.y) < 0):
                raise ValueError("isotonic calibration needs increasing x and non-decreasing y")
        elif not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")

    @classmethod
    def fit(cls, logits, labels, kind: str = "isotonic") -> Calibration:
        """Fit on held-out ``logits`` and 0/1 ``labels`` (see :func:`fit_temperature`)."""
        if kind == "temperature":
            return cls("temperature", temperature=fit_temperature(logits, labels))
        if kind != "isotonic":
            raise ValueError(f"kind must be 'temperature' or 'isotonic', got {kind!r}")
        fit_temperature(logits, labels)  # the same input checks
        z = np.asarray(logits, dtype=np.float64).ravel()
        order = np.argsort(z, kind="stable")
        z, y = z[order], np.asarray(labels, dtype=np.float64).ravel()[order]
        res = isotonic_regression(y)
        starts = np.r_[res.blocks[:-1]] if len(res.blocks) > 1 else np.array([0])
        centres = np.add.reduceat(z, starts) / np.diff(np.r_[starts, z.size])
        values = res.x[starts]
        keep = np.r_[True, np.diff(centres) > 0]  # blocks of tied logits: keep the first
        return cls("isotonic", x=centres[keep], y=values[keep])

    def __call__(self, logits) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        if self.kind == "temperature":
            return sigmoid(z / self.temperature)
        return np.interp(z, self.x, self.y)

    def to_dict(self) -> dict:
        """A JSON-ready dict (for shipped weights)."""
        out: dict = {"kind": self.kind, "temperature": self.temperature}
        if self.kind == "isotonic":
            out.update(x=self.x.tolist(), y=self.y.tolist())
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """The inverse of :meth:`to_dict`."""
        return cls(data["kind"], float(data.get("temperature", 1.0)), data.get("x"),
                   data.get("y"))
