"""Extract cosmic rays from calibration darks: the DESI seed-and-flood-fill method, vectorised.

The method of the DESI cosmic-ray library (D. Green, DESI-6095): in a dark, every pixel above
~400 ADU is a cosmic ray (the pixel histogram shows the noise core, a few hot pixels and a
long cosmic tail); pixels above 250 ADU seed cosmics, and each cosmic is flood-filled outwards
until the pixels drop below 3 sigma of a clean dark (sigma ~ 1-3 ADU).

:func:`extract_cosmics` implements it exactly, without a pixel loop: the connected components
of the pixels above ``grow_sigma`` x sigma are labelled once with :func:`scipy.ndimage.label`,
and those that contain a seed region reaching ``threshold`` are kept. Known defects (``mask``)
never seed and are never grown into; the learned :func:`hot_pixel_mask` of a stack of darks
provides it.
"""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
from astropy.table import Table
from scipy import ndimage

from cosmicbook.core.io import read_image
from cosmicbook.core.progress import progress as _progress
from cosmicbook.core.stats import MAD_TO_SIGMA_EXACT, robust_sigma

__all__ = [
    "TABLE_COLUMNS",
    "estimate_background",
    "extract_cosmics",
    "hot_pixel_mask",
    "read_dark",
]

#: Columns of the table returned by :func:`extract_cosmics`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "label", "npix", "nseed", "sum", "peak", "x_peak", "y_peak", "x_centroid", "y_centroid",
    "x_min", "x_max", "y_min", "y_max", "length", "width", "angle",
)



