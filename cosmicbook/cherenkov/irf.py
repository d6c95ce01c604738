"""CTA-like instrument response functions: analytic ones built with gammapy, or real files.

The CTA prod5 IRF files cannot be downloaded while the book is built, so
:func:`make_cta_irfs` builds a CTA-like set analytically (effective area from gammapy's CTAO
parametrisation, Gaussian PSF and energy dispersion, a power-law background falling with
offset), with knobs for the observing conditions: zenith angle and night-sky background (NSB).
:func:`load_irfs` reads real IRF FITS files (``gammapy.irf.load_irf_dict_from_file``) when a
user has them; :mod:`cosmicbook.cherenkov.prod3b` builds the response CTAO published for its
two arrays; :func:`get_irfs` and :func:`condition_irfs` pick one of them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

__all__ = ["IRF_KEYS", "condition_irfs", "condition_label", "condition_zenith", "energy_axes",
           "get_irfs", "is_published", "load_irfs", "make_cta_irfs", "write_irfs"]

#: The IRF components a dataset needs.
IRF_KEYS: tuple[str, ...] = ("aeff", "psf", "edisp", "bkg")

#: Reference zenith angle (deg) of the analytic IRFs: the conditions of gammapy's
#: CTAO parametrisation and of the recipe in the chapter.
REFERENCE_ZENITH = 20.0


def energy_axes():
    """The energy, offset, radius and migration axes of the analytic IRFs.

    Returns
    -------
    dict of gammapy.maps.MapAxis
        ``energy_true`` 0.03-100 TeV (5 per decade), ``energy`` (reconstructed) 0.05-50 TeV
        (3 per decade), ``offset`` 0-6 deg (12 bins), ``rad`` 0-1 deg (200 bins), ``migra``
        0.2-5 (96 bins).
    """
    from gammapy.maps import MapAxis

    return {
        "energy_true": MapAxis.from_energy_bounds(0.03, 100, 5, per_decade=True, unit="TeV",
                                                  name="energy_true"),
        "energy": MapAxis.from_energy_bounds(0.05, 50, 3, per_decade=True, unit="TeV"),
        "offset": MapAxis.from_bounds(0, 6, 12, unit="deg", name="offset"),
        "rad": MapAxis.from_bounds(0, 1, 200, unit="deg", name="rad"),
        "migra": MapAxis.from_bounds(0.2, 5, 96, node_type="edges", name="migra"),
    }


def _check_conditions(zenith: float, nsb: float) -> tuple[float, float]:
    zenith, nsb = float(zenith), float(nsb)
    if not (math.isfinite(zenith) and 0.0 <= zenith <= 70.0):
        raise ValueError(f"zenith must be an angle in [0, 70] deg, got {zenith!r}")
    if not (math.isfinite(nsb) and nsb >= 1.0):
        raise ValueError(f"nsb must be >= 1 (1 = dark sky), got {nsb!r}")
    return zenith, nsb


def make_cta_irfs(zenith: float = REFERENCE_ZENITH, nsb: float = 1.0) -> dict:
    """Analytic CTA-like IRFs for one observing condition.

    At the reference conditions (zenith 20 deg, dark sky) these are the recipe of the chapter:
    the CTAO effective area of gammapy times ``exp(-offset^2 / 2 (2.5 deg)^2)``; a Gaussian PSF
    with ``sigma(E) = clip(0.1 (E / TeV)^-0.3, 0.03, 0.2)`` deg; a Gaussian energy dispersion
    of 10%; a background rate ``1.4e-6 (E / TeV)^-2.7 exp(-offset^2 / 2 (3 deg)^2)``
    s^-1 MeV^-1 sr^-1 (about 1.4 Hz in the field above 50 GeV). Other conditions change them
    the way larger zenith angles and brighter skies do, to first order:

    * zenith: with ``s = (cos 20 deg / cos zenith)^1.5`` the energy threshold moves up by
      ``s`` (area curve shifted in energy, larger by ``s`` at high energies where showers are
      seen from farther away), the background field widens by ``s^0.5`` and the PSF
      broadens by ``s^0.3``;
    * NSB: the background below ~150 GeV is multiplied by ``nsb`` (night-sky photons
      triggering low-energy events), the PSF broadens by ``nsb^0.1``.

    Parameters
    ----------
    zenith : float
        Zenith angle, deg, in [0, 70].
    nsb : float
        Night-sky background relative to a dark sky (>= 1).

    Returns
    -------
    dict
        ``{"aeff", "psf", "edisp", "bkg"}`` gammapy IRF objects, as
        ``gammapy.irf.load_irf_dict_from_file`` returns them.

    Raises
    ------
    ValueError
        For a zenith angle outside [0, 70] deg or ``nsb < 1``.
    """
    import astropy.units as u
    from gammapy.irf import (
        PSF3D,
        Background2D,
        EffectiveAreaTable2D,
        EnergyDispersion2D,
    )

    zenith, nsb = _check_conditions(zenith, nsb)
    s = (math.cos(math.radians(REFERENCE_ZENITH)) / math.cos(math.radians(zenith))) ** 1.5
    axes = energy_axes()
    e_true, e_reco = axes["energy_true"], axes["energy"]
    offset, rad, migra = axes["offset"], axes["rad"], axes["migra"]
    meta = {"TELESCOP": "CTA", "INSTRUME": "Northern Array",
            "ZENITH": zenith, "NSB": nsb}

    # effective area: gammapy's CTAO curve, shifted to higher energies by s
    fine = EffectiveAreaTable2D.from_parametrization(e_true, instrument="CTAO")
    centres = e_true.center.to_value("TeV")
    area_1d = np.asarray(fine.data[:, 0], dtype=float)
    area_shift = s * np.interp(np.log(centres / s), np.log(centres), area_1d, left=0.0)
    off = offset.center.to_value("deg")
    area = area_shift[:, None] * np.exp(-0.5 * (off / 2.5) ** 2)[None, :]
    aeff = EffectiveAreaTable2D(axes=[e_true, offset], data=area, unit=fine.unit, meta=meta)

    # PSF: a Gaussian in each true-energy bin, the same at every offset
    sigma = np.clip(0.1 * centres ** -0.3, 0.03, 0.2) * s ** 0.3 * nsb ** 0.1
    r = rad.center.to_value("deg")
    norm = 1.0 / (2 * np.pi * np.radians(sigma) ** 2)  # sr^-1
    psf_e = norm[:, None] * np.exp(-0.5 * (r[None, :] / sigma[:, None]) ** 2)
    psf_data = np.repeat(psf_e[:, None, :], offset.nbin, axis=1)
    psf = PSF3D(axes=[e_true, offset, rad], data=psf_data, unit="sr-1", meta=meta)

    edisp = EnergyDispersion2D.from_gauss(e_true, migra, offset, bias=0.0, sigma=0.1)
    edisp.meta.update(meta)

    # background rate in reconstructed energy and offset
    e_b = e_reco.center.to_value("TeV")
    spec = 1.4e-6 * e_b ** -2.7 * (1.0 + (nsb - 1.0) * np.exp(-e_b / 0.15))
    spec *= 1.0 / (1.0 + (0.06 * (s - 1.0) / e_b) ** 2)  # fewer low-energy triggers at high zenith
    width = 3.0 * s ** 0.5
    bkg_data = spec[:, None] * np.exp(-0.5 * (off / width) ** 2)[None, :]
    bkg = Background2D(axes=[e_reco, offset], data=bkg_data * u.Unit("s-1 MeV-1 sr-1"),
                       meta=meta)
    return {"aeff": aeff, "psf": psf, "edisp": edisp, "bkg": bkg}


def write_irfs(irfs: dict, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write an IRF dict to one FITS file with the HDU names of the CTA IRF files.

    Parameters
    ----------
    irfs : dict
        ``{"aeff", "psf", "edisp", "bkg"}`` (e.g. from :func:`make_cta_irfs`).
    path : str or path-like
        Destination file.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
    """
    from astropy.io import fits

    missing = [k for k in IRF_KEYS if k not in irfs]
    if missing:
        raise ValueError(f"the IRF dict lacks {missing}; it has {sorted(irfs)}")
    hdus = [fits.PrimaryHDU()] + [irfs[k].to_table_hdu() for k in IRF_KEYS]
    path = Path(path)
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)
    return path


