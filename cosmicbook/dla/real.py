"""Real quasar spectra: readers, degradation to SDSS resolution and rebinning to the SDSS grid.

The spectra are the quasar spectra that ship with the tests of ``linetools`` (Prochaska et al.,
``pip install --no-deps linetools==0.3.2``, BSD-3), read from the installed package
(:func:`linetools_spectrum`). Three file layouts are read:

1-D FITS, log-linear (:func:`read_loglinear_fits`)
    flux in the primary array, a separate file of the same shape with the 1-sigma error, the
    wavelength from ``CRVAL1``/``CDELT1`` (or ``CD1_1``)/``CRPIX1``; ``DC-FLAG = 1`` means the
    axis is log10(Angstrom) (Keck/ESI, Magellan/MagE reductions of the XIDL pipelines).
BOSS-style image HDUs (:func:`read_boss_hdus`)
    HDU 0 flux, HDU 1 inverse variance, HDU 2 log10(wavelength) (the SDSS spectrum of the
    linetools tests).
ESO Phase 3 binary table (:func:`read_xshooter_table`)
    one row with array columns ``WAVE`` (nm), ``FLUX`` and ``ERR_FLUX`` (X-shooter XQ-100).

A spectrum of higher resolution is made SDSS-like in two steps:
:func:`degrade_resolution` convolves it with a Gaussian line-spread function (LSF) in velocity
whose FWHM is :math:`c\\sqrt{R_\\mathrm{out}^{-2} - R_\\mathrm{in}^{-2}}`, so that the result has
a Gaussian LSF of FWHM :math:`c/R_\\mathrm{out}` (SDSS/BOSS: :math:`R \\approx 2000`, FWHM
~150 km/s, ~2.2 pixels of 69 km/s); :func:`rebin_loglinear` then averages it, conserving flux
density and weighting by inverse variance, into the SDSS pixels of 1e-4 in log10(Angstrom).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from cosmicbook.dla.io import Spectrum
from cosmicbook.dla.voigt import C_KMS, PIXEL_DEX

__all__ = [
    "REAL_SPECTRA",
    "SDSS_RESOLUTION",
    "LiteratureDLA",
    "RealTarget",
    "degrade_resolution",
    "describe_real",
    "linetools_available",
    "linetools_spectrum",
    "load_real_spectrum",
    "read_boss_hdus",
    "read_loglinear_fits",
    "read_xshooter_table",
    "rebin_loglinear",
    "search_real_spectra",
]

#: Resolving power of SDSS/BOSS spectra (lambda / FWHM).
SDSS_RESOLUTION = 2000.0
#: Wavelength coverage of BOSS spectra (Angstrom).
SDSS_WAVE_RANGE = (3600.0, 10400.0)
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _existing(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    return path


def _ivar_from_sigma(sigma: np.ndarray) -> np.ndarray:
    sigma = np.asarray(sigma, dtype=np.float64)
    good = np.isfinite(sigma) & (sigma > 0)
    return np.where(good, 1.0 / np.where(good, sigma, 1.0) ** 2, 0.0)


def _check_increasing(wave: np.ndarray, name: str) -> None:
    if not np.all(np.diff(wave) > 0):
        raise ValueError(f"{name}: the wavelength grid is not strictly increasing "
                         f"(expected increasing Angstrom)")


def read_loglinear_fits(flux_path: str | os.PathLike,
                        error_path: str | os.PathLike | None) -> Spectrum:
    """Read a 1-D FITS spectrum with a linear or log-linear wavelength axis and an error file.

    Parameters
    ----------
    flux_path : str or path
        Primary array: the flux; header: ``CRVAL1``, ``CDELT1`` or ``CD1_1``, optional
        ``CRPIX1`` (default 1) and ``DC-FLAG`` (1: the axis is log10 Angstrom, 0: Angstrom).
    error_path : str or path
        Primary array of the same length: the 1-sigma error of the flux (0 or negative marks
        a bad pixel). Required: a spectrum without errors cannot be weighted.

    Returns
    -------
    Spectrum
        ``z_qso`` is None; ``header`` is the flux file's primary header.

    Raises
    ------
    FileNotFoundError
        When either file is missing (``error_path=None`` counts as missing).
    ValueError
        When the header lacks the wavelength keywords, the step is not positive (a grid that
        is not increasing), or the two arrays differ in shape.
    """
    flux_path = _existing(flux_path, "flux file")
    if error_path is None:
        raise FileNotFoundError(f"{flux_path.name}: an error file (1-sigma array of the same "
                                f"shape) is required, got None")
    error_path = _existing(error_path, f"error file for {flux_path.name}")
    with fits.open(flux_path, memmap=False) as hdul:
        header = hdul[0].header
        flux = np.asarray(hdul[0].data, dtype=np.float64) if hdul[0].data is not None else None
        keys = {k: header.get(k) for k in ("CRVAL1", "CDELT1", "CD1_1", "CRPIX1", "DC-FLAG")}
    if flux is None or flux.ndim != 1:
        raise ValueError(f"{flux_path.name}: expected a 1-D flux array in the primary HDU")
    step = keys["CDELT1"] if keys["CDELT1"] is not None else keys["CD1_1"]
    if keys["CRVAL1"] is None or step is None:
        raise ValueError(f"{flux_path.name}: expected CRVAL1 and CDELT1 (or CD1_1) in the "
                         f"primary header")
    if not step > 0:
        raise ValueError(f"{flux_path.name}: the wavelength step CDELT1 = {step} is not "
                         f"positive, so the grid is not increasing")
    pix = np.arange(flux.size) + 1.0 - float(keys["CRPIX1"] or 1.0)
    axis = float(keys["CRVAL1"]) + float(step) * pix
    wave = 10.0 ** axis if int(keys["DC-FLAG"] or 0) == 1 else axis
    with fits.open(error_path, memmap=False) as hdul:
        sigma = hdul[0].data
    if sigma is None or np.shape(sigma) != flux.shape:
        raise ValueError(f"{error_path.name}: expected an error array of shape {flux.shape} "
                         f"like {flux_path.name}, got {None if sigma is None else sigma.shape}")
    return Spectrum(wave, np.nan_to_num(flux), _ivar_from_sigma(sigma), None,
                    dict(header))


def read_boss_hdus(path: str | os.PathLike) -> Spectrum:
    """Read a spectrum stored as image HDUs: 0 flux, 1 inverse variance, 2 log10(Angstrom).

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        With fewer than three HDUs, arrays of different shapes, or a wavelength grid that is
        not increasing.
    """
    path = _existing(path, "BOSS-style spectrum file")
    with fits.open(path, memmap=False) as hdul:
        if len(hdul) < 3 or any(hdul[i].data is None for i in range(3)):
            raise ValueError(f"{path.name}: expected image HDUs 0 (flux), 1 (inverse variance) "
                             f"and 2 (log10 wavelength), found {len(hdul)} HDU(s)")
        flux, ivar, loglam = (np.asarray(hdul[i].data, dtype=np.float64) for i in range(3))
        header = dict(hdul[0].header)
    if not flux.shape == ivar.shape == loglam.shape or flux.ndim != 1:
        raise ValueError(f"{path.name}: flux, ivar and loglam must be 1-D of equal length, got "
                         f"{flux.shape}, {ivar.shape}, {loglam.shape}")
    _check_increasing(loglam, path.name)
    ivar = np.where(np.isfinite(ivar) & (ivar > 0), ivar, 0.0)
    return Spectrum(10.0 ** loglam, np.nan_to_num(flux), ivar, header.get("Z"), header)


def read_xshooter_table(path: str | os.PathLike, hdu: int | str = 1) -> Spectrum:
    """Read an ESO Phase 3 1-D spectrum: a table row with ``WAVE``, ``FLUX``, ``ERR_FLUX``.

    ``WAVE`` is converted to Angstrom from the unit of its column (nm in ESO products).

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        When the HDU is not a table, a column is missing (``ERR_FLUX``: no error array), or the
        wavelengths do not increase.
    """
    path = _existing(path, "X-shooter spectrum file")
    with fits.open(path, memmap=False) as hdul:
        try:
            table = hdul[hdu]
        except (KeyError, IndexError):
            raise ValueError(f"{path.name} has no HDU {hdu!r}") from None
        if not isinstance(table, fits.BinTableHDU):
            raise ValueError(f"{path.name}: HDU {hdu!r} is not a binary table")
        names = [c.upper() for c in table.columns.names]
        missing = [c for c in ("WAVE", "FLUX", "ERR_FLUX") if c not in names]
        if missing:
            raise ValueError(f"{path.name}: expected columns WAVE, FLUX and ERR_FLUX, missing "
                             f"{missing}")
        unit = (table.columns["WAVE"].unit or "nm").strip().lower()
        wave, flux, err = (np.ravel(np.asarray(table.data[c][0], dtype=np.float64))
                           for c in ("WAVE", "FLUX", "ERR_FLUX"))
        header = dict(hdul[0].header)
    scale = {"nm": 10.0, "angstrom": 1.0, "a": 1.0, "um": 1e4}.get(unit)
    if scale is None:
        raise ValueError(f"{path.name}: unknown WAVE unit {unit!r} (expected nm or Angstrom)")
    wave = wave * scale
    _check_increasing(wave, path.name)
    return Spectrum(wave, np.nan_to_num(flux), _ivar_from_sigma(err), None, header)


def degrade_resolution(wave, flux, ivar, r_in: float, r_out: float = SDSS_RESOLUTION,
                       name: str = "spectrum") -> tuple[np.ndarray, np.ndarray]:
    """Convolve a spectrum to a lower resolving power with a Gaussian line-spread function.

    The kernel is Gaussian in velocity with FWHM :math:`c\\sqrt{R_\\mathrm{out}^{-2} -
    R_\\mathrm{in}^{-2}}` (km/s), so that a Gaussian LSF of FWHM :math:`c/R_\\mathrm{in}`
    becomes one of FWHM :math:`c/R_\\mathrm{out}` (SDSS/BOSS: R ~ 2000, FWHM ~150 km/s).
    Pixels with ``ivar == 0`` are left out (normalised convolution); the variance is
    convolved with the square of the kernel.

    Parameters
    ----------
    wave : array_like, shape (n,)
        Wavelength (Angstrom), increasing, uniform in log10 (1 % tolerance on the step).
    flux, ivar : array_like, shape (n,)
        Flux density and its inverse variance.
    r_in, r_out : float
        Resolving power of the input and of the output; ``r_out < r_in``.
    name : str
        Names the spectrum in error messages.

    Returns
    -------
    (flux, ivar) : tuple of numpy.ndarray
        On the input grid; ``ivar`` is 0 where less than half of the kernel saw good pixels.
        Neighbouring pixels are now correlated; ``ivar`` is the per-pixel value.

    Raises
    ------
    ValueError
        When ``r_out >= r_in`` (that would sharpen, not degrade), the grid does not increase
        or is not log-uniform, or the arrays differ in shape.
    """
    wave, flux, ivar = (np.asarray(a, dtype=np.float64) for a in (wave, flux, ivar))
    if not wave.shape == flux.shape == ivar.shape or wave.ndim != 1:
        raise ValueError(f"{name}: wave, flux and ivar must be 1-D of equal length")
    if not (np.isfinite(r_in) and np.isfinite(r_out) and 0 < r_out < r_in):
        raise ValueError(f"{name}: r_out = {r_out} must be below r_in = {r_in} (a higher "
                         f"resolving power would sharpen the spectrum, not degrade it)")
    _check_increasing(wave, name)
    dlog = np.diff(np.log10(wave))
    if not np.allclose(dlog, np.median(dlog), rtol=0.01):
        raise ValueError(f"{name}: expected a log-uniform wavelength grid (steps "
                         f"{dlog.min():.3g}-{dlog.max():.3g} dex); resample it first")
    fwhm_kms = C_KMS * np.sqrt(1.0 / r_out ** 2 - 1.0 / r_in ** 2)
    sigma_pix = fwhm_kms * _FWHM_TO_SIGMA / (C_KMS * np.log(10.0) * float(np.median(dlog)))
    half = int(np.ceil(4.0 * sigma_pix))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_pix) ** 2)
    kernel /= kernel.sum()
    good = (ivar > 0).astype(np.float64)
    var = np.where(ivar > 0, 1.0 / np.where(ivar > 0, ivar, 1.0), 0.0)

    def conv(x, k):
        return np.convolve(x, k, mode="same")

    weight = conv(good, kernel)
    ok = weight > 0.5
    safe = np.where(ok, weight, 1.0)
    out_flux = np.where(ok, conv(flux * good, kernel) / safe, 0.0)
    out_var = conv(var * good, kernel ** 2) / safe ** 2
    out_ivar = np.where(ok & (out_var > 0), 1.0 / np.where(out_var > 0, out_var, 1.0), 0.0)
    return out_flux, out_ivar


def rebin_loglinear(wave, flux, ivar, dex: float = PIXEL_DEX, wave_range=None,
                    name: str = "spectrum") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average a finer spectrum into pixels uniform in log10(wavelength), flux-conservingly.

    Output pixel ``j`` covers ``[E_j, E_j+1)`` (edges half a step around centres that are
    multiples of ``dex`` in log10 Angstrom, the SDSS convention). Each input pixel ``i``
    (edges half-way to its neighbours) overlaps it by a length :math:`o_{ij}` (Angstrom);
    the output is the inverse-variance weighted mean flux density

    .. math::

        f_j = \\frac{\\sum_i o_{ij} w_i f_i}{\\sum_i o_{ij} w_i}, \\qquad
        w_j^{\\mathrm{out}} = \\frac{(\\sum_i o_{ij} w_i)^2}{\\sum_i o_{ij}^2 w_i},

    with :math:`w_i` the input inverse variance (bad pixels have :math:`w_i = 0`); with equal
    weights it conserves :math:`\\int f\\,d\\lambda`. Output pixels less than half covered by
    good input get ``ivar = 0``.

    Parameters
    ----------
    wave, flux, ivar : array_like, shape (n,)
        Input spectrum, wavelengths (Angstrom) increasing.
    dex : float
        Output pixel size in log10(Angstrom) (SDSS: 1e-4).
    wave_range : (float, float), optional
        Keep output pixels within this range (Angstrom); default: the input's coverage.
    name : str
        Names the spectrum in error messages.

    Returns
    -------
    (wave, flux, ivar) : tuple of numpy.ndarray on the new grid.

    Raises
    ------
    ValueError
        For a grid that does not increase, input pixels coarser than 1.5 output pixels
        (rebinning would invent resolution), or no output pixel in ``wave_range``.
    """
    wave, flux, ivar = (np.asarray(a, dtype=np.float64) for a in (wave, flux, ivar))
    if not wave.shape == flux.shape == ivar.shape or wave.ndim != 1 or wave.size < 2:
        raise ValueError(f"{name}: wave, flux and ivar must be 1-D of equal length >= 2")
    _check_increasing(wave, name)
    if not dex > 0:
        raise ValueError(f"{name}: dex must be positive, got {dex}")
    in_dex = float(np.median(np.diff(np.log10(wave))))
    if in_dex > 1.5 * dex:
        raise ValueError(f"{name}: input pixels ({in_dex:.3g} dex) are coarser than the output "
                         f"pixels ({dex:.3g} dex); expected a finer input spectrum")
    w_in = np.where(np.isfinite(ivar) & (ivar > 0) & np.isfinite(flux), ivar, 0.0)
    mid = 0.5 * (wave[1:] + wave[:-1])
    lo_in = np.concatenate([[wave[0] - (mid[0] - wave[0])], mid])
    hi_in = np.concatenate([mid, [wave[-1] + (wave[-1] - mid[-1])]])
    lo, hi = (wave[0], wave[-1]) if wave_range is None else wave_range
    k0 = int(np.ceil(np.log10(max(lo, wave[0])) / dex + 0.5))
    k1 = int(np.floor(np.log10(min(hi, wave[-1])) / dex - 0.5))
    if k1 < k0:
        raise ValueError(f"{name}: no output pixel within {lo:.0f}-{hi:.0f} Angstrom")
    loglam = dex * np.arange(k0, k1 + 1)
    edges = 10.0 ** (np.concatenate([loglam - 0.5 * dex, [loglam[-1] + 0.5 * dex]]))
    n_out = loglam.size
    j0 = np.searchsorted(edges, lo_in, side="right") - 1
    span = int(np.max(np.searchsorted(edges, hi_in, side="left") - j0)) + 1
    num = np.zeros(n_out)
    den = np.zeros(n_out)
    den2 = np.zeros(n_out)
    cover = np.zeros(n_out)
    for k in range(max(span, 1)):
        j = j0 + k
        inside = (j >= 0) & (j < n_out)
        jj = np.clip(j, 0, n_out - 1)
        ov = np.minimum(hi_in, edges[jj + 1]) - np.maximum(lo_in, edges[jj])
        ov = np.where(inside & (ov > 0), ov, 0.0)
        np.add.at(num, jj, ov * w_in * np.nan_to_num(flux))
        np.add.at(den, jj, ov * w_in)
        np.add.at(den2, jj, ov ** 2 * w_in)
        np.add.at(cover, jj, ov * (w_in > 0))
    ok = (den > 0) & (cover > 0.5 * np.diff(edges))
    out_flux = np.where(ok, num / np.where(ok, den, 1.0), 0.0)
    out_ivar = np.where(ok, den ** 2 / np.where(ok, den2, 1.0), 0.0)
    return 10.0 ** loglam, out_flux, out_ivar


