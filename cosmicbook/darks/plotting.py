"""Figures of the darks chapter: pixel histogram, extraction stamps, completeness, rate fit."""

from __future__ import annotations

import numpy as np

from cosmicbook.core.plotting import _get_ax, outline_mask, stamp_grid
from cosmicbook.darks.evaluate import ExtractionScore, RateFit
from cosmicbook.darks.extract import _as_image
from cosmicbook.darks.simulate import SimulatedDark

__all__ = ["plot_completeness", "plot_extraction_stamps", "plot_histogram", "plot_rate_fit"]


def _histogram(values: np.ndarray, lo: float, linthresh: float, hi: float, nlog: int):
    """Counts per ADU on 1-ADU bins up to ``linthresh`` and log bins above."""
    lin_edges = np.arange(np.floor(lo), linthresh + 1.0)
    log_edges = np.geomspace(linthresh, max(hi, linthresh * 1.01), nlog + 1)[1:]
    lin, _ = np.histogram(values, bins=lin_edges)  # uniform bins: numpy's fast path
    high = values[values >= linthresh]
    logc, _ = np.histogram(high, bins=np.r_[linthresh, log_edges])
    edges = np.r_[lin_edges, log_edges]
    counts = np.r_[lin, logc].astype(float)
    return edges, counts / np.diff(edges)


