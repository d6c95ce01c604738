"""Statistics shared by the chapters: the robust sigma and the ROC curve.

* :func:`robust_sigma` -- the noise rms from the median absolute deviation (1.4826 MAD), for
  numpy arrays and torch tensors;
* :func:`roc_curve` / :class:`ROCCurve` -- the exact ROC curve (every distinct threshold, or a
  subset of them), with TPR at fixed FPR and the threshold of an operating point;
* :func:`roc_auc` -- the area under the ROC curve as the Mann-Whitney statistic.

Every chapter calls these; none keeps a copy of its own.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAD_TO_SIGMA",
    "MAD_TO_SIGMA_EXACT",
    "ROCCurve",
    "robust_sigma",
    "roc_auc",
    "roc_curve",
]

#: The factor from the median absolute deviation to the standard deviation of a Gaussian, to
#: the five digits most of the book uses.
MAD_TO_SIGMA = 1.4826
#: The same factor to double precision, ``1 / Phi^-1(3/4)`` (the dark-frame chapter's).
MAD_TO_SIGMA_EXACT = 1.482602218505602


# ---------------------------------------------------------------------- robust sigma
def robust_sigma(x, axis: int | tuple[int, ...] | None = None, *, scale: float = MAD_TO_SIGMA,
                 return_median: bool = False):
    """The noise rms from the median absolute deviation: ``scale * median(|x - median(x)|)``.

    Insensitive to outliers (cosmic rays, glitches, DLAs) that would inflate a standard
    deviation; for Gaussian noise it estimates the standard deviation.

    Parameters
    ----------
    x : array_like or torch.Tensor
        The values. A numpy input is converted to float64; a torch tensor keeps its dtype and
        device.
    axis : int or tuple of int, optional
        Axis (axes) along which to reduce; ``None`` (default) reduces over all values. A torch
        tensor takes a single int.
    scale : float
        The MAD-to-sigma factor: :data:`MAD_TO_SIGMA` (1.4826, default) or
        :data:`MAD_TO_SIGMA_EXACT`.
    return_median : bool
        Also return the median (the centre the deviations are taken from).

    Returns
    -------
    sigma : numpy.ndarray, numpy.float64 or torch.Tensor
        The reduced shape of ``x``; ``(median, sigma)`` with ``return_median``.

    Notes
    -----
    NaN propagates (a NaN value gives a NaN sigma); an empty input gives NaN (with numpy's
    "mean of empty slice" warning). For a torch tensor the median is torch's: the lower of the
    two middle values for an even count (numpy averages them), so the two differ slightly on
    even-sized inputs; each chapter keeps the one it was trained with.

    Examples
    --------
    >>> float(robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0]))
    1.4826
    >>> robust_sigma([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]], axis=1)
    array([1.4826, 2.9652])
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if axis is None:
            x, axis = x.reshape(-1), 0
        elif not isinstance(axis, int):
            raise TypeError(f"a torch tensor takes a single int axis, got {axis!r}")
        center = x.median(dim=axis, keepdim=True).values
        sigma = scale * (x - center).abs().median(dim=axis).values
        return (center.squeeze(axis), sigma) if return_median else sigma
    x = np.asarray(x, dtype=np.float64)
    center = np.median(x, axis=axis, keepdims=True)
    sigma = scale * np.median(np.abs(x - center), axis=axis)
    if return_median:
        return center.reshape(np.shape(sigma))[()], sigma
    return sigma


# ---------------------------------------------------------------------- ROC
def _scores_labels(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} and {y.size}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1 (or bool)")
    y = y.astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        raise ValueError(f"a ROC curve needs positive and negative samples, got {n_pos} "
                         f"positive and {y.size - n_pos} negative (labels hold a single class)")
    return s, y