def linetools_spectrum(name: str) -> Path:
    """Path of a file in the test data of the installed ``linetools`` package.

    Raises
    ------
    FileNotFoundError
        When linetools is not installed (the message says how to install it) or the file is
        not among its test spectra.
    """
    spec = importlib_util.find_spec("linetools")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the real spectrum {name!r} ships with the tests of linetools, "
                                f"which is not installed: pip install --no-deps "
                                f"linetools==0.3.2 (or pip install 'cosmicbook[peers]')")
    folder = Path(spec.origin).parent / "spectra" / "tests" / "files"
    path = folder / name
    if not path.is_file():
        have = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
        raise FileNotFoundError(f"linetools has no test spectrum {name!r} in {folder}; it has "
                                f"{have}")
    return path


@dataclass(frozen=True)
class LiteratureDLA:
    """A published DLA towards a quasar: redshift, log NHI (dex cm^-2) and its error."""

    z_abs: float
    log_nhi: float
    log_nhi_err: float
    reference: str
    #: The reference in words, for tables ("Prochaska & Wolfe 1999").
    cite_as: str = ""


@dataclass(frozen=True)
class RealTarget:
    """One real spectrum of the linetools test data and what is known about it.

    Attributes
    ----------
    name, instrument : str
    files : tuple of str
        File names in the linetools test folder (flux, then error file where separate).
    reader : callable
        One of the readers of this module, called with the file paths.
    resolution : float
        Resolving power lambda/FWHM of the instrument set-up (nominal); ``SDSS_RESOLUTION``
        for SDSS spectra, which are not degraded.
    z_qso : float or None
        Quasar redshift; ``None`` when the spectrum cannot be searched.
    z_qso_source : str
        Where ``z_qso`` comes from.
    dlas : tuple of LiteratureDLA
        Published DLAs; empty when we know of none (the spectrum is then a null test).
    credit : str
        Who took or reduced the spectrum (from the linetools README where it says).
    note : str
        Anything that limits its use here.
    """

    name: str
    instrument: str
    files: tuple[str, ...]
    reader: Callable[..., Spectrum] = field(repr=False)
    resolution: float
    z_qso: float | None
    z_qso_source: str
    dlas: tuple[LiteratureDLA, ...] = ()
    credit: str = ""
    note: str = ""


