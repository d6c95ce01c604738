"""LA Cosmic (van Dokkum 2001) through astroscrappy, for frames in electrons.

Units: astroscrappy works in electrons internally and multiplies the image by ``gain``
(e-/ADU). DESI preprocessed frames are already in electrons, so pass ``gain=1`` (the default)
and the read noise in electrons. For a frame in ADU pass the camera gain instead.

LA Cosmic's noise model is ``sqrt(median5x5(image) * gain + readnoise^2)``; a frame whose noise
does not follow it (e.g. a median of several exposures plus extra Gaussian noise) can pass its
own variance with ``ivar=`` (astroscrappy's ``invar``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["lacosmic_mask"]


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
