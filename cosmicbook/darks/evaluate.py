"""Score a cosmic-ray extraction against the simulation truth, and fit the cosmic-ray rate.

:func:`evaluate_extraction` compares a label image from
:func:`~cosmicbook.darks.extract.extract_cosmics` with a
:class:`~cosmicbook.darks.simulate.SimulatedDark`: completeness (for bright and dim cosmics
separately), coverage of the significant cosmic pixels and purity of the footprints.
:func:`fit_rate` fits the number of cosmics per frame against exposure time, the relation
"number of cosmics ~ 1.4 x exposure time (s)" of the DESI darks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

import astropy.units as u
import numpy as np
from astropy.table import Table, vstack

from cosmicbook.darks.simulate import FULL_FRAME, SimulatedDark

__all__ = [
    "SCORE_ROWS",
    "ExtractionScore",
    "RateFit",
    "combine_scores",
    "compare_scores",
    "evaluate_extraction",
    "fit_rate",
]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


@dataclass
class ExtractionScore:
    """How well an extraction recovers the simulated cosmics.

    Attributes
    ----------
    completeness_bright : float
        Fraction of cosmics with a noiseless truth peak above ``threshold`` whose peak pixel
        lies inside a footprint (without those whose peak pixel is masked, when a ``mask`` was
        given: they cannot be found by construction).
    completeness_dim : float
        The same for the cosmics at or below ``threshold`` (the method is not meant to find
        them; NaN if there are none).
    coverage : float
        Of all significant truth pixels -- pixels of ``truth_labels`` whose observed value
        (data minus the true background) exceeds ``grow_sigma`` x the local noise -- the
        fraction inside footprints.
    coverage_bright : float
        The same, over the significant pixels of bright cosmics only.
    purity : float
        Fraction of footprint pixels that are cosmic pixels of the truth (``truth_labels > 0``).
    n_true, n_bright, n_dim : int
        Simulated cosmics: all, bright, dim.
    n_found_bright, n_found_dim : int
        Of those, how many were found.
    n_footprints : int
        Footprints in the label image.
    n_false : int
        Footprints that contain no truth pixel.
    n_merged : int
        Footprints that contain truth pixels of two or more cosmics.
    n_peak_masked : int
        Bright cosmics whose peak pixel is masked (0 without a ``mask``), left out of
        ``completeness_bright``.
    n_sig_pixels, n_sig_covered : int
        Significant truth pixels, and how many lie in footprints (``coverage``).
    n_sig_bright_pixels, n_sig_bright_covered : int
        The same for bright cosmics (``coverage_bright``).
    n_footprint_pixels, n_footprint_true : int
        Footprint pixels, and how many are truth pixels (``purity``).
    threshold, grow_sigma : float
        The parameters used for the split and the coverage.
    per_cosmic : astropy.table.Table
        The truth table plus ``bright``, ``found``, ``peak_masked``, ``footprint`` (label at
        the peak pixel),
        ``nsig`` (significant pixels) and ``coverage`` (their covered fraction; NaN if none).
    """

    completeness_bright: float
    completeness_dim: float
    coverage: float
    coverage_bright: float
    purity: float
    n_true: int
    n_bright: int
    n_dim: int
    n_found_bright: int
    n_found_dim: int
    n_footprints: int
    n_false: int
    n_merged: int
    n_peak_masked: int
    n_sig_pixels: int
    n_sig_covered: int
    n_sig_bright_pixels: int
    n_sig_bright_covered: int
    n_footprint_pixels: int
    n_footprint_true: int
    threshold: float
    grow_sigma: float
    per_cosmic: Table = field(repr=False)

    @property
    def n_found(self) -> int:
        """Simulated cosmics found, bright and dim."""
        return self.n_found_bright + self.n_found_dim

    def as_dict(self) -> dict:
        """The scalar scores as a plain dict (without ``per_cosmic``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "per_cosmic"}

    def __str__(self) -> str:
        masked = f", {self.n_peak_masked} with a masked peak" if self.n_peak_masked else ""
        return (f"bright completeness {self.completeness_bright:.2%} "
                f"({self.n_found_bright}/{self.n_bright}{masked}), dim {self.completeness_dim:.2%} "
                f"({self.n_found_dim}/{self.n_dim}); coverage {self.coverage:.2%} "
                f"(bright {self.coverage_bright:.2%}); purity {self.purity:.2%}; "
                f"{self.n_footprints} footprints, {self.n_false} false, "
                f"{self.n_merged} merged")


