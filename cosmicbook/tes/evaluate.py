"""One call that compares generated TOD with Monte-Carlo TOD on every metric of the chapter,
the acceptance criteria of the issue, and the seed deck's summary table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from cosmicbook.core.training import History
from cosmicbook.tes.metrics import (
    AmplitudeComparison,
    check_tod,
    compare_amplitudes,
    correlation_matrix,
    detect_glitches,
    fit_power_law,
    glitch_rate,
    inter_arrival_times,
    memorisation_ratio,
    pairwise_diversity,
    psd_ratio_by_decade,
    welch_psd,
)

__all__ = ["CRITERIA", "TODComparison", "compare_tod", "describe_comparison",
           "describe_seed_study", "seed_study_table", "seed_table"]

#: The chapter's acceptance criteria (for the better GAN on held-out MC).
CRITERIA: dict[str, str] = {
    "psd": "PSD ratio within 0.8-1.25 in every frequency decade and bolometer",
    "amplitudes": "amplitudes: KS p > 0.01 or Wasserstein < 10% of the MC spread",
    "correlation": "correlation matrix within 0.1 of the MC's in every entry",
    "copies": "not copies of training segments (memorisation ratio > 0.5)",
}


@dataclass
class TODComparison:
    """Every metric of a generated (or second MC) sample against reference MC.

    Attributes
    ----------
    freq, psd, psd_reference : numpy.ndarray
        Welch PSDs (per bolometer) and their frequencies.
    decades : astropy.table.Table
        :func:`~cosmicbook.tes.metrics.psd_ratio_by_decade`.
    detections, detections_reference : astropy.table.Table
        :func:`~cosmicbook.tes.metrics.detect_glitches` of both samples.
    amplitudes : AmplitudeComparison
    slope, slope_reference : tuple of float
        Power-law index and its error of the peak amplitudes above ``a_fit``.
    a_fit : float
        Lower limit of the slope fits (sigma units).
    rate, rate_reference : numpy.ndarray, shape (n_bolometers,)
        Detected glitches per second per bolometer.
    inter_arrival_mean, inter_arrival_mean_reference : float
        Mean seconds between detections of a bolometer.
    correlation, correlation_reference : numpy.ndarray
        Rank correlation matrices.
    diversity_ratio : float
        Mean pairwise distance (compressed TOD) over the reference's.
    memorisation : float or None
        :func:`~cosmicbook.tes.metrics.memorisation_ratio` against the training set.
    """

    freq: np.ndarray
    psd: np.ndarray
    psd_reference: np.ndarray
    decades: Table
    detections: Table
    detections_reference: Table
    amplitudes: AmplitudeComparison
    slope: tuple[float, float]
    slope_reference: tuple[float, float]
    a_fit: float
    rate: np.ndarray
    rate_reference: np.ndarray
    inter_arrival_mean: float
    inter_arrival_mean_reference: float
    correlation: np.ndarray
    correlation_reference: np.ndarray
    diversity_ratio: float
    memorisation: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def psd_ratio_range(self) -> tuple[float, float]:
        """Smallest and largest decade-averaged PSD ratio over decades and bolometers."""
        return float(np.min(self.decades["ratio_min"])), float(np.max(self.decades["ratio_max"]))

    def psd_span(self, below: bool, split_hz: float = 10.0) -> str:
        """``"lo-hi"`` of the decade-averaged PSD ratios of the decades below (or above)
        ``split_hz``."""
        d = self.decades
        sel = (d["f_hi"] <= split_hz * (1 + 1e-6) if below
               else d["f_lo"] >= split_hz * (1 - 1e-6))
        if not np.any(sel):
            return "no decade"
        return f"{np.min(d['ratio_min'][sel]):.2f}-{np.max(d['ratio_max'][sel]):.2f}"

    @property
    def correlation_max_diff(self) -> float:
        """Largest absolute difference of the correlation matrices."""
        return float(np.max(np.abs(self.correlation - self.correlation_reference)))

    def passes(self) -> dict[str, bool]:
        """The acceptance criteria of :data:`CRITERIA`, each True or False."""
        lo, hi = self.psd_ratio_range
        return {
            "psd": bool(lo >= 0.8 and hi <= 1.25),
            "amplitudes": self.amplitudes.agrees(),
            "correlation": self.correlation_max_diff <= 0.1,
            "copies": bool(self.memorisation is not None and self.memorisation > 0.5),
        }


def compare_tod(tod, reference, training=None, *, sample_rate: float = 180.37,
                nperseg: int = 256, a_fit: float = 8.0, scale: float = 3.0,
                n_memorisation: int = 200) -> TODComparison:
    """Compare ``tod`` with ``reference`` MC on every metric of the chapter.

    Parameters
    ----------
    tod, reference : array_like, shape (n_segments, n_bolometers, n_samples)
        Sigma units; the two may have different numbers of segments.
    training : array_like, optional
        The GAN's training MC, for the memorisation ratio (computed on the compressed
        asinh(x / scale) TOD of the first ``n_memorisation`` segments of ``tod`` and
        ``reference``).
    a_fit : float
        Lower limit of the power-law fits of the detected peak amplitudes (sigma), well above
        the 3.2 sigma threshold so that the sample is complete.

    Returns
    -------
    TODComparison
    """
    tod = check_tod(tod)
    ref = check_tod(reference, "reference")
    if tod.shape[1:] != ref.shape[1:]:
        raise ValueError(f"tod {tod.shape} and reference {ref.shape} differ in bolometers or "
                         f"samples")
    freq, psd = welch_psd(tod, sample_rate, nperseg)
    _, psd_ref = welch_psd(ref, sample_rate, nperseg)
    det = detect_glitches(tod, sample_rate=sample_rate)
    det_ref = detect_glitches(ref, sample_rate=sample_rate)
    amp, amp_ref = np.asarray(det["amplitude"]), np.asarray(det_ref["amplitude"])
    comp = compare_amplitudes(amp, amp_ref)

    def slope(a):
        try:
            return fit_power_law(a, a_fit)
        except ValueError:
            return (float("nan"), float("nan"))

    ia, ia_ref = inter_arrival_times(det), inter_arrival_times(det_ref)
    n = min(len(tod), len(ref), 256)
    yc, yr = np.arcsinh(tod[:n] / scale), np.arcsinh(ref[:n] / scale)
    memo = None
    if training is not None:
        train = np.arcsinh(check_tod(training, "training") / scale)
        k = min(n_memorisation, len(tod), len(ref))
        memo = memorisation_ratio(np.arcsinh(tod[:k] / scale), np.arcsinh(ref[:k] / scale),
                                  train)
    return TODComparison(
        freq=freq, psd=psd, psd_reference=psd_ref,
        decades=psd_ratio_by_decade(freq, psd, psd_ref),
        detections=det, detections_reference=det_ref, amplitudes=comp,
        slope=slope(amp), slope_reference=slope(amp_ref), a_fit=a_fit,
        rate=glitch_rate(det), rate_reference=glitch_rate(det_ref),
        inter_arrival_mean=float(np.mean(ia)) if ia.size else float("nan"),
        inter_arrival_mean_reference=float(np.mean(ia_ref)) if ia_ref.size else float("nan"),
        correlation=correlation_matrix(tod), correlation_reference=correlation_matrix(ref),
        diversity_ratio=pairwise_diversity(yc) / pairwise_diversity(yr),
        memorisation=memo,
    )


def describe_comparison(name: str, comparison: TODComparison, optimizers: str) -> str:
    """A Markdown bullet on one generator against the held-out MC: criteria met, PSD ratios
    below and above 10 Hz, amplitudes (which branch of the criterion decides), correlations,
    memorisation, diversity and detected rates.

    Parameters
    ----------
    name : str
        The generator's name (``"WGAN-GP"``).
    comparison : TODComparison
    optimizers : str
        How it was trained (``"Adam/SGD"``).
    """
    c = comparison
    p, a = c.passes(), c.amplitudes
    lo, hi = c.psd_ratio_range
    if a.ks_pvalue > 0.01:
        amp = "the KS test accepts"
    elif a.relative_wasserstein < 0.1:
        amp = ("the KS test rejects, so it is the Wasserstein branch of the criterion "
               "that passes")
    else:
        amp = "both branches of the criterion fail"
    return (f"* **{name}** ({optimizers}), {sum(p.values())}/{len(p)}: "
            f"decade-averaged PSD ratios {lo:.2f}-{hi:.2f} ({c.psd_span(True)} below "
            f"10 Hz, {c.psd_span(False)} above), "
            f"{'inside' if p['psd'] else 'outside'} the 0.8-1.25 band; an amplitude "
            f"Wasserstein distance of {a.relative_wasserstein:.3f} of the MC's spread "
            f"with KS p = {a.ks_pvalue:.2g} ({a.n} glitches against the MC's "
            f"{a.n_reference}): {amp}; "
            f"correlation errors up to {c.correlation_max_diff:.3f} "
            f"({'within' if p['correlation'] else 'beyond'} 0.1); memorisation "
            f"{c.memorisation:.2f} ({'no copies' if p['copies'] else 'copies'}) and "
            f"diversity {c.diversity_ratio:.2f}. Its detected rates are "
            f"{c.rate.min():.2f}-{c.rate.max():.2f} per second per bolometer, the MC's "
            f"{c.rate_reference.min():.2f}-{c.rate_reference.max():.2f}.")


def _verdict(ok: bool) -> str:
    return "consistent" if ok else "inconsistent"


def seed_table(comparisons: dict[str, TODComparison],
               histories: dict[str, History | None] | None = None) -> Table:
    """The seed deck's summary table, filled with measured numbers.

    Columns as on the seed's "literature comparison" slide: training & validation (final
    discriminator loss on training batches / on validation MC, and generator loss), power
    spectrum (decade-averaged PSD ratio range; consistent when within 0.8-1.25), frequency
    spectrum (the amplitude distribution -- how frequently each glitch amplitude occurs -- KS p
    and relative Wasserstein; consistent by the chapter's criterion) and bolometer correlation
    (largest difference of the correlation matrices; consistent when <= 0.1).
    """
    histories = histories or {}
    rows = []
    for name, comp in comparisons.items():
        hist = histories.get(name)
        if hist is not None and len(hist):
            last = hist.last
            train = (f"D {last['d_loss']:.3g} (val {last['val_loss']:.3g}), "
                     f"G {last['train_loss']:.3g}")
        else:
            train = "-"
        lo, hi = comp.psd_ratio_range
        ok = comp.passes()
        rows.append((name, train,
                     f"{lo:.2f}-{hi:.2f}: {_verdict(ok['psd'])}",
                     f"p={comp.amplitudes.ks_pvalue:.2g}, W/spread="
                     f"{comp.amplitudes.relative_wasserstein:.2f}: {_verdict(ok['amplitudes'])}",
                     f"max |diff| {comp.correlation_max_diff:.2f}: "
                     f"{_verdict(ok['correlation'])}"))
    return Table(rows=rows, names=("model", "training & validation", "power spectrum",
                                   "frequency spectrum", "bolometer correlation"))


def seed_study_table(study: dict) -> Table:
    """The CRAB part of a seed study (``benchmarks/gan_seed_study.py``), one row per seed.

    Columns: ``seed``; ``psd_min``/``psd_max``, the smallest and largest decade-averaged PSD
    ratio over decades and bolometers with Welch windows of 1,024 samples (decades from
    0.18 Hz); ``psd_min_256``/``psd_max_256`` with the chapter's 256-sample windows;
    ``amp_w``, the amplitude distributions' Wasserstein distance over the MC's spread (NaN
    when not recorded); ``rate_ratio`` (detected glitch rate at flux 2 over flux 0.5,
    generated), ``rate_ratio_mc``
    (the same for MC) and ``rate_rel`` (their ratio); then the chapter's four criteria
    (:data:`CRITERIA`) on the study's held-out MC, True or False.

    Raises
    ------
    ValueError
        When ``study`` has no CRAB runs.
    """
    runs = study.get("crab") or []
    if not runs:
        raise ValueError("the seed study has no CRAB runs ('crab')")
    rows = [(r["seed"], *r["psd_range_1024"], *r["psd_range_256"],
             r.get("amplitude_wasserstein", np.nan), r["rate_ratio"], r["rate_ratio_mc"],
             r["rate_ratio_rel"], *(bool(r["criteria"][k]) for k in CRITERIA)) for r in runs]
    return Table(rows=rows, names=("seed", "psd_min", "psd_max", "psd_min_256", "psd_max_256",
                                   "amp_w", "rate_ratio", "rate_ratio_mc", "rate_rel",
                                   *CRITERIA))


def describe_seed_study(table: Table, psd_range=(0.85, 1.18), rate_tolerance: float = 0.1
                        ) -> str:
    """What holds across training seeds, in words (``table`` from :func:`seed_study_table`)."""
    n = len(table)

    def span(col, fmt=".2f"):
        return f"{np.min(table[col]):{fmt}}-{np.max(table[col]):{fmt}}"

    psd_ok = (table["psd_min"] >= psd_range[0]) & (table["psd_max"] <= psd_range[1])
    rate_ok = np.abs(table["rate_rel"] - 1) <= rate_tolerance
    chapter = [k for k in CRITERIA if np.all(table[k])]
    fails = [k for k in CRITERIA if not np.all(table[k])]
    text = (f"Over {n} training seeds, the decade-averaged PSD ratio from 0.18 Hz up spans "
            f"{span('psd_min')} at its lowest and {span('psd_max')} at its highest: within "
            f"{psd_range[0]:g}-{psd_range[1]:g} for {int(np.sum(psd_ok))} of {n} seeds. The "
            f"glitch-rate ratio between flux 2 and 0.5 is {span('rate_ratio')} against the "
            f"MC's {np.mean(table['rate_ratio_mc']):.2f} ({span('rate_rel')} of it): within "
            f"{100 * rate_tolerance:.0f} % for {int(np.sum(rate_ok))} of {n}.")
    if chapter:
        text += " The chapter's criteria that hold for every seed: " + ", ".join(chapter) + "."
    for k in fails:
        text += (f" The {k} criterion ({CRITERIA[k]}) holds for {int(np.sum(table[k]))} "
                 f"of {n} seeds.")
    return text
