"""Synthetic SDSS quasar sightlines with damped Lyman-alpha systems, and their truth.

Every sightline lives on the SDSS log-wavelength grid (pixels of 1e-4 in log10(Angstrom),
69 km/s) from 3600 Angstrom to 1420 Angstrom in the quasar rest frame. It is built from

1. a quasar continuum: a power law :math:`f_\\lambda \\propto \\lambda^{-2-\\alpha_\\nu}` with
   :math:`\\alpha_\\nu \\sim N(-0.6, 0.3)` plus Gaussian broad emission lines (Ly beta/O VI,
   Ly alpha, N V, Si II, O I, C II, Si IV) with scattered equivalent widths and widths;
2. a Lyman-alpha forest: a log-normal optical-depth field (correlated over ~1.5 pixels) whose
   amplitude is calibrated pixel by pixel so that the mean transmission is
   :math:`\\exp(-\\tau_\\mathrm{eff})`, :math:`\\tau_\\mathrm{eff}(z) = 0.0023 (1+z)^{3.65}`
   (Kim et al. 2007); blueward of Ly beta an independent field adds the Ly beta forest with
   0.16 x the Ly alpha optical depth of the gas at the Ly beta redshift (the ratio of
   f lambda of the two lines);
3. absorbers: a Poisson number of DLAs (log NHI 20.3-22.5) and of sub-DLAs (19.5-20.3, the
   hard negatives), redshifts uniform within the forest, column densities from the
   Gamma-function f(N) of Prochaska & Wolfe (2009) or uniform in log N; each is injected
   with exact Voigt profiles of Ly alpha and Ly beta (:mod:`cosmicbook.dla.voigt`);
4. noise: a per-sightline S/N per pixel at the continuum drawn from a log-normal
   distribution that reaches S/N ~ 1; the noise is lower in absorbed pixels (photon noise of
   the object on top of a sky/read floor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table
from scipy.ndimage import gaussian_filter1d

from cosmicbook.core.progress import progress
from cosmicbook.dla.voigt import LINES, LYA_WAVE, PIXEL_DEX, absorber_transmission

__all__ = [
    "DLA_RANGE",
    "EMISSION_LINES",
    "LOGLAM_MIN",
    "SUBDLA_RANGE",
    "Sightline",
    "SightlineSimulator",
    "mean_transmission",
    "sample_log_nhi",
    "simulate_sightlines",
    "tau_eff",
]

#: First pixel of the grid: log10(3600 Angstrom), the blue end of SDSS/BOSS.
LOGLAM_MIN = 3.5563
#: Column densities of DLAs and of sub-DLAs (log10 cm^-2).
DLA_RANGE = (20.3, 22.5)
SUBDLA_RANGE = (19.5, 20.3)
#: Broad emission lines: rest wavelength (A), mean rest EW (A), velocity sigma (km/s).
EMISSION_LINES: tuple[tuple[float, float, float], ...] = (
    (1033.0, 12.0, 3000.0),    # Ly beta + O VI
    (1215.67, 55.0, 1800.0),   # Ly alpha, narrow-ish core
    (1216.0, 35.0, 5000.0),    # Ly alpha, broad base
    (1240.8, 12.0, 2200.0),    # N V
    (1262.6, 2.0, 2000.0),     # Si II
    (1304.0, 3.0, 2000.0),     # O I / Si II
    (1335.3, 2.0, 2000.0),     # C II
    (1398.0, 9.0, 3000.0),     # Si IV + O IV]
)
_C_KMS = 299792.458
_FOREST_SIGMA = 1.4     # std of the Gaussian field in ln(tau)
_FOREST_CORR = 1.5      # correlation length of that field, pixels
_LYB_OVER_LYA = 0.16    # f lambda of Ly beta over that of Ly alpha


def tau_eff(z) -> np.ndarray:
    """Effective Ly alpha optical depth of the forest, 0.0023 (1+z)^3.65 (Kim et al. 2007)."""
    return 0.0023 * (1.0 + np.asarray(z, dtype=np.float64)) ** 3.65


def mean_transmission(z) -> np.ndarray:
    """Mean Ly alpha forest transmission exp(-tau_eff(z))."""
    return np.exp(-tau_eff(z))


# calibration of the log-normal forest: mean of exp(-A exp(s x)), x ~ N(0, 1)
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(80)
_GH_W = _GH_W / _GH_W.sum()
_LOG_A = np.linspace(-12.0, 6.0, 721)
_TAU_OF_LOG_A = -np.log(np.exp(-np.exp(_LOG_A)[:, None] *
                               np.exp(_FOREST_SIGMA * _GH_X)[None, :]) @ _GH_W)


def _forest_tau(target_tau_eff: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel optical depth of a log-normal field with mean transmission exp(-tau_eff)."""
    g = gaussian_filter1d(rng.standard_normal(target_tau_eff.size), _FOREST_CORR)
    g /= np.sqrt(1.0 / (2.0 * np.sqrt(np.pi) * _FOREST_CORR))  # unit variance
    log_a = np.interp(np.log(np.maximum(target_tau_eff, 1e-6)), np.log(_TAU_OF_LOG_A), _LOG_A)
    return np.exp(log_a + _FOREST_SIGMA * g)