#: The quasar spectra in linetools' test data that this chapter searches.
REAL_SPECTRA: dict[str, RealTarget] = {
    "PH957": RealTarget(
        "PH957 (Q0100+130)", "Keck II / ESI", ("PH957_f.fits", "PH957_e.fits"),
        read_loglinear_fits, 6800.0, 2.68,
        "red edge of the Ly alpha forest in this spectrum (continuum-normalised: no emission "
        "line to fit)",
        (LiteratureDLA(2.309, 21.37, 0.08, "prochaska1999dla", "Prochaska & Wolfe 1999"),),
        credit="linetools test data (ESI, XIDL reduction)",
        note="continuum-normalised; nominal ESI R for the 0.75 arcsec slit"),
    "UM184": RealTarget(
        "UM184", "Magellan Clay / MagE", ("UM184_nF.fits", "UM184_nE.fits"),
        read_loglinear_fits, 4100.0, 3.10,
        "red edge of the Ly alpha forest in this spectrum, near 4980 Angstrom",
        (), credit="M. Fumagalli and J. O'Meara; Fumagalli et al. 2013, ApJ 775, 78",
        note="a Lyman-limit-system survey spectrum; we know of no published DLA on this "
             "sightline: a null test"),
    "SDSSJ2202+1236": RealTarget(
        "SDSS J220248.31+123656.3", "SDSS 2.5 m / BOSS", ("SDSSJ220248.31+123656.3.fits",),
        read_boss_hdus, SDSS_RESOLUTION, 2.51,
        "peaks of C IV 1549 and C III] 1909 emission in this spectrum (2.50, 2.51)",
        (), credit="linetools test data (BOSS plate 5063, MJD 55831)",
        note="we know of no published DLA on this sightline: a null test"),
    "BRJ2349-3712": RealTarget(
        "BR J2349-3712", "VLT / X-shooter (XQ-100)", ("XShooter_XQ100.fits.gz",),
        read_xshooter_table, 5300.0, None,
        "not needed: the file holds the NIR arm only (9818-18235 Angstrom)",
        (), credit="XQ-100 survey (ESO programme 189.A-0424), via linetools",
        note="the Ly alpha forest would be in this arm only for z_qso > 7: not searchable"),
}


