"""Generic plotting helpers shared by the chapters (matplotlib).

Every function takes an optional ``ax`` (or builds its own figure) and returns the Axes or the
Figure it drew on, so a notebook can keep styling it. Images are shown with ``origin="lower"``:
pixel ``(x, y)`` of a numpy array ``image[y, x]`` is drawn at ``(x, y)``, with pixel centres at
integer coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["imshow_zscale", "outline_mask", "set_style", "stamp_grid"]

#: The defaults :func:`set_style` applies.
STYLE: dict = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "image.origin": "lower",
    "image.interpolation": "nearest",
    "image.cmap": "gray",
    "lines.linewidth": 1.2,
}


def set_style(rc: dict | None = None) -> dict:
    """Apply small, consistent matplotlib defaults (:data:`STYLE`) for the book's figures.

    Parameters
    ----------
    rc : dict, optional
        rcParams to set on top of :data:`STYLE` (e.g. ``{"font.size": 10}``).

    Returns
    -------
    dict
        The rcParams that were applied.
    """
    import matplotlib as mpl

    params = dict(STYLE)
    params.update(rc or {})
    mpl.rcParams.update(params)
    return params


def _get_ax(ax=None, figsize=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def imshow_zscale(image, ax=None, *, cmap: str = "gray", contrast: float = 0.25,
                  colorbar: bool = False, label: str | None = None, **kwargs):
    """Show an image with the IRAF zscale interval (:class:`astropy.visualization.ZScaleInterval`).

    Parameters
    ----------
    image : array_like
        ``(ny, nx)`` image. Non-finite pixels are ignored by the interval.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    cmap : str
        Colour map (default ``"gray"``).
    contrast : float
        zscale contrast (default 0.25).
    colorbar : bool
        Add a colour bar.
    label : str, optional
        Colour-bar label (e.g. ``"ADU"``).
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from astropy.visualization import ZScaleInterval

    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got an array of shape {image.shape}")
    finite = image[np.isfinite(image)]
    vmin, vmax = ZScaleInterval(contrast=contrast).get_limits(finite) if finite.size else (0, 1)
    ax = _get_ax(ax)
    kwargs.setdefault("origin", "lower")
    kwargs.setdefault("interpolation", "nearest")
    im = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, **kwargs)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        if label:
            cb.set_label(label)
    return ax


def outline_mask(mask, ax=None, *, origin: tuple[float, float] = (0.0, 0.0),
                 color: str = "cyan", linewidth: float = 1.0, **kwargs):
    """Draw the outline of a boolean mask along pixel edges.

    Parameters
    ----------
    mask : array_like
        ``(ny, nx)`` bool.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    origin : (float, float)
        ``(x0, y0)`` of the mask's first pixel in the axes' data coordinates.
    color, linewidth
        Line style; other keywords go to :class:`matplotlib.collections.LineCollection`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.collections import LineCollection

    m = np.pad(np.asarray(mask, dtype=bool), 1)
    x0, y0 = origin
    # horizontal edges between rows j-1 and j of the padded mask
    hy, hx = np.nonzero(m[1:, :] != m[:-1, :])
    # vertical edges between columns i-1 and i
    vy, vx = np.nonzero(m[:, 1:] != m[:, :-1])
    # padded index k -> pixel k-1, whose lower/left edge is at k-1-0.5
    hseg = np.stack([np.stack([hx - 1.5, hy - 0.5], 1), np.stack([hx - 0.5, hy - 0.5], 1)], 1)
    vseg = np.stack([np.stack([vx - 0.5, vy - 1.5], 1), np.stack([vx - 0.5, vy - 0.5], 1)], 1)
    segments = np.concatenate([hseg, vseg]).astype(float) + np.array([x0, y0])
    ax = _get_ax(ax)
    ax.add_collection(LineCollection(segments, colors=color, linewidths=linewidth, **kwargs),
                      autolim=False)
    return ax


def stamp_grid(stamps: Sequence[np.ndarray], masks: Sequence[np.ndarray] | None = None,
               ncols: int = 6, titles: Sequence[str] | None = None, *,
               size: float = 1.6, cmap: str = "magma", stretch: str = "asinh",
               contour_color: str = "cyan", colorbar: bool = False):
    """A grid of small images (cosmic-ray stamps), with footprint outlines.

    Parameters
    ----------
    stamps : sequence of array_like
        2-D images, any sizes.
    masks : sequence of array_like, optional
        Bool footprints of the same shapes, outlined along pixel edges.
    ncols : int
        Columns of the grid (default 6).
    titles : sequence of str, optional
        One title per stamp.
    size : float
        Panel size, inches (default 1.6).
    cmap : str
        Colour map (default ``"magma"``).
    stretch : {"asinh", "linear", "log", "sqrt"}
        Per-stamp stretch between the stamp's minimum and maximum (default ``"asinh"``).
    contour_color : str
        Colour of the footprint outlines.
    colorbar : bool
        A colour bar per panel.

    Returns
    -------
    matplotlib.figure.Figure
        Panels in ``fig.axes`` in the order of ``stamps`` (unused panels hidden).
    """
    import matplotlib.pyplot as plt
    from astropy.visualization import (
        AsinhStretch,
        ImageNormalize,
        LinearStretch,
        LogStretch,
        MinMaxInterval,
        SqrtStretch,
    )

    stretches = {"asinh": AsinhStretch, "linear": LinearStretch, "log": LogStretch,
                 "sqrt": SqrtStretch}
    if stretch not in stretches:
        raise ValueError(f"stretch must be one of {sorted(stretches)}, got {stretch!r}")
    stamps = list(stamps)
    if masks is not None and len(masks) != len(stamps):
        raise ValueError(f"got {len(masks)} masks for {len(stamps)} stamps")
    if titles is not None and len(titles) != len(stamps):
        raise ValueError(f"got {len(titles)} titles for {len(stamps)} stamps")
    if int(ncols) < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols!r}")
    n = max(len(stamps), 1)
    ncols = min(int(ncols), n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(stamps):
            ax.set_axis_off()
            continue
        img = np.asarray(stamps[i], dtype=float)
        if img.ndim != 2:
            raise ValueError(f"stamp {i} is not 2-D (shape {img.shape})")
        norm = ImageNormalize(img, interval=MinMaxInterval(), stretch=stretches[stretch]())
        im = ax.imshow(img, origin="lower", interpolation="nearest", cmap=cmap, norm=norm)
        if masks is not None:
            outline_mask(masks[i], ax, color=contour_color, linewidth=0.8)
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        if colorbar:
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    return fig