# ---------------------------------------------------------------------------- validation
def _as_image(dark, name: str = "dark") -> np.ndarray:
    """A validated 2-D float32 view or copy of ``dark`` (array or object with ``.data``)."""
    data = dark if isinstance(dark, np.ndarray) else getattr(dark, "data", dark)
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a 2-D numeric array, got {type(dark).__name__}") \
            from err
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D image (ny, nx), got an array of shape "
                         f"{arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    # fast path: the float64 sum of finite values is finite; check pixel by pixel otherwise
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(np.sum(arr, dtype=np.float64)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
    else:
        bad = 0
    if bad:
        raise ValueError(f"{name} holds {bad} NaN/inf pixel(s); expected finite values "
                         f"everywhere (replace them, e.g. by the median, and pass their "
                         f"positions as `mask`)")
    return arr.astype(np.float32, copy=False)


def _check_mask(mask, shape: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"mask must have the image's shape {tuple(shape)}, got {mask.shape}")
    return mask.astype(bool, copy=False)


def _check_map(value, name: str, shape: tuple[int, int], positive: bool):
    """A finite scalar (float) or a float32 map of ``shape``."""
    if np.ndim(value) == 0:
        v = float(value)
        if not np.isfinite(v) or (positive and v <= 0):
            raise ValueError(f"{name} must be a finite{' positive' if positive else ''} "
                             f"number or a {shape} map, got {value!r}")
        return v
    arr = np.asarray(value, dtype=np.float32)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must be a scalar or a map of the image's shape "
                         f"{tuple(shape)}, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (positive and not (arr > 0).all()):
        raise ValueError(f"{name} map must be finite{' and positive' if positive else ''} "
                         f"everywhere")
    return arr


# ---------------------------------------------------------------------------- background
def _block_edges(n: int, block: int) -> np.ndarray:
    """Block edges along one axis; a last block shorter than half a block joins its neighbour."""
    edges = list(range(0, n, block)) + [n]
    if len(edges) > 2 and edges[-1] - edges[-2] < block // 2:
        del edges[-2]
    return np.asarray(edges)


def _block_stats(image: np.ndarray, block: int, mask: np.ndarray | None = None,
                 samples: int = 64):
    """Per-block median and MAD-sigma on a strided subsample of ~``samples``^2 pixels."""
    ny, nx = image.shape
    yedges, xedges = _block_edges(ny, block), _block_edges(nx, block)
    nby, nbx = len(yedges) - 1, len(xedges) - 1
    med = np.empty((nby, nbx))
    sig = np.empty((nby, nbx))
    for i in range(nby):
        for j in range(nbx):
            y0, y1, x0, x1 = yedges[i], yedges[i + 1], xedges[j], xedges[j + 1]
            sy = max((y1 - y0) // samples, 1)
            sx = max((x1 - x0) // samples, 1)
            vals = image[y0:y1:sy, x0:x1:sx]
            if mask is not None:
                vals = vals[~mask[y0:y1:sy, x0:x1:sx]]
            vals = np.asarray(vals, dtype=np.float64).ravel()
            if vals.size < 16:  # nearly all masked: use the whole block
                vals = image[y0:y1, x0:x1]
                if mask is not None and (~mask[y0:y1, x0:x1]).sum() >= 16:
                    vals = vals[~mask[y0:y1, x0:x1]]
                vals = np.asarray(vals, dtype=np.float64).ravel()
            med[i, j], sig[i, j] = robust_sigma(vals, scale=MAD_TO_SIGMA_EXACT,
                                                return_median=True)
    bad = ~(sig > 0)
    if bad.all():
        raise ValueError("could not estimate the noise: the median absolute deviation is 0 "
                         "in every block (constant or heavily quantised image); pass "
                         "noise_sigma explicitly")
    if bad.any():
        sig[bad] = np.median(sig[~bad])
    return yedges, xedges, med, sig


def estimate_background(dark, block: int = 256, *, mask=None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Robust background and noise maps of a dark frame.

    Per ``block`` x ``block`` pixels the median and the median absolute deviation (scaled to
    a Gaussian sigma) are taken on a strided subsample of ~64 x 64 pixels, so cosmics and hot
    pixels (a fraction of a percent of the pixels) do not bias them. The maps are piecewise
    constant over the blocks: with the default 256-pixel blocks and 4 amplifiers on a
    4096^2 (or 2048^2) frame, block edges fall on the amplifier boundaries, so amplifiers with
    different read noise and bias are handled.

    Parameters
    ----------
    dark : numpy.ndarray or SimulatedDark
        ``(ny, nx)`` frame.
    block : int
        Block size, pixels (default 256). A last block shorter than ``block / 2`` is merged
        with its neighbour.
    mask : numpy.ndarray, optional
        ``(ny, nx)`` bool, pixels to ignore (known defects).

    Returns
    -------
    background : numpy.ndarray
        ``(ny, nx)`` float32 background, in the image's units.
    sigma : numpy.ndarray
        ``(ny, nx)`` float32 noise (standard deviation) of a clean dark, same units.

    Raises
    ------
    ValueError
        For a non-2-D or non-finite image, a bad block size or mask, or an image whose noise
        cannot be measured (MAD 0 everywhere).
    """
    image = _as_image(dark)
    if int(block) != block or block < 8:
        raise ValueError(f"block must be an integer >= 8 pixels, got {block!r}")
    mask = _check_mask(mask, image.shape)
    yedges, xedges, med, sig = _block_stats(image, int(block), mask)
    return _BlockMap(med, yedges, xedges).expand(), _BlockMap(sig, yedges, xedges).expand()


# ---------------------------------------------------------------------------- extraction
def _empty_table() -> Table:
    ints = ("label", "npix", "nseed", "x_peak", "y_peak", "x_min", "x_max", "y_min", "y_max")
    return Table({c: np.zeros(0, dtype=np.int32 if c in ints else np.float64)
                  for c in TABLE_COLUMNS})


def _properties(val: np.ndarray, flat_index: np.ndarray, lab: np.ndarray, nlab: int,
                nx: int, seed: float) -> Table:
    """Per-label properties from the footprint pixel list (values, flat indices, labels)."""
    if nlab == 0:
        return _empty_table()
    order = np.lexsort((-val, lab))  # by label, brightest first
    idx = flat_index[order]
    lab = lab[order]
    val = val[order].astype(np.float64)
    y, x = np.divmod(idx, nx)
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    li = lab - 1
    npix = np.bincount(li, minlength=nlab)
    total = np.bincount(li, weights=val, minlength=nlab)
    nseed = np.bincount(li, weights=(val > seed), minlength=nlab)
    xc = np.bincount(li, weights=val * x, minlength=nlab) / total
    yc = np.bincount(li, weights=val * y, minlength=nlab) / total
    dx = x - xc[li]
    dy = y - yc[li]
    mxx = np.bincount(li, weights=val * dx * dx, minlength=nlab) / total
    myy = np.bincount(li, weights=val * dy * dy, minlength=nlab) / total
    mxy = np.bincount(li, weights=val * dx * dy, minlength=nlab) / total
    # each pixel is a unit square: + 1/12 on both axes, so a thin line of n pixels has length n
    half_tr = 0.5 * (mxx + myy) + 1.0 / 12.0
    root = np.sqrt((0.5 * (mxx - myy)) ** 2 + mxy**2)
    lam_major, lam_minor = half_tr + root, np.maximum(half_tr - root, 0.0)
    angle = np.degrees(0.5 * np.arctan2(2.0 * mxy, mxx - myy))
    angle = np.where(angle <= -90.0, angle + 180.0, angle)

    table = Table()
    table["label"] = np.arange(1, nlab + 1, dtype=np.int32)
    table["npix"] = npix.astype(np.int32)
    table["nseed"] = nseed.astype(np.int32)
    table["sum"] = total
    table["peak"] = val[starts]
    table["x_peak"] = x[starts].astype(np.int32) * u.pix
    table["y_peak"] = y[starts].astype(np.int32) * u.pix
    table["x_centroid"] = xc * u.pix
    table["y_centroid"] = yc * u.pix
    table["x_min"] = np.minimum.reduceat(x, starts).astype(np.int32) * u.pix
    table["x_max"] = np.maximum.reduceat(x, starts).astype(np.int32) * u.pix
    table["y_min"] = np.minimum.reduceat(y, starts).astype(np.int32) * u.pix
    table["y_max"] = np.maximum.reduceat(y, starts).astype(np.int32) * u.pix
    table["length"] = np.sqrt(12.0 * lam_major) * u.pix
    table["width"] = np.sqrt(12.0 * lam_minor) * u.pix
    table["angle"] = angle * u.deg
    for name in ("sum", "peak", "x_centroid", "y_centroid", "length", "width", "angle"):
        table[name].info.format = ".1f" if name in ("sum", "peak", "angle") else ".2f"
    return table


def extract_cosmics(dark, threshold: float = 400.0, seed: float = 250.0,
                    grow_sigma: float = 3.0, noise_sigma=None, *, background=None,
                    mask=None, connectivity: int = 8, block: int = 256
                    ) -> tuple[np.ndarray, Table]:
    """Find the cosmic rays in a dark: seeds, threshold, flood fill to ``grow_sigma``.

    1. Subtract the background (``None``: a robust per-block estimate,
       :func:`estimate_background`).
    2. Seed regions are the connected regions of unmasked pixels above ``seed``; a region is
       a cosmic when it reaches ``threshold`` (its maximum >= ``threshold``).
    3. Each cosmic grows (flood fill) through the connected, unmasked pixels above
       ``grow_sigma`` x the clean-dark noise. This is computed exactly by labelling the
       components of ``(value > grow_sigma * sigma) | (value > seed)`` outside the mask and
       keeping those that contain a kept seed region; cosmics that touch share a footprint.

    As long as ``seed`` lies above the growth level, the footprints are therefore the
    ``grow_sigma`` components containing a pixel >= ``threshold``: the seed level only sets
    which pixels count as seed pixels (column ``nseed``).

    Parameters
    ----------
    dark : numpy.ndarray or SimulatedDark
        ``(ny, nx)`` dark frame, bias-subtracted, in ADU (or any units consistent with
        ``threshold``, ``seed`` and ``noise_sigma``). It is not modified.
    threshold : float
        A seed region is a cosmic when its maximum reaches this (default 400 ADU).
    seed : float
        Seed level (default 250 ADU); must not exceed ``threshold``.
    grow_sigma : float
        Growth limit in units of the clean-dark noise (default 3).
    noise_sigma : float or numpy.ndarray, optional
        Clean-dark noise, a scalar or a ``(ny, nx)`` map (ADU); ``None`` estimates it robustly
        per block (MAD), which handles amplifiers with different read noise.
    background : float or numpy.ndarray, optional
        Background to subtract, scalar or ``(ny, nx)`` map; ``None`` estimates it per block.
    mask : numpy.ndarray, optional
        ``(ny, nx)`` bool, known bad pixels (hot pixels and columns): never seeds, never grown
        into, ignored by the background estimate.
    connectivity : {8, 4}
        Pixel connectivity of regions (default 8: diagonal neighbours connect).
    block : int
        Block size of the background/noise estimate (default 256).

    Returns
    -------
    labels : numpy.ndarray
        ``(ny, nx)`` int32 label image: 0 = no cosmic, k = the k-th cosmic (1..N, in raster
        order of their first pixel).
    table : astropy.table.Table
        One row per cosmic (``TABLE_COLUMNS``): ``label``; ``npix`` (footprint pixels);
        ``nseed`` (pixels above ``seed``); ``sum`` (background-subtracted counts in the
        footprint, image units); ``peak`` (image units); ``x_peak``, ``y_peak`` (pix);
        ``x_centroid``, ``y_centroid`` (flux-weighted, pix); bounding box ``x_min``,
        ``x_max``, ``y_min``, ``y_max`` (inclusive, pix); ``length`` and ``width`` (pix,
        ``sqrt(12 lambda)`` of the flux-weighted second moments with each pixel a unit square,
        exact for a thin line of pixels); ``angle`` (deg from the x axis, in (-90, 90]). Its
        ``meta`` records the parameters and the median background and noise.

    Raises
    ------
    ValueError
        For a non-2-D image or one with NaN/inf, ``threshold < seed``, a non-positive
        ``grow_sigma`` or noise, maps or a mask of the wrong shape, or a bad ``connectivity``.

    Examples
    --------
    >>> from cosmicbook.darks import simulate_dark
    >>> dark = simulate_dark(shape=(512, 512), exptime=300.0, seed=1)
    >>> labels, table = extract_cosmics(dark, mask=dark.hot_mask)
    >>> int(labels.max()) == len(table)
    True
    """
    image = _as_image(dark)
    for name, v in (("threshold", threshold), ("seed", seed), ("grow_sigma", grow_sigma)):
        if np.ndim(v) != 0 or not np.isfinite(float(v)):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    threshold, seed, grow_sigma = float(threshold), float(seed), float(grow_sigma)
    if threshold < seed:
        raise ValueError(f"threshold ({threshold:g}) must be >= seed ({seed:g}): a cosmic is a "
                         f"seed region that reaches the threshold")
    if grow_sigma <= 0:
        raise ValueError(f"grow_sigma must be positive, got {grow_sigma:g}")
    labels, table = _segment(image, grow_sigma, seed, threshold, background, noise_sigma,
                             mask, connectivity, block, keep_all=False)
    table.meta.update({"THRESH": threshold, "SEED": seed, "GROWSIG": grow_sigma,
                       "CONNECT": connectivity})
    return labels, table


def _segment(image: np.ndarray, grow_sigma: float, seed: float, threshold: float,
             background, noise_sigma, mask, connectivity: int, block: int, keep_all: bool
             ) -> tuple[np.ndarray, Table]:
    """Label the components above ``grow_sigma`` (and ``seed``); keep those reaching
    ``threshold`` (all of them with ``keep_all``); measure them."""
    shape = image.shape
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    mask = _check_mask(mask, shape)
    if noise_sigma is not None:
        noise_sigma = _check_map(noise_sigma, "noise_sigma", shape, positive=True)
    if background is not None:
        background = _check_map(background, "background", shape, positive=False)
    ny, nx = shape
    stripes = np.r_[np.arange(0, ny, 256), ny]
    if background is None or noise_sigma is None:
        if int(block) != block or block < 8:
            raise ValueError(f"block must be an integer >= 8 pixels, got {block!r}")
        yedges, xedges, med, sig = _block_stats(image, int(block), mask)
        stripes = yedges  # block-constant maps are constant along the rows of a stripe
        if background is None:
            background = _BlockMap(med, yedges, xedges)
        if noise_sigma is None:
            noise_sigma = _BlockMap(sig, yedges, xedges)

    # one pass in row stripes: no full-frame float temporaries
    grow = np.empty(shape, dtype=bool)
    strong = []
    t_seed, t_thresh = np.float32(seed), np.float32(threshold)
    for r0, r1 in zip(stripes[:-1], stripes[1:], strict=True):
        value = np.subtract(image[r0:r1], _rows(background, r0, r1), dtype=np.float32)
        g = grow[r0:r1]
        np.greater(value, np.float32(grow_sigma) * _rows(noise_sigma, r0, r1), out=g)
        seeds = value > t_seed
        g |= seeds
        seeds &= value >= t_thresh  # seed pixels reaching the threshold
        if mask is not None:
            g &= ~mask[r0:r1]
            seeds &= ~mask[r0:r1]
        strong.append(np.flatnonzero(seeds) + r0 * nx)
    strong = np.concatenate(strong)

    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labels = np.empty(shape, dtype=np.int32)
    ncomp = ndimage.label(grow, structure=structure, output=labels)
    del grow
    flat = labels.ravel()
    nz = np.flatnonzero(flat)
    if keep_all:
        nkept, lab = ncomp, flat[nz]
    else:
        # keep the components holding a seed region that reaches the threshold; relabel 1..N
        kept = np.unique(flat[strong])
        kept = kept[kept > 0]
        nkept = kept.size
        lut = np.zeros(ncomp + 1, dtype=np.int32)
        lut[kept] = np.arange(1, nkept + 1, dtype=np.int32)
        lab = lut[flat[nz]]
        flat[nz] = lab
        keep = lab > 0
        nz, lab = nz[keep], lab[keep]
    value = image.ravel()[nz] - _at(background, nz, nx)
    table = _properties(value, nz, lab, nkept, nx, seed)
    table.meta.update({"BKG": _median(background), "NOISE": _median(noise_sigma)})
    return labels, table


class _BlockMap:
    """A piecewise-constant map stored as block values and edges, expanded only on demand."""

    def __init__(self, values: np.ndarray, yedges: np.ndarray, xedges: np.ndarray):
        self.values = values.astype(np.float32)
        self.yedges, self.xedges = yedges, xedges

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1``: a ``(1, nx)`` line within one block row, else ``(r1 - r0, nx)``."""
        iy = np.searchsorted(self.yedges, np.arange(r0, r1), side="right") - 1
        if iy[0] == iy[-1]:
            iy = iy[:1]
        return np.repeat(self.values[iy], np.diff(self.xedges), axis=1)

    def at(self, flat_index: np.ndarray, nx: int) -> np.ndarray:
        """Values at flat pixel indices of an image ``nx`` pixels wide."""
        y, x = np.divmod(flat_index, nx)
        iy = np.searchsorted(self.yedges, y, side="right") - 1
        ix = np.searchsorted(self.xedges, x, side="right") - 1
        return self.values[iy, ix]

    def expand(self) -> np.ndarray:
        """The full ``(ny, nx)`` float32 map."""
        return np.repeat(np.repeat(self.values, np.diff(self.yedges), axis=0),
                         np.diff(self.xedges), axis=1)


def _rows(source, r0: int, r1: int):
    """Rows ``r0:r1`` of a scalar, a full map or a :class:`_BlockMap` (broadcastable)."""
    if isinstance(source, _BlockMap):
        return source.rows(r0, r1)
    if np.ndim(source) == 0:
        return np.float32(source)
    return source[r0:r1]


def _at(source, flat_index: np.ndarray, nx: int) -> np.ndarray:
    """Values of a scalar, a full map or a :class:`_BlockMap` at flat pixel indices."""
    if isinstance(source, _BlockMap):
        return source.at(flat_index, nx)
    if np.ndim(source) == 0:
        return np.full(flat_index.shape, source, dtype=np.float32)
    return source.ravel()[flat_index]


def _median(source) -> float:
    """Median of a scalar, a (subsampled) map or the blocks of a :class:`_BlockMap`."""
    if isinstance(source, _BlockMap):
        return float(np.median(source.values))
    if np.ndim(source) == 0:
        return float(source)
    return float(np.median(source[::8, ::8]))


# ---------------------------------------------------------------------------- defects
def hot_pixel_mask(darks, nsigma: float = 5.0, *, dilate: int = 0, block: int = 256,
                   chunk: int = 256, progress: bool | None = None) -> np.ndarray:
    """Hot pixels and columns of one camera, from a stack of its darks.

    Each dark is background-subtracted (:func:`estimate_background`), the per-pixel median of
    the stack is taken (a cosmic hits a given pixel in one frame, so the median rejects it) and
    pixels whose median exceeds ``nsigma`` x the robust noise of the median image are flagged.

    Parameters
    ----------
    darks : sequence of numpy.ndarray or SimulatedDark, or a 3-D array
        At least 3 darks of the same camera and shape (ideally the same exposure time).
    nsigma : float
        Detection level in units of the noise of the median image (default 5).
    dilate : int
        Grow the mask by this many pixels (3 x 3 binary dilations; default 0: hot pixels in
        these CCDs do not bleed into their neighbours, and a dilated mask cuts into cosmics).
    block : int
        Block size of the background estimates (default 256).
    chunk : int
        Rows per median chunk (limits memory; default 256).
    progress : bool or None
        Show a progress bar over the chunks.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` bool mask, True for defects.

    Raises
    ------
    ValueError
        For fewer than 3 frames, frames of different shapes or invalid frames, or
        ``nsigma <= 0``.
    """
    frames = [_as_image(d, name=f"darks[{i}]") for i, d in enumerate(darks)]
    if len(frames) < 3:
        raise ValueError(f"need at least 3 darks to reject cosmics with a median, got "
                         f"{len(frames)}")
    shape = frames[0].shape
    bad = [i for i, f in enumerate(frames) if f.shape != shape]
    if bad:
        raise ValueError(f"all darks must have the shape {shape} of the first; darks {bad} "
                         f"differ")
    if not np.isfinite(nsigma) or nsigma <= 0:
        raise ValueError(f"nsigma must be positive, got {nsigma!r}")
    if int(dilate) != dilate or dilate < 0:
        raise ValueError(f"dilate must be a non-negative integer, got {dilate!r}")
    backgrounds = []
    for f in frames:
        yedges, xedges, med, _ = _block_stats(f, int(block))
        backgrounds.append(_BlockMap(med, yedges, xedges))
    median = np.empty(shape, dtype=np.float32)
    starts = range(0, shape[0], int(chunk))
    for r0 in _progress(starts, enabled=progress, desc="median stack",
                        total=len(starts), unit="chunk"):
        r1 = min(r0 + int(chunk), shape[0])
        stack = np.stack([f[r0:r1] - b.rows(r0, r1)
                          for f, b in zip(frames, backgrounds, strict=True)])
        median[r0:r1] = np.median(stack, axis=0)
    yedges, xedges, med, sig = _block_stats(median, int(block))
    level = _BlockMap(med + nsigma * sig, yedges, xedges)
    hot = np.empty(shape, dtype=bool)
    for r0 in range(0, shape[0], int(chunk)):
        r1 = min(r0 + int(chunk), shape[0])
        np.greater(median[r0:r1], level.rows(r0, r1), out=hot[r0:r1])
    if dilate:
        hot = ndimage.binary_dilation(hot, structure=np.ones((3, 3), bool),
                                      iterations=int(dilate))
    return hot


# ---------------------------------------------------------------------------- I/O
def read_dark(path: str | os.PathLike, hdu: int | str | None = None
              ) -> tuple[np.ndarray, dict]:
    """Read a dark frame from a FITS file.

    Parameters
    ----------
    path : str or path-like
        The FITS file.
    hdu : int, str or None
        HDU index or EXTNAME; ``None`` takes the first HDU holding a 2-D image.

    Returns
    -------
    image : numpy.ndarray
        ``(ny, nx)`` float32 frame (ADU for a bias-subtracted DESI dark).
    header : dict
        The HDU's keywords (``EXPTIME`` in s, ``GAIN`` in e-/ADU where present).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not FITS or holds no 2-D image (in ``hdu``, or anywhere).
    """
    return read_image(path, hdu=hdu, dtype=np.float32)