def load_real_spectrum(key: str, *, wave_range=SDSS_WAVE_RANGE) -> tuple[Spectrum, RealTarget]:
    """Read one of :data:`REAL_SPECTRA` and make it SDSS-like.

    Spectra of higher resolution are degraded to R = 2000 (:func:`degrade_resolution`) and
    rebinned onto the SDSS grid (:func:`rebin_loglinear`) within ``wave_range``; SDSS spectra
    are returned as read.

    Returns
    -------
    (Spectrum, RealTarget)
        The SDSS-like spectrum (``z_qso`` from the target) and its :class:`RealTarget`.

    Raises
    ------
    ValueError
        For an unknown key.
    FileNotFoundError
        When linetools (and so the file) is missing.
    """
    if key not in REAL_SPECTRA:
        raise ValueError(f"unknown real spectrum {key!r}: expected one of {sorted(REAL_SPECTRA)}")
    target = REAL_SPECTRA[key]
    raw = target.reader(*(linetools_spectrum(f) for f in target.files))
    if target.resolution > SDSS_RESOLUTION:
        wave = raw.wave
        good = np.diff(np.log10(wave))
        if not np.allclose(good, np.median(good), rtol=0.01):  # e.g. a linear-lambda grid
            grid = np.arange(np.log10(wave[0]), np.log10(wave[-1]), float(np.median(good)))
            flux = np.interp(grid, np.log10(wave), raw.flux)
            ivar = np.interp(grid, np.log10(wave), raw.ivar)
            wave = 10.0 ** grid
        else:
            flux, ivar = raw.flux, raw.ivar
        flux, ivar = degrade_resolution(wave, flux, ivar, target.resolution, name=target.name)
        wave, flux, ivar = rebin_loglinear(wave, flux, ivar, wave_range=wave_range,
                                           name=target.name)
    else:
        keep = (raw.wave >= wave_range[0]) & (raw.wave <= wave_range[1])
        wave, flux, ivar = raw.wave[keep], raw.flux[keep], raw.ivar[keep]
    return Spectrum(wave, flux, ivar, target.z_qso, raw.header), target


