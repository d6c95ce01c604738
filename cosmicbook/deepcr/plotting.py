"""Figures of the deepCR chapter: hardest cases, masks side by side, the model-size study.

ROC curves, TPR by brightness and footprint over-growth are drawn by
:mod:`cosmicbook.deepcr.evaluate`; learning curves by :meth:`cosmicbook.core.History.plot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cosmicbook.core.plotting import imshow_zscale, outline_mask

__all__ = ["hardest_cosmics", "plot_hardest_cases", "plot_mask_comparison",
           "plot_real_masks", "plot_variant_study"]


def hardest_cosmics(labels: np.ndarray, mask: np.ndarray, n: int = 6,
                    min_pixels: int = 3) -> list[tuple[int, float]]:
    """The injected cosmics that ``mask`` covers worst.

    Parameters
    ----------
    labels : numpy.ndarray, shape (H, W)
        Cosmic ids (1..N, 0 = none), as in ``TrainingFrame.labels``.
    mask : numpy.ndarray, shape (H, W)
        A predicted boolean mask.
    n : int
        How many to return.
    min_pixels : int
        Skip cosmics with fewer labelled pixels than this (single faint pixels are not
        instructive).

    Returns
    -------
    list of (id, covered fraction)
        Sorted from worst covered; ties broken by id.
    """
    labels, mask = np.asarray(labels), np.asarray(mask, dtype=bool)
    if labels.shape != mask.shape:
        raise ValueError(f"labels {labels.shape} and mask {mask.shape} differ in shape")
    n_ids = int(labels.max()) + 1
    total = np.bincount(labels.ravel(), minlength=n_ids)
    hit = np.bincount(labels.ravel(), weights=mask.ravel(), minlength=n_ids)
    ids = np.nonzero(total >= min_pixels)[0]
    ids = ids[ids > 0]
    frac = hit[ids] / total[ids]
    order = np.lexsort((ids, frac))[:n]
    return [(int(ids[i]), float(frac[i])) for i in order]


def _cutout(shape, y, x, half):
    y0, x0 = max(int(y) - half, 0), max(int(x) - half, 0)
    y1, x1 = min(y0 + 2 * half, shape[0]), min(x0 + 2 * half, shape[1])
    return slice(max(y1 - 2 * half, 0), y1), slice(max(x1 - 2 * half, 0), x1)


def plot_mask_comparison(image: np.ndarray, truth: np.ndarray,
                         masks: Mapping[str, np.ndarray],
                         centers: Sequence[tuple[int, int]], half: int = 16,
                         titles: Sequence[str] | None = None, size: float = 1.9):
    """Cut-outs of ``image`` with the truth and each method's mask outlined, one row per centre.

    Parameters
    ----------
    image : numpy.ndarray, shape (H, W)
        The frame (electrons), shown with zscale.
    truth : numpy.ndarray, shape (H, W)
        True cosmic-ray pixels (outlined in every panel, dashed red).
    masks : mapping of str -> numpy.ndarray
        Method name -> boolean mask; one column per method (outlined in colour).
    centers : sequence of (y, x)
        Cut-out centres, pixels.
    half : int
        Half-size of the cut-outs, pixels.
    titles : sequence of str, optional
        A label per row (shown on the first panel).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    names = list(masks)
    colours = ["cyan", "orange", "lime", "magenta", "yellow"]  # truth is red
    rows = max(len(centers), 1)
    fig, axes = plt.subplots(rows, len(names) + 1, squeeze=False,
                             figsize=(size * (len(names) + 1), size * rows))
    for r, (y, x) in enumerate(centers):
        cut = _cutout(image.shape, y, x, half)
        origin = (0.0, 0.0)
        imshow_zscale(image[cut], ax=axes[r, 0])
        outline_mask(truth[cut], axes[r, 0], origin=origin, color="red", linewidth=1.0)
        axes[r, 0].set_title(titles[r] if titles else "image + truth", fontsize=7)
        for c, name in enumerate(names, start=1):
            imshow_zscale(image[cut], ax=axes[r, c])
            outline_mask(truth[cut], axes[r, c], color="red", linewidth=0.7,
                         linestyles="dashed")
            outline_mask(masks[name][cut], axes[r, c], color=colours[(c - 1) % len(colours)],
                         linewidth=1.0)
            if r == 0:
                axes[r, c].set_title(name, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_hardest_cases(image: np.ndarray, truth: np.ndarray, labels: np.ndarray,
                       masks: Mapping[str, np.ndarray], by: str | None = None, n: int = 5,
                       half: int = 16, cosmics=None):
    """Panels of the cosmics that the method ``by`` (default: the first of ``masks``) covers
    worst, with every method's mask outlined.

    Parameters
    ----------
    image, truth, labels : numpy.ndarray, shape (H, W)
        The frame (e-), the true mask and the cosmic ids.
    masks : mapping of str -> numpy.ndarray
        Boolean masks per method.
    by : str, optional
        The method whose failures are shown.
    n : int
        Number of rows.
    half : int
        Half-size of the cut-outs.
    cosmics : astropy.table.Table, optional
        The per-cosmic truth (``id``, ``peak``): adds the true peak to the row labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    by = next(iter(masks)) if by is None else by
    if by not in masks:
        raise ValueError(f"by={by!r} is not one of the masks {list(masks)}")
    worst = hardest_cosmics(labels, masks[by], n=n)
    if not worst:
        raise ValueError("no injected cosmic to show")
    centers, titles = [], []
    peaks = {} if cosmics is None else dict(zip(cosmics["id"], cosmics["peak"], strict=True))
    for cid, frac in worst:
        ys, xs = np.nonzero(labels == cid)
        centers.append((int(np.median(ys)), int(np.median(xs))))
        peak = f", peak {float(peaks[cid]):.0f} e-" if cid in peaks else ""
        titles.append(f"#{cid}: {frac:.0%} by {by}{peak}")
    return plot_mask_comparison(image, truth, masks, centers, half=half, titles=titles)


def plot_variant_study(names: Sequence[str], tpr: Sequence[float], seconds: Sequence[float],
                       parameters: Sequence[int], fpr_label: str = "0.1%", ax=None):
    """TPR at a fixed FPR against inference time, one labelled point per UNet variant.

    Parameters
    ----------
    names : sequence of str
        Variant names (``"2-32"``...).
    tpr : sequence of float
        True-positive rates, percent.
    seconds : sequence of float
        Inference time per frame, s.
    parameters : sequence of int
        Parameter counts (marker area grows with the log of the count).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if not len(names) == len(tpr) == len(seconds) == len(parameters):
        raise ValueError("names, tpr, seconds and parameters must have one entry per variant")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    sizes = 20 * np.log10(np.asarray(parameters, dtype=float)) ** 1.5
    ax.scatter(seconds, tpr, s=sizes, color="C0", alpha=0.7)
    for name, x, y, p in zip(names, seconds, tpr, parameters, strict=True):
        ax.annotate(f"{name}\n{p:,} par.", (x, y), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.25, y=0.2)
    ax.set_xlabel("inference time per frame (s, log)")
    ax.set_ylabel(f"TPR at FPR {fpr_label} (%)")
    ax.grid(True, alpha=0.3)
    return ax


def plot_real_masks(image: np.ndarray, masks: Mapping[str, np.ndarray],
                    named: Sequence[tuple[slice, slice]] = (), ncols: int = 4,
                    size: float = 2.8, title: str | None = None):
    """A real frame once per method, with that method's mask outlined.

    A real frame has no truth mask: what can be shown is what each method flags, and the
    boxes of the cosmic rays another package's tests name (dashed red).

    Parameters
    ----------
    image : numpy.ndarray, shape (H, W)
        The frame, e- (zscale).
    masks : mapping of str -> numpy.ndarray
        Method name -> boolean mask of ``image``'s shape.
    named : sequence of (slice, slice)
        Bounding boxes of named cosmic rays.
    ncols : int
    size : float
        Panel size, inches.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    names = list(masks)
    if not names:
        raise ValueError("no masks to show")
    for name in names:
        if np.shape(masks[name]) != np.shape(image):
            raise ValueError(f"mask {name!r} has shape {np.shape(masks[name])}, the image "
                             f"{np.shape(image)}")
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    aspect = image.shape[0] / image.shape[1]
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(size * ncols, size * aspect * nrows + 0.3))
    for ax, name in zip(axes.ravel(), names, strict=False):
        imshow_zscale(image, ax=ax)
        outline_mask(masks[name], ax, color="cyan", linewidth=0.8)
        for rows, cols in named:
            ax.add_patch(Rectangle((cols.start - 0.5, rows.start - 0.5),
                                   cols.stop - cols.start, rows.stop - rows.start,
                                   fill=False, ec="red", ls="--", lw=0.8))
        ax.set_title(f"{name}: {int(np.sum(masks[name]))} px", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
