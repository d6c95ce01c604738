"""Metrics of the chapter: ROC and AUC, reliability and calibration error, per-track cluster
features, distances between distributions and the classifier two-sample test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import label as _label
from scipy.stats import wasserstein_distance

from cosmicbook.core import stats
from cosmicbook.core.stats import roc_auc

__all__ = [
    "C2ST",
    "ClusterFeatures",
    "Reliability",
    "brightest_cluster",
    "classifier_two_sample_test",
    "cluster_features",
    "distribution_distances",
    "expected_calibration_error",
    "faithfulness",
    "reliability",
    "roc_auc",
    "roc_curve",
    "describe_tan_seed_study",
    "tan_seed_study_table",
]


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    The vertices of :func:`cosmicbook.core.stats.roc_curve` (without its ``-inf`` end point,
    which repeats (1, 1)), as the pair ``(fpr, tpr)``.
    """
    curve = stats.roc_curve(scores, labels)
    return curve.fpr[:-1], curve.tpr[:-1]


@dataclass
class Reliability:
    """A reliability diagram: per bin of predicted probability, the observed frequency.

    Attributes
    ----------
    edges : numpy.ndarray, shape (n_bins + 1,)
    mean_predicted, observed : numpy.ndarray, shape (n_bins,)
        NaN in empty bins.
    counts : numpy.ndarray of int, shape (n_bins,)
    """

    edges: np.ndarray
    mean_predicted: np.ndarray
    observed: np.ndarray
    counts: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: count-weighted mean of |observed - predicted|."""
        ok = self.counts > 0
        w = self.counts[ok] / self.counts.sum()
        return float(np.sum(w * np.abs(self.observed[ok] - self.mean_predicted[ok])))


def reliability(prob, labels, n_bins: int = 10) -> Reliability:
    """Bin predicted probabilities in ``n_bins`` equal-width bins of [0, 1].

    Raises
    ------
    ValueError
        For probabilities outside [0, 1] or NaN, or labels that are not 0/1.
    """
    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if p.shape != y.shape:
        raise ValueError(f"prob and labels differ in length: {p.size} and {y.size}")
    if np.isnan(p).any() or np.any((p < 0) | (p > 1)):
        raise ValueError("prob must hold probabilities in [0, 1] without NaN")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1 (or bool)")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p, minlength=n_bins) / counts
        obs = np.bincount(idx, weights=y.astype(float), minlength=n_bins) / counts
    return Reliability(edges, mean_p, obs, counts)


def expected_calibration_error(prob, labels, n_bins: int = 10) -> float:
    """ECE of probabilities against 0/1 outcomes (10 equal-width bins by default)."""
    return reliability(prob, labels, n_bins).ece


# --------------------------------------------------------------------------------------------
# frames: cluster features and distribution distances
# --------------------------------------------------------------------------------------------
@dataclass
class ClusterFeatures:
    """The brightest cluster of each frame.

    Attributes
    ----------
    size : numpy.ndarray of int, shape (n,)
        Pixels of the 8-connected cluster above threshold holding the brightest pixel (0 when
        no pixel passes).
    charge : numpy.ndarray of float, shape (n,)
        Sum of ``frame - background`` over those pixels (ADU).
    background : numpy.ndarray of float, shape (n,)
        The frame's median (ADU).
    x, y : numpy.ndarray of float, shape (n,)
        Charge-weighted centroid of the cluster (pixels; NaN without a cluster).
    """

    size: np.ndarray
    charge: np.ndarray
    background: np.ndarray
    x: np.ndarray
    y: np.ndarray


def brightest_cluster(signal: np.ndarray, threshold: float = 3.0) -> np.ndarray:
    """Mask of the brightest cluster of one frame.

    Parameters
    ----------
    signal : numpy.ndarray, shape (h, w)
        The frame minus its background (ADU).
    threshold : float
        Pixels count when ``signal > threshold``; the cluster is the 8-connected group of such
        pixels that holds the brightest one.

    Returns
    -------
    numpy.ndarray of bool, shape (h, w)
        All False when no pixel exceeds the threshold.

    Examples
    --------
    >>> s = np.zeros((5, 5)); s[1, 1:3] = 5; s[3, 4] = 9
    >>> int(brightest_cluster(s).sum()), bool(brightest_cluster(s)[3, 4])
    (1, True)
    """
    above = signal > threshold
    if not above.any():
        return above
    lab, _ = _label(above, structure=np.ones((3, 3)))
    return lab == lab.flat[np.argmax(np.where(above, signal, -np.inf))]


def cluster_features(frames, threshold: float = 3.0) -> ClusterFeatures:
    """Size and total charge of the brightest cluster per frame.

    Pixels count when they exceed the frame's median by more than ``threshold`` ADU; the
    cluster is the 8-connected group of such pixels that holds the brightest pixel.
    """
    x = np.asarray(frames, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"expected frames of shape (n, h, w), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("frames contain NaN or infinite values")
    n = len(x)
    bg = np.median(x.reshape(n, -1), axis=1)
    size = np.zeros(n, dtype=np.int64)
    charge = np.zeros(n)
    cx, cy = np.full(n, np.nan), np.full(n, np.nan)
    yy, xx = np.indices(x.shape[1:])
    for i in range(n):
        sig = x[i] - bg[i]
        member = brightest_cluster(sig, threshold)
        if not member.any():
            continue
        size[i] = int(member.sum())
        w = sig[member]
        charge[i] = float(w.sum())
        cx[i] = float(np.sum(w * xx[member]) / w.sum())
        cy[i] = float(np.sum(w * yy[member]) / w.sum())
    return ClusterFeatures(size, charge, bg, cx, cy)


def distribution_distances(reference, other, track: np.ndarray | None = None,
                           other_track: np.ndarray | None = None,
                           threshold: float = 3.0) -> dict[str, float]:
    """1-D Wasserstein distances between two sets of frames.

    Parameters
    ----------
    reference, other : array_like, shape (n, h, w) and (m, h, w)
        Frames (ADU), e.g. real and generated.
    track, other_track : array_like of bool, optional
        Which frames hold a track; the cluster distances use only those (all frames when not
        given).
    threshold : float
        Cluster threshold above the median (ADU), see :func:`cluster_features`.

    Returns
    -------
    dict
        ``"pixel values"`` (all pixels, ADU), ``"cluster size"`` (pixels) and
        ``"track charge"`` (ADU) distances.
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"need two stacks of equal-size frames, got {a.shape} and {b.shape}")
    ta = np.ones(len(a), bool) if track is None else np.asarray(track, bool)
    tb = np.ones(len(b), bool) if other_track is None else np.asarray(other_track, bool)
    if ta.shape != (len(a),) or tb.shape != (len(b),):
        raise ValueError("track masks must have one entry per frame")
    if not ta.any() or not tb.any():
        raise ValueError("no track frame in one of the sets")
    ca, cb = cluster_features(a[ta], threshold), cluster_features(b[tb], threshold)
    return {
        "pixel values": float(wasserstein_distance(a.ravel(), b.ravel())),
        "cluster size": float(wasserstein_distance(ca.size, cb.size)),
        "track charge": float(wasserstein_distance(ca.charge, cb.charge)),
    }


