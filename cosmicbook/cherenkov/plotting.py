"""Figures of the Cherenkov chapter (matplotlib); each returns its Figure."""

from __future__ import annotations

import numpy as np

from cosmicbook.cherenkov.simulate import BINSZ

__all__ = ["plot_error_vs_flux", "plot_failures", "plot_maps", "plot_detections",
           "plot_significance"]


def _extent(npix: int, binsz: float = BINSZ):
    half = npix * binsz / 2
    return (half, -half, -half, half)  # offsets in deg, east to the left


def _to_deg(p, npix: int, binsz: float = BINSZ):
    return -(np.asarray(p, float) - (npix - 1) / 2) * binsz


def plot_maps(panels: dict[str, np.ndarray], truth=None, marks: dict | None = None,
              titles: list[str] | None = None, size: float = 2.3):
    """Rows of maps side by side (e.g. noisy / clean / cleaned), offsets from the centre.

    Parameters
    ----------
    panels : dict of str -> array (n, H, W)
        Column name -> one image per row.
    truth : (x, y) arrays of shape (n, k), optional
        True source positions (pixels): white circles.
    marks : dict of str -> (x, y, style), optional
        Predicted positions (pixels, (n,) or (n, k) arrays) drawn with a matplotlib marker
        style on every panel, labelled in the legend.
    titles : list of str, optional
        A label per row.
    """
    import matplotlib.pyplot as plt

    names = list(panels)
    n = len(next(iter(panels.values())))
    fig, axes = plt.subplots(n, len(names), figsize=(size * len(names), size * n),
                             squeeze=False)
    for r in range(n):
        for c, name in enumerate(names):
            ax = axes[r, c]
            img = np.asarray(panels[name][r], float)
            npix = img.shape[-1]
            ax.imshow(img, origin="lower", cmap="magma", extent=_extent(npix))
            if truth is not None:
                tx, ty = (np.atleast_1d(np.asarray(t[r], float)) for t in truth)
                ax.scatter(_to_deg(tx, npix), -_to_deg(ty, npix), s=200, facecolors="none",
                           edgecolors="deepskyblue", linewidths=1.2, label="truth")
            for label, (mx, my, style) in (marks or {}).items():
                px, py = np.atleast_1d(mx[r]), np.atleast_1d(my[r])
                ax.plot(_to_deg(px, npix), -_to_deg(py, npix), style, ms=8, mew=1.5,
                        mfc="none", label=label)
            if r == 0:
                ax.set_title(name)
            if c == 0:
                ax.set_ylabel((titles[r] + "\n" if titles else "") + "offset (deg)")
            ax.tick_params(labelsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        legend = fig.legend(handles, labels, loc="upper center", ncol=len(labels),
                            bbox_to_anchor=(0.5, 1.02), frameon=True)
        legend.get_frame().set_facecolor("0.35")
    fig.tight_layout()
    return fig


def plot_error_vs_flux(table, methods: dict[str, str] | None = None, paper: dict | None = None):
    """Median localisation error (deg) per flux bin for each method of a
    :func:`~cosmicbook.cherenkov.evaluate.binned_errors` table.

    Parameters
    ----------
    methods : dict of column -> label, optional
        The columns to draw (default: all method columns).
    paper : dict of label -> (flux, error, style), optional
        Reference points (e.g. the measurements of the chapter's recipe) with a matplotlib
        format string.
    """
    import matplotlib.pyplot as plt

    if methods is None:
        methods = {c: c for c in table.colnames
                   if c not in ("flux_lo", "flux_hi") and not c.startswith("n_")}
    centre = np.sqrt(np.asarray(table["flux_lo"]) * np.asarray(table["flux_hi"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for col, label in methods.items():
        ax.plot(centre, np.asarray(table[col], float), "o-", label=label)
    for label, (fx, err, style) in (paper or {}).items():
        ax.plot(fx, err, style, ms=9, label=label)
    ax.axhline(BINSZ, color="0.6", ls=":", lw=1)
    ax.text(centre[0], BINSZ * 1.08, "1 pixel", color="0.4", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("source flux (Crab units)")
    ax.set_ylabel("median localisation error (deg)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_significance(flux, before, after, li_ma=None):
    """Image S/N at the true position before and after cleaning, against flux."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    ax = axes[0]
    ax.scatter(flux, before, s=6, alpha=0.6, label="noisy (smoothed, stretched)")
    ax.scatter(flux, after, s=6, alpha=0.6, label="cleaned by the CNN")
    if li_ma is not None:
        ax.scatter(flux, li_ma, s=6, alpha=0.6, label="Li & Ma on counts")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("source flux (Crab units)")
    ax.set_ylabel("S/N at the true position")
    ax.legend(markerscale=3)
    ax = axes[1]
    ratio = np.asarray(after, float) - np.asarray(before, float)
    ax.hist(ratio[np.isfinite(ratio)], bins=40, color="C2")
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("S/N after - S/N before")
    ax.set_ylabel("maps")
    fig.tight_layout()
    return fig


def plot_detections(counts, truth, detections, n: int = 6, size: float = 2.4):
    """Maps with several sources: true positions (circles) and detections (crosses)."""
    import matplotlib.pyplot as plt

    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    tx, ty = truth
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_visible(False)
            continue
        from scipy.ndimage import gaussian_filter

        img = gaussian_filter(np.asarray(counts[i], float), 2)
        npix = img.shape[-1]
        ax.imshow(img, origin="lower", cmap="magma", extent=_extent(npix))
        ax.scatter(_to_deg(tx[i], npix), -_to_deg(ty[i], npix), s=90, facecolors="none",
                   edgecolors="w")
        sel = np.asarray(detections["map"]) == i
        ax.plot(_to_deg(detections["x"][sel], npix), -_to_deg(detections["y"][sel], npix),
                "c+", ms=10, mew=1.5)
        k = int(np.isfinite(tx[i]).sum())
        ax.set_title(f"{k} source(s), {int(sel.sum())} found", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_failures(counts, truth_xy, predictions: dict, titles: list[str], size: float = 2.6):
    """Zoom on failure cases: smoothed counts, truth (circle) and each method's answer."""
    import matplotlib.pyplot as plt
    from scipy.ndimage import gaussian_filter

    n = len(counts)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 0.4), squeeze=False)
    styles = ["c+", "gx", "y^", "bs"]
    for i, ax in enumerate(axes[0]):
        img = gaussian_filter(np.asarray(counts[i], float), 3)
        npix = img.shape[-1]
        ax.imshow(img, origin="lower", cmap="magma", extent=_extent(npix))
        ax.scatter(_to_deg(truth_xy[0][i], npix), -_to_deg(truth_xy[1][i], npix), s=90,
                   facecolors="none", edgecolors="w", label="truth")
        for (label, (px, py)), st in zip(predictions.items(), styles, strict=False):
            ax.plot(_to_deg(px[i], npix), -_to_deg(py[i], npix), st, ms=9, mew=1.5,
                    mfc="none", label=label)
        ax.set_title(titles[i], fontsize=8)
        ax.tick_params(labelsize=7)
    legend = axes[0, 0].legend(fontsize=7, loc="lower left", frameon=True)
    legend.get_frame().set_facecolor("0.35")
    fig.tight_layout()
    return fig