def search_real_spectra(finders: dict[str, Callable], keys=None) -> Table:
    """Run DLA finders on the searchable :data:`REAL_SPECTRA` and set them against the literature.

    Parameters
    ----------
    finders : dict of str to callable
        ``name -> f(wave, flux, ivar, z_qso)`` returning a table with ``z_abs``, ``log_nhi``
        and ``kind`` (e.g. :func:`~cosmicbook.dla.inference.find_dlas`).
    keys : sequence of str, optional
        Which spectra (default: all with a known ``z_qso``).

    Returns
    -------
    astropy.table.Table
        One row per (spectrum, method, reported absorber) -- a row with ``kind = "none"`` when
        a method reports nothing: ``key``, ``method``, ``z_abs``, ``log_nhi``, ``kind``,
        ``seconds`` and, when a published DLA lies within 0.01 (1+z) of the detection,
        ``lit_z``, ``lit_log_nhi`` and ``reference`` (else NaN / ""). ``meta["spectra"]``
        holds the SDSS-like spectra by key.
    """
    import time

    keys = [k for k, t in REAL_SPECTRA.items() if t.z_qso is not None] if keys is None else keys
    rows, spectra = [], {}
    for key in keys:
        spec, target = load_real_spectrum(key)
        spectra[key] = spec
        for method, find in finders.items():
            t0 = time.perf_counter()
            found = find(spec.wave, spec.flux, spec.ivar, target.z_qso)
            dt = time.perf_counter() - t0
            if not len(found):
                rows.append((key, method, np.nan, np.nan, "none", dt, np.nan, np.nan, ""))
            for row in found:
                lit = [d for d in target.dlas
                       if abs(d.z_abs - row["z_abs"]) < 0.01 * (1.0 + d.z_abs)]
                ref = lit[0] if lit else None
                rows.append((key, method, float(row["z_abs"]), float(row["log_nhi"]),
                             str(row["kind"]), dt, ref.z_abs if ref else np.nan,
                             ref.log_nhi if ref else np.nan, ref.reference if ref else ""))
    table = Table(rows=rows or None, names=("key", "method", "z_abs", "log_nhi", "kind",
                                            "seconds", "lit_z", "lit_log_nhi", "reference"),
                  dtype=("U24", "U24", float, float, "U6", float, float, float, "U32"))
    table.meta["spectra"] = spectra
    return table