@dataclass(eq=False)
class ROCCurve:
    """A ROC curve: true- and false-positive rates at decreasing thresholds.

    A sample is flagged at threshold ``t`` when ``score >= t``.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Decreasing thresholds. For :func:`roc_curve` the first is ``+inf`` (nothing flagged)
        and the last ``-inf`` (everything flagged).
    tpr, fpr : numpy.ndarray
        True- and false-positive rates at each threshold (non-decreasing).
    n_pos, n_neg : int
        Positive and negative samples scored.
    """

    thresholds: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray
    n_pos: int
    n_neg: int

    def __len__(self) -> int:
        return len(self.thresholds)

    def tpr_at(self, fpr) -> float | np.ndarray:
        """TPR at false-positive rate(s) ``fpr`` in [0, 1], interpolated linearly between the
        vertices.

        Where several vertices share an FPR, the highest TPR is used (the best operating point
        at that FPR). Outside the FPR range the curve covers (a curve of swept operating
        points has no ``(0, 0)`` and ``(1, 1)`` ends) the TPR is unknown: NaN. A float for a
        scalar ``fpr``.
        """
        target = np.asarray(fpr, dtype=float)
        if np.any(~np.isfinite(target)) or np.any((target < 0) | (target > 1)):
            raise ValueError(f"fpr must lie in [0, 1], got {fpr!r}")
        x, first = np.unique(self.fpr, return_index=True)
        # the highest TPR at each distinct FPR: the last vertex with that FPR (TPR
        # non-decreasing)
        last = np.r_[first[1:] - 1, len(self.fpr) - 1]
        out = np.interp(target, x, self.tpr[last], left=np.nan, right=np.nan)
        return float(out) if out.ndim == 0 else out

    def threshold_at(self, fpr: float) -> float:
        """The largest threshold whose FPR does not exceed ``fpr``."""
        k = int(np.searchsorted(self.fpr, fpr, side="right")) - 1
        return float(self.thresholds[max(k, 0)])

    def auc(self) -> float:
        """Area under the curve (trapezoids); equals :func:`roc_auc` up to rounding."""
        return float(np.trapezoid(self.tpr, self.fpr))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({len(self)} points, {self.n_pos} positive / "
                f"{self.n_neg} negative; AUC {self.auc():.4f})")


def roc_curve(scores, labels, n_thresholds: int | None = None) -> ROCCurve:
    """The exact ROC curve of scores against 0/1 labels.

    Parameters
    ----------
    scores : array_like
        Any monotonic score (probabilities, logits, significances); flattened. NaN is refused.
    labels : array_like
        0/1 or bool, one per score; both classes must occur.
    n_thresholds : int, optional
        ``None`` (default): every distinct score is a vertex -- the exact curve. An int keeps
        about that many vertices (still exact points of the curve, not approximations),
        chosen log-uniformly in FPR from ``1 / n_neg`` to 1 plus uniformly in TPR, so a log
        FPR axis stays well sampled.

    Returns
    -------
    ROCCurve
        From ``(0, 0)`` at threshold ``+inf`` to ``(1, 1)`` at ``-inf``.

    Raises
    ------
    ValueError
        For NaN scores, labels that are not 0/1, a length mismatch, a single class, or an
        ``n_thresholds`` below 2.

    Examples
    --------
    >>> curve = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> curve.fpr.tolist(), curve.tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0, 1.0])
    """
    s, y = _scores_labels(scores, labels)
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    n_pos, n_neg = pos.size, neg.size
    if n_thresholds is None:
        thresholds = np.unique(s)
    else:
        if int(n_thresholds) != n_thresholds or n_thresholds < 2:
            raise ValueError(f"n_thresholds must be an integer >= 2, got {n_thresholds!r}")
        k = int(n_thresholds) // 2
        fprs = np.geomspace(1.0 / n_neg, 1.0, k)
        tprs = np.linspace(0.0, 1.0, k)
        # the score value that leaves that fraction of the samples flagged
        cand = np.concatenate([neg[np.clip(n_neg - np.ceil(fprs * n_neg).astype(int), 0,
                                           n_neg - 1)],
                               pos[np.clip(n_pos - np.ceil(tprs * n_pos).astype(int), 0,
                                           n_pos - 1)]])
        thresholds = np.unique(cand)
    thresholds = thresholds[::-1]
    # (0, 0) and (1, 1) are set, not counted, so that infinite scores keep them
    tp = np.r_[0, n_pos - np.searchsorted(pos, thresholds, side="left"), n_pos]
    fp = np.r_[0, n_neg - np.searchsorted(neg, thresholds, side="left"), n_neg]
    return ROCCurve(thresholds=np.r_[np.inf, thresholds, -np.inf], tpr=tp / n_pos,
                    fpr=fp / n_neg, n_pos=int(n_pos), n_neg=int(n_neg))


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve: the Mann-Whitney U statistic, ties counted half.

    The probability that a random positive scores above a random negative; equal to the
    trapezoidal area under :func:`roc_curve` (:meth:`ROCCurve.auc`) up to rounding.

    Examples
    --------
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    from scipy.stats import rankdata

    s, y = _scores_labels(scores, labels)
    r = rankdata(s)
    n1, n0 = int(y.sum()), int((~y).sum())
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