def faithfulness(before, after, track=None, threshold: float = 3.0) -> dict[str, float]:
    """How faithfully a transformation keeps the tracks of the same frames.

    Parameters
    ----------
    before, after : array_like, shape (n, h, w)
        The same frames before and after the transformation (ADU), e.g. approximate and TAN.
    track : array_like of bool, shape (n,), optional
        Frames to use (default all).
    threshold : float
        See :func:`cluster_features`.

    Returns
    -------
    dict
        ``"centroid shift"``: median distance between the brightest clusters' centroids
        (pixels); ``"charge ratio"``: median ratio of their charges (after / before);
        ``"charge ratio spread"``: half the 16-84% range of that ratio.
    """
    a = np.asarray(before, dtype=np.float64)
    b = np.asarray(after, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"before and after must be equal stacks of frames, got {a.shape} and "
                         f"{b.shape}")
    sel = np.ones(len(a), bool) if track is None else np.asarray(track, bool)
    ca, cb = cluster_features(a[sel], threshold), cluster_features(b[sel], threshold)
    ok = (ca.size > 0) & (cb.size > 0)
    if not ok.any():
        raise ValueError("no frame has a cluster before and after")
    shift = np.hypot(ca.x[ok] - cb.x[ok], ca.y[ok] - cb.y[ok])
    ratio = cb.charge[ok] / ca.charge[ok]
    lo, hi = np.percentile(ratio, [16, 84])
    return {"centroid shift": float(np.median(shift)), "charge ratio": float(np.median(ratio)),
            "charge ratio spread": float((hi - lo) / 2)}


@dataclass
class C2ST:
    """Result of a classifier two-sample test.

    Attributes
    ----------
    auc : float
        The largest held-out AUC of the classifiers trained (0.5: indistinguishable).
    accuracy : float
        Held-out accuracy, at a 0.5 threshold, of the classifier with that AUC.
    n_test : int
        Held-out frames per set.
    aucs : list of float
        The held-out AUC of every classifier (one per repeat).
    """

    auc: float
    accuracy: float
    n_test: int
    aucs: list[float]


