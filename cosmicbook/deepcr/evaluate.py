"""Pixel-level scores of cosmic-ray masks: ROC curves, TPR at fixed FPR, brightness, footprints.

Every score is computed over pixels. A pixel is *positive* when it lies in an injected cosmic
footprint (the truth mask) and *negative* otherwise; pixels in an ``ignore`` mask count as
neither. For a probability map, a pixel is flagged at threshold ``t`` when ``prob >= t``.

* :func:`roc_curve` -- the exact ROC curve (every distinct threshold, or a subset of them),
  by sorting: ~2 s for a 4k x 4k frame;
* :func:`tpr_at_fpr` -- TPR at given FPRs, linearly interpolated between ROC vertices (the
  classic deepCR table: TPR at FPR 0.01 %, 0.1 %, 1 %);
* :func:`score_mask` -- TPR and FPR of a boolean mask (a classical method, or a thresholded
  map);
* :func:`tpr_by_brightness` and :func:`tpr_by_pixel_charge` -- which cosmics and pixels a
  method misses;
* :func:`footprint_overgrowth` -- flagged pixels outside the truth per truly flagged pixel,
  split into the one-pixel ring a 3 x 3 dilation adds and the rest;
* :func:`seam_difference` -- how two probability maps of the same frame differ (tiling seams);
* :func:`plot_roc` -- ROC curves on a log FPR axis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from astropy.table import Table
from scipy import ndimage

from cosmicbook.core import stats

__all__ = [
    "DEFAULT_FPRS",
    "MaskScore",
    "Overgrowth",
    "ROCCurve",
    "footprint_overgrowth",
    "plot_roc",
    "roc_curve",
    "score_mask",
    "seam_difference",
    "sweep_curve",
    "sweep_method",
    "tpr_at_fpr",
    "tpr_by_brightness",
    "tpr_by_pixel_charge",
]

#: The false-positive rates of the chapter's table: 0.01 %, 0.1 % and 1 %.
DEFAULT_FPRS: tuple[float, ...] = (1e-4, 1e-3, 1e-2)

_EIGHT = np.ones((3, 3), dtype=bool)


def _image(a, name: str, shape=None, finite: bool = True) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {a.shape}")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have the shape {tuple(shape)}, got {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric or boolean, got dtype {a.dtype}")
    if finite and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _bool(a, name: str, shape) -> np.ndarray:
    a = _image(a, name, shape)
    if a.dtype != bool:
        if not np.all((a == 0) | (a == 1)):
            raise ValueError(f"{name} must be boolean (or 0/1)")
        a = a.astype(bool)
    return a


def _valid(truth, ignore, shape) -> tuple[np.ndarray, np.ndarray | None]:
    truth = _bool(truth, "truth", shape)
    ignore = None if ignore is None else _bool(ignore, "ignore", shape)
    return truth, ignore


def _ratio(num, den) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


# ---------------------------------------------------------------------- ROC
class ROCCurve(stats.ROCCurve):
    """A pixel-level ROC curve: :class:`cosmicbook.core.stats.ROCCurve` whose :meth:`tpr_at`
    defaults to the chapter's FPRs (:data:`DEFAULT_FPRS`).

    Attributes
    ----------
    thresholds : numpy.ndarray
        Decreasing thresholds; a pixel is flagged when ``prob >= threshold``. The first is
        ``+inf`` (nothing flagged) and the last ``-inf`` (everything flagged).
    tpr, fpr : numpy.ndarray
        True- and false-positive rates at each threshold (non-decreasing).
    n_pos, n_neg : int
        Positive (cosmic) and negative pixels scored.
    """

    def tpr_at(self, fpr=DEFAULT_FPRS) -> float | np.ndarray:
        """TPR at the given FPR(s), interpolated (see :func:`tpr_at_fpr`)."""
        return super().tpr_at(fpr)

    def __repr__(self) -> str:
        t = ", ".join(f"{v:.4f}" for v in self.tpr_at(DEFAULT_FPRS))
        return (f"ROCCurve({len(self)} points, {self.n_pos} positive / {self.n_neg} negative "
                f"pixels; TPR at FPR 1e-4, 1e-3, 1e-2: {t})")


def roc_curve(prob, truth, ignore=None, n_thresholds: int | None = None) -> ROCCurve:
    """The exact pixel-level ROC curve of a probability map (or several).

    The pixels of every frame, less the ignored ones, pooled into
    :func:`cosmicbook.core.stats.roc_curve`.

    Parameters
    ----------
    prob : numpy.ndarray or sequence of numpy.ndarray
        ``(ny, nx)`` scores (any monotonic score works: probabilities, significances...);
        NaN/inf are refused. A sequence of frames gives one curve over all their pixels.
    truth : numpy.ndarray or sequence
        ``(ny, nx)`` bool truth masks, matching ``prob``.
    ignore : numpy.ndarray or sequence, optional
        ``(ny, nx)`` bool, pixels left out.
    n_thresholds : int, optional
        ``None`` (default): every distinct score value is a vertex -- the exact curve. An int
        keeps about that many vertices (still exact points of the curve, not approximations),
        chosen log-uniformly in FPR from ``1 / n_neg`` to 1 plus uniformly in TPR, so a log
        FPR axis stays well sampled.

    Returns
    -------
    ROCCurve

    Raises
    ------
    ValueError
        For mismatched shapes, NaN scores, non-boolean truth, or no positive or no negative
        pixels.
    """
    probs = list(prob) if isinstance(prob, list | tuple) else [prob]
    truths = list(truth) if isinstance(truth, list | tuple) else [truth]
    ignores = (list(ignore) if isinstance(ignore, list | tuple)
               else [ignore] * len(probs) if ignore is None else [ignore])
    if not (len(probs) == len(truths) == len(ignores)):
        raise ValueError(f"got {len(probs)} probability maps, {len(truths)} truth masks and "
                         f"{len(ignores)} ignore masks")
    scores, labels = [], []
    for i, (p, t, g) in enumerate(zip(probs, truths, ignores, strict=True)):
        p = _image(p, f"prob[{i}]" if len(probs) > 1 else "prob")
        t, g = _valid(t, g, p.shape)
        scores.append(p[~g] if g is not None else p.ravel())
        labels.append(t[~g] if g is not None else t.ravel())
    curve = stats.roc_curve(np.concatenate(scores), np.concatenate(labels), n_thresholds)
    return ROCCurve(**vars(curve))


def tpr_at_fpr(prob, truth=None, fpr=DEFAULT_FPRS, ignore=None):
    """TPR at fixed false-positive rates, interpolated linearly between ROC vertices.

    Parameters
    ----------
    prob : numpy.ndarray, sequence of them, or ROCCurve
        A probability map (with ``truth``) or an already computed curve.
    truth : numpy.ndarray, optional
        Truth mask(s) (needed unless ``prob`` is a ROCCurve).
    fpr : float or sequence of float
        False-positive rate(s) in [0, 1] (default 1e-4, 1e-3, 1e-2).
    ignore : numpy.ndarray, optional
        Pixels left out.

    Returns
    -------
    float or numpy.ndarray
        TPR at each ``fpr`` (a float for a scalar ``fpr``). Where several vertices share an
        FPR, the highest TPR is used (the best operating point at that FPR); outside the FPR
        range of a swept curve, NaN (see :meth:`cosmicbook.core.stats.ROCCurve.tpr_at`).
    """
    if isinstance(prob, stats.ROCCurve):
        if truth is not None or ignore is not None:
            raise ValueError("give either a ROCCurve, or prob and truth; not both")
        curve = prob
    else:
        if truth is None:
            raise ValueError("truth is required with a probability map")
        curve = roc_curve(prob, truth, ignore)
    return curve.tpr_at(fpr)


def sweep_curve(scores: Sequence[MaskScore], values: Sequence[float]) -> ROCCurve:
    """A ROC-like curve from boolean masks made with a swept parameter.

    A classical method gives one mask per parameter value (LA Cosmic's ``sigclip``, the SDSS
    method's ``nsig``); this orders their operating points by FPR so :func:`tpr_at_fpr` can
    interpolate between them. Unlike :func:`roc_curve` there are no ``(0, 0)`` and ``(1, 1)``
    end points: outside the swept FPR range :func:`tpr_at_fpr` returns NaN.

    Parameters
    ----------
    scores : sequence of MaskScore
        One score per parameter value, all on the same pixels.
    values : sequence of float
        The parameter values (stored as ``thresholds``).

    Returns
    -------
    ROCCurve
        Points sorted by FPR (then TPR); ``thresholds`` holds the parameter values.
    """
    scores = list(scores)
    values = np.asarray(values, dtype=float)
    if not scores or len(scores) != values.size:
        raise ValueError(f"need one score per value, got {len(scores)} scores and "
                         f"{values.size} values")
    if any(not isinstance(s, MaskScore) for s in scores):
        raise ValueError("scores must be MaskScore objects (see score_mask)")
    n_pos, n_neg = {s.n_pos for s in scores}, {s.n_neg for s in scores}
    if len(n_pos) != 1 or len(n_neg) != 1:
        raise ValueError("the scores were computed on different pixels")
    tpr = np.array([s.tpr for s in scores])
    fpr = np.array([s.fpr for s in scores])
    order = np.lexsort((tpr, fpr))
    return ROCCurve(thresholds=values[order], tpr=tpr[order], fpr=fpr[order],
                    n_pos=n_pos.pop(), n_neg=n_neg.pop())


def sweep_method(method: Callable[..., np.ndarray], image: np.ndarray, truth: np.ndarray,
                 knob: str, values: Sequence[float], ignore: np.ndarray | None = None
                 ) -> ROCCurve:
    """ROC-like curve of a classical masking method with one knob swept.

    Parameters
    ----------
    method : callable
        ``method(image, **{knob: value}) -> bool mask``; bind its other arguments first
        (``functools.partial(sdss_cosmics, ivar=ivar, psf_gradients=g)``).
    image : numpy.ndarray
        The frame to mask.
    truth : numpy.ndarray
        Bool truth mask of the same shape.
    knob : str
        The keyword swept (``"c2fudge"``, ``"sigclip"``...).
    values : sequence of float
        Its values.
    ignore : numpy.ndarray, optional
        Pixels left out of the scores (as in :func:`score_mask`).

    Returns
    -------
    ROCCurve
        See :func:`sweep_curve`.
    """
    scores = [score_mask(method(image, **{knob: v}), truth, ignore=ignore) for v in values]
    return sweep_curve(scores, values)


# ---------------------------------------------------------------------- boolean masks
@dataclass(frozen=True)
class MaskScore:
    """TPR and FPR of a boolean mask.

    Attributes
    ----------
    tpr, fpr : float
        ``tp / n_pos`` and ``fp / n_neg``.
    tp, fp, fn, tn : int
        Pixel counts.
    """

    tpr: float
    fpr: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n_pos(self) -> int:
        """Positive (cosmic) pixels."""
        return self.tp + self.fn

    @property
    def n_neg(self) -> int:
        """Negative pixels."""
        return self.fp + self.tn

    @property
    def precision(self) -> float:
        """``tp / (tp + fp)``: the fraction of flagged pixels that are cosmic."""
        return _ratio(self.tp, self.tp + self.fp)

    def as_dict(self) -> dict:
        """The counts and rates as a plain dict."""
        return asdict(self)

    def __add__(self, other: MaskScore) -> MaskScore:
        tp, fp = self.tp + other.tp, self.fp + other.fp
        fn, tn = self.fn + other.fn, self.tn + other.tn
        return MaskScore(_ratio(tp, tp + fn), _ratio(fp, fp + tn), tp, fp, fn, tn)

    def __str__(self) -> str:
        return f"TPR {self.tpr:.2%}, FPR {self.fpr:.3%} ({self.tp} TP, {self.fp} FP)"


def score_mask(mask, truth, ignore=None) -> MaskScore:
    """Pixel TPR and FPR of a boolean mask against the truth.

    Parameters
    ----------
    mask, truth : numpy.ndarray or sequences of them
        ``(ny, nx)`` bool: flagged pixels and truth. Sequences are summed over frames.
    ignore : numpy.ndarray or sequence, optional
        Pixels left out.

    Returns
    -------
    MaskScore
    """
    if isinstance(mask, list | tuple):
        truths = list(truth)
        ignores = [None] * len(mask) if ignore is None else list(ignore)
        if not (len(mask) == len(truths) == len(ignores)):
            raise ValueError("mask, truth and ignore sequences differ in length")
        scores = [score_mask(m, t, g) for m, t, g in zip(mask, truths, ignores, strict=True)]
        total = scores[0]
        for s in scores[1:]:
            total = total + s
        return total
    mask = _bool(mask, "mask", None)
    truth, ignore = _valid(truth, ignore, mask.shape)
    keep = ~ignore if ignore is not None else np.ones(mask.shape, bool)
    tp = int(np.count_nonzero(mask & truth & keep))
    fn = int(np.count_nonzero(~mask & truth & keep))
    fp = int(np.count_nonzero(mask & ~truth & keep))
    tn = int(np.count_nonzero(~mask & ~truth & keep))
    return MaskScore(_ratio(tp, tp + fn), _ratio(fp, fp + tn), tp, fp, fn, tn)


def _brightness_table(lo, hi, counts: dict) -> Table:
    t = Table({"lo": np.asarray(lo, float), "hi": np.asarray(hi, float)})
    for k, v in counts.items():
        t[k] = v
    return t


def tpr_by_brightness(mask, labels, cosmics: Table, bins: Sequence[float] | None = None,
                      column: str = "peak") -> Table:
    """Detection rate and pixel TPR of the injected cosmics, in bins of their brightness.

    Parameters
    ----------
    mask : numpy.ndarray
        ``(ny, nx)`` bool flagged pixels.
    labels : numpy.ndarray
        ``(ny, nx)`` int cosmic ids (``TrainingFrame.labels``).
    cosmics : astropy.table.Table
        Per-cosmic truth with ``id``, ``x``, ``y`` and ``column`` (``TrainingFrame.cosmics``).
    bins : sequence of float, optional
        Bin edges of ``column`` (default 0, 1000, 2000, 5000, 10 000, 20 000, inf e-).
    column : str
        The brightness column (default ``"peak"``, e-; ``"total"`` works too).

    Returns
    -------
    astropy.table.Table
        One row per bin: ``lo``, ``hi``, ``n_cosmics``, ``detected`` (fraction of the cosmics
        whose peak pixel is flagged), ``n_pixels`` (their label pixels), ``tpr`` (fraction of
        those pixels flagged). NaN where a bin is empty. Cosmics with no pixel left in the
        frame are skipped.
    """
    mask = _bool(mask, "mask", None)
    labels = _image(labels, "labels", mask.shape)
    missing = [c for c in ("id", "x", "y", column) if c not in cosmics.colnames]
    if missing:
        raise ValueError(f"cosmics lacks columns {missing}")
    edges = np.asarray([0, 1e3, 2e3, 5e3, 1e4, 2e4, np.inf] if bins is None else bins, float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be increasing edges, got {bins!r}")
    ids = np.asarray(cosmics["id"], int)
    n_lab = int(max(labels.max(), ids.max(initial=0)))
    npix = np.bincount(labels.ravel(), minlength=n_lab + 1)
    nflag = np.bincount(labels[mask].ravel(), minlength=n_lab + 1)
    value = np.asarray(cosmics[column], float)
    present = npix[ids] > 0
    peak_flag = mask[np.asarray(cosmics["y"], int), np.asarray(cosmics["x"], int)]
    which = np.digitize(value, edges) - 1
    counts = {"n_cosmics": [], "detected": [], "n_pixels": [], "tpr": []}
    for b in range(edges.size - 1):
        sel = present & (which == b)
        n = int(sel.sum())
        pix = int(npix[ids[sel]].sum())
        counts["n_cosmics"].append(n)
        counts["detected"].append(_ratio(peak_flag[sel].sum(), n))
        counts["n_pixels"].append(pix)
        counts["tpr"].append(_ratio(nflag[ids[sel]].sum(), pix))
    return _brightness_table(edges[:-1], edges[1:], counts)


def tpr_by_pixel_charge(mask, truth, signal, bins: Sequence[float] | None = None) -> Table:
    """Pixel TPR in bins of the cosmic-ray charge each truth pixel received.

    Parameters
    ----------
    mask, truth : numpy.ndarray
        ``(ny, nx)`` bool flagged pixels and truth.
    signal : numpy.ndarray
        ``(ny, nx)`` injected cosmic charge, e- (``TrainingFrame.signal``).
    bins : sequence of float, optional
        Bin edges, e- (default -inf, 10, 30, 100, 300, 1000, inf).

    Returns
    -------
    astropy.table.Table
        ``lo``, ``hi``, ``n_pixels``, ``tpr`` per bin.
    """
    mask = _bool(mask, "mask", None)
    truth = _bool(truth, "truth", mask.shape)
    signal = _image(signal, "signal", mask.shape)
    edges = np.asarray([-np.inf, 10, 30, 100, 300, 1000, np.inf] if bins is None else bins,
                       float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be increasing edges, got {bins!r}")
    which = np.digitize(signal[truth], edges) - 1
    flagged = mask[truth]
    nb = edges.size - 1
    ok = (which >= 0) & (which < nb)
    n = np.bincount(which[ok], minlength=nb)
    k = np.bincount(which[ok], weights=flagged[ok], minlength=nb)
    return _brightness_table(edges[:-1], edges[1:],
                             {"n_pixels": n, "tpr": [_ratio(a, b) for a, b in zip(k, n,
                                                                                  strict=True)]})


# ---------------------------------------------------------------------- footprints
@dataclass(frozen=True)
class Overgrowth:
    """How far a mask grows beyond the true footprints.

    Attributes
    ----------
    overgrowth : float
        Flagged pixels outside the truth per truly flagged pixel, ``n_outside / n_hit``.
    overgrowth_ring : float
        The part of it in the one-pixel ring around the truth (8-neighbours: what a 3 x 3
        dilation of a perfect mask adds), ``n_ring / n_hit``.
    overgrowth_far : float
        The rest, more than one pixel from any truth pixel, ``n_far / n_hit``.
    n_flagged, n_hit, n_outside, n_ring, n_far : int
        Flagged pixels, flagged truth pixels, flagged non-truth pixels, and those split.
    """

    overgrowth: float
    overgrowth_ring: float
    overgrowth_far: float
    n_flagged: int
    n_hit: int
    n_outside: int
    n_ring: int
    n_far: int

    def as_dict(self) -> dict:
        """The numbers as a plain dict."""
        return asdict(self)


def footprint_overgrowth(mask, truth, ignore=None) -> Overgrowth:
    """Flagged pixels outside the true footprints, per truly flagged pixel.

    Parameters
    ----------
    mask, truth : numpy.ndarray
        ``(ny, nx)`` bool flagged pixels and truth.
    ignore : numpy.ndarray, optional
        Pixels left out.

    Returns
    -------
    Overgrowth
    """
    mask = _bool(mask, "mask", None)
    truth, ignore = _valid(truth, ignore, mask.shape)
    if ignore is not None:
        mask = mask & ~ignore
    ring = ndimage.binary_dilation(truth, structure=_EIGHT) & ~truth
    hit = int(np.count_nonzero(mask & truth))
    outside = mask & ~truth
    n_out = int(np.count_nonzero(outside))
    n_ring = int(np.count_nonzero(outside & ring))
    return Overgrowth(_ratio(n_out, hit), _ratio(n_ring, hit), _ratio(n_out - n_ring, hit),
                      int(np.count_nonzero(mask)), hit, n_out, n_ring, n_out - n_ring)


def seam_difference(a, b, tile: int | None = None, width: int = 4) -> dict:
    """How much two maps of the same frame differ, overall and along tile seams.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``(ny, nx)`` maps (e.g. whole-frame and tiled probabilities).
    tile : int, optional
        Tile side: pixels within ``width`` of a tile boundary (multiples of ``tile``) are the
        seams.
    width : int
        Half-width of the seam band, pixels (default 4).

    Returns
    -------
    dict
        ``max_abs``, ``mean_abs``, ``frac_above_1e-5`` (fraction of pixels differing by more
        than 1e-5); with ``tile`` also ``max_abs_seam``, ``mean_abs_seam``,
        ``max_abs_interior``, ``mean_abs_interior``.
    """
    a = _image(a, "a")
    b = _image(b, "b", a.shape)
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    out = {"max_abs": float(d.max()), "mean_abs": float(d.mean()),
           "frac_above_1e-5": float(np.mean(d > 1e-5))}
    if tile is not None:
        if int(tile) != tile or tile < 1:
            raise ValueError(f"tile must be a positive integer, got {tile!r}")
        ny, nx = a.shape

        def near(n):
            i = np.arange(n)
            r = i % int(tile)
            band = (r < width) | (r >= int(tile) - width)
            band &= (i >= width) & (i < n - width)  # the frame edges are no seams
            return band

        seam = near(ny)[:, None] | near(nx)[None, :]
        for name, sel in (("seam", seam), ("interior", ~seam)):
            vals = d[sel]
            out[f"max_abs_{name}"] = float(vals.max()) if vals.size else float("nan")
            out[f"mean_abs_{name}"] = float(vals.mean()) if vals.size else float("nan")
    return out


# ---------------------------------------------------------------------- plots
def plot_roc(curves: Mapping[str, ROCCurve | MaskScore], ax=None,
             fpr_marks: Sequence[float] = DEFAULT_FPRS, xlim: tuple[float, float] | None = None,
             ylim: tuple[float, float] | None = None):
    """ROC curves (TPR against FPR on a log axis) and single operating points.

    Parameters
    ----------
    curves : mapping of name to ROCCurve or MaskScore
        Curves are drawn as lines, boolean-mask scores as markers.
    ax : matplotlib Axes, optional
    fpr_marks : sequence of float
        FPRs marked with dotted vertical lines (default 0.01 %, 0.1 %, 1 %).
    xlim, ylim : (float, float), optional
        Axis limits (default FPR from 1e-6 or the smallest positive FPR to 1, TPR 0-1.01).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    if not curves:
        raise ValueError("nothing to plot: curves is empty")
    markers = iter("os^Dvp*")
    lowest = 1.0
    for name, c in curves.items():
        if isinstance(c, ROCCurve):
            keep = c.fpr > 0
            ax.plot(c.fpr[keep], c.tpr[keep], label=name)
            if keep.any():
                lowest = min(lowest, float(c.fpr[keep].min()))
        elif isinstance(c, MaskScore):
            ax.plot([max(c.fpr, 1e-12)], [c.tpr], linestyle="none", marker=next(markers, "o"),
                    label=f"{name} (mask)")
            if c.fpr > 0:
                lowest = min(lowest, c.fpr)
        else:
            raise ValueError(f"curves[{name!r}] must be a ROCCurve or MaskScore, got "
                             f"{type(c).__name__}")
    for f in fpr_marks:
        ax.axvline(f, color="0.7", linestyle=":", linewidth=0.8, zorder=0)
    ax.set_xscale("log")
    ax.set_xlim(xlim or (max(min(lowest, 1e-4) / 2, 1e-7), 1.0))
    ax.set_ylim(ylim or (0.0, 1.01))
    ax.set_xlabel("false-positive rate (pixels)")
    ax.set_ylabel("true-positive rate (pixels)")
    ax.legend(loc="lower right")
    return ax