def load_irfs(path: str | os.PathLike) -> dict:
    """Read real IRFs (e.g. CTA prod5 ``*.fits.gz``) with gammapy.

    Parameters
    ----------
    path : str or path-like
        A FITS file holding effective area, PSF, energy dispersion and background HDUs
        (``EFFECTIVE AREA``, ``POINT SPREAD FUNCTION``, ``ENERGY DISPERSION``, ``BACKGROUND``).

    Returns
    -------
    dict
        ``{"aeff", "psf", "edisp", "bkg"}`` gammapy IRF objects.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not readable FITS or lacks one of the four IRF components.
    """
    from astropy.io import fits
    from gammapy.irf import load_irf_dict_from_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IRF file {path}")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu_names = [h.name for h in hdul]
    except OSError as err:
        raise ValueError(f"{path} is not a readable FITS file: {err}") from err
    try:
        irfs = load_irf_dict_from_file(path)
    except (KeyError, ValueError, OSError) as err:
        raise ValueError(f"gammapy cannot read IRFs from {path} (HDUs {hdu_names}): {err}") \
            from err
    missing = [k for k in IRF_KEYS if k not in irfs]
    if missing:
        raise ValueError(f"{path} lacks the IRF component(s) {missing}; its HDUs are "
                         f"{hdu_names}")
    return irfs


