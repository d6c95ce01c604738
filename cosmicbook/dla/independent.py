"""A second sightline simulator, written independently of :mod:`cosmicbook.dla.simulate`.

The chapter's network was trained on :mod:`~cosmicbook.dla.simulate`; this module makes the
sightlines it was *not* trained on, with different choices at every step:

continuum
    a mean quasar spectrum (a broken power law, softer blueward of 1200 Angstrom, with
    Lorentzian-cored broad lines including O VI, Ly beta, C III 977, N III 991, Ly alpha,
    N V, Si II, O I, C II, Si IV + O IV] and He II) plus five component spectra with
    Gaussian amplitudes, as in a principal-component description of quasar continua: the
    overall slope, the strength of all lines, the Ly alpha / N V ratio, a blueshift of the
    high-ionisation lines and a broad curvature;
forest
    a log-normal density field with a Gaussian-smoothed power-law spectrum in velocity
    (Fourier synthesis on a grid of 23 km/s), optical depth :math:`\\tau = A(z) n^{1.6}` (the
    fluctuating Gunn-Peterson approximation), :math:`A(z)` set pixel by pixel so that the mean
    transmission follows the Becker et al. (2013) fit
    :math:`\\tau_\\mathrm{eff} = 0.751 [(1+z)/4.5]^{2.90} - 0.132`, plus Poisson Lyman-limit
    systems (log N 17-19);
absorbers
    DLAs with log NHI from a double power law (slopes -1.6 and -3.5 around 21.3) and
    sub-DLAs, Doppler parameters uniform in 15-50 km/s;
instrument
    the spectrum on the fine grid is convolved to R = 2000 and rebinned onto the SDSS grid
    with :func:`cosmicbook.dla.real.degrade_resolution` and
    :func:`~cosmicbook.dla.real.rebin_loglinear`, from 3600 Angstrom to rest 1500 Angstrom
    (the normalisation band 1425-1475 Angstrom of the GP finder's eBOSS model included);
noise
    sky-plus-object noise whose sky term rises to the blue (lower throughput), with a target
    S/N per pixel drawn log-uniformly within ``snr_range`` (default 3-40).

Sightlines are returned as :class:`cosmicbook.dla.simulate.Sightline`, so that the chapter's
matching and scoring apply unchanged. ``snr`` is defined as in the chapter: the median
continuum over noise at rest 920-1200 Angstrom.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from cosmicbook.core.checks import positive_int
from cosmicbook.dla.real import SDSS_RESOLUTION, degrade_resolution, rebin_loglinear
from cosmicbook.dla.simulate import Sightline
from cosmicbook.dla.voigt import C_KMS, LINES, LYA_WAVE, PIXEL_DEX, voigt_tau

__all__ = ["IndependentConfig", "becker_tau_eff", "independent_sightlines"]

_LINES = (  # rest wavelength (A), mean EW (A), FWHM (km/s), high ionisation?
    (977.0, 2.0, 3000.0, False), (991.0, 1.5, 3000.0, False),
    (1025.7, 6.0, 4000.0, False), (1033.8, 8.0, 4500.0, True),
    (1215.67, 80.0, 3500.0, False), (1240.1, 15.0, 3500.0, True),
    (1263.3, 1.5, 3000.0, False), (1305.4, 2.5, 3000.0, False),
    (1335.3, 1.5, 3000.0, False), (1399.8, 10.0, 4500.0, True),
    (1640.4, 6.0, 5000.0, True),
)
_FINE = 3  # fine pixels per SDSS pixel


@dataclass(frozen=True)
class IndependentConfig:
    """Knobs of :func:`independent_sightlines`.

    Attributes
    ----------
    z_qso_range : (float, float)
        Quasar redshifts, uniform.
    p_dla : float
        Probability that a sightline has one DLA (at most one, so that a finder limited to
        one absorber per spectrum is not penalised).
    p_subdla : float
        Probability of one sub-DLA (log NHI 19.5-20.3) on the sightline.
    mean_lls : float
        Poisson mean of Lyman-limit systems (log N 17-19) in the forest.
    snr_range : (float, float)
        The target S/N per pixel at the continuum is log-uniform in this range.
    rest_max : float
        Red end of the spectrum in the quasar rest frame (Angstrom).
    """

    z_qso_range: tuple[float, float] = (2.3, 4.0)
    p_dla: float = 0.6
    p_subdla: float = 0.3
    mean_lls: float = 0.5
    snr_range: tuple[float, float] = (3.0, 40.0)
    rest_max: float = 1500.0

    def __post_init__(self):
        if not 2.0 <= self.z_qso_range[0] < self.z_qso_range[1] <= 5.0:
            raise ValueError(f"z_qso_range must lie within [2, 5], got {self.z_qso_range}")
        for name in ("p_dla", "p_subdla"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability, got {getattr(self, name)}")
        if not 0 < self.snr_range[0] < self.snr_range[1]:
            raise ValueError(f"bad snr_range {self.snr_range}")
        if self.rest_max < 1300.0:
            raise ValueError(f"rest_max = {self.rest_max} must reach past rest 1290 Angstrom")


def becker_tau_eff(z) -> np.ndarray:
    """Effective Ly alpha optical depth of Becker et al. (2013): 0.751 ((1+z)/4.5)^2.9 - 0.132."""
    return 0.751 * ((1.0 + np.asarray(z, dtype=np.float64)) / 4.5) ** 2.90 - 0.132


def _lorentz_gauss(x, fwhm):
    """Unit-area profile: half Gaussian, half Lorentzian of the same FWHM."""
    s = fwhm / 2.3548
    g = np.exp(-0.5 * (x / s) ** 2) / (np.sqrt(2 * np.pi) * s)
    lo = (fwhm / 2) / np.pi / (x ** 2 + (fwhm / 2) ** 2)
    return 0.5 * g + 0.5 * lo


def _continuum(rest: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal(5) * np.array([0.25, 0.3, 0.25, 600.0, 0.15])
    slope_red = -1.55 + a[0]                 # f_lambda ~ lambda^slope above 1200 A
    slope_blue = slope_red + 0.9             # softer below the break
    x = np.log(rest / 1200.0)
    cont = np.exp(np.where(x > 0, slope_red * x, slope_blue * x) + a[4] * x ** 2)
    lines = np.zeros_like(rest)
    strength = np.exp(a[1])
    for lam, ew, fwhm_v, high in _LINES:
        centre = lam * (1.0 - (a[3] if high else 0.2 * a[3]) / C_KMS)
        ew_i = ew * strength * np.exp(rng.normal(0.0, 0.2))
        if lam in (1215.67, 1240.1):
            ew_i *= np.exp(a[2] if lam == 1215.67 else -a[2])
        c_at = np.interp(centre, rest, cont)
        lines += ew_i * c_at * _lorentz_gauss(rest - centre, lam * fwhm_v / C_KMS)
    return (cont + lines) * 10.0 ** rng.uniform(0.0, 1.0)


def _lognormal_forest(loglam: np.ndarray, z_qso: float, rng: np.random.Generator) -> np.ndarray:
    n = loglam.size
    dv = C_KMS * np.log(10.0) * (loglam[1] - loglam[0])
    k = np.fft.rfftfreq(n, d=dv) * 2 * np.pi  # s/km
    power = (k + 1e-3) ** -1.0 * np.exp(-(k / 0.06) ** 2)
    modes = (rng.standard_normal(k.size) + 1j * rng.standard_normal(k.size)) * np.sqrt(power)
    delta = np.fft.irfft(modes, n)
    delta = 1.2 * delta / np.std(delta)
    density = np.exp(delta - 0.5 * 1.2 ** 2)
    wave = 10.0 ** loglam
    z = wave / LYA_WAVE - 1.0
    target = np.maximum(becker_tau_eff(z), 1e-3)
    log_a = np.linspace(-10.0, 6.0, 161)
    mean_f = np.exp(-np.exp(log_a)[:, None] * (density ** 1.6)[None, :]).mean(axis=1)
    tau_of_a = -np.log(np.maximum(mean_f, 1e-300))
    a_pix = np.exp(np.interp(np.log(target), np.log(tau_of_a), log_a))
    tau = a_pix * density ** 1.6
    rest = wave / (1.0 + z_qso)
    tau = np.where(rest < LYA_WAVE, tau, 0.0)
    lyb = LINES["Lyb"][0]
    tau += np.where(rest < lyb, 0.16 * np.interp(wave * LYA_WAVE / lyb, wave, tau), 0.0)
    return tau


def _draw(cfg: IndependentConfig, rng: np.random.Generator) -> Sightline:
    zq = float(rng.uniform(*cfg.z_qso_range))
    step = PIXEL_DEX / _FINE
    lo, hi = np.log10(3590.0), np.log10(cfg.rest_max * (1.0 + zq))
    fine = np.arange(lo, hi, step)
    wave = 10.0 ** fine
    rest = wave / (1.0 + zq)
    cont = _continuum(rest, rng)
    tau = _lognormal_forest(fine, zq, rng)
    # absorbers in the forest, >= 5000 km/s from the quasar, Ly alpha above 3650 A
    z_lo = max(3650.0 / LYA_WAVE - 1.0, (1.0 + zq) * 920.0 / LYA_WAVE - 1.0)
    z_hi = (1.0 + zq) * (1.0 - 5000.0 / C_KMS) - 1.0
    rows = []
    if rng.random() < cfg.p_dla:
        # double power law: dN/dlogN ~ N^-0.6 on 20.3-21.3 (80 %), N^-2.5 on 21.3-22.5
        v = rng.random()
        log_n = 20.3 - np.log10(1 - v * (1 - 10 ** -0.6)) / 0.6 if rng.random() < 0.8 else \
            21.3 - np.log10(1 - v * (1 - 10 ** (-2.5 * 1.2))) / 2.5
        rows.append((float(rng.uniform(z_lo, z_hi)), float(min(log_n, 22.5)), "DLA"))
    if rng.random() < cfg.p_subdla:
        for _ in range(20):
            z = float(rng.uniform(z_lo, z_hi))
            if all(abs(np.log10((1 + z) / (1 + r[0]))) > 150 * PIXEL_DEX for r in rows):
                rows.append((z, float(rng.uniform(19.5, 20.3)), "subDLA"))
                break
    for _ in range(rng.poisson(cfg.mean_lls)):
        z = float(rng.uniform(z_lo, z_hi))
        n_lls = float(rng.uniform(17.0, 19.0))
        for line in ("Lya", "Lyb"):
            tau += voigt_tau(wave, z, n_lls, float(rng.uniform(15, 50)), line)
        tau += np.where(rest * (1 + zq) / (1 + z) < 912.0, 10 ** (n_lls - 17.2), 0.0)
    for z, log_n, _kind in rows:
        b = float(rng.uniform(15.0, 50.0))
        for line in ("Lya", "Lyb"):
            tau += voigt_tau(wave, z, log_n, b, line)
    model_fine = cont * np.exp(-tau)
    flat = np.ones_like(wave)
    model_f, _ = degrade_resolution(wave, model_fine, flat, 1e6, SDSS_RESOLUTION)
    cont_f, _ = degrade_resolution(wave, cont, flat, 1e6, SDSS_RESOLUTION)
    w_out, model, _ = rebin_loglinear(wave, model_f, flat)
    _, cont_out, _ = rebin_loglinear(wave, cont_f, flat)
    loglam = np.log10(w_out)
    rest_out = w_out / (1.0 + zq)
    forest = (rest_out > 920.0) & (rest_out < 1200.0)
    c_ref = float(np.median(cont_out[forest]))
    s = float(np.exp(rng.uniform(*np.log(cfg.snr_range))))
    sky = 1.0 + 2.0 * np.clip((4500.0 - w_out) / 900.0, 0.0, None)  # worse in the blue
    sigma = (c_ref / s) * np.sqrt(0.4 * sky / np.median(sky[forest]) +
                                  0.6 * np.maximum(model, 0.0) / c_ref)
    snr = float(np.median(cont_out[forest] / sigma[forest]))
    flux = model + sigma * rng.standard_normal(model.size)
    pix = [float((np.log10(LYA_WAVE * (1 + z)) - loglam[0]) / PIXEL_DEX) for z, _, _ in rows]
    table = Table(rows=[(z, n, p, k) for (z, n, k), p in zip(rows, pix, strict=True)] or None,
                  names=("z_abs", "log_nhi", "pixel", "kind"),
                  dtype=(float, float, float, "U6"))
    return Sightline(loglam, flux, 1.0 / sigma ** 2, cont_out, model / cont_out, zq, snr, table)


def independent_sightlines(n: int, seed: int = 0,
                           config: IndependentConfig | None = None) -> Iterator[Sightline]:
    """Yield ``n`` sightlines of the independent simulator (see the module docstring).

    Parameters
    ----------
    n : int
        Number of sightlines (positive).
    seed : int
        Seeds a :class:`numpy.random.Generator`; the same seed gives the same sightlines.
    config : IndependentConfig, optional

    Yields
    ------
    Sightline
        With ``absorbers`` (``z_abs``, ``log_nhi``, ``pixel``, ``kind``) as truth.
    """
    n = positive_int(n, "n")
    cfg = config or IndependentConfig()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield _draw(cfg, rng)