def plot_histogram(dark, threshold: float = 400.0, seed: float = 250.0, ax=None, *,
                   mask=None, linthresh: float = 50.0, nlog: int = 60, truth: bool = True):
    """Pixel histogram of a dark: noise core, hot pixels and the cosmic-ray tail.

    The x axis is linear up to ``linthresh`` ADU and logarithmic above (``symlog``); the y axis
    shows pixels per ADU on a log scale. With a
    :class:`~cosmicbook.darks.simulate.SimulatedDark` (and ``truth=True``) the pixels are also
    split by the truth: cosmic pixels (``truth_labels > 0``), defects (``hot_mask``) and the
    rest. Without a truth, a ``mask`` of known defects splits masked and unmasked pixels.

    Parameters
    ----------
    dark : numpy.ndarray or SimulatedDark
        ``(ny, nx)`` dark, ADU.
    threshold, seed : float
        Levels drawn as vertical lines (ADU; default 400 and 250).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    mask : numpy.ndarray, optional
        ``(ny, nx)`` bool defect mask (e.g. from
        :func:`~cosmicbook.darks.extract.hot_pixel_mask`); used when there is no truth split.
    linthresh : float
        End of the linear part of the x axis, ADU (default 50).
    nlog : int
        Number of log bins above ``linthresh`` (default 60).
    truth : bool
        Split by the truth when available (default True).

    Returns
    -------
    matplotlib.axes.Axes
    """
    image = _as_image(dark)
    values = image.ravel()
    lo = min(float(np.percentile(values[:: max(values.size // 100_000, 1)], 0.01)), -5.0)
    hi = float(values.max())
    ax = _get_ax(ax, figsize=(6, 3.5))
    edges, dens = _histogram(values, lo, linthresh, hi, nlog)
    ax.stairs(np.where(dens > 0, dens, np.nan), edges, color="k", label="all pixels")
    if truth and isinstance(dark, SimulatedDark):
        cosmic = dark.truth_labels.ravel() > 0
        hot = dark.hot_mask.ravel() & ~cosmic
        parts = [(values[cosmic], "tab:red", "cosmic pixels (truth)"),
                 (values[hot], "tab:blue", "hot pixels/columns"),
                 (values[~cosmic & ~hot], "tab:gray", "clean pixels")]
        for vals, color, label in parts:
            if vals.size:
                e, d = _histogram(vals, lo, linthresh, hi, nlog)
                ax.stairs(np.where(d > 0, d, np.nan), e, color=color, label=label, alpha=0.8)
    elif mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape:
            raise ValueError(f"mask must have the dark's shape {image.shape}, got {mask.shape}")
        flat_mask = mask.ravel()
        for vals, color, label in [(values[flat_mask], "tab:blue", "masked (hot) pixels"),
                                   (values[~flat_mask], "tab:gray", "unmasked pixels")]:
            if vals.size:
                e, d = _histogram(vals, lo, linthresh, hi, nlog)
                ax.stairs(np.where(d > 0, d, np.nan), e, color=color, label=label, alpha=0.8)
    ax.axvline(seed, color="tab:orange", ls="--", label=f"seed {seed:g}")
    ax.axvline(threshold, color="tab:green", ls="-", label=f"threshold {threshold:g}")
    ax.set_xscale("symlog", linthresh=linthresh, linscale=1.0)
    ax.set_yscale("log")
    ax.set_xlim(lo, hi * 1.2 if hi > 0 else linthresh * 10)
    ax.set_xlabel("pixel value [ADU]")
    ax.set_ylabel("pixels per ADU")
    ax.legend(loc="upper right")
    return ax


def plot_extraction_stamps(dark, labels: np.ndarray, table, n: int = 8, *, ncols: int = 4,
                           margin: int = 4, seed_level: float = 250.0, order: str = "random",
                           random_seed: int = 0, size: float = 2.0, truth: bool = True):
    """Zoomed stamps of extracted cosmics: footprints, seed pixels and (if known) the truth.

    Each panel shows the dark around one footprint (asinh stretch) with the footprint outline
    (cyan), the outline of its seed pixels above ``seed_level`` (white) and, for a
    :class:`~cosmicbook.darks.simulate.SimulatedDark`, the outline of the truth pixels
    (``truth_labels > 0``, dashed magenta).

    Parameters
    ----------
    dark : numpy.ndarray or SimulatedDark
        ``(ny, nx)`` dark, ADU.
    labels, table
        The output of :func:`~cosmicbook.darks.extract.extract_cosmics`.
    n : int
        Number of stamps (default 8).
    ncols : int
        Columns of the grid.
    margin : int
        Pixels shown around each bounding box (default 4).
    seed_level : float
        Seed level, ADU (the footprint's pixels above it, relative to the local background,
        are outlined).
    order : {"random", "peak", "npix", "length"}
        Which cosmics: a random draw, or the largest by peak, pixel count or length.
    random_seed : int
        Seed of the random draw.
    size : float
        Panel size, inches.
    truth : bool
        Overlay the truth when available (default True).

    Returns
    -------
    matplotlib.figure.Figure
    """
    image = _as_image(dark)
    labels = np.asarray(labels)
    if labels.shape != image.shape:
        raise ValueError(f"labels must have the dark's shape {image.shape}, got {labels.shape}")
    orders = ("random", "peak", "npix", "length")
    if order not in orders:
        raise ValueError(f"order must be one of {orders}, got {order!r}")
    nrows = len(table)
    if order == "random":
        rows = np.random.default_rng(random_seed).permutation(nrows)[:n]
    else:
        rows = np.argsort(-np.asarray(table[order], dtype=float), kind="stable")[:n]
    ny, nx = image.shape
    cut, fps, seeds, titles, slices = [], [], [], [], []
    for r in rows:
        row = table[int(r)]
        y0 = max(int(row["y_min"]) - margin, 0)
        y1 = min(int(row["y_max"]) + margin + 1, ny)
        x0 = max(int(row["x_min"]) - margin, 0)
        x1 = min(int(row["x_max"]) + margin + 1, nx)
        sl = (slice(y0, y1), slice(x0, x1))
        sub = image[sl]
        fp = labels[sl] == row["label"]
        cut.append(sub)
        fps.append(fp)
        background = np.median(sub[~fp]) if (~fp).any() else 0.0
        seeds.append(fp & (sub - background > seed_level))
        titles.append(f"#{int(row['label'])}: {int(row['npix'])} px, "
                      f"peak {float(row['peak']):.0f}")
        slices.append(sl)
    fig = stamp_grid(cut, fps, ncols=ncols, titles=titles, size=size)
    show_truth = truth and isinstance(dark, SimulatedDark)
    for ax, sd, sl in zip(fig.axes, seeds, slices, strict=False):
        outline_mask(sd, ax, color="white", linewidth=1.0)
        if show_truth:
            outline_mask(dark.truth_labels[sl] > 0, ax, color="magenta", linewidth=0.8,
                         linestyles="dashed")
    return fig


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.0):
    """Wilson score interval (68 % for ``z = 1``) of the binomial fraction ``k / n``."""
    p = k / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def plot_completeness(score: ExtractionScore, threshold: float = 400.0, ax=None, *,
                      bins=None, by_kind: bool = False, label: str | None = None):
    """Completeness of the extraction against the noiseless truth peak (log bins).

    Error bars are 68 % Wilson binomial intervals.

    Parameters
    ----------
    score : ExtractionScore
        From :func:`~cosmicbook.darks.evaluate.evaluate_extraction`.
    threshold : float
        Drawn as a vertical line (ADU).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    bins : array_like, optional
        Peak bin edges, ADU (default: 20 log bins over the simulated peaks).
    by_kind : bool
        One curve per morphology (muon, electron, spot) as well.
    label : str, optional
        Name of the method, for comparing several curves on one Axes (the curve is then
        drawn in the next colour of the cycle and the threshold line only once).

    Returns
    -------
    matplotlib.axes.Axes
    """
    t = score.per_cosmic
    peak = np.asarray(t["peak"], dtype=float)
    found = np.asarray(t["found"], dtype=bool)
    ax = _get_ax(ax, figsize=(5, 3.5))
    ok = peak > 0
    if bins is None:
        lo = max(peak[ok].min(), 1.0) if ok.any() else 1.0
        hi = max(peak[ok].max(), lo * 10) if ok.any() else 1e4
        bins = np.geomspace(lo, hi * 1.001, 21)
    bins = np.asarray(bins, dtype=float)
    groups = [(label or f"all ({len(t)})", np.ones(len(t), bool), None if label else "k")]
    if by_kind:
        colors = {"muon": "tab:blue", "electron": "tab:red", "spot": "tab:green"}
        kinds = np.asarray(t["kind"])
        groups += [(f"{k} ({np.sum(kinds == k)})", kinds == k, c) for k, c in colors.items()]
    centres = np.sqrt(bins[1:] * bins[:-1])
    for name, sel, color in groups:
        ntot, _ = np.histogram(peak[sel], bins)
        nfound, _ = np.histogram(peak[sel & found], bins)
        good = ntot > 0
        frac = nfound[good] / ntot[good]
        lo, hi = _wilson(nfound[good], ntot[good])
        yerr = [np.maximum(frac - lo, 0.0), np.maximum(hi - frac, 0.0)]
        ax.errorbar(centres[good], frac, yerr=yerr, fmt="o-", ms=3, color=color,
                    label=name)
    tag = f"threshold {threshold:g}"
    if tag not in ax.get_legend_handles_labels()[1]:
        ax.axvline(threshold, color="tab:green", ls="--", label=tag)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("noiseless truth peak [ADU]")
    ax.set_ylabel("fraction found")
    if label is None:
        ax.set_title(f"bright completeness {score.completeness_bright:.1%}, "
                     f"purity {score.purity:.1%}")
    ax.legend(loc="lower right")
    return ax


def plot_rate_fit(exptimes, counts, fit: RateFit, ax=None):
    """Cosmics per frame against exposure time, with the fitted line.

    Parameters
    ----------
    exptimes, counts : array_like
        ``(n,)`` exposure times (s) and cosmics found per frame.
    fit : RateFit
        From :func:`~cosmicbook.darks.evaluate.fit_rate`.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    t = np.asarray(exptimes, dtype=float)
    c = np.asarray(counts, dtype=float)
    ax = _get_ax(ax, figsize=(5, 3.5))
    ax.errorbar(t, c, yerr=np.sqrt(np.maximum(c, 1.0)), fmt="o", ms=4, color="k",
                label="frames")
    grid = np.linspace(0.0, t.max() * 1.05 if t.size else 1.0, 100)
    ax.plot(grid, fit(grid), color="tab:red",
            label=f"{fit.rate:.3f} $\\pm$ {fit.rate_err:.3f} /s "
                  f"({fit.rate_per_4k_frame:.2f} /s per 4k frame)")
    ax.set_xlabel("exposure time [s]")
    ax.set_ylabel("cosmics per frame")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return ax
