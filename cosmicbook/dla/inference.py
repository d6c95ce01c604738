"""Find DLAs in a quasar spectrum with the trained CNN.

The window is slid over every pixel of the forest region (rest 900-1346 Angstrom). Each window
votes for the position of a DLA centre (its pixel plus the predicted offset) when its
classification probability exceeds ``threshold``; the vote histogram is smoothed and its peaks
are the detections (Parks et al. 2018). A detection's redshift is the mean predicted centre of
the windows that voted for it, its log NHI the mean of their log NHI predictions and its
confidence the mean classification probability of the windows centred within +-60 pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from cosmicbook.core.weights import load_weights, save_weights
from cosmicbook.dla.labels import (
    HALF_POSITIVE,
    NORM_RANGE,
    REST_RANGE,
    extract_windows,
    forest_pixels,
    normalise_flux,
)
from cosmicbook.dla.model import DLACNN, OFFSET_SCALE
from cosmicbook.dla.simulate import DLA_RANGE
from cosmicbook.dla.voigt import LYA_WAVE, PIXEL_DEX

__all__ = ["WEIGHTS_DIR", "Tracks", "check_spectrum", "detect", "find_dlas", "load_model",
           "predict_tracks"]

#: Where the shipped weights live.
WEIGHTS_DIR = Path(__file__).with_name("weights")
#: File name of the shipped weights (the book-profile run of the chapter).
DEFAULT_WEIGHTS = "dla_cnn_book.pt"
def load_model(path: str | Path | None = None) -> DLACNN:
    """Load a :class:`DLACNN` from a weights file written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path, optional
        A ``.pt`` file next to a ``.json`` of the same stem with the model configuration;
        default: the weights shipped with the package (:data:`WEIGHTS_DIR`).

    Raises
    ------
    FileNotFoundError
        When the weights or their JSON are missing.
    """
    path = WEIGHTS_DIR / DEFAULT_WEIGHTS if path is None else Path(path)
    return load_weights(path, lambda meta: DLACNN(**meta["model"]), what="DLA model",
                        chapter="03_dla")


def save_model(model: DLACNN, path: str | Path, **metadata) -> Path:
    """Write ``model``'s weights to ``path`` and its configuration plus ``metadata`` to JSON."""
    return save_weights(model, path, {"model": model.config(), **metadata})


def check_spectrum(wave, flux, ivar, z_qso: float) -> tuple[np.ndarray, ...]:
    """Validate a spectrum; return ``(loglam, flux, ivar)`` as float64 arrays.

    Raises
    ------
    ValueError
        For arrays that are not 1D and of equal length, NaNs or infinities, negative inverse
        variances, unsorted wavelengths, a grid that is not the SDSS 1e-4 dex grid, or a
        ``z_qso`` that puts the forest or the normalisation window (rest 1270-1290 A) outside
        the grid.
    """
    wave, flux, ivar = (np.asarray(a, dtype=np.float64) for a in (wave, flux, ivar))
    if wave.ndim != 1 or flux.shape != wave.shape or ivar.shape != wave.shape:
        raise ValueError(f"wave, flux and ivar must be 1D arrays of equal length, got shapes "
                         f"{wave.shape}, {flux.shape}, {ivar.shape}")
    if wave.size < 2:
        raise ValueError("the spectrum needs at least two pixels")
    for name, arr in (("wave", wave), ("flux", flux), ("ivar", ivar)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or "
                             f"infinite values: mask bad pixels with ivar = 0 instead")
    if np.any(ivar < 0):
        raise ValueError("ivar must be non-negative")
    if np.any(wave <= 0):
        raise ValueError("wave must be positive (Angstrom)")
    loglam = np.log10(wave)
    step = np.diff(loglam)
    if np.any(step <= 0):
        raise ValueError("wave must be sorted in increasing order without duplicates")
    if not np.allclose(step, PIXEL_DEX, rtol=0.02, atol=0):
        raise ValueError(f"the spectrum is not on the SDSS grid of {PIXEL_DEX} dex pixels "
                         f"(steps {step.min():.3g}-{step.max():.3g} dex): resample it first")
    if not np.isfinite(z_qso) or z_qso <= 0:
        raise ValueError(f"z_qso must be a positive redshift, got {z_qso!r}")
    rest = wave / (1.0 + z_qso)
    if rest[0] > REST_RANGE[1] - 100 or rest[-1] < NORM_RANGE[1]:
        raise ValueError(f"z_qso = {z_qso} puts the forest (rest {REST_RANGE[0]:.0f}-"
                         f"{REST_RANGE[1]:.0f} A) or the normalisation window (rest "
                         f"{NORM_RANGE[0]:.0f}-{NORM_RANGE[1]:.0f} A) outside the wavelength "
                         f"grid {wave[0]:.0f}-{wave[-1]:.0f} A")
    if not np.any(ivar > 0):
        raise ValueError("no pixel has ivar > 0")
    return loglam, flux, ivar


@dataclass
class Tracks:
    """The network's per-window outputs along one sightline.

    Attributes
    ----------
    centres : numpy.ndarray of int, shape (m,)
        Pixel at the centre of each window.
    prob : numpy.ndarray, shape (m,)
        Classification probability.
    offset : numpy.ndarray, shape (m,)
        Predicted offset ``pixel - DLA centre`` (pixels).
    log_nhi : numpy.ndarray, shape (m,)
        Predicted log NHI.
    votes : numpy.ndarray, shape (n,)
        Smoothed vote histogram over every pixel of the sightline, in units of the votes a
        DLA gets when all windows within +-60 pixels vote for it (1 = a full DLA).
    stride : int
        Pixels between window centres.
    """

    centres: np.ndarray
    prob: np.ndarray
    offset: np.ndarray
    log_nhi: np.ndarray
    votes: np.ndarray
    stride: int