def classifier_two_sample_test(first, second, *, test_fraction: float = 0.3,
                               epochs: int = 12, repeats: int = 1, seed: int = 0,
                               channels: tuple[int, int, int] = (8, 16, 32),
                               progress: bool | None = None) -> C2ST:
    """Train fresh :class:`~cosmicbook.crayfis.model.TrackCNN` classifiers to tell two sets of
    frames apart and report their held-out AUC (Lopez-Paz & Oquab's classifier two-sample test).

    Whether a small CNN finds a subtle difference (say, a few more noise pixels 3 ADU above
    the floor per frame) depends on its initialisation: of three classifiers trained for 12
    epochs on the same two samples, one may reach an AUC of 0.99 while the others stay near
    0.6. The test is only as strong as the classifier, so with ``repeats > 1`` it trains that
    many (other initialisations and splits) and reports the largest AUC: the conservative
    answer to "can the two samples be told apart".

    Parameters
    ----------
    first, second : array_like, shape (n, h, w)
        Frames (ADU) of the two samples (e.g. real and generated); the larger set is cut to the
        size of the smaller.
    test_fraction : float
        Fraction of each set held out for the AUC.
    epochs, channels, progress
        The classifiers' filters (:class:`~cosmicbook.crayfis.model.TrackCNN`) and training
        knobs (see :func:`~cosmicbook.crayfis.training.train_classifier`).
    repeats : int
        Classifiers trained, with seeds ``seed, seed + 1, ...``.
    seed : int
    """
    import torch

    from cosmicbook.crayfis.model import TrackCNN
    from cosmicbook.crayfis.training import (
        ClassifierConfig,
        predict_logits,
        sigmoid,
        train_classifier,
    )

    a0 = np.asarray(first)
    b0 = np.asarray(second)
    if a0.ndim != 3 or b0.ndim != 3 or a0.shape[1:] != b0.shape[1:]:
        raise ValueError(f"need two stacks of equal-size frames, got {a0.shape} and {b0.shape}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    n = min(len(a0), len(b0))
    n_test = int(round(test_fraction * n))
    if n_test < 10 or n - n_test < 10:
        raise ValueError(f"too few frames for a two-sample test ({n} per set)")
    aucs, accuracies = [], []
    for k in range(int(repeats)):
        rng = np.random.default_rng(seed + k)
        a, b = a0[rng.permutation(len(a0))[:n]], b0[rng.permutation(len(b0))[:n]]
        x_train = np.concatenate([a[n_test:], b[n_test:]])
        y_train = np.r_[np.zeros(n - n_test), np.ones(n - n_test)]
        x_test = np.concatenate([a[:n_test], b[:n_test]])
        y_test = np.r_[np.zeros(n_test), np.ones(n_test)]
        torch.manual_seed(seed + k)  # the initial weights
        model = TrackCNN(channels)
        train_classifier(model, x_train, y_train, x_test, y_test,
                         ClassifierConfig(epochs=epochs), seed=seed + k, progress=progress,
                         device=None)  # CUDA when available
        z = predict_logits(model, x_test)
        aucs.append(roc_auc(z, y_test))
        accuracies.append(float(np.mean((sigmoid(z) > 0.5) == y_test)))
    best = int(np.argmax(aucs))
    return C2ST(aucs[best], accuracies[best], n_test, aucs)


def tan_seed_study_table(study: dict):
    """The TAN part of a seed study (``benchmarks/gan_seed_study.py``): an astropy Table, one
    row per seed.

    Columns: ``seed``; ``size``, ``charge``, ``pixels``: how many times the TAN shrinks the
    Wasserstein distance to the real frames against the approximate readout
    (:func:`distribution_distances`, brightest-cluster size and charge, all pixel values);
    ``c2st_max``, the largest held-out AUC of the study's two-sample classifiers and
    ``c2st_aucs``, all of them (:func:`classifier_two_sample_test`).

    Raises
    ------
    ValueError
        When ``study`` has no TAN runs.
    """
    from astropy.table import Table

    runs = study.get("tan") or []
    if not runs:
        raise ValueError("the seed study has no TAN runs ('tan')")
    rows = [(r["seed"], r["reduction"]["cluster size"], r["reduction"]["track charge"],
             r["reduction"]["pixel values"], r["c2st_max"],
             ", ".join(f"{a:.3f}" for a in r["c2st_aucs"])) for r in runs]
    return Table(rows=rows, names=("seed", "size", "charge", "pixels", "c2st_max",
                                   "c2st_aucs"))


def describe_tan_seed_study(table, reduction_min: float = 3.5, auc_max: float = 0.6) -> str:
    """What holds across training seeds, in words (``table`` from
    :func:`tan_seed_study_table`)."""
    n = len(table)

    def span(col, fmt=".2f"):
        return f"{np.min(table[col]):{fmt}}-{np.max(table[col]):{fmt}}"

    size_ok = int(np.sum(table["size"] >= reduction_min))
    charge_ok = int(np.sum(table["charge"] >= reduction_min))
    auc_ok = int(np.sum(table["c2st_max"] <= auc_max))
    n_cls = len(str(table["c2st_aucs"][0]).split(","))
    return (f"Over {n} training seeds the TAN shrinks the brightest-cluster size distance "
            f"{span('size', '.1f')} times and the charge distance {span('charge', '.1f')} "
            f"times (at least {reduction_min:g} times for {size_ok} and {charge_ok} of {n} "
            f"seeds); the largest two-sample AUC of {n_cls} classifiers per seed is "
            f"{span('c2st_max', '.3f')}: every classifier stays at or below {auc_max:g} for "
            f"{auc_ok} of {n} seeds.")
