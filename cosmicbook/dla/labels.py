"""Per-pixel labels of the three tasks, flux normalisation and 400-pixel windows.

For every pixel ``i`` of a sightline (Parks et al. 2018):

classification
    1 within +-60 pixels of a DLA's Ly alpha centre, 0 elsewhere, and *masked* (-1) in the
    band 60 < |i - centre| <= 120 around each DLA and within +-60 pixels of its Ly beta line,
    where a window sees part of a DLA and neither label is right. Sub-DLAs are negatives
    (label 0): hard examples that look like weak DLAs.
offset
    ``i - centre`` in pixels (-60..+60) on positives, 0 on negatives.
log NHI
    the DLA's column density on positives, NaN elsewhere (the loss ignores it there).

The network sees flux divided by the quasar's median flux at rest 1270-1290 Angstrom (free of
forest absorption and emission lines), so that windows of bright and faint quasars look alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmicbook.dla.model import WINDOW
from cosmicbook.dla.simulate import DLA_RANGE, Sightline
from cosmicbook.dla.voigt import LINES, LYA_WAVE, PIXEL_DEX

__all__ = [
    "HALF_POSITIVE",
    "HALF_MASK",
    "NORM_RANGE",
    "REST_RANGE",
    "PixelLabels",
    "extract_windows",
    "forest_pixels",
    "make_labels",
    "normalisation",
    "normalise_flux",
    "sightline_inputs",
]

#: Half width (pixels) of the positive band around a DLA.
HALF_POSITIVE = 60
#: Half width (pixels) of the band, beyond the positives, whose classification is masked.
HALF_MASK = 120
#: Rest wavelengths (Angstrom) of the pixels windows are centred on.
REST_RANGE = (900.0, 1346.0)
#: Rest wavelengths (Angstrom) of the normalisation window.
NORM_RANGE = (1270.0, 1290.0)
#: Pixel distance from Ly alpha to Ly beta of the same absorber.
LYB_SHIFT = int(round(np.log10(LINES["Lyb"][0] / LYA_WAVE) / PIXEL_DEX))


@dataclass
class PixelLabels:
    """Labels of every pixel of one sightline.

    Attributes
    ----------
    cls : numpy.ndarray of int8, shape (n,)
        1 (DLA), 0 (no DLA) or -1 (masked).
    offset : numpy.ndarray, shape (n,)
        Pixel offset ``i - centre`` of the nearest DLA on positives, else 0.
    log_nhi : numpy.ndarray, shape (n,)
        Column density on positives, NaN elsewhere.
    """

    cls: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray


def make_labels(n_pix: int, absorbers) -> PixelLabels:
    """Per-pixel labels of a sightline with ``n_pix`` pixels.

    Parameters
    ----------
    n_pix : int
        Length of the sightline.
    absorbers : astropy.table.Table or sequence of (pixel, log_nhi)
        Ly alpha centre pixel and column density of every absorber (a table needs the columns
        ``pixel`` and ``log_nhi``). Absorbers below log NHI 20.3 are negatives.

    Returns
    -------
    PixelLabels
    """
    if hasattr(absorbers, "colnames"):
        pairs = [(int(r["pixel"]), float(r["log_nhi"])) for r in absorbers]
    else:
        pairs = [(int(p), float(n)) for p, n in absorbers]
    idx = np.arange(n_pix)
    cls = np.zeros(n_pix, dtype=np.int8)
    offset = np.zeros(n_pix, dtype=np.float32)
    nhi = np.full(n_pix, np.nan, dtype=np.float32)
    best = np.full(n_pix, np.inf)
    dlas = [(p, n) for p, n in pairs if n >= DLA_RANGE[0]]
    for p, _ in dlas:   # masks first, positives then overwrite them
        d = np.abs(idx - p)
        cls[(d > HALF_POSITIVE) & (d <= HALF_MASK)] = -1
        cls[np.abs(idx - (p + LYB_SHIFT)) <= HALF_POSITIVE] = -1
    for p, n in dlas:
        d = idx - p
        near = (np.abs(d) <= HALF_POSITIVE) & (np.abs(d) < best)
        cls[near], offset[near], nhi[near], best[near] = 1, d[near], n, np.abs(d[near])
    return PixelLabels(cls, offset, nhi)


def _check_spectrum(loglam, flux) -> tuple[np.ndarray, np.ndarray]:
    loglam = np.asarray(loglam, dtype=np.float64)
    flux = np.asarray(flux, dtype=np.float64)
    if loglam.ndim != 1 or flux.shape != loglam.shape:
        raise ValueError(f"loglam and flux must be 1D arrays of equal length, got shapes "
                         f"{loglam.shape} and {flux.shape}")
    return loglam, flux


def normalise_flux(loglam, flux, z_qso: float, good=None) -> np.ndarray:
    """Flux divided by its median over rest 1270-1290 Angstrom (:data:`NORM_RANGE`).

    Raises
    ------
    ValueError
        When fewer than 10 good pixels fall in the normalisation window, or its median is
        not positive.
    """
    return np.asarray(flux, dtype=np.float64) / normalisation(loglam, flux, z_qso, good)


def normalisation(loglam, flux, z_qso: float, good=None) -> float:
    """The median flux over rest 1270-1290 Angstrom (see :func:`normalise_flux`)."""
    loglam, flux = _check_spectrum(loglam, flux)
    rest = 10.0 ** loglam / (1.0 + z_qso)
    sel = (rest >= NORM_RANGE[0]) & (rest <= NORM_RANGE[1])
    if good is not None:
        sel &= np.asarray(good, dtype=bool)
    if sel.sum() < 10:
        raise ValueError(f"the spectrum has {int(sel.sum())} good pixels at rest "
                         f"{NORM_RANGE[0]:.0f}-{NORM_RANGE[1]:.0f} A (z_qso = {z_qso}); "
                         f"at least 10 are needed to normalise it")
    norm = float(np.median(flux[sel]))
    if not norm > 0:
        raise ValueError(f"median flux at rest {NORM_RANGE} A is {norm}: cannot normalise")
    return norm


def forest_pixels(loglam, z_qso: float) -> np.ndarray:
    """Indices of the pixels at rest :data:`REST_RANGE` (where windows are centred)."""
    rest = 10.0 ** np.asarray(loglam, dtype=np.float64) / (1.0 + z_qso)
    return np.flatnonzero((rest >= REST_RANGE[0]) & (rest <= REST_RANGE[1]))


def extract_windows(flux, centres, width: int = WINDOW) -> np.ndarray:
    """Windows of ``width`` pixels centred on ``centres`` (pixel ``c`` at index width//2).

    Pixels beyond either end of the spectrum are zero.

    Returns
    -------
    numpy.ndarray of float32, shape (len(centres), 1, width)
    """
    flux = np.asarray(flux, dtype=np.float32)
    centres = np.asarray(centres, dtype=np.int64)
    half = width // 2
    padded = np.concatenate([np.zeros(half, np.float32), flux, np.zeros(width, np.float32)])
    idx = centres[:, None] + np.arange(width)[None, :]  # padded index of c - half + k
    return padded[idx][:, None, :]


def sightline_inputs(sightline: Sightline) -> np.ndarray:
    """The normalised flux the network sees for a simulated sightline."""
    return normalise_flux(sightline.loglam, sightline.flux, sightline.z_qso)