def evaluate_extraction(labels: np.ndarray, sim: SimulatedDark, threshold: float = 400.0,
                        grow_sigma: float = 3.0, *, mask: np.ndarray | None = None
                        ) -> ExtractionScore:
    """Score an extraction of a simulated dark against its truth.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(ny, nx)`` int label image (0 = no cosmic), e.g. from
        :func:`~cosmicbook.darks.extract.extract_cosmics`.
    sim : SimulatedDark
        The simulated dark that was extracted.
    threshold : float
        Truth peak (ADU, noiseless) above which a cosmic counts as bright (default 400).
    grow_sigma : float
        Significance defining the pixels that coverage counts (default 3).
    mask : numpy.ndarray, optional
        The ``(ny, nx)`` bool mask given to the extraction. Bright cosmics whose peak pixel it
        masks are counted in ``n_peak_masked`` and left out of the completeness.

    Returns
    -------
    ExtractionScore

    Raises
    ------
    ValueError
        If ``labels`` or ``mask`` does not have the frame's shape.
    """
    labels = np.asarray(labels)
    if labels.shape != sim.data.shape:
        raise ValueError(f"labels must have the frame's shape {sim.data.shape}, "
                         f"got {labels.shape}")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != sim.data.shape:
            raise ValueError(f"mask must have the frame's shape {sim.data.shape}, "
                             f"got {mask.shape}")
    truth = sim.truth
    n = len(truth)
    ids = np.asarray(truth["id"], dtype=np.int64)
    peak = np.asarray(truth["peak"], dtype=float)
    xs = np.asarray(truth["x"], dtype=np.int64)
    ys = np.asarray(truth["y"], dtype=np.int64)
    footprint_at_peak = labels[ys, xs] if n else np.zeros(0, dtype=labels.dtype)
    found = footprint_at_peak > 0
    bright = peak > threshold
    peak_masked = mask[ys, xs] if mask is not None else np.zeros(n, dtype=bool)
    countable = bright & ~peak_masked

    tl = sim.truth_labels
    observed = sim.data - sim.background_map()
    significant = (tl > 0) & (observed > grow_sigma * sim.noise_map())
    in_fp = labels > 0
    tl_sig = tl[significant]
    covered = in_fp[significant]
    nsig = np.bincount(tl_sig, minlength=ids.max(initial=0) + 1)
    ncov = np.bincount(tl_sig, weights=covered, minlength=nsig.size)
    cov_per = np.full(n, np.nan)
    has = nsig[ids] > 0
    cov_per[has] = ncov[ids][has] / nsig[ids][has]
    bright_ids = np.zeros(nsig.size, dtype=bool)
    bright_ids[ids[bright]] = True
    sel_b = bright_ids[tl_sig]

    fp_pix = labels[in_fp]
    tl_fp = tl[in_fp]
    n_fp_true = int(np.count_nonzero(tl_fp))
    fp_ids = np.unique(fp_pix)
    pairs = np.unique(np.stack([fp_pix[tl_fp > 0], tl_fp[tl_fp > 0]]), axis=1)
    per_fp = np.bincount(np.searchsorted(fp_ids, pairs[0]), minlength=fp_ids.size) \
        if pairs.size else np.zeros(fp_ids.size, dtype=int)

    table = truth.copy()
    table["bright"] = bright
    table["found"] = found
    table["peak_masked"] = peak_masked
    table["footprint"] = footprint_at_peak.astype(np.int32)
    table["nsig"] = nsig[ids].astype(np.int32) * u.pix
    table["coverage"] = cov_per

    return ExtractionScore(
        completeness_bright=_ratio(np.sum(found & countable), np.sum(countable)),
        completeness_dim=_ratio(np.sum(found & ~bright), np.sum(~bright)),
        coverage=_ratio(np.sum(covered), covered.size),
        coverage_bright=_ratio(np.sum(covered[sel_b]), np.sum(sel_b)),
        purity=_ratio(n_fp_true, fp_pix.size),
        n_true=n, n_bright=int(bright.sum()), n_dim=int((~bright).sum()),
        n_found_bright=int(np.sum(found & bright)), n_found_dim=int(np.sum(found & ~bright)),
        n_footprints=int(fp_ids.size), n_false=int(np.sum(per_fp == 0)),
        n_merged=int(np.sum(per_fp >= 2)), n_peak_masked=int(np.sum(bright & peak_masked)),
        n_sig_pixels=int(covered.size), n_sig_covered=int(np.sum(covered)),
        n_sig_bright_pixels=int(np.sum(sel_b)), n_sig_bright_covered=int(np.sum(covered[sel_b])),
        n_footprint_pixels=int(fp_pix.size), n_footprint_true=n_fp_true,
        threshold=float(threshold),
        grow_sigma=float(grow_sigma), per_cosmic=table,
    )


