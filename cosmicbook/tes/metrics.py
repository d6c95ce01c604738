"""Metrics that judge generated time-ordered data against Monte-Carlo data.

All functions take TOD arrays of shape ``(n_segments, n_bolometers, n_samples)`` in the same
units (the chapter's sigma units) and return plain numbers or arrays:

* :func:`welch_psd`, :func:`psd_ratio_by_decade` -- power spectra and their ratio averaged in
  frequency decades;
* :func:`detect_glitches` -- Planck-style detection above 3.2 sigma of a high-passed TOD, with
  peak amplitudes and times;
* :func:`fit_power_law` -- maximum-likelihood index of :math:`dN/dA \\propto A^{-\\gamma}`
  (Clauset, Shalizi & Newman 2009), optionally truncated at a known cap;
* :func:`compare_amplitudes` -- two-sample KS test and 1-D Wasserstein distance of log
  amplitudes, relative to the spread of the reference;
* :func:`glitch_rate`, :func:`inter_arrival_times` -- rates and the Poisson check;
* :func:`correlation_matrix` -- detector-detector (rank) correlation;
* :func:`pairwise_diversity`, :func:`nearest_neighbour_distances`, :func:`memorisation_ratio` --
  mode collapse and copies of the training set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.table import Table
from scipy import optimize, signal, stats

from cosmicbook.core.stats import robust_sigma  # noise rms, 1.4826 MAD (re-exported)

__all__ = [
    "DETECTION_THRESHOLD",
    "AmplitudeComparison",
    "check_tod",
    "compare_amplitudes",
    "correlation_matrix",
    "decade_edges",
    "detect_glitches",
    "fit_power_law",
    "glitch_rate",
    "inter_arrival_times",
    "memorisation_ratio",
    "nearest_neighbour_distances",
    "pairwise_diversity",
    "psd_ratio_by_decade",
    "robust_sigma",
    "welch_psd",
    "white_noise_covariance",
]

#: Planck HFI's deglitching threshold, in units of the noise rms.
DETECTION_THRESHOLD = 3.2


def check_tod(tod, name: str = "tod") -> np.ndarray:
    """Validate a TOD array: 3-D ``(n_segments, n_bolometers, n_samples)``, finite.

    Returns it as a float64 array; raises ``ValueError`` otherwise.
    """
    arr = np.asarray(tod)
    if arr.ndim != 3:
        raise ValueError(f"{name} must have shape (n_segments, n_bolometers, n_samples), got "
                         f"shape {arr.shape}")
    if min(arr.shape) < 1:
        raise ValueError(f"{name} is empty: shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or infinite "
                         f"values")
    return arr


# -- power spectra --------------------------------------------------------------------------
def welch_psd(tod, sample_rate: float = 180.37, nperseg: int = 256) -> tuple[np.ndarray, ...]:
    """Welch power spectral density, averaged over segments, per bolometer.

    Parameters
    ----------
    tod : array_like, shape (n_segments, n_bolometers, n_samples)
    sample_rate : float
        Hz.
    nperseg : int
        Samples per Welch window (Hann, 50% overlap); a linear trend is removed per window.

    Returns
    -------
    freq : numpy.ndarray, shape (nperseg // 2 + 1,)
        Hz.
    psd : numpy.ndarray, shape (n_bolometers, nperseg // 2 + 1)
        One-sided PSD in units^2 / Hz (white noise of unit variance: 2 / sample_rate).
    """
    tod = check_tod(tod)
    if nperseg > tod.shape[-1]:
        raise ValueError(f"nperseg={nperseg} exceeds the segment length {tod.shape[-1]}")
    freq, psd = signal.welch(tod, fs=sample_rate, nperseg=nperseg, detrend="linear", axis=-1)
    return freq, psd.mean(axis=0)


def decade_edges(f_min: float, f_max: float) -> np.ndarray:
    """Band edges from ``f_min`` to ``f_max`` cut at the powers of ten in between.

    >>> decade_edges(0.7, 90.0).tolist()
    [0.7, 1.0, 10.0, 90.0]
    """
    if not (0 < f_min < f_max):
        raise ValueError(f"need 0 < f_min < f_max, got {f_min}, {f_max}")
    powers = 10.0 ** np.arange(np.floor(np.log10(f_min)) + 1, np.ceil(np.log10(f_max)))
    return np.unique(np.concatenate([[f_min], powers[(powers > f_min) & (powers < f_max)],
                                     [f_max]]))


def psd_ratio_by_decade(freq, psd, psd_reference) -> Table:
    """Ratio of two PSDs averaged over each frequency decade, per bolometer.

    The ratio of band powers :math:`\\sum P / \\sum P_\\mathrm{ref}` over the Welch bins of each
    decade (the zero-frequency bin is excluded).

    Parameters
    ----------
    freq : array_like, shape (n_freq,)
    psd, psd_reference : array_like, shape (n_bolometers, n_freq)

    Returns
    -------
    astropy.table.Table
        One row per decade: ``f_lo``, ``f_hi`` (Hz), ``n_bins``, ``ratio`` (shape
        ``(n_bolometers,)``), ``ratio_min`` and ``ratio_max`` over bolometers.
    """
    freq = np.asarray(freq, dtype=np.float64)
    psd = np.atleast_2d(np.asarray(psd, dtype=np.float64))
    ref = np.atleast_2d(np.asarray(psd_reference, dtype=np.float64))
    if psd.shape != ref.shape or psd.shape[-1] != freq.size:
        raise ValueError(f"psd {psd.shape}, psd_reference {ref.shape} and freq {freq.shape} "
                         f"do not match")
    pos = freq > 0
    edges = decade_edges(freq[pos].min(), freq.max())
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = pos & (freq >= lo) & ((freq < hi) | (hi == edges[-1]) & (freq <= hi))
        if not sel.any():
            continue
        ratio = psd[:, sel].sum(axis=1) / ref[:, sel].sum(axis=1)
        rows.append((lo, hi, int(sel.sum()), ratio, ratio.min(), ratio.max()))
    table = Table(rows=rows, names=("f_lo", "f_hi", "n_bins", "ratio", "ratio_min",
                                    "ratio_max"))
    table["f_lo"].unit = table["f_hi"].unit = "Hz"
    return table


# -- glitches -------------------------------------------------------------------------------
def detect_glitches(tod, *, threshold: float = DETECTION_THRESHOLD, sigma=None,
                    baseline_width: int = 31, min_separation: int = 10,
                    sample_rate: float = 180.37) -> Table:
    """Detect glitches: local maxima more than ``threshold`` sigma above a running median.

    The baseline (1/f noise and slow tails) is a running median over ``baseline_width``
    samples; the noise rms is estimated per bolometer from the high-passed data by the MAD,
    unless given. Peaks closer than ``min_separation`` samples count once (the higher one).

    Parameters
    ----------
    tod : array_like, shape (n_segments, n_bolometers, n_samples)
    threshold : float
        In units of the noise rms (3.2: Planck HFI's deglitching).
    sigma : float, array_like of shape (n_bolometers,) or None
        Noise rms of the high-passed TOD; ``None`` estimates it (:func:`robust_sigma`).
    baseline_width : int
        Odd number of samples of the running median.
    min_separation : int
        Samples (10 = 55 ms at 180 Hz): noise riding on the fast decay of a large glitch makes
        several local maxima above threshold, which must count as one glitch.
    sample_rate : float
        Hz, to express times in seconds.

    Returns
    -------
    astropy.table.Table
        ``segment``, ``detector``, ``index`` (sample), ``time`` (s), ``amplitude`` (peak
        height above the baseline, TOD units) and ``snr`` (amplitude / sigma); ``meta["sigma"]``
        holds the rms used per bolometer.
    """
    from scipy.ndimage import median_filter

    tod = check_tod(tod)
    if baseline_width < 3 or baseline_width % 2 == 0:
        raise ValueError(f"baseline_width must be an odd int >= 3, got {baseline_width}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    n_seg, n_det, _ = tod.shape
    high = tod - median_filter(tod, size=(1, 1, baseline_width), mode="reflect")
    if sigma is None:
        sig = robust_sigma(np.moveaxis(high, 1, 0).reshape(n_det, -1), axis=1)
    else:
        sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n_det,)).copy()
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigma must be positive, got {sig}")
    rows: list[tuple] = []
    for s in range(n_seg):
        for d in range(n_det):
            peaks, props = signal.find_peaks(high[s, d], height=threshold * sig[d],
                                             distance=min_separation)
            if peaks.size:
                h = props["peak_heights"]
                rows.extend(zip(np.full(peaks.size, s), np.full(peaks.size, d), peaks,
                                peaks / sample_rate, h, h / sig[d], strict=True))
    names = ("segment", "detector", "index", "time", "amplitude", "snr")
    dtypes = (np.int64, np.int64, np.int64, np.float64, np.float64, np.float64)
    table = Table(rows=rows if rows else None, names=names, dtype=dtypes)
    table["time"].unit = "s"
    table.meta.update(sigma=sig.tolist(), threshold=float(threshold), n_segments=n_seg,
                      n_bolometers=n_det, n_samples=int(tod.shape[-1]),
                      sample_rate=float(sample_rate))
    return table


def fit_power_law(amplitudes, a_min: float, a_max: float | None = None) -> tuple[float, float]:
    """Maximum-likelihood index :math:`\\gamma` of :math:`p(A) \\propto A^{-\\gamma}`, A >= a_min.

    Without ``a_max`` the closed form of Clauset et al. (2009),
    :math:`\\hat\\gamma = 1 + n / \\sum \\ln(A_i / a_\\mathrm{min})`, with error
    :math:`(\\hat\\gamma - 1)/\\sqrt{n}`; with a cap ``a_max`` (amplitudes above it are an
    error) the likelihood of the truncated power law is maximised numerically and the error is
    from its curvature.

    Parameters
    ----------
    amplitudes : array_like
        Values below ``a_min`` are ignored.
    a_min : float
        Lower limit of the fit (e.g. the detection threshold, where the sample is complete).
    a_max : float, optional
        Known upper truncation.

    Returns
    -------
    (gamma, sigma_gamma) : tuple of float

    Raises
    ------
    ValueError
        With fewer than 2 amplitudes above ``a_min`` or amplitudes above ``a_max``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a = 2.0 * (1 - rng.random(20000)) ** (-1 / 1.4)     # gamma = 2.4
    >>> round(fit_power_law(a, 2.0)[0], 1)
    2.4
    """
    a = np.asarray(amplitudes, dtype=np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError("amplitudes contain NaN or infinite values")
    if not a_min > 0:
        raise ValueError(f"a_min must be positive, got {a_min}")
    a = a[a >= a_min]
    n = a.size
    if n < 2:
        raise ValueError(f"need at least 2 amplitudes >= a_min={a_min}, got {n}")
    logs = np.log(a / a_min)
    if a_max is None:
        gamma = 1.0 + n / logs.sum()
        return float(gamma), float((gamma - 1.0) / np.sqrt(n))
    if a_max <= a_min or np.any(a > a_max):
        raise ValueError(f"amplitudes must lie below a_max={a_max} > a_min")
    r = np.log(a_max / a_min)
    mean_log = logs.mean()

    def nll(g: float) -> float:  # per sample, up to a constant
        b = 1.0 - g
        norm = r if abs(b) < 1e-9 else np.log(abs(np.expm1(b * r) / b))
        return g * mean_log + norm

    res = optimize.minimize_scalar(nll, bounds=(1e-3, 10.0), method="bounded",
                                   options={"xatol": 1e-8})
    g = float(res.x)
    h = 1e-4
    curv = (nll(g + h) - 2 * nll(g) + nll(g - h)) / h ** 2
    err = float(1.0 / np.sqrt(n * curv)) if curv > 0 else float("nan")
    return g, err


@dataclass
class AmplitudeComparison:
    """Result of :func:`compare_amplitudes`.

    Attributes
    ----------
    ks_statistic, ks_pvalue : float
        Two-sample Kolmogorov-Smirnov test of the amplitudes.
    wasserstein : float
        1-D Wasserstein distance of the log10 amplitudes (dex).
    spread : float
        Standard deviation of the reference's log10 amplitudes (dex).
    relative_wasserstein : float
        ``wasserstein / spread``.
    n, n_reference : int
        Sample sizes.
    """

    ks_statistic: float
    ks_pvalue: float
    wasserstein: float
    spread: float
    relative_wasserstein: float
    n: int
    n_reference: int

    def agrees(self, p_min: float = 0.01, rel_max: float = 0.1) -> bool:
        """The chapter's criterion: KS p > ``p_min`` or Wasserstein < ``rel_max`` x spread."""
        return bool(self.ks_pvalue > p_min or self.relative_wasserstein < rel_max)


def compare_amplitudes(amplitudes, reference) -> AmplitudeComparison:
    """Compare two samples of (positive) glitch amplitudes.

    The KS test is invariant under the logarithm; the Wasserstein distance is computed on
    log10 amplitudes, where a power law is spread evenly, and divided by the standard
    deviation of the reference's log10 amplitudes (its "spread").
    """
    a = np.asarray(amplitudes, dtype=np.float64).ravel()
    b = np.asarray(reference, dtype=np.float64).ravel()
    for name, x in (("amplitudes", a), ("reference", b)):
        if x.size < 2:
            raise ValueError(f"{name} needs at least 2 values, got {x.size}")
        if not np.all(np.isfinite(x)) or np.any(x <= 0):
            raise ValueError(f"{name} must be positive and finite")
    ks = stats.ks_2samp(a, b)
    la, lb = np.log10(a), np.log10(b)
    w = float(stats.wasserstein_distance(la, lb))
    spread = float(np.std(lb))
    return AmplitudeComparison(float(ks.statistic), float(ks.pvalue), w, spread,
                               w / spread if spread > 0 else float("inf"), a.size, b.size)


def glitch_rate(detections: Table) -> np.ndarray:
    """Detected glitches per second per bolometer, shape (n_bolometers,).

    Uses the segment count, length and sampling rate in ``detections.meta`` (as written by
    :func:`detect_glitches`).
    """
    meta = detections.meta
    try:
        seconds = meta["n_segments"] * meta["n_samples"] / meta["sample_rate"]
        n_det = int(meta["n_bolometers"])
    except KeyError as err:
        raise ValueError(f"detections lack {err} in meta: use detect_glitches' output") \
            from None
    counts = np.bincount(np.asarray(detections["detector"], dtype=np.int64), minlength=n_det)
    return counts / seconds


def inter_arrival_times(detections: Table) -> np.ndarray:
    """Seconds between consecutive detections of the same bolometer in the same segment."""
    if len(detections) == 0:
        return np.zeros(0)
    seg = np.asarray(detections["segment"])
    det = np.asarray(detections["detector"])
    t = np.asarray(detections["time"], dtype=np.float64)
    order = np.lexsort((t, det, seg))
    seg, det, t = seg[order], det[order], t[order]
    same = (seg[1:] == seg[:-1]) & (det[1:] == det[:-1])
    return np.diff(t)[same]


def white_noise_covariance(tod, clip: float = 5.0) -> np.ndarray:
    """Covariance of the white noise between bolometers, from first differences.

    Differencing removes the baseline and most of the :math:`1/f` noise and leaves
    :math:`2 \\times` the white noise covariance. Time steps at which any bolometer's
    difference exceeds ``clip`` times its robust rms (:func:`robust_sigma`) -- glitch
    rises and fast decays -- are left out (a Gaussian loses 6e-7 of its variance to a 5-sigma
    cut).

    Parameters
    ----------
    tod : array_like, shape (n_segments, n_bolometers, n_samples)
    clip : float
        Cut on the differences, in units of their robust rms.

    Returns
    -------
    numpy.ndarray, shape (n_bolometers, n_bolometers)
        In TOD units squared (1 on the diagonal for the simulator's white noise).
    """
    tod = check_tod(tod)
    if tod.shape[-1] < 3:
        raise ValueError(f"need at least 3 samples per segment, got {tod.shape[-1]}")
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip}")
    d = np.moveaxis(np.diff(tod, axis=-1), 1, 0).reshape(tod.shape[1], -1)
    keep = np.all(np.abs(d) < clip * robust_sigma(d, axis=1)[:, None], axis=0)
    if keep.sum() < 2:
        raise ValueError("too few quiet samples to estimate the white noise")
    return np.cov(d[:, keep]) / 2.0


# -- correlation ----------------------------------------------------------------------------
def correlation_matrix(tod, method: str = "spearman") -> np.ndarray:
    """Detector-detector correlation matrix, shape (n_bolometers, n_bolometers).

    Each segment's per-bolometer baseline is removed (the median for ``"spearman"``, the mean
    for ``"pearson"``), then all samples are pooled. ``"spearman"`` (the default) correlates
    ranks, so the few largest glitches of a heavy-tailed power law do not dominate;
    ``"pearson"`` is the plain coefficient.
    """
    tod = check_tod(tod)
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    centre = np.median if method == "spearman" else np.mean
    x = tod - centre(tod, axis=-1, keepdims=True)
    x = np.moveaxis(x, 1, 0).reshape(tod.shape[1], -1)
    if method == "spearman":
        x = stats.rankdata(x, axis=1)
    return np.corrcoef(x)


# -- diversity and copies -------------------------------------------------------------------
def _flat(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, ...) with n >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr.reshape(arr.shape[0], -1)


def pairwise_diversity(samples) -> float:
    """Mean Euclidean distance between distinct samples (0 for a fully collapsed generator)."""
    x = _flat(samples, "samples")
    if x.shape[0] < 2:
        raise ValueError("pairwise_diversity needs at least 2 samples")
    sq = (x ** 2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    n = x.shape[0]
    return float(np.sqrt(d2)[~np.eye(n, dtype=bool)].mean())


def nearest_neighbour_distances(samples, reference, chunk: int = 256) -> np.ndarray:
    """Euclidean distance of each sample to its nearest neighbour in ``reference``.

    Both are flattened per sample; shapes ``(n, ...)`` and ``(m, ...)`` with equal trailing
    dimensions. Returns shape ``(n,)``.
    """
    x, r = _flat(samples, "samples"), _flat(reference, "reference")
    if x.shape[1] != r.shape[1]:
        raise ValueError(f"samples and reference differ in size: {x.shape[1]} vs {r.shape[1]}")
    rr = (r ** 2).sum(axis=1)
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        d2 = (xs ** 2).sum(axis=1)[:, None] + rr[None, :] - 2.0 * xs @ r.T
        out[start:start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def memorisation_ratio(generated, held_out, training) -> float:
    """Median nearest-neighbour distance to the training set, generated over held-out MC.

    About 1 when generated samples are as far from the training segments as fresh MC is;
    near 0 when the generator copies training segments.
    """
    d_gen = np.median(nearest_neighbour_distances(generated, training))
    d_mc = np.median(nearest_neighbour_distances(held_out, training))
    if d_mc <= 0:
        raise ValueError("held-out samples coincide with training samples")
    return float(d_gen / d_mc)