def sample_log_nhi(n: int, rng: np.random.Generator, low: float = 20.3, high: float = 22.5,
                   distribution: str = "fN", alpha: float = -1.8,
                   log_n_gamma: float = 21.48) -> np.ndarray:
    """Draw log NHI from a column-density distribution between ``low`` and ``high``.

    Parameters
    ----------
    n : int
        Number of draws.
    rng : numpy.random.Generator
    low, high : float
        Range in log10 cm^-2.
    distribution : str
        ``"fN"``: the Gamma function :math:`f(N) \\propto (N/N_\\gamma)^\\alpha
        \\exp(-N/N_\\gamma)` of Prochaska & Wolfe (2009) (``alpha``, ``log_n_gamma``);
        ``"uniform"``: uniform in log N (flat training sets see many high-N systems).

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    if not low < high:
        raise ValueError(f"need low < high, got {low}, {high}")
    if distribution == "uniform":
        return rng.uniform(low, high, n)
    if distribution != "fN":
        raise ValueError(f"unknown distribution {distribution!r}: expected 'fN' or 'uniform'")
    grid = np.linspace(low, high, 2001)
    n_over = 10.0 ** (grid - log_n_gamma)
    pdf = n_over ** (alpha + 1.0) * np.exp(-n_over)  # dN/dlogN = ln10 N f(N)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    return np.interp(rng.uniform(0.0, cdf[-1], n), cdf, grid)


@dataclass
class Sightline:
    """One simulated quasar spectrum and its truth.

    Attributes
    ----------
    loglam : numpy.ndarray, shape (n,)
        Pixel centres, log10(vacuum wavelength / Angstrom), step 1e-4.
    flux : numpy.ndarray, shape (n,)
        Observed flux density (1e-17 erg/s/cm^2/A), with noise.
    ivar : numpy.ndarray, shape (n,)
        Inverse variance of ``flux``.
    continuum : numpy.ndarray, shape (n,)
        The quasar's unabsorbed spectrum.
    transmission : numpy.ndarray, shape (n,)
        Forest times absorbers (noise-free flux = continuum * transmission).
    z_qso : float
        Quasar redshift.
    snr : float
        S/N per pixel at the continuum level (median over the forest).
    absorbers : astropy.table.Table
        ``z_abs``, ``log_nhi``, ``pixel`` (index of the Ly alpha centre) and ``kind``
        (``"DLA"`` or ``"subDLA"``).
    """

    loglam: np.ndarray
    flux: np.ndarray
    ivar: np.ndarray
    continuum: np.ndarray
    transmission: np.ndarray
    z_qso: float
    snr: float
    absorbers: Table = field(repr=False)

    @property
    def wave(self) -> np.ndarray:
        """Observed wavelengths (Angstrom)."""
        return 10.0 ** self.loglam

    @property
    def dlas(self) -> Table:
        """The absorbers with log NHI >= 20.3."""
        return self.absorbers[self.absorbers["kind"] == "DLA"]


def _continuum(rest: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    alpha_nu = rng.normal(-0.6, 0.3)
    amp = 10.0 ** rng.uniform(0.3, 1.3)
    cont = amp * (rest / 1280.0) ** (-2.0 - alpha_nu)
    lines = np.zeros_like(rest)
    shift = rng.normal(0.0, 300.0)  # km/s, common to all lines
    for lam, ew, sig_v in EMISSION_LINES:
        ew_i = ew * np.exp(rng.normal(0.0, 0.35))
        sig = lam * sig_v * np.exp(rng.normal(0.0, 0.2)) / _C_KMS
        centre = lam * (1.0 + shift / _C_KMS)
        cont_at = amp * (centre / 1280.0) ** (-2.0 - alpha_nu)
        lines += ew_i * cont_at * np.exp(-0.5 * ((rest - centre) / sig) ** 2) / \
            (np.sqrt(2 * np.pi) * sig)
    return cont + lines


class SightlineSimulator:
    """Draw SDSS-like quasar sightlines with DLAs and sub-DLAs.

    Parameters
    ----------
    z_qso_range : (float, float)
        Quasar redshifts, uniform (the paper: z > 2.3).
    mean_dla, mean_subdla : float
        Poisson means of the number of DLAs and of sub-DLAs per sightline (the training sets
        of the paper are enriched far above the real incidence, ~0.1 per sightline).
    nhi_distribution : str
        ``"fN"`` or ``"uniform"``, see :func:`sample_log_nhi`.
    snr_median, snr_scatter_dex : float
        The S/N per pixel at the continuum is log-normal with this median and scatter.
    snr_range : (float, float)
        The S/N draws are clipped to this range.
    b_kms : float
        Doppler parameter of the absorbers.
    fwhm_pix : float
        Instrumental FWHM in pixels.
    min_separation : int
        Minimum distance between absorbers, pixels.
    rest_range : (float, float)
        Rest wavelengths (Angstrom) within which absorbers' Ly alpha is placed; the red end is
        kept 5000 km/s from the quasar (proximate absorbers are a different population).
    """

    def __init__(self, z_qso_range=(2.3, 4.5), mean_dla: float = 1.0,
                 mean_subdla: float = 0.5, nhi_distribution: str = "fN",
                 snr_median: float = 6.0, snr_scatter_dex: float = 0.3,
                 snr_range=(1.0, 60.0), b_kms: float = 30.0, fwhm_pix: float = 3.0,
                 min_separation: int = 150, rest_range=(920.0, 1196.0)):
        if not 2.0 <= z_qso_range[0] < z_qso_range[1] <= 6.0:
            raise ValueError(f"z_qso_range must lie within [2, 6], got {z_qso_range}")
        if mean_dla < 0 or mean_subdla < 0:
            raise ValueError("mean_dla and mean_subdla must be >= 0")
        if not 0 < snr_range[0] < snr_range[1]:
            raise ValueError(f"bad snr_range {snr_range}")
        sample_log_nhi(1, np.random.default_rng(0), distribution=nhi_distribution)  # validates
        self.z_qso_range = tuple(float(v) for v in z_qso_range)
        self.mean_dla, self.mean_subdla = float(mean_dla), float(mean_subdla)
        self.nhi_distribution = nhi_distribution
        self.snr_median, self.snr_scatter_dex = float(snr_median), float(snr_scatter_dex)
        self.snr_range = tuple(float(v) for v in snr_range)
        self.b_kms, self.fwhm_pix = float(b_kms), float(fwhm_pix)
        self.min_separation = int(min_separation)
        self.rest_range = tuple(float(v) for v in rest_range)

    def _place(self, n: int, lo: int, hi: int, taken: list[int],
               rng: np.random.Generator) -> list[int]:
        out = []
        for _ in range(n):
            for _attempt in range(50):
                p = int(rng.integers(lo, hi)) if hi > lo else lo
                if all(abs(p - q) >= self.min_separation for q in taken + out):
                    out.append(p)
                    break
        return out

    def draw(self, rng: np.random.Generator, z_qso: float | None = None,
             snr: float | None = None, absorbers=None) -> Sightline:
        """One sightline.

        Parameters
        ----------
        rng : numpy.random.Generator
        z_qso, snr : float, optional
            Fix the quasar redshift or the S/N instead of drawing them.
        absorbers : sequence of (z_abs, log_nhi), optional
            Inject exactly these absorbers instead of drawing them.
        """
        zq = float(rng.uniform(*self.z_qso_range)) if z_qso is None else float(z_qso)
        n_pix = int(np.floor((np.log10(1420.0 * (1 + zq)) - LOGLAM_MIN) / PIXEL_DEX)) + 1
        if n_pix < 500:
            raise ValueError(f"z_qso = {zq} leaves too little spectrum above 3600 A")
        loglam = LOGLAM_MIN + PIXEL_DEX * np.arange(n_pix)
        wave = 10.0 ** loglam
        rest = wave / (1.0 + zq)
        cont = _continuum(rest, rng)
        # forest: Ly alpha up to the quasar, Ly beta below its emission line
        tau = np.where(rest < LYA_WAVE, _forest_tau(tau_eff(wave / LYA_WAVE - 1.0), rng), 0.0)
        lyb = LINES["Lyb"][0]
        z_b = np.maximum(wave / lyb - 1.0, 0.0)
        tau += np.where(rest < lyb, _LYB_OVER_LYA * _forest_tau(tau_eff(z_b), rng), 0.0)
        tau = np.where(rest < 912.0, tau + 1.5 * (912.0 / rest) ** -3, tau)  # Lyman limit
        forest = np.exp(-tau)

        if absorbers is None:
            lo = max(int(np.ceil((np.log10(self.rest_range[0] * (1 + zq)) - LOGLAM_MIN)
                                 / PIXEL_DEX)), 50)
            hi = int((np.log10(self.rest_range[1] * (1 + zq)) - LOGLAM_MIN) / PIXEL_DEX)
            pix_dla = self._place(int(rng.poisson(self.mean_dla)), lo, hi, [], rng)
            pix_sub = self._place(int(rng.poisson(self.mean_subdla)), lo, hi, pix_dla, rng)
            nhi = np.concatenate([
                sample_log_nhi(len(pix_dla), rng, *DLA_RANGE, self.nhi_distribution),
                sample_log_nhi(len(pix_sub), rng, *SUBDLA_RANGE, self.nhi_distribution)])
            pix = np.array(pix_dla + pix_sub, dtype=np.int64)
            # sub-pixel centre: uniform within the pixel
            z_abs = 10.0 ** (LOGLAM_MIN + PIXEL_DEX * (pix + rng.uniform(-0.5, 0.5, pix.size))) \
                / LYA_WAVE - 1.0
        else:
            pairs = np.asarray(absorbers, dtype=np.float64).reshape(-1, 2)
            z_abs, nhi = pairs[:, 0], pairs[:, 1]
            pix = np.rint((np.log10(LYA_WAVE * (1 + z_abs)) - LOGLAM_MIN) / PIXEL_DEX)
            pix = pix.astype(np.int64)
        kind = np.where(nhi >= DLA_RANGE[0], "DLA", "subDLA")
        order = np.argsort(z_abs)
        table = Table({"z_abs": z_abs[order], "log_nhi": nhi[order], "pixel": pix[order],
                       "kind": kind[order].astype("U6")})
        trans = forest * absorber_transmission(loglam, zip(z_abs, nhi, strict=True),
                                               b_kms=self.b_kms, fwhm_pix=self.fwhm_pix)
        model = cont * trans

        s = float(np.clip(10 ** rng.normal(np.log10(self.snr_median), self.snr_scatter_dex),
                          *self.snr_range)) if snr is None else float(snr)
        forest_pix = (rest > 920.0) & (rest < 1200.0)
        c_ref = float(np.median(cont[forest_pix]))
        sigma = (c_ref / s) * np.sqrt(0.25 + 0.75 * np.maximum(model, 0.0) / c_ref)
        flux = model + sigma * rng.standard_normal(n_pix)
        return Sightline(loglam, flux.astype(np.float64), 1.0 / sigma ** 2, cont, trans, zq, s,
                         table)


def simulate_sightlines(n: int, seed: int = 0, *, progress_bar: bool | None = None,
                        **kwargs) -> list[Sightline]:
    """Draw ``n`` independent sightlines with :class:`SightlineSimulator`.

    Parameters
    ----------
    n : int
        Number of sightlines (positive).
    seed : int
        Seeds a :class:`numpy.random.Generator`; the same seed gives identical sightlines.
    progress_bar : bool or None
        Show a progress bar (``None`` follows ``COSMICBOOK_PROGRESS``).
    **kwargs
        Passed to :class:`SightlineSimulator`.

    Returns
    -------
    list of Sightline

    Examples
    --------
    >>> lines = simulate_sightlines(2, seed=1, progress_bar=False)
    >>> len(lines), bool(lines[0].loglam[1] - lines[0].loglam[0] > 0)
    (2, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    sim = SightlineSimulator(**kwargs)
    rng = np.random.default_rng(seed)
    return [sim.draw(rng) for _ in progress(range(n), enabled=progress_bar, desc="sightlines",
                                            unit="sightline")]