def combine_scores(scores: Sequence[ExtractionScore]) -> ExtractionScore:
    """Pool the scores of several frames into one (counts summed, fractions recomputed).

    Parameters
    ----------
    scores : sequence of ExtractionScore
        Scores of frames evaluated with the same ``threshold`` and ``grow_sigma``.

    Returns
    -------
    ExtractionScore
        The pooled score; ``per_cosmic`` stacks the frames' tables with a ``frame`` column
        (index into ``scores``).

    Raises
    ------
    ValueError
        For no scores, or scores with different ``threshold`` or ``grow_sigma``.
    """
    scores = list(scores)
    if not scores:
        raise ValueError("need at least one ExtractionScore to combine")
    params = {(sc.threshold, sc.grow_sigma) for sc in scores}
    if len(params) > 1:
        raise ValueError(f"scores were evaluated with different (threshold, grow_sigma): "
                         f"{sorted(params)}")
    total = {f.name: sum(getattr(sc, f.name) for sc in scores) for f in fields(ExtractionScore)
             if f.name.startswith("n_")}
    tables = []
    for i, sc in enumerate(scores):
        t = sc.per_cosmic.copy()
        t["frame"] = np.full(len(t), i, dtype=np.int32)
        tables.append(t)
    per_cosmic = vstack(tables, metadata_conflicts="silent")
    countable = total["n_bright"] - total["n_peak_masked"]
    return ExtractionScore(
        completeness_bright=_ratio(total["n_found_bright"], countable),
        completeness_dim=_ratio(total["n_found_dim"], total["n_dim"]),
        coverage=_ratio(total["n_sig_covered"], total["n_sig_pixels"]),
        coverage_bright=_ratio(total["n_sig_bright_covered"], total["n_sig_bright_pixels"]),
        purity=_ratio(total["n_footprint_true"], total["n_footprint_pixels"]),
        threshold=scores[0].threshold, grow_sigma=scores[0].grow_sigma,
        per_cosmic=per_cosmic, **total,
    )


@dataclass
class RateFit:
    """A weighted straight-line fit ``counts = rate * exptime + offset``.

    Attributes
    ----------
    rate, rate_err : float
        Cosmics per second per frame of the fitted size, and its 1-sigma error.
    offset, offset_err : float
        Counts at zero exposure time (readout-time cosmics, false detections), and error.
    chi2 : float
        Chi-square of the fit with Poisson variances (from the model).
    dof : int
        Degrees of freedom (points - 2).
    chi2_dof : float
        ``chi2 / dof`` (NaN when ``dof == 0``).
    rate_per_4k_frame, rate_err_per_4k_frame : float
        ``rate`` scaled to a 4096 x 4096 frame (equal to ``rate`` without ``frame_shape``).
    n_points : int
        Number of frames fitted.
    """

    rate: float
    rate_err: float
    offset: float
    offset_err: float
    chi2: float
    dof: int
    chi2_dof: float
    rate_per_4k_frame: float
    rate_err_per_4k_frame: float
    n_points: int

    def as_dict(self) -> dict:
        """The fit results as a plain dict."""
        return asdict(self)

    def __call__(self, exptime):
        """The fitted counts at ``exptime`` (s)."""
        return self.rate * np.asarray(exptime, dtype=float) + self.offset

    def __str__(self) -> str:
        return (f"rate {self.rate:.3f} +- {self.rate_err:.3f} /s "
                f"({self.rate_per_4k_frame:.3f} +- {self.rate_err_per_4k_frame:.3f} /s per 4k "
                f"frame), offset {self.offset:.1f} +- {self.offset_err:.1f}, "
                f"chi2/dof {self.chi2:.1f}/{self.dof}")


