"""The classical cosmic-ray maskers the chapter's networks are measured against.

* :func:`sdss_cosmics` -- the SDSS method as the DESI spectroscopic pipeline runs it (neighbour
  tests against the PSF, growth passes, 3 x 3 dilation), in vectorised numpy;
* :func:`lacosmic_mask` -- LA Cosmic (van Dokkum 2001) through ``astroscrappy`` (the
  ``baselines`` extra).

The SDSS method
---------------
Implemented from its description (desispec ``cosmics.py``, after the SDSS photo pipeline and
idlutils ``psf_reject_cr``; see the chapter's reference notes). Inputs are a preprocessed image
``pix`` (e-), its inverse variance ``ivar`` (0 where masked) and four PSF "gradients" ``g_a`` --
the PSF's pixel value one pixel from its peak relative to the peak, along the axes
:data:`SDSS_AXES`.

1. Candidates are the pixels with ``pix * sqrt(ivar) > nsig`` (the outermost rows and columns
   are skipped).
2. For a candidate of value ``c`` and noise ``sigma_c = 1 / sqrt(ivar)``, along each axis the
   two opposite neighbours give ``B_a`` (their mean) and ``sigmaB_a = sqrt(s1^2 + s2^2) / 2``;
   a masked neighbour (``ivar == 0``) counts as ``c`` with ``sigma_c``.
3. Test 1: ``c > B_a + nsig * sigma_c`` on at least 2 of the 4 axes (the SDSS original asks
   for all 4).
4. Test 2: on at least one axis ``(c - cfudge * sigma_c) * c2fudge * g_a > B_a + cfudge *
   sigmaB_a`` -- the neighbours are fainter than any PSF centred here allows; stars, traces and
   arc/sky lines fail it, cosmics pass.
5. A candidate passing both is rejected. Growth: up to ``niter`` times, the ``ivar`` of the
   rejected pixels is zeroed and the pass is rerun, with ``nsig = 3`` and ``cfudge = 0``, on
   all their not-yet-rejected 8-neighbours (no significance cut of their own: test 1 is the
   significance test); it stops when nothing is added. Finally the mask is dilated by 3 x 3.

Only the growth passes are a Python loop; each pass is vectorised over its candidates.
(DESI then closes gaps along tracks with 11 x 11 linear structuring elements; that step is not
part of this function.)

LA Cosmic
---------
Units: astroscrappy works in electrons internally and multiplies the image by ``gain``
(e-/ADU). DESI preprocessed frames are already in electrons, so pass ``gain=1`` (the default)
and the read noise in electrons. For a frame in ADU pass the camera gain instead.

LA Cosmic's noise model is ``sqrt(median5x5(image) * gain + readnoise^2)``; a frame whose noise
does not follow it (e.g. a median of several exposures plus extra Gaussian noise) can pass its
own variance with ``ivar=`` (astroscrappy's ``invar``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["DESI_PSF_GRADIENTS", "SDSS_AXES", "lacosmic_mask", "sdss_cosmics"]


# ---------------------------------------------------------------------- the SDSS method
#: Neighbour offsets ``(dy, dx)`` of the four axes, in the order of the PSF gradients: along
#: the row (``x +- 1``), along the column (``y +- 1``), the diagonal (``(y+1, x+1)`` and
#: ``(y-1, x-1)``) and the anti-diagonal (``(y+1, x-1)`` and ``(y-1, x+1)``).
SDSS_AXES: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))

#: DESI's average PSF gradients per camera band (row, column, diagonal, anti-diagonal), the
#: defaults desispec uses when it has no PSF model of the exposure.
DESI_PSF_GRADIENTS: dict[str, tuple[float, float, float, float]] = {
    "b": (0.758, 0.772, 0.570, 0.592),
    "r": (0.819, 0.848, 0.618, 0.657),
    "z": (0.830, 0.863, 0.633, 0.664),
}

_EIGHT = np.ones((3, 3), dtype=bool)


def _check_inputs(image, ivar, psf_gradients) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pix = np.asarray(image)
    if pix.ndim != 2 or min(pix.shape, default=0) < 3:
        raise ValueError(f"image must be a 2-D array of at least 3 x 3 pixels, got shape "
                         f"{pix.shape}")
    if pix.dtype.kind not in "biuf":
        raise ValueError(f"image must be numeric, got dtype {pix.dtype}")
    if not np.all(np.isfinite(pix)):
        raise ValueError("image contains NaN or inf; mask those pixels with ivar = 0 and give "
                         "them a finite value")
    iv = np.asarray(ivar)
    if iv.shape != pix.shape:
        raise ValueError(f"ivar must have the image's shape {pix.shape}, got {iv.shape}")
    if iv.dtype.kind not in "biuf":
        raise ValueError(f"ivar must be numeric, got dtype {iv.dtype}")
    if not np.all(np.isfinite(iv)):
        raise ValueError("ivar contains NaN or inf")
    if np.any(iv < 0):
        raise ValueError(f"ivar must be >= 0 (0 = masked), got {int(np.sum(iv < 0))} negative "
                         f"values")
    if isinstance(psf_gradients, str):
        if psf_gradients not in DESI_PSF_GRADIENTS:
            raise ValueError(f"unknown camera band {psf_gradients!r}; expected one of "
                             f"{sorted(DESI_PSF_GRADIENTS)} or four gradients")
        psf_gradients = DESI_PSF_GRADIENTS[psf_gradients]
    g = np.asarray(psf_gradients, dtype=float)
    if g.shape != (4,) or not np.all(np.isfinite(g)) or np.any((g <= 0) | (g > 1)):
        raise ValueError(f"psf_gradients must be 4 numbers in (0, 1] (row, column, diagonal, "
                         f"anti-diagonal) or a band 'b', 'r', 'z', got {psf_gradients!r}")
    return pix.astype(np.float64, copy=False), iv.astype(np.float64, copy=False), g


def _single_pass(pix: np.ndarray, ivar: np.ndarray, cand: np.ndarray, grads: np.ndarray,
                 nsig: float, cfudge: float, c2fudge: float,
                 rejected: np.ndarray | None = None) -> np.ndarray:
    """Flat indices among ``cand`` (interior pixels with ivar > 0) that pass both tests.

    ``rejected`` (flat bool) marks pixels whose ivar counts as zeroed (the growth passes).
    """
    if cand.size == 0:
        return cand
    nx = pix.shape[1]
    p, w = pix.ravel(), ivar.ravel()
    c = p[cand]
    sc = 1.0 / np.sqrt(w[cand])
    n_test1 = np.zeros(cand.size, dtype=np.int8)
    test2 = np.zeros(cand.size, dtype=bool)
    for (dy, dx), g in zip(SDSS_AXES, grads, strict=True):
        off = dy * nx + dx
        sides = []
        for i in (cand + off, cand - off):
            wi = w[i]
            masked = wi <= 0
            if rejected is not None:
                masked |= rejected[i]
            vi = np.where(masked, c, p[i])
            si = np.where(masked, sc, 1.0 / np.sqrt(np.where(masked, 1.0, wi)))
            sides.append((vi, si))
        (v1, s1), (v2, s2) = sides
        back = 0.5 * (v1 + v2)
        sback = 0.5 * np.sqrt(s1 * s1 + s2 * s2)
        n_test1 += c > back + nsig * sc
        test2 |= (c - cfudge * sc) * c2fudge * g > back + cfudge * sback
    return cand[(n_test1 >= 2) & test2]


def _interior(shape: tuple[int, int]) -> np.ndarray:
    inner = np.zeros(shape, dtype=bool)
    inner[1:-1, 1:-1] = True
    return inner


def sdss_cosmics(image: np.ndarray, ivar: np.ndarray, psf_gradients, nsig: float = 6.0,
                 cfudge: float = 3.0, c2fudge: float = 0.5, niter: int = 6,
                 dilate: bool = True, grow_nsig: float = 3.0, grow_cfudge: float = 0.0,
                 return_stats: bool = False):
    """Cosmic-ray mask of a preprocessed frame with the SDSS/DESI neighbour tests.

    Parameters
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` preprocessed image (bias-subtracted; e- in DESI, but any unit consistent
        with ``ivar`` works). Must be finite everywhere; mask bad pixels with ``ivar = 0``.
    ivar : numpy.ndarray
        ``(ny, nx)`` inverse variance, ``>= 0``; 0 marks masked pixels (never candidates; as
        neighbours they count as the candidate's own value).
    psf_gradients : sequence of 4 floats or {"b", "r", "z"}
        PSF value one pixel from the peak relative to the peak along the row, column, diagonal
        and anti-diagonal (:data:`SDSS_AXES`); a band name uses DESI's averages
        (:data:`DESI_PSF_GRADIENTS`).
    nsig : float
        Significance of candidates and of test 1 (default 6).
    cfudge : float
        Noise allowance of test 2, in sigmas (default 3).
    c2fudge : float
        Fraction of the PSF gradient in test 2 (default 0.5; the SDSS original used 0.8).
    niter : int
        Maximum number of growth passes (default 6; the DESI preprocessing uses 100).
    dilate : bool
        Dilate the final mask by 3 x 3 (default True).
    grow_nsig, grow_cfudge : float
        ``nsig`` and ``cfudge`` of the growth passes (default 3 and 0).
    return_stats : bool
        Also return a dict with ``n_candidates``, ``n_first`` (rejected by the first pass),
        ``n_grown`` (added by growth), ``n_passes`` (growth passes run) and ``n_flagged``.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, dict)
        ``(ny, nx)`` bool mask, True for cosmic-ray pixels (and the stats).

    Raises
    ------
    ValueError
        For a non-2-D or non-finite image, an ivar of another shape or with negative/NaN values,
        bad PSF gradients or parameters.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((9, 9)); image[4, 4] = 500.0
    >>> mask = sdss_cosmics(image, np.full((9, 9), 1 / 9.0), "r")
    >>> int(mask.sum())   # the hit pixel, dilated 3 x 3
    9
    """
    pix, iv, grads = _check_inputs(image, ivar, psf_gradients)
    for name, v, positive in (("nsig", nsig, True), ("cfudge", cfudge, False),
                              ("c2fudge", c2fudge, True), ("grow_nsig", grow_nsig, True),
                              ("grow_cfudge", grow_cfudge, False)):
        if np.ndim(v) != 0 or not np.isfinite(float(v)) or float(v) < 0 or (
                positive and float(v) == 0):
            raise ValueError(f"{name} must be a finite {'positive' if positive else 'non-negative'}"
                             f" number, got {v!r}")
    if int(niter) != niter or niter < 0:
        raise ValueError(f"niter must be a non-negative integer, got {niter!r}")
    inner = _interior(pix.shape)
    snr = pix * np.sqrt(iv)
    cand = np.flatnonzero((snr > nsig) & inner)
    first = _single_pass(pix, iv, cand, grads, float(nsig), float(cfudge), float(c2fudge))
    ny, nx = pix.shape
    rejected = np.zeros(pix.size, dtype=bool)
    rejected[first] = True
    inner_flat, iv_flat = inner.ravel(), iv.ravel()
    eight = np.array([dy * nx + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    n_grown, passes, latest = 0, 0, first
    for _ in range(int(niter)) if first.size else ():
        passes += 1
        # The pass tests the not-yet-rejected 8-neighbours of all rejected pixels. A pixel's
        # tests depend only on its 3 x 3 neighbourhood, so one that failed in the previous
        # pass fails again unless a neighbour was rejected since: testing the neighbours of
        # the latest additions gives exactly the same result, in time ~ their number.
        ring = np.unique((latest[:, None] + eight[None, :]).ravel())
        ring = ring[(ring >= 0) & (ring < pix.size)]
        ring = ring[inner_flat[ring] & ~rejected[ring] & (iv_flat[ring] > 0)]
        new = _single_pass(pix, iv, ring, grads, float(grow_nsig), float(grow_cfudge),
                           float(c2fudge), rejected=rejected)
        if new.size == 0:
            break
        rejected[new] = True
        latest = new
        n_grown += new.size
    rejected = rejected.reshape(ny, nx)
    mask = ndimage.binary_dilation(rejected, structure=_EIGHT) if dilate else rejected
    if return_stats:
        return mask, {"n_candidates": int(cand.size), "n_first": int(first.size),
                      "n_grown": int(n_grown), "n_passes": passes,
                      "n_flagged": int(mask.sum())}
    return mask


# ---------------------------------------------------------------------- LA Cosmic
def _astroscrappy():
    try:
        import astroscrappy
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("lacosmic_mask needs astroscrappy: install the 'baselines' extra, "
                          "`pip install cosmicbook[baselines]` (or `pip install "
                          "astroscrappy`)") from err
    return astroscrappy


