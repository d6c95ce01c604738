"""Read and write SDSS-style quasar spectrum FITS files.

The layout of SDSS/BOSS ``spec-PLATE-MJD-FIBER.fits`` files: a binary-table HDU named
``COADD`` with (at least) the columns ``flux`` (1e-17 erg/s/cm^2/A), ``loglam``
(log10 of the vacuum wavelength in Angstrom) and ``ivar`` (inverse variance of ``flux``), and a
``SPECOBJ`` table whose ``Z`` column holds the pipeline redshift.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["Spectrum", "read_spectrum", "write_spectrum"]

REQUIRED_COLUMNS = ("flux", "loglam", "ivar")


@dataclass
class Spectrum:
    """A quasar spectrum read from FITS.

    Attributes
    ----------
    wave : numpy.ndarray, shape (n,)
        Vacuum wavelength, Angstrom.
    flux, ivar : numpy.ndarray, shape (n,)
        Flux density and its inverse variance.
    z_qso : float or None
        The redshift from the ``SPECOBJ`` table or the header keyword ``Z`` (None if absent).
    header : dict
        The primary header.
    """

    wave: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    z_qso: float | None = None
    header: dict = field(default_factory=dict, repr=False)


def read_spectrum(path: str | os.PathLike, hdu: int | str = "COADD") -> Spectrum:
    """Read ``flux``, ``loglam`` and ``ivar`` from an SDSS-style spectrum file.

    Parameters
    ----------
    path : str or path
        The FITS file.
    hdu : int or str
        The binary-table HDU holding the spectrum (``"COADD"`` in SDSS files; an index
        works too).

    Returns
    -------
    Spectrum

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the HDU is missing or not a table, or lacks one of the columns.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no spectrum file at {path}")
    with fits.open(path, memmap=False) as hdul:
        names = [h.name for h in hdul]
        try:
            table_hdu = hdul[hdu]
        except (KeyError, IndexError):
            raise ValueError(f"{path.name} has no HDU {hdu!r}; it has {names}") from None
        if not isinstance(table_hdu, fits.BinTableHDU):
            raise ValueError(f"HDU {hdu!r} of {path.name} is not a binary table")
        cols = {c.lower(): c for c in table_hdu.columns.names}
        missing = [c for c in REQUIRED_COLUMNS if c not in cols]
        if missing:
            raise ValueError(f"HDU {hdu!r} of {path.name} lacks column(s) {missing}; it has "
                             f"{table_hdu.columns.names}")
        data = table_hdu.data
        loglam = np.asarray(data[cols["loglam"]], dtype=np.float64)
        flux = np.asarray(data[cols["flux"]], dtype=np.float64)
        ivar = np.asarray(data[cols["ivar"]], dtype=np.float64)
        header = dict(hdul[0].header)
        z = None
        if "SPECOBJ" in names and "Z" in [c.upper() for c in hdul["SPECOBJ"].columns.names]:
            z = float(hdul["SPECOBJ"].data["Z"][0])
        elif "Z" in hdul[0].header:
            z = float(hdul[0].header["Z"])
    return Spectrum(10.0 ** loglam, flux, ivar, z, header)


def write_spectrum(path: str | os.PathLike, wave, flux, ivar, z_qso: float | None = None,
                   overwrite: bool = False) -> Path:
    """Write a spectrum in the SDSS layout (``COADD`` table; ``SPECOBJ`` with ``Z``).

    Raises
    ------
    ValueError
        For arrays of different lengths or non-positive wavelengths.
    """
    wave, flux, ivar = (np.asarray(a, dtype=np.float64) for a in (wave, flux, ivar))
    if wave.ndim != 1 or flux.shape != wave.shape or ivar.shape != wave.shape:
        raise ValueError("wave, flux and ivar must be 1D arrays of equal length")
    if np.any(~(wave > 0)):
        raise ValueError("wave must be positive (Angstrom)")
    coadd = fits.BinTableHDU(Table({"flux": flux.astype(np.float32),
                                    "loglam": np.log10(wave).astype(np.float32),
                                    "ivar": ivar.astype(np.float32)}), name="COADD")
    hdus = [fits.PrimaryHDU(), coadd]
    if z_qso is not None:
        hdus.append(fits.BinTableHDU(Table({"Z": np.array([z_qso], dtype=np.float64)}),
                                     name="SPECOBJ"))
    path = Path(path)
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)
    return path