def fit_rate(exptimes, counts, frame_shape: tuple[int, int] | None = None,
             n_iter: int = 5) -> RateFit:
    """Fit ``counts = rate * exptime + offset`` with Poisson variances.

    Weighted linear least squares; the Poisson variance of each point is taken from the model
    (iterated ``n_iter`` times, starting from ``max(counts, 1)``), which avoids the bias of
    weighting by the observed counts.

    Parameters
    ----------
    exptimes : array_like
        ``(n,)`` exposure times, s; at least two distinct values.
    counts : array_like
        ``(n,)`` numbers of cosmics found per frame (non-negative).
    frame_shape : (int, int), optional
        ``(ny, nx)`` of the frames, to report the rate per 4096 x 4096 frame.
    n_iter : int
        Re-weighting iterations (default 5).

    Returns
    -------
    RateFit

    Raises
    ------
    ValueError
        For arrays of different lengths, fewer than two distinct exposure times, or negative
        or non-finite values.

    Examples
    --------
    >>> fit = fit_rate([100, 200, 300, 400], [140, 282, 419, 561])
    >>> round(fit.rate, 2)
    1.4
    """
    t = np.asarray(exptimes, dtype=float).ravel()
    c = np.asarray(counts, dtype=float).ravel()
    if t.shape != c.shape:
        raise ValueError(f"exptimes and counts must have the same length, got {t.size} and "
                         f"{c.size}")
    if not (np.isfinite(t).all() and np.isfinite(c).all()) or (t < 0).any() or (c < 0).any():
        raise ValueError("exptimes and counts must be finite and non-negative")
    if np.unique(t).size < 2:
        raise ValueError("need at least two distinct exposure times to fit a rate and an offset")
    design = np.stack([t, np.ones_like(t)], axis=1)
    var = np.maximum(c, 1.0)
    for _ in range(max(int(n_iter), 1)):
        w = 1.0 / var
        cov = np.linalg.inv(design.T @ (design * w[:, None]))
        rate, offset = cov @ (design.T @ (w * c))
        var = np.maximum(rate * t + offset, 1.0)
    model = rate * t + offset
    chi2 = float(np.sum((c - model) ** 2 / var))
    dof = t.size - 2
    scale = 1.0
    if frame_shape is not None:
        ny, nx = (int(s) for s in frame_shape)
        if ny <= 0 or nx <= 0:
            raise ValueError(f"frame_shape must be (ny, nx) > 0, got {frame_shape}")
        scale = FULL_FRAME[0] * FULL_FRAME[1] / (ny * nx)
    rate_err, offset_err = np.sqrt(np.diag(cov))
    return RateFit(rate=float(rate), rate_err=float(rate_err), offset=float(offset),
                   offset_err=float(offset_err), chi2=chi2, dof=dof,
                   chi2_dof=chi2 / dof if dof > 0 else float("nan"),
                   rate_per_4k_frame=float(rate * scale),
                   rate_err_per_4k_frame=float(rate_err * scale), n_points=int(t.size))


#: Rows of :func:`compare_scores`: attribute of ExtractionScore -> label.
SCORE_ROWS: dict[str, str] = {
    "completeness_bright": "completeness, peak > threshold (%)",
    "completeness_dim": "completeness, peak < threshold (%)",
    "coverage_bright": "coverage of >3 sigma pixels, bright (%)",
    "coverage": "coverage of >3 sigma pixels, all (%)",
    "purity": "purity of footprint pixels (%)",
    "n_true": "simulated cosmics",
    "n_bright": "simulated cosmics, peak > threshold",
    "n_found": "cosmics found",
    "n_false": "false footprints",
    "n_merged": "footprints merging several cosmics",
}


def compare_scores(scores: dict[str, ExtractionScore], digits: int = 2) -> Table:
    """Side-by-side table of several methods' scores on the same frames.

    Parameters
    ----------
    scores : dict
        Method name -> :class:`ExtractionScore` (e.g. pooled with :func:`combine_scores`).
    digits : int
        Decimals of the percentages.

    Returns
    -------
    astropy.table.Table
        One row per quantity of :data:`SCORE_ROWS` (fractions in per cent), one column per
        method.
    """
    if not scores:
        raise ValueError("need at least one score to compare")
    table = Table()
    table["quantity"] = list(SCORE_ROWS.values())
    for name, score in scores.items():
        values = []
        for key in SCORE_ROWS:
            value = getattr(score, key)
            values.append(f"{100 * value:.{digits}f}" if key[0] != "n" else str(int(value)))
        table[name] = values
    return table
