"""Weak supervision from two mixtures: the mixture formula and the estimate of the fractions.

Two datasets from the same phone: D1 with a fraction ``a`` of frames holding a track, D2 with
``b``. If tracks look the same in both datasets, and so does the noise, a classifier trained
to tell D1 from D2 estimates ``f(X) = P(D1|X)``, a monotone function of the track likelihood
ratio ``L(X) = p(X|track) / p(X|noise)`` (Metodiev, Nachman & Thaler's CWoLa: the mixture
classifier is optimal without knowing ``a`` and ``b``). Turning it into a *calibrated*
``g(X) = P(track|X)`` needs the fractions: with equal-size datasets,

    ``r = f / (1 - f) = (a L + 1 - a) / (b L + 1 - b)``,
    so ``L = [(1 - a) - r (1 - b)] / (r b - a)``,

and for the pooled sample (track prior ``(a + b) / 2``) this is

    ``g = (a + b) [f (2 - a - b) - (1 - a)] / (a - b)``.

For another prior ``pi``: ``P(track|X) = pi L / (pi L + 1 - pi)``. Conditions: ``a != b``;
identical track and noise appearance in D1 and D2; ``f`` calibrated; ``a`` and ``b`` known or
estimated. The formula itself does not need ``P(track|X)`` to be 0 or 1; estimating ``a`` and
``b`` from the data does (:func:`estimate_fractions`).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["UnseparatedScores", "estimate_fractions", "feasible_interval", "weak_to_posterior"]


class UnseparatedScores(ValueError):
    """:func:`estimate_fractions` cannot estimate ``a`` and ``b``: both ends of the scores
    hold the same mix of D1 and D2 (or no D2 frame at either end), so the classifier does
    not separate the datasets there -- an undertrained network, or a gap ``a - b`` too small
    for the sample."""


def _fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    value = float(value)
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")
    return value


def _check_ab(a, b) -> tuple[float, float]:
    a, b = _fraction(a, "a"), _fraction(b, "b")
    if a == b:
        raise ValueError(f"a == b == {a}: two mixtures with the same track fraction carry no "
                         f"information about tracks")
    return a, b


def feasible_interval(a: float, b: float) -> tuple[float, float]:
    """The range of ``f = P(D1|X)`` that the mixtures allow (equal-size datasets).

    Pure noise gives ``(1 - a) / (2 - a - b)``, pure tracks ``a / (a + b)``; the interval is
    returned sorted. Outside it, ``f`` is inconsistent with ``a`` and ``b`` (noise in ``f`` or
    in the fractions), and :func:`weak_to_posterior` maps it to 0 or 1.
    """
    a, b = _check_ab(a, b)
    f_noise = (1.0 - a) / (2.0 - a - b)
    f_track = a / (a + b)
    return (min(f_noise, f_track), max(f_noise, f_track))


def weak_to_posterior(f, a: float, b: float, prior: float | None = None,
                      clip: bool = True) -> np.ndarray:
    """Turn a D1-vs-D2 classifier output into the probability of a track.

    Parameters
    ----------
    f : array_like
        Calibrated ``P(D1|X)`` of a classifier trained on equal-size D1 and D2, in [0, 1].
    a, b : float
        Track fractions ``P(track|D1)`` and ``P(track|D2)``, in [0, 1], ``a != b``.
    prior : float, optional
        Track prior of the sample the posterior is meant for, in [0, 1]. ``None``: the pooled
        sample of D1 and D2 (prior ``(a + b) / 2``), with the closed form
        ``g = (a + b) [f (2 - a - b) - (1 - a)] / (a - b)``.
    clip : bool
        Values of ``f`` outside :func:`feasible_interval` give posteriors outside [0, 1] (the
        pooled form) or a negative likelihood ratio; ``True`` (default) maps them to the
        nearest end, i.e. 0 or 1. ``False`` returns the pooled form unclipped (with ``prior``
        given, infeasible values then give NaN).

    Returns
    -------
    numpy.ndarray of float64, same shape as ``f``

    Raises
    ------
    ValueError
        When ``a == b``, a fraction (``a``, ``b``, ``prior``) is outside [0, 1] or not finite,
        or ``f`` holds NaN or values outside [0, 1].

    Examples
    --------
    >>> weak_to_posterior([0.2, 0.5, 0.8], a=0.8, b=0.2).round(12)
    array([0. , 0.5, 1. ])
    >>> float(weak_to_posterior(0.5, 0.8, 0.2, prior=0.1))
    0.1
    """
    a, b = _check_ab(a, b)
    f = np.asarray(f, dtype=np.float64)
    if np.isnan(f).any():
        raise ValueError(f"f contains {int(np.isnan(f).sum())} NaN value(s)")
    if np.any((f < 0) | (f > 1)):
        raise ValueError(f"f must be a probability in [0, 1]; got values in "
                         f"[{f.min():.3g}, {f.max():.3g}]")
    lo, hi = feasible_interval(a, b)
    if clip:
        f = np.clip(f, lo, hi)
    if prior is None:
        g = (a + b) * (f * (2.0 - a - b) - (1.0 - a)) / (a - b)
        return np.clip(g, 0.0, 1.0) if clip else g
    pi = _fraction(prior, "prior")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = f / (1.0 - f)
        q = ((1.0 - a) - r * (1.0 - b)) / (r * b - a)
        post = pi * q / (pi * q + 1.0 - pi)
    # the likelihood ratio is infinite at the pure-track end (f = a / (a + b)); 0/0 at pi = 0
    post = np.where(np.isinf(q) | (np.isinf(r) & (b == 0)), 1.0 if pi > 0 else 0.0, post)
    if pi == 0.0:
        post = np.zeros_like(f)
    elif pi == 1.0:
        post = np.ones_like(f)
    if not clip:
        post = np.where((q < 0) | np.isnan(q), np.nan, post)
    return post + 0.0  # no negative zeros


def estimate_fractions(f, in_d1, quantile: float = 0.05) -> tuple[float, float]:
    """Estimate ``a`` and ``b`` from a D1-vs-D2 classifier's scores (anchor-set estimator).

    The end slopes of the ROC curve of ``f`` (D1 as positives) are likelihood ratios of the
    two mixtures. Where the frames are pure tracks (the top ``quantile`` of the pooled scores)
    the ratio of the D1 and D2 rates is ``a / b``; where they are pure noise (the bottom
    ``quantile``) it is ``(1 - a) / (1 - b)``. Solving the two equations gives ``a`` and ``b``:
    ``b = (1 - R0) / (R1 - R0)`` and ``a = R1 b``. Only the *ranking* of ``f`` is used, so
    ``f`` need not be calibrated, and the two datasets may differ in size.

    Assumptions: tracks and noise look the same in D1 and D2, and the top and bottom
    ``quantile`` of the pooled sample hold only tracks and only noise (``P(track|X)`` is 0 or 1
    there, the seed deck's fourth assumption). Contamination of an end biases the estimates
    towards each other (``a`` down, ``b`` up); a smaller ``quantile`` lowers the bias and
    raises the noise. Use scores of frames the classifier was *not* trained on.

    Parameters
    ----------
    f : array_like, shape (n,)
        Classifier scores (any monotone transform of ``P(D1|X)``), finite.
    in_d1 : array_like of bool, shape (n,)
        True for frames of D1, False for D2.
    quantile : float
        Fraction of the pooled sample used at each end, in (0, 0.5).

    Returns
    -------
    (a, b) : tuple of float
        Estimates, limited to [0, 1] (an end with no frame of one dataset gives 0 or 1).

    Raises
    ------
    ValueError
        For mismatched shapes, NaN scores, a dataset without frames, or a bad ``quantile``.
    UnseparatedScores
        (a ``ValueError``) When the ends of the scores do not separate D1 from D2.
    """
    f = np.asarray(f, dtype=np.float64).ravel()
    d1 = np.asarray(in_d1).ravel()
    if d1.dtype != bool:
        raise ValueError("in_d1 must be boolean")
    if f.shape != d1.shape:
        raise ValueError(f"f and in_d1 must have the same length, got {f.size} and {d1.size}")
    if not np.all(np.isfinite(f)):
        raise ValueError("f contains NaN or infinite values")
    if not 0.0 < quantile < 0.5:
        raise ValueError(f"quantile must be in (0, 0.5), got {quantile!r}")
    n1, n2 = int(d1.sum()), int((~d1).sum())
    if n1 == 0 or n2 == 0:
        raise ValueError("both datasets need frames")
    k = max(int(round(quantile * f.size)), 1)
    order = np.argsort(f, kind="stable")
    top, bottom = order[-k:], order[:k]
    r1 = (d1[top].sum() / n1, (~d1[top]).sum() / n2)  # (D1 rate, D2 rate) at the top
    r0 = (d1[bottom].sum() / n1, (~d1[bottom]).sum() / n2)
    big = np.inf
    ratio1 = r1[0] / r1[1] if r1[1] > 0 else big  # a / b
    ratio0 = r0[0] / r0[1] if r0[1] > 0 else big  # (1 - a) / (1 - b)
    if np.isinf(ratio1) and np.isinf(ratio0):
        raise UnseparatedScores("no frame of D2 at either end: the scores do not separate "
                                "anything")
    if np.isinf(ratio1):  # b = 0
        b, a = 0.0, 1.0 - ratio0
    elif np.isinf(ratio0):  # 1 - b = 0
        b, a = 1.0, ratio1
    elif ratio1 == ratio0:
        raise UnseparatedScores("both ends of the scores have the same D1/D2 mix: a == b")
    else:
        b = (1.0 - ratio0) / (ratio1 - ratio0)
        a = ratio1 * b
    return float(np.clip(a, 0.0, 1.0)), float(np.clip(b, 0.0, 1.0))