def lacosmic_mask(image: np.ndarray, gain: float = 1.0, readnoise: float = 3.0,
                  sigclip: float = 4.5, sigfrac: float = 0.3, objlim: float = 5.0,
                  niter: int = 4, *, ivar: np.ndarray | None = None,
                  mask: np.ndarray | None = None, satlevel: float = 1e30,
                  **kwargs) -> np.ndarray:
    """Cosmic-ray mask from ``astroscrappy.detect_cosmics`` (LA Cosmic).

    Parameters
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` frame; in electrons with ``gain=1`` (DESI preprocessed frames), else in
        ADU with the camera's ``gain``. Must be finite.
    gain : float
        e-/ADU of ``image`` (default 1: the image is in electrons).
    readnoise : float
        Read noise, e- (default 3, the DESI CCDs).
    sigclip, sigfrac, objlim, niter
        LA Cosmic's parameters (astroscrappy defaults 4.5, 0.3, 5, 4).
    ivar : numpy.ndarray, optional
        ``(ny, nx)`` inverse variance of ``image`` (its units^-2); passed as astroscrappy's
        ``invar = 1 / ivar`` instead of the internal noise model. Pixels with ``ivar = 0`` are
        masked.
    mask : numpy.ndarray, optional
        ``(ny, nx)`` bool bad pixels, ignored by the detection.
    satlevel : float
        Saturation level, e- (default 1e30: no saturation handling; astroscrappy's own default
        65536 would mask the cores of bright cosmics in electron frames).
    **kwargs
        More ``detect_cosmics`` options (``sepmed``, ``fsmode``, ``psffwhm``...).

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` bool mask, True for cosmic-ray pixels.

    Raises
    ------
    ValueError
        For a non-2-D or non-finite image, masks of the wrong shape, or negative/NaN ``ivar``.
    ImportError
        When astroscrappy is not installed (the ``baselines`` extra).
    """
    img = np.asarray(image)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {img.shape}")
    if img.dtype.kind not in "biuf":
        raise ValueError(f"image must be numeric, got dtype {img.dtype}")
    if not np.all(np.isfinite(img)):
        raise ValueError("image contains NaN or inf; give those pixels a finite value and pass "
                         "them in mask=")
    for name, v in (("gain", gain), ("readnoise", readnoise), ("sigclip", sigclip),
                    ("sigfrac", sigfrac), ("objlim", objlim)):
        if np.ndim(v) != 0 or not np.isfinite(float(v)) or float(v) <= 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    if int(niter) != niter or niter < 1:
        raise ValueError(f"niter must be a positive integer, got {niter!r}")
    inmask = np.zeros(img.shape, dtype=bool)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != img.shape:
            raise ValueError(f"mask must have the image's shape {img.shape}, got {m.shape}")
        inmask |= m.astype(bool)
    invar = None
    if ivar is not None:
        iv = np.asarray(ivar, dtype=np.float64)
        if iv.shape != img.shape:
            raise ValueError(f"ivar must have the image's shape {img.shape}, got {iv.shape}")
        if not np.all(np.isfinite(iv)) or np.any(iv < 0):
            raise ValueError("ivar must be finite and >= 0")
        bad = iv <= 0
        inmask |= bad
        invar = np.where(bad, 1.0, 1.0 / np.where(bad, 1.0, iv)).astype(np.float32)
    astroscrappy = _astroscrappy()
    crmask, _ = astroscrappy.detect_cosmics(
        np.ascontiguousarray(img, dtype=np.float32), inmask=inmask, invar=invar,
        sigclip=float(sigclip), sigfrac=float(sigfrac), objlim=float(objlim), gain=float(gain),
        readnoise=float(readnoise), satlevel=float(satlevel), niter=int(niter), **kwargs)
    return np.asarray(crmask, dtype=bool)