def get_irfs(path: str | os.PathLike | None = None, zenith: float = REFERENCE_ZENITH,
             nsb: float = 1.0, *, site: str | None = None) -> dict:
    """IRFs from a file, from CTAO's published curves, or the analytic ones.

    Parameters
    ----------
    path : path-like, optional
        A real IRF file (:func:`load_irfs`); takes precedence.
    zenith : float
        deg.
    nsb : float
        Night-sky background of the analytic IRFs (relative to a dark sky).
    site : {"south", "north"}, optional
        Given: the published prod3b-v2 response of that array at ``zenith``
        (:func:`~cosmicbook.cherenkov.prod3b.make_prod3b_irfs`, dark sky only); otherwise
        the analytic IRFs of :func:`make_cta_irfs`.
    """
    if path is not None:
        return load_irfs(path)
    if site is not None:
        from cosmicbook.cherenkov.prod3b import make_prod3b_irfs

        if nsb != 1.0:
            raise ValueError(f"the published curves are for a dark sky: nsb must be 1 with "
                             f"site={site!r}, got {nsb!r}")
        return make_prod3b_irfs(site, zenith)
    return make_cta_irfs(zenith=zenith, nsb=nsb)


def condition_irfs(condition, path: str | os.PathLike | None = None) -> dict:
    """The IRFs of one observing condition of the simulator's templates.

    Parameters
    ----------
    condition : tuple
        ``(zenith, nsb)`` for the analytic IRFs, or ``(site, zenith)`` with ``site`` one of
        ``"south"``, ``"north"`` for CTAO's published responses.
    path : path-like, optional
        A real IRF file instead.
    """
    if path is not None:
        return load_irfs(path)
    first, second = condition
    if isinstance(first, str):
        return get_irfs(None, float(second), site=first)
    return get_irfs(None, float(first), float(second))


def is_published(condition) -> bool:
    """Whether a template condition names a CTAO site (``("south", 20)``)."""
    return isinstance(condition[0], str) and condition[0] != "file"


def condition_zenith(condition) -> float:
    """The zenith angle (deg) of a template condition; NaN for IRFs read from a file."""
    first, second = condition
    if first == "file":
        return float("nan")
    return float(second) if isinstance(first, str) else float(first)


def condition_label(condition) -> str:
    """A short label of a template condition: ``"South, 20 deg"``, ``"zenith 60 deg, NSB x4"``.

    Examples
    --------
    >>> condition_label(("south", 20)), condition_label((60.0, 4.0))
    ('South, 20 deg', 'zenith 60 deg, NSB x4')
    """
    first, second = condition
    if first == "file":
        return "IRF file"
    if isinstance(first, str):
        return f"{first.capitalize()}, {float(second):g} deg"
    return f"zenith {float(first):g} deg, NSB x{float(second):g}"
