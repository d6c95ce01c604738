"""The weak-label experiment end to end: train, calibrate, turn into P(track), evaluate.

:func:`weak_experiment` trains the D1-vs-D2 classifier on the training mixtures, calibrates it
on held-out mixtures (weak labels only; isotonic regression by default, temperature scaling
for comparison), estimates ``a`` and ``b`` from
the held-out scores (:func:`~cosmicbook.crayfis.weak.estimate_fractions`) and evaluates
``g = P(track|X)`` on the test mixtures against the truth, with the fractions known and
estimated. :func:`oracle_experiment` does the same with the truth labels, the same frames and
the same network. Both are what the chapter's notebook calls; a reader with real data calls the
pieces instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cosmicbook.core.training import History
from cosmicbook.crayfis.datasets import Mixtures
from cosmicbook.crayfis.evaluate import expected_calibration_error, roc_auc
from cosmicbook.crayfis.inference import WeakTrackModel
from cosmicbook.crayfis.model import TrackCNN
from cosmicbook.crayfis.training import (
    Calibration,
    ClassifierConfig,
    fit_temperature,
    predict_logits,
    sigmoid,
    train_classifier,
)
from cosmicbook.crayfis.weak import UnseparatedScores, estimate_fractions, weak_to_posterior

__all__ = ["OracleResult", "WeakResult", "oracle_experiment", "weak_experiment"]


@dataclass
class WeakResult:
    """Outcome of :func:`weak_experiment` (arrays are over the test frames).

    Attributes
    ----------
    model : WeakTrackModel
        Network, calibration and the *known* fractions.
    history : History
    f : numpy.ndarray
        Calibrated ``P(D1|X)``.
    g_known, g_estimated : numpy.ndarray
        ``P(track|X)`` (pooled prior) with ``a, b`` known and estimated.
    a_estimated, b_estimated : float
        NaN when the ends of the validation scores do not separate D1 from D2
        (:class:`~cosmicbook.crayfis.weak.UnseparatedScores`); ``g_estimated`` and
        ``ece_estimated`` are then NaN too.
    auc : float
        AUC of the network's logits against the truth (``f`` and ``g`` are monotone functions
        of them; their plateaus and the clipping to [0, 1] only add ties).
    auc_d1_vs_d2 : float
        AUC of the logits against the weak labels (what the training sees).
    ece_known, ece_estimated : float
        Expected calibration error of ``g`` against the truth.
    ece_temperature : float
        ECE of ``g`` (fractions known) when ``f`` is calibrated by temperature scaling
        instead (for comparison; equal to ``ece_known`` with ``calibration="temperature"``).
    """

    model: WeakTrackModel
    history: History
    f: np.ndarray
    g_known: np.ndarray
    g_estimated: np.ndarray
    a_estimated: float
    b_estimated: float
    auc: float
    auc_d1_vs_d2: float
    ece_known: float
    ece_estimated: float
    ece_temperature: float


@dataclass
class OracleResult:
    """Outcome of :func:`oracle_experiment`: the supervised network, its calibrated
    probabilities on the test frames, AUC and ECE against the truth."""

    network: TrackCNN
    history: History
    prob: np.ndarray
    auc: float
    ece: float


def _network(channels: tuple[int, int, int], seed: int) -> TrackCNN:
    """A fresh :class:`TrackCNN` whose initial weights depend only on ``seed``."""
    torch.manual_seed(seed)
    return TrackCNN(channels)


def weak_experiment(train: Mixtures, val: Mixtures, test: Mixtures, *, epochs: int = 8,
                    batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                    channels: tuple[int, int, int] = (8, 16, 32), quantile: float = 0.15,
                    calibration: str = "isotonic", checkpoint=None,
                    progress: bool | None = None) -> WeakResult:
    """Train on D1 vs D2, calibrate, apply the mixture formula, evaluate against the truth.

    Parameters
    ----------
    train, val, test : Mixtures
        Training mixtures; held-out mixtures for the temperature and the estimate of ``a``
        and ``b`` (only their weak labels are used); test mixtures (truth used to evaluate).
        The formula uses ``train.a`` and ``train.b`` as the known fractions.
    epochs, batch_size, lr, seed, channels, checkpoint, progress
        The :class:`~cosmicbook.crayfis.model.TrackCNN`'s ``channels`` (its initial weights
        drawn after ``torch.manual_seed(seed)``) and the settings of
        :func:`~cosmicbook.crayfis.training.train_classifier`.
    quantile : float
        Ends of the held-out scores used by :func:`estimate_fractions` (the pooled track and
        noise fractions must both exceed it).
    calibration : {"isotonic", "temperature"}
        How ``f`` is calibrated on the held-out mixtures (:class:`Calibration`).
    """
    net = _network(channels, seed)
    hist = train_classifier(net, train.frames, train.in_d1, val.frames, val.in_d1,
                            ClassifierConfig(epochs=epochs, batch_size=batch_size, lr=lr),
                            seed=seed, checkpoint=checkpoint, progress=progress, device=None)
    z_val = predict_logits(net, val.frames)
    calib = Calibration.fit(z_val, val.in_d1, calibration)
    try:
        a_est, b_est = estimate_fractions(z_val, val.in_d1, quantile=quantile)
    except UnseparatedScores:  # the classifier does not separate the ends: no estimate
        a_est = b_est = float("nan")
    z_test = predict_logits(net, test.frames)
    f = calib(z_test)
    g_known = weak_to_posterior(f, train.a, train.b)
    g_temp = weak_to_posterior(sigmoid(z_test / fit_temperature(z_val, val.in_d1)), train.a,
                               train.b)
    g_est = (weak_to_posterior(f, a_est, b_est) if np.isfinite(a_est) and a_est != b_est
             else np.full_like(f, np.nan))
    ece_est = (expected_calibration_error(g_est, test.is_track) if np.isfinite(g_est).all()
               else float("nan"))
    return WeakResult(
        model=WeakTrackModel(net, calib, train.a, train.b), history=hist, f=f,
        g_known=g_known, g_estimated=g_est, a_estimated=a_est, b_estimated=b_est,
        auc=roc_auc(z_test, test.is_track), auc_d1_vs_d2=roc_auc(z_test, test.in_d1),
        ece_known=expected_calibration_error(g_known, test.is_track), ece_estimated=ece_est,
        ece_temperature=expected_calibration_error(g_temp, test.is_track))


def oracle_experiment(train: Mixtures, val: Mixtures, test: Mixtures, *, epochs: int = 8,
                      batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                      channels: tuple[int, int, int] = (8, 16, 32), checkpoint=None,
                      progress: bool | None = None) -> OracleResult:
    """The fully supervised reference: same frames and network, truth labels (track or not),
    temperature-calibrated on the held-out frames' truth."""
    net = _network(channels, seed)
    hist = train_classifier(net, train.frames, train.is_track, val.frames, val.is_track,
                            ClassifierConfig(epochs=epochs, batch_size=batch_size, lr=lr),
                            seed=seed, checkpoint=checkpoint, progress=progress, device=None)
    temperature = fit_temperature(predict_logits(net, val.frames), val.is_track)
    prob = sigmoid(predict_logits(net, test.frames) / temperature)
    return OracleResult(net, hist, prob, roc_auc(prob, test.is_track),
                        expected_calibration_error(prob, test.is_track))