def linetools_available() -> bool:
    """Whether linetools (and so its test spectra) is installed."""
    return importlib_util.find_spec("linetools") is not None


def describe_real(found: Table, method: str = "CNN") -> str:
    """One sentence per published DLA: what ``method`` measured against the literature."""
    lines = []
    for key in dict.fromkeys(found["key"]):
        target = REAL_SPECTRA[key]
        mine = found[(found["key"] == key) & (found["method"] == method)]
        for d in target.dlas:
            hit = mine[np.isfinite(mine["lit_z"]) & (np.abs(mine["lit_z"] - d.z_abs) < 1e-9)]
            if len(hit):
                r = hit[0]
                lines.append(f"{target.name}: {method} z = {r['z_abs']:.4f}, log N = "
                             f"{r['log_nhi']:.2f}; published z = {d.z_abs}, log N = "
                             f"{d.log_nhi} +- {d.log_nhi_err} (dz = {r['z_abs'] - d.z_abs:+.4f},"
                             f" dlogN = {r['log_nhi'] - d.log_nhi:+.2f})")
            else:
                lines.append(f"{target.name}: {method} missed the published DLA at z = "
                             f"{d.z_abs}")
        if not target.dlas:
            n = int(np.sum(mine["kind"] == "DLA"))
            lines.append(f"{target.name}: no published DLA; {method} reports {n} DLA(s)")
    return "\n".join(lines)
