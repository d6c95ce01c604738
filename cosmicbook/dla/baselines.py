"""A classical DLA finder: saturated-trough search plus a Voigt fit, the chapter's baseline.

This is the recipe of the pre-machine-learning SDSS searches (e.g. Prochaska et al. 2005),
automated end to end:

1. **continuum**: an upper envelope of the normalised flux (the 90th percentile in a running
   151-pixel window, lowered by 1.28 sigma of the noise and smoothed), because the forest
   leaves few unabsorbed pixels;
2. **trough search**: runs of at least ``min_length`` (15) pixels where the boxcar-smoothed
   transmission stays below ``max_transmission`` -- a DLA of log NHI = 20.3 is saturated
   over ~19 SDSS pixels, wider than any single forest line at this resolution;
3. **Voigt fit**: z and log NHI of a Ly alpha + Ly beta Voigt profile times the continuum,
   fitted by weighted least squares to the pixels within +-150 of the trough, iteratively
   ignoring pixels more than 2 sigma below the model (forest lines on the wings);
4. **core check**: the fitted saturated core must be black -- blends of forest lines that
   mimic a trough leave transmission spikes (``max_leak``).

The thresholds were set on simulated sightlines independent of the chapter's test set.

Troughs whose fit gives log NHI >= 19.5 are reported, as DLAs when log NHI >= 20.3.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d, percentile_filter, uniform_filter1d
from scipy.optimize import least_squares

from cosmicbook.dla.inference import check_spectrum
from cosmicbook.dla.labels import forest_pixels, normalise_flux
from cosmicbook.dla.simulate import DLA_RANGE
from cosmicbook.dla.voigt import LYA_WAVE, absorber_transmission

__all__ = ["estimate_continuum", "find_dlas_classical"]


def estimate_continuum(flux_norm: np.ndarray, sigma: np.ndarray, size: int = 151) -> np.ndarray:
    """Upper-envelope continuum of a normalised spectrum (see the module docstring)."""
    env = percentile_filter(flux_norm, 90, size=size, mode="nearest")
    noise = gaussian_filter1d(sigma, 20.0)
    return np.maximum(gaussian_filter1d(env - 1.28 * noise, 15.0), 1e-3)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _fit(loglam, flux, sigma, cont, centre, n0, half=150, n_iter=3):
    lo, hi = max(centre - half, 0), min(centre + half + 1, flux.size)
    ll, f, s, c = loglam[lo:hi], flux[lo:hi], sigma[lo:hi], cont[lo:hi]
    use = np.isfinite(s) & (s > 0)

    def model(p):
        z = 10.0 ** (np.interp(p[0], np.arange(flux.size), loglam)) / LYA_WAVE - 1.0
        return c * absorber_transmission(ll, [(z, p[1])], fwhm_pix=3.0, oversample=3)

    p = np.array([float(centre), n0])
    bounds = ([centre - 20.0, 19.0], [centre + 20.0, 23.0])
    for _ in range(n_iter):
        res = least_squares(lambda q, m=use: ((f - model(q)) / s)[m], p, bounds=bounds,
                            x_scale=[5.0, 0.3], diff_step=[1e-3, 1e-3])
        p = res.x
        use = np.isfinite(s) & (s > 0) & (f > model(p) - 2.0 * s)
        if use.sum() < 20:
            break
    chi2 = float(np.sum(((f - model(p)) / s)[use] ** 2) / max(use.sum() - 2, 1))
    # the saturated core of a DLA is black: count core pixels that let light through
    core = (model(p) < 0.05 * c) & np.isfinite(s)
    leaky = float(np.mean(f[core] > 0.25 * c[core] + 2.0 * s[core])) if core.any() else 1.0
    return p, chi2, leaky


def find_dlas_classical(wave, flux, ivar, z_qso: float, *, min_length: int = 15,
                        max_transmission: float = 0.3, min_log_nhi: float = 19.5,
                        max_chi2: float = np.inf, max_leak: float = 0.05) -> Table:
    """Find DLAs without machine learning: trough search and Voigt fit.

    Parameters
    ----------
    wave, flux, ivar : array_like, shape (n,)
        The spectrum on the SDSS grid (see :func:`~cosmicbook.dla.inference.find_dlas`).
    z_qso : float
        Quasar redshift.
    min_length : int
        Minimum length (pixels) of a trough.
    max_transmission : float
        A trough is where the 5-pixel boxcar of flux / continuum stays below this.
    min_log_nhi : float
        Fits below this column density are dropped.
    max_chi2 : float
        Fits with a larger reduced chi^2 (over the pixels kept in the fit) are dropped.
    max_leak : float
        Fits are dropped when more than this fraction of the pixels of their saturated core
        (model transmission < 5%) are above 25% of the continuum by 2 sigma: a blend of
        forest lines leaves transmission spikes that a DLA's black core does not.

    Returns
    -------
    astropy.table.Table
        ``z_abs``, ``log_nhi``, ``chi2_dof`` of the fit, ``pixel`` and ``kind``, one row per
        absorber.
    """
    loglam, flux, ivar = check_spectrum(wave, flux, ivar, z_qso)
    good = ivar > 0
    norm = normalise_flux(loglam, flux, z_qso, good)
    scale = flux[good][0] / norm[good][0] if norm[good][0] != 0 else 1.0
    sigma = np.where(good, 1.0 / np.sqrt(np.where(good, ivar, 1.0)) / abs(scale), np.inf)
    sig_fill = np.where(good, sigma, np.median(sigma[good]))
    cont = estimate_continuum(norm, sig_fill)
    region = forest_pixels(loglam, z_qso)
    trans = uniform_filter1d(np.where(good, norm, cont) / cont, 5)
    low = np.zeros(flux.size, dtype=bool)
    low[region] = trans[region] < max_transmission
    rows = []
    for start, stop in _runs(low):
        length = stop - start
        if length < min_length:
            continue
        centre = (start + stop - 1) // 2
        # log N whose tau > 1.2 core is ``length`` pixels wide (damping-wing scaling)
        n0 = float(np.clip(20.3 + 2.0 * np.log10(length / 19.0), 19.2, 22.8))
        (pix, log_nhi), chi2, leaky = _fit(loglam, norm, sigma, cont, centre, n0)
        if log_nhi < min_log_nhi or chi2 > max_chi2 or leaky > max_leak:
            continue
        z = 10.0 ** np.interp(pix, np.arange(flux.size), loglam) / LYA_WAVE - 1.0
        rows.append((z, log_nhi, chi2, pix, "DLA" if log_nhi >= DLA_RANGE[0] else "subDLA"))
    names = ("z_abs", "log_nhi", "chi2_dof", "pixel", "kind")
    rows = _merge(rows)
    if not rows:
        return Table(names=names, dtype=(float, float, float, float, "U6"))
    table = Table(rows=rows, names=names)
    table.meta["z_qso"] = float(z_qso)
    return table


def _merge(rows: list[tuple], min_separation: float = 60.0) -> list[tuple]:
    """Keep one fit (the highest log NHI) among troughs that converge within 60 pixels."""
    rows = sorted(rows, key=lambda r: -r[1])
    kept: list[tuple] = []
    for row in rows:
        if all(abs(row[3] - k[3]) >= min_separation for k in kept):
            kept.append(row)
    return sorted(kept, key=lambda r: r[0])