def predict_tracks(model: DLACNN, flux_norm: np.ndarray, centres: np.ndarray, *,
                   stride: int = 1, threshold: float = 0.5, smooth: float = 2.0,
                   batch_size: int = 1024) -> Tracks:
    """Run the network on windows centred on ``centres`` and histogram the votes."""
    import torch

    from cosmicbook.core.training import predict

    with torch.no_grad():
        logit, off, nhi = predict(model, extract_windows(flux_norm, centres),
                                  batch_size=batch_size, progress=False)
    prob = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
    off = off.astype(np.float64) * OFFSET_SCALE
    votes = np.zeros(flux_norm.size)
    voting = prob > threshold
    target = np.rint(centres[voting] - off[voting]).astype(np.int64)
    target = target[(target >= 0) & (target < votes.size)]
    np.add.at(votes, target, 1.0)
    expected = (2 * HALF_POSITIVE + 1) / stride
    votes = gaussian_filter1d(votes, smooth) / expected if smooth > 0 else votes / expected
    return Tracks(centres, prob, off, nhi.astype(np.float64), votes, stride)


def detect(tracks: Tracks, loglam: np.ndarray, *, threshold: float = 0.5,
           min_votes: float = 0.02, min_separation: int = 60, radius: float = 10.0) -> Table:
    """Turn the tracks of :func:`predict_tracks` into a table of absorbers."""
    peaks, _ = find_peaks(tracks.votes, height=min_votes, distance=min_separation)
    voting = tracks.prob > threshold
    target = tracks.centres - tracks.offset
    rows = []
    for peak in peaks:
        mine = voting & (np.abs(target - peak) <= radius)
        if mine.sum() < 2:
            continue
        centre = float(np.mean(target[mine]))
        near = np.abs(tracks.centres - centre) <= HALF_POSITIVE
        loglam_c = np.interp(centre, np.arange(loglam.size), loglam)
        log_nhi = float(np.mean(tracks.log_nhi[mine]))
        rows.append((10.0 ** loglam_c / LYA_WAVE - 1.0, log_nhi,
                     float(np.mean(tracks.prob[near])) if near.any() else 0.0,
                     centre, int(mine.sum()), "DLA" if log_nhi >= DLA_RANGE[0] else "subDLA"))
    names = ("z_abs", "log_nhi", "confidence", "pixel", "n_votes", "kind")
    if not rows:
        return Table(names=names, dtype=(float, float, float, float, int, "U6"))
    table = Table(rows=rows, names=names)
    table["log_nhi"].unit = "dex(cm-2)"
    return table


def find_dlas(wave, flux, ivar, z_qso: float, model: DLACNN | str | Path | None = None, *,
              stride: int = 1, threshold: float = 0.5, min_votes: float = 0.02,
              return_tracks: bool = False) -> Table | tuple[Table, Tracks]:
    """Find damped Lyman-alpha systems in one quasar spectrum.

    Parameters
    ----------
    wave : array_like, shape (n,)
        Vacuum wavelengths (Angstrom), increasing, on the SDSS grid (1e-4 dex pixels).
    flux : array_like, shape (n,)
        Flux density (any units: the spectrum is normalised at rest 1270-1290 A).
    ivar : array_like, shape (n,)
        Inverse variance of ``flux``; pixels with ``ivar == 0`` are bad and are replaced by
        interpolation of their good neighbours.
    z_qso : float
        Quasar redshift.
    model : DLACNN, path or None
        The network; ``None`` loads the weights shipped with the package (trained in the
        chapter's book profile), a path loads those weights.
    stride : int
        Pixels between window centres (1 = every pixel, as in the paper).
    threshold : float
        Classification probability above which a window votes.
    min_votes : float
        Minimum height of a peak of the smoothed vote histogram, in units of a full DLA's
        votes per pixel.
    return_tracks : bool
        Also return the per-window outputs (:class:`Tracks`).

    Returns
    -------
    astropy.table.Table
        One row per absorber: ``z_abs``, ``log_nhi``, ``confidence`` (0-1), ``pixel``
        (fractional index of the Ly alpha centre), ``n_votes`` and ``kind`` (``"DLA"`` when
        log NHI >= 20.3, else ``"subDLA"``). ``meta["z_qso"]`` holds the quasar redshift.

    Raises
    ------
    ValueError
        For bad input (see :func:`check_spectrum`) or a non-positive stride.
    """
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    loglam, flux, ivar = check_spectrum(wave, flux, ivar, z_qso)
    good = ivar > 0
    if not good.all():
        idx = np.arange(flux.size)
        flux = np.where(good, flux, np.interp(idx, idx[good], flux[good]))
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    flux_norm = normalise_flux(loglam, flux, z_qso, good)
    centres = forest_pixels(loglam, z_qso)[::stride]
    tracks = predict_tracks(model, flux_norm, centres, stride=stride, threshold=threshold)
    table = detect(tracks, loglam, threshold=threshold, min_votes=min_votes)
    table.meta["z_qso"] = float(z_qso)
    return (table, tracks) if return_tracks else table
