"""DESI-like spectrograph CCD frames with injected cosmic rays, for training and testing masks.

A :class:`SpectroCamera` renders the preprocessed image (electrons, bias-subtracted, rows =
wavelength, traces vertical, as DESI's ``preproc`` writes it) of one spectrograph camera
observing a tile: 500 fibre traces (scaled down with the frame width) in bundles of 25 with gaps
between the bundles, slightly tilted and curved, with a cross-dispersion profile made of a
Gaussian core (sigma 1.0 px at the centre of the CCD growing to ~1.2 px at the corners) and wider
Gaussian wings; per-fibre continua (sky-only, faint galaxy and bright star fibres, some galaxies
with emission lines); sharp sky emission lines in the same rows in every fibre, and optionally
arc lines, all with the same 2-D PSF; Poisson and read noise.

:meth:`SpectroCamera.observe` returns a :class:`SpectroTile`: as in the DESI deepCR study
(D. Green, DESI-6095) the "clean" image is the per-pixel median of several exposures of the same
tile, which removes the cosmics of the individual exposures. :func:`make_training_frame` then adds
Gaussian noise of sigma ``sqrt(1 / median(ivar))`` and cosmic rays drawn from a chapter-1
:class:`~cosmicbook.darks.CosmicLibrary` -- their number Poisson with mean 1.4 x exposure time
(s) per 4k x 4k frame, scaled by the frame area -- and keeps the injected footprints as truth.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table
from scipy import special

from cosmicbook.core.progress import progress as _progress
from cosmicbook.darks.library import CosmicLibrary, InjectedCosmics
from cosmicbook.darks.simulate import FULL_FRAME

__all__ = [
    "DESI_RATE",
    "FULL_FRAME",
    "GRADIENT_AXES",
    "InjectedCosmics",
    "SpectroCamera",
    "SpectroTile",
    "TrainingFrame",
    "default_library",
    "inject_cosmics",
    "make_training_frame",
    "median_variance_factor",
    "psf_gradients",
    "simulate_tile",
]

#: Cosmic rays per second of exposure per 4096 x 4096 frame (DESI-6095: "~1.4 x exposure time").
DESI_RATE: float = 1.4

#: The four axes of the PSF gradients, in order: neighbours along the row ``(y, x +- 1)``,
#: along the column ``(y +- 1, x)``, on the diagonal ``(y +- 1, x +- 1)`` and on the
#: anti-diagonal ``(y +- 1, x -+ 1)``.
GRADIENT_AXES: tuple[str, ...] = ("row", "column", "diagonal", "anti-diagonal")

_SQRT2 = np.sqrt(2.0)
_HALF = 12  # half-width (pixels) of the rendered PSF window, enough for 3 sigma of the wings


def _check_shape(shape) -> tuple[int, int]:
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError as err:
        raise ValueError(f"shape must be (ny, nx), got {shape!r}") from err
    if len(shape) != 2 or min(shape) < 64:
        raise ValueError(f"shape must be (ny, nx) with both >= 64 pixels, got {shape}")
    return shape


def _positive(value, name: str, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a finite {kind} number, got {value!r}")
    return value


def _pixel_profile(offsets: np.ndarray, sigma: np.ndarray, wing_fraction: float,
                   wing_scale: float) -> np.ndarray:
    """Fraction of a unit line (core Gaussian + wing Gaussian) falling in pixels.

    ``offsets`` are pixel-centre minus profile-centre distances, ``(..., W)``; ``sigma`` the core
    sigma broadcastable to ``offsets[..., :1]``. Pixel-integrated exactly (erf differences).
    """
    out = np.zeros(np.broadcast_shapes(np.shape(offsets), np.shape(sigma)), dtype=np.float64)
    for frac, s in ((1.0 - wing_fraction, sigma), (wing_fraction, sigma * wing_scale)):
        if frac <= 0:
            continue
        hi = special.erf((offsets + 0.5) / (_SQRT2 * s))
        lo = special.erf((offsets - 0.5) / (_SQRT2 * s))
        out += 0.5 * frac * (hi - lo)
    return out


@functools.lru_cache(maxsize=32)
def median_variance_factor(n: int) -> float:
    """Variance of the median of ``n`` unit-variance Gaussian draws.

    ``1`` for ``n = 1``, ``1/2`` for ``n = 2``, 0.449 for 3, 0.287 for 5, tending to
    ``pi / (2 n)``. Computed once per ``n`` from 400 000 seeded draws (relative error ~0.3 %).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n <= 2:
        return 1.0 / n
    draws = np.random.default_rng(12345).standard_normal((400_000, n))
    return float(np.var(np.median(draws, axis=1)))


def psf_gradients(sigma_x: float, sigma_y: float, wing_fraction: float, wing_scale: float,
                  phase_average: bool = False) -> np.ndarray:
    """The four PSF gradients of the separable core+wing PSF.

    The gradient along an axis is the PSF's pixel value one pixel from the peak relative to the
    peak pixel (the mean of the two opposite neighbours), in the order of
    :data:`GRADIENT_AXES`. With ``phase_average`` the ratio is averaged over PSF centres spread
    uniformly within the peak pixel (11 x 11 sub-pixel positions); otherwise the PSF is centred.

    Returns
    -------
    numpy.ndarray
        ``(4,)`` gradients (row, column, diagonal, anti-diagonal).
    """
    phases = np.linspace(-0.5, 0.5, 11)[:-1] + 0.05 if phase_average else np.zeros(1)
    pix = np.arange(-3, 4, dtype=float)
    out = np.zeros(4)
    for py in phases:
        for px in phases:
            wy = _pixel_profile(pix - py, np.asarray(sigma_y), wing_fraction, wing_scale)
            wx = _pixel_profile(pix - px, np.asarray(sigma_x), wing_fraction, wing_scale)
            psf = np.outer(wy, wx)
            c = 3
            peak = psf[c, c]
            out += np.array([(psf[c, c - 1] + psf[c, c + 1]) / 2,
                             (psf[c - 1, c] + psf[c + 1, c]) / 2,
                             (psf[c - 1, c - 1] + psf[c + 1, c + 1]) / 2,
                             (psf[c - 1, c + 1] + psf[c + 1, c - 1]) / 2]) / peak
    return out / phases.size**2


@dataclass(eq=False, repr=False)
class SpectroTile:
    """One simulated tile seen by one spectrograph camera, in electrons.

    Attributes
    ----------
    clean : numpy.ndarray
        ``(ny, nx)`` float32 per-pixel median of ``n_exposures`` noisy exposures, e-.
    ivar : numpy.ndarray
        ``(ny, nx)`` float32 inverse variance of ``clean``, 1/e-^2: the single-exposure variance
        ``read_noise^2 + max(model, 0)`` times :func:`median_variance_factor` ``(n_exposures)``.
    exposure_ivar : numpy.ndarray
        ``(ny, nx)`` float32 inverse variance of ONE exposure, ``1 / (read_noise^2 +
        max(model, 0))``, as DESI's preprocessing writes it; its median sets the noise added to
        training frames.
    model : numpy.ndarray
        ``(ny, nx)`` float32 noiseless image, e-.
    psf_gradients : numpy.ndarray
        ``(4,)`` gradients of the simulated PSF at the centre of the CCD, centred on a pixel
        (row, column, diagonal, anti-diagonal; :data:`GRADIENT_AXES`).
    psf_gradients_mean : numpy.ndarray
        ``(4,)`` the same averaged over sub-pixel PSF positions.
    trace_x : numpy.ndarray
        ``(n_fibres, ny)`` float32 column of each trace's centre in each row.
    psf_sigma : numpy.ndarray
        ``(n_fibres, ny)`` float32 core sigma of the PSF along each trace, pixels.
    fibres : astropy.table.Table
        One row per fibre: ``fibre``, ``bundle``, ``kind`` (``sky``, ``galaxy``, ``star``),
        ``continuum`` (mean object continuum, e- per row), ``throughput``.
    lines : astropy.table.Table
        One row per sky or arc line: ``row`` (centre, pixels), ``flux`` (e- per fibre, at unit
        throughput), ``kind`` (``sky`` or ``arc``).
    read_noise : float
        e- per pixel per exposure.
    exptime : float
        Exposure time of each exposure, s.
    n_exposures : int
        Exposures in the median.
    meta : dict
        Camera parameters and the seed.
    """

    clean: np.ndarray
    ivar: np.ndarray
    exposure_ivar: np.ndarray
    model: np.ndarray
    psf_gradients: np.ndarray
    psf_gradients_mean: np.ndarray
    trace_x: np.ndarray
    psf_sigma: np.ndarray
    fibres: Table
    lines: Table
    read_noise: float
    exptime: float
    n_exposures: int
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return tuple(self.clean.shape)

    @property
    def n_fibres(self) -> int:
        """Number of fibre traces."""
        return int(self.trace_x.shape[0])

    @property
    def median_ivar(self) -> float:
        """Median single-exposure inverse variance over the frame, 1/e-^2."""
        return float(np.median(self.exposure_ivar))

    @property
    def noise_sigma(self) -> float:
        """``sqrt(1 / median(exposure_ivar))``: the training-noise sigma of DESI-6095, e-."""
        return float(np.sqrt(1.0 / self.median_ivar))

    def trace_mask(self, halfwidth: float = 2.5) -> np.ndarray:
        """``(ny, nx)`` bool: pixels within ``halfwidth`` columns of a trace centre."""
        ny, nx = self.shape
        out = np.zeros((ny, nx), dtype=bool)
        cols = np.arange(nx)
        for f in range(self.n_fibres):
            lo = np.ceil(self.trace_x[f] - halfwidth).astype(int)
            hi = np.floor(self.trace_x[f] + halfwidth).astype(int)
            out |= (cols[None, :] >= lo[:, None]) & (cols[None, :] <= hi[:, None])
        return out

    def line_rows(self, halfwidth: float = 2.5, min_flux: float = 0.0) -> np.ndarray:
        """``(ny,)`` bool: rows within ``halfwidth`` of a sky/arc line brighter than
        ``min_flux`` (e- per fibre)."""
        ny = self.shape[0]
        rows = np.arange(ny)
        out = np.zeros(ny, dtype=bool)
        for r, f in zip(self.lines["row"], self.lines["flux"], strict=True):
            if f >= min_flux:
                out |= np.abs(rows - r) <= halfwidth
        return out

    def __repr__(self) -> str:
        ny, nx = self.shape
        return (f"SpectroTile({ny}x{nx}, {self.n_fibres} fibres, {len(self.lines)} lines, "
                f"{self.n_exposures} x {self.exptime:g} s, median ivar {self.median_ivar:.3g})")


class SpectroCamera:
    """A DESI-like spectrograph camera: trace geometry, PSF, sky and noise.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` pixels (rows = wavelength); default a full 4096 x 4096 CCD.
    band : {"b", "r", "z"}
        Camera band; sets the density of sky lines (few in b, many in z). Default ``"r"``.
    read_noise : float
        e- per pixel (default 3).
    n_bundles : int, optional
        Fibre bundles of ``bundle_size`` fibres; default ``nx // bundle_period`` (20 at
        4096 px: 500 fibres, 5 at 1024 px).
    bundle_size : int
        Fibres per bundle (default 25).
    fibre_pitch : float
        Distance between neighbouring traces within a bundle, pixels (default 7.4).
    bundle_period : float
        Distance between the first traces of neighbouring bundles, pixels (default 200; the gap
        between bundles is then ``bundle_period - (bundle_size - 1) * fibre_pitch`` = 22.4 px,
        three pitches).
    psf_sigma : (float, float)
        Core sigma of the PSF at the centre and in the corners of the CCD, pixels (default
        1.45, 1.6: with the default wings this reproduces DESI's average r-band PSF gradients,
        0.82 / 0.85 / 0.62 / 0.66 along rows / columns / diagonals); it grows quadratically
        with the distance from the centre, so it varies slowly along each trace. It applies
        across the traces (cross-dispersion, along the rows of the image).
    psf_sigma_wave : (float, float), optional
        The same along the wavelength direction (the columns: the profile of sky, arc and
        emission lines); default ``psf_sigma`` (a round PSF).
    wing_fraction, wing_scale : float
        Fraction of the light in the Gaussian wings (default 0.1) and their sigma relative to
        the core (default 2.5).
    tilt, curvature : float
        Trace geometry at 4096 rows (scaled with ``ny``): shift of the traces between the
        first and last rows, pixels (default 3), and their bow, which grows towards the edges
        of the CCD (default 4 px at the outermost fibre).
    sky_continuum : float
        Sky continuum, e- per row per fibre per second (default 0.05: 45 e- per row in 900 s).
    n_sky_lines : int, optional
        Number of sky emission lines on a 4096-row frame (scaled with ``ny``); default by band
        (b 15, r 60, z 110). They crowd towards the red (high rows).
    sky_line_flux : (float, float)
        Log-uniform range of sky-line fluxes, e- per fibre per second (default 0.02-20).
    sky_line_width : float
        Intrinsic Gaussian sigma of the sky lines along the wavelength direction, pixels, added
        in quadrature to the PSF's (default 0: unresolved lines).
    n_arc_lines : int
        Arc lines on a 4096-row frame (default 0; arcs are calibration exposures).
    arc_line_flux : (float, float)
        Log-uniform range of arc-line fluxes, e- per fibre per second (default 1-50).
    fractions : dict, optional
        Fibre kinds: ``sky`` (no object), ``galaxy`` (faint continuum, ~30 % with emission
        lines) and ``star`` (bright continuum with absorption lines); default 0.1 / 0.8 / 0.1.
    galaxy_flux : (float, float)
        Median and log-sigma of the galaxy continua, e- per row per second (default 0.03, 1.0).
    star_flux : (float, float)
        Log-uniform range of star continua, e- per row per second (default 0.3-8).

    Examples
    --------
    >>> camera = SpectroCamera(shape=(512, 512))
    >>> tile = camera.observe(exptime=900.0, n_exposures=3, seed=1, progress=False)
    >>> tile.n_fibres
    50
    """

    def __init__(self, shape: tuple[int, int] = FULL_FRAME, *, band: str = "r",
                 read_noise: float = 3.0, n_bundles: int | None = None, bundle_size: int = 25,
                 fibre_pitch: float = 7.4, bundle_period: float = 200.0,
                 psf_sigma: tuple[float, float] = (1.45, 1.6),
                 psf_sigma_wave: tuple[float, float] | None = None, wing_fraction: float = 0.1,
                 wing_scale: float = 2.5, tilt: float = 3.0, curvature: float = 4.0,
                 sky_continuum: float = 0.05, n_sky_lines: int | None = None,
                 sky_line_flux: tuple[float, float] = (0.02, 20.0), sky_line_width: float = 0.0,
                 n_arc_lines: int = 0,
                 arc_line_flux: tuple[float, float] = (1.0, 50.0),
                 fractions: dict | None = None,
                 galaxy_flux: tuple[float, float] = (0.03, 1.0),
                 star_flux: tuple[float, float] = (0.3, 8.0)):
        self.shape = _check_shape(shape)
        ny, nx = self.shape
        if band not in ("b", "r", "z"):
            raise ValueError(f"band must be 'b', 'r' or 'z', got {band!r}")
        self.band = band
        self.read_noise = _positive(read_noise, "read_noise", allow_zero=True)
        self.fibre_pitch = _positive(fibre_pitch, "fibre_pitch")
        self.bundle_period = _positive(bundle_period, "bundle_period")
        if int(bundle_size) != bundle_size or bundle_size < 1:
            raise ValueError(f"bundle_size must be a positive integer, got {bundle_size!r}")
        self.bundle_size = int(bundle_size)
        if n_bundles is None:
            n_bundles = max(int(nx // self.bundle_period), 1)
        if int(n_bundles) != n_bundles or n_bundles < 1:
            raise ValueError(f"n_bundles must be a positive integer, got {n_bundles!r}")
        self.n_bundles = int(n_bundles)
        width = (self.n_bundles - 1) * self.bundle_period + (self.bundle_size - 1) * fibre_pitch
        if width > nx - 8:
            raise ValueError(f"{self.n_bundles} bundles of {self.bundle_size} fibres span "
                             f"{width:.0f} px and do not fit in {nx} columns")
        if (self.bundle_size - 1) * fibre_pitch >= self.bundle_period and self.n_bundles > 1:
            raise ValueError("bundle_period must exceed the width of a bundle")
        s0, s1 = (float(s) for s in psf_sigma)
        if not (0 < s0 and 0 < s1):
            raise ValueError(f"psf_sigma must be two positive numbers, got {psf_sigma!r}")
        self.psf_sigma = (s0, s1)
        w0, w1 = (s0, s1) if psf_sigma_wave is None else (float(s) for s in psf_sigma_wave)
        if not (0 < w0 and 0 < w1):
            raise ValueError(f"psf_sigma_wave must be two positive numbers, got "
                             f"{psf_sigma_wave!r}")
        self.psf_sigma_wave = (w0, w1)
        self.sky_line_width = _positive(sky_line_width, "sky_line_width", allow_zero=True)
        if not 0 <= wing_fraction < 1:
            raise ValueError(f"wing_fraction must be in [0, 1), got {wing_fraction!r}")
        self.wing_fraction = float(wing_fraction)
        self.wing_scale = _positive(wing_scale, "wing_scale")
        # rendering window: at least 3 sigma of the widest wings (12 px for DESI's PSF)
        widest = max(s0, s1, w0, w1) * max(self.wing_scale, 1.0)
        widest = np.hypot(widest, self.sky_line_width)
        self.half_window = max(_HALF, int(np.ceil(3.0 * widest)))
        self.tilt = float(tilt)
        self.curvature = float(curvature)
        self.sky_continuum = _positive(sky_continuum, "sky_continuum", allow_zero=True)
        if n_sky_lines is None:
            n_sky_lines = {"b": 15, "r": 60, "z": 110}[band]
        self.n_sky_lines = int(n_sky_lines)
        self.n_arc_lines = int(n_arc_lines)
        if self.n_sky_lines < 0 or self.n_arc_lines < 0:
            raise ValueError("n_sky_lines and n_arc_lines must be >= 0")
        for name, rng in (("sky_line_flux", sky_line_flux), ("arc_line_flux", arc_line_flux),
                          ("star_flux", star_flux)):
            if not 0 < rng[0] <= rng[1]:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {rng}")
        self.sky_line_flux = tuple(float(v) for v in sky_line_flux)
        self.arc_line_flux = tuple(float(v) for v in arc_line_flux)
        self.star_flux = tuple(float(v) for v in star_flux)
        self.galaxy_flux = (_positive(galaxy_flux[0], "galaxy_flux median"),
                            _positive(galaxy_flux[1], "galaxy_flux sigma", allow_zero=True))
        fractions = dict({"sky": 0.1, "galaxy": 0.8, "star": 0.1} if fractions is None
                         else fractions)
        unknown = set(fractions) - {"sky", "galaxy", "star"}
        if unknown:
            raise ValueError(f"unknown fibre kinds {sorted(unknown)}; expected sky, galaxy, "
                             f"star")
        probs = np.array([float(fractions.get(k, 0.0)) for k in ("sky", "galaxy", "star")])
        if np.any(probs < 0) or probs.sum() <= 0:
            raise ValueError(f"fractions must be non-negative and not all 0, got {fractions}")
        self.fractions = probs / probs.sum()

    # ------------------------------------------------------------------ geometry
    @property
    def n_fibres(self) -> int:
        """Number of fibre traces."""
        return self.n_bundles * self.bundle_size

    def fibre_positions(self) -> np.ndarray:
        """``(n_fibres,)`` column of each trace in the central row, pixels."""
        nx = self.shape[1]
        within = np.arange(self.bundle_size) * self.fibre_pitch
        starts = np.arange(self.n_bundles) * self.bundle_period
        x = (starts[:, None] + within[None, :]).ravel()
        return x - x.mean() + (nx - 1) / 2.0

    def traces(self) -> tuple[np.ndarray, np.ndarray]:
        """Trace centres and PSF core sigma along every trace.

        Returns
        -------
        trace_x, sigma : numpy.ndarray
            ``(n_fibres, ny)`` column of the trace centre and core sigma in each row, pixels.
        """
        ny, nx = self.shape
        scale = ny / FULL_FRAME[0]
        x0 = self.fibre_positions()
        u = (np.arange(ny) - (ny - 1) / 2.0) / ((ny - 1) / 2.0)       # -1 .. 1 along traces
        v = (x0 - (nx - 1) / 2.0) / ((nx - 1) / 2.0)                   # -1 .. 1 across
        trace_x = (x0[:, None] + 0.5 * self.tilt * scale * u[None, :]
                   + self.curvature * scale * v[:, None] * (u[None, :] ** 2 - 1.0 / 3.0))
        sigma = self.psf_sigma[0] + (self.psf_sigma[1] - self.psf_sigma[0]) * self._r2(u, v)
        return trace_x, sigma

    @staticmethod
    def _r2(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.clip((u[None, :] ** 2 + v[:, None] ** 2) / 2.0, 0.0, 1.0)

    def wave_sigma(self) -> np.ndarray:
        """``(n_fibres, ny)`` core sigma of the PSF along the wavelength direction, pixels."""
        ny, nx = self.shape
        u = (np.arange(ny) - (ny - 1) / 2.0) / ((ny - 1) / 2.0)
        v = (self.fibre_positions() - (nx - 1) / 2.0) / ((nx - 1) / 2.0)
        w0, w1 = self.psf_sigma_wave
        return w0 + (w1 - w0) * self._r2(u, v)

    def psf_gradients(self, phase_average: bool = False) -> np.ndarray:
        """``(4,)`` PSF gradients at the centre of the CCD (see :func:`psf_gradients`)."""
        return psf_gradients(self.psf_sigma[0], self.psf_sigma_wave[0], self.wing_fraction,
                             self.wing_scale, phase_average)

    # ------------------------------------------------------------------ spectra
    def _lines(self, rng: np.random.Generator, exptime: float) -> Table:
        ny = self.shape[0]
        scale = ny / FULL_FRAME[0]
        rows, fluxes, kinds = [], [], []
        n_sky = int(rng.poisson(self.n_sky_lines * scale))
        # sky lines crowd towards the red end: density ~ 1 + 3 t^2, t = row / ny
        t = rng.random(4 * n_sky + 8)
        keep = rng.random(t.size) * 4.0 < 1.0 + 3.0 * t**2
        t = t[keep][:n_sky]
        lo, hi = np.log(self.sky_line_flux)
        rows.append(4.0 + t * (ny - 9.0))
        fluxes.append(np.exp(rng.uniform(lo, hi, t.size)) * exptime)
        kinds += ["sky"] * t.size
        n_arc = int(rng.poisson(self.n_arc_lines * scale)) if self.n_arc_lines else 0
        lo, hi = np.log(self.arc_line_flux)
        rows.append(rng.uniform(4.0, ny - 5.0, n_arc))
        fluxes.append(np.exp(rng.uniform(lo, hi, n_arc)) * exptime)
        kinds += ["arc"] * n_arc
        return Table({"row": np.concatenate(rows), "flux": np.concatenate(fluxes),
                      "kind": np.array(kinds, dtype="U3")})

    def _spectra(self, rng: np.random.Generator, exptime: float, sigma: np.ndarray,
                 lines: Table) -> tuple[np.ndarray, Table]:
        """``(n_fibres, ny)`` e- per row per fibre (total over the cross-section) and the fibre
        table."""
        ny = self.shape[0]
        nf = self.n_fibres
        y = np.arange(ny, dtype=float)
        t = y / (ny - 1)
        kind = rng.choice(3, size=nf, p=self.fractions)
        throughput = np.clip(rng.normal(1.0, 0.05, nf), 0.8, 1.2)
        instrument = 0.55 + 0.45 * np.sin(np.pi * (0.1 + 0.8 * t))     # smooth response
        level = np.zeros(nf)
        gal = kind == 1
        star = kind == 2
        level[gal] = self.galaxy_flux[0] * np.exp(rng.normal(0, self.galaxy_flux[1], gal.sum()))
        lo, hi = np.log(self.star_flux)
        level[star] = np.exp(rng.uniform(lo, hi, star.sum()))
        slope = rng.uniform(-1.0, 1.0, nf)
        shape = np.exp(slope[:, None] * (t[None, :] - 0.5))
        spectra = level[:, None] * shape * instrument[None, :] * exptime
        # absorption lines in stars: a few broad dips (sigma 3-8 rows, depth 10-50 %)
        for f in np.flatnonzero(star):
            for _ in range(rng.integers(3, 9)):
                c, w, d = rng.uniform(0, ny), rng.uniform(3, 8), rng.uniform(0.1, 0.5)
                spectra[f] *= 1.0 - d * np.exp(-0.5 * ((y - c) / w) ** 2)
        # emission lines in 30 % of the galaxies: 1-3 narrow lines at rows of their own
        emitters = np.flatnonzero(gal & (rng.random(nf) < 0.3))
        extra = []
        for f in emitters:
            for _ in range(rng.integers(1, 4)):
                extra.append((f, rng.uniform(4, ny - 5),
                              np.exp(rng.uniform(np.log(0.05), np.log(3.0))) * exptime))
        spectra += self.sky_continuum * exptime * instrument[None, :]
        spectra *= throughput[:, None]
        # sharp lines with the PSF profile along the columns (pixel-integrated, per fibre
        # sigma along the wavelength direction; sky lines with their intrinsic width)
        offs = np.arange(-self.half_window, self.half_window + 1)
        wave = sigma if self.psf_sigma_wave == self.psf_sigma else self.wave_sigma()
        for row, flux, line_kind in zip(lines["row"], lines["flux"], lines["kind"],
                                        strict=True):
            r0 = int(np.floor(row + 0.5))
            rr = r0 + offs
            ok = (rr >= 0) & (rr < ny)
            s = wave[:, min(max(r0, 0), ny - 1)][:, None]
            if line_kind == "sky" and self.sky_line_width > 0:
                s = np.hypot(s, self.sky_line_width)
            w = _pixel_profile((rr - row)[None, :], s, self.wing_fraction, self.wing_scale)
            spectra[:, rr[ok]] += (flux * throughput)[:, None] * w[:, ok]
        for f, row, flux in extra:
            r0 = int(np.floor(row + 0.5))
            rr = r0 + offs
            ok = (rr >= 0) & (rr < ny)
            w = _pixel_profile(rr - row, wave[f, min(max(r0, 0), ny - 1)], self.wing_fraction,
                               self.wing_scale)
            spectra[f, rr[ok]] += flux * throughput[f] * w[ok]
        fibres = Table({
            "fibre": np.arange(nf, dtype=np.int32),
            "bundle": (np.arange(nf) // self.bundle_size).astype(np.int32),
            "kind": np.array(["sky", "galaxy", "star"])[kind],
            "continuum": level * exptime * throughput,
            "throughput": throughput,
            "n_emission": np.bincount([e[0] for e in extra], minlength=nf).astype(np.int32),
        })
        return spectra, fibres

    def render(self, spectra: np.ndarray, trace_x: np.ndarray, sigma: np.ndarray,
               chunk: int = 25, progress: bool | None = None) -> np.ndarray:
        """Spread per-row fibre fluxes over the columns with the cross-dispersion profile.

        Parameters
        ----------
        spectra, trace_x, sigma : numpy.ndarray
            ``(n_fibres, ny)`` flux per row (e-), trace centre and core sigma (pixels).
        chunk : int
            Fibres rendered at once (memory ~ ``chunk x ny x 19 x 24`` bytes).

        Returns
        -------
        numpy.ndarray
            ``(ny, nx)`` float64 noiseless image, e-.
        """
        ny, nx = self.shape
        nf = spectra.shape[0]
        image = np.zeros(ny * nx)
        offs = np.arange(-self.half_window, self.half_window + 1)
        rows = np.arange(ny)
        for f0 in _progress(range(0, nf, chunk), enabled=progress, desc="traces",
                            unit="chunk", leave=False):
            sl = slice(f0, min(f0 + chunk, nf))
            cx = trace_x[sl]
            col = np.floor(cx + 0.5).astype(np.int64)[..., None] + offs     # (c, ny, W)
            w = _pixel_profile(col - cx[..., None], sigma[sl][..., None], self.wing_fraction,
                               self.wing_scale)
            w *= spectra[sl][..., None]
            ok = (col >= 0) & (col < nx)
            flat = (rows[None, :, None] * nx + col)[ok]
            image += np.bincount(flat, weights=w[ok], minlength=ny * nx)
        return image.reshape(ny, nx)

    # ------------------------------------------------------------------ exposures
    def observe(self, exptime: float = 900.0, n_exposures: int = 5,
                seed: int | np.random.Generator | None = None,
                progress: bool | None = None) -> SpectroTile:
        """Observe one tile ``n_exposures`` times and take the per-pixel median.

        Parameters
        ----------
        exptime : float
            Exposure time of each exposure, s (default 900, a DESI dark-time exposure).
        n_exposures : int
            Exposures of the same tile in the median (default 5).
        seed : None, int or numpy.random.Generator
            Randomness of the tile (fibre contents, sky lines) and of the noise.
        progress : bool or None
            Show a progress bar over the exposures.

        Returns
        -------
        SpectroTile
        """
        exptime = _positive(exptime, "exptime")
        if int(n_exposures) != n_exposures or n_exposures < 1:
            raise ValueError(f"n_exposures must be a positive integer, got {n_exposures!r}")
        n_exposures = int(n_exposures)
        rng = np.random.default_rng(seed)
        scene_rng, noise_rng = rng.spawn(2)
        trace_x, sigma = self.traces()
        lines = self._lines(scene_rng, exptime)
        spectra, fibres = self._spectra(scene_rng, exptime, sigma, lines)
        model = self.render(spectra, trace_x, sigma, progress=progress)
        positive = np.maximum(model, 0.0)
        stack = np.empty((n_exposures,) + self.shape, dtype=np.float32)
        for i in _progress(range(n_exposures), enabled=progress, desc="exposures",
                           unit="exp", leave=False):
            stack[i] = noise_rng.poisson(positive)
            stack[i] += noise_rng.standard_normal(self.shape, dtype=np.float32) * np.float32(
                self.read_noise)
        clean = np.median(stack, axis=0) if n_exposures > 1 else stack[0]
        var1 = self.read_noise**2 + positive
        exposure_ivar = (1.0 / var1).astype(np.float32)
        ivar = (1.0 / (var1 * median_variance_factor(n_exposures))).astype(np.float32)
        meta = {"band": self.band, "read_noise": self.read_noise, "psf_sigma": self.psf_sigma,
                "psf_sigma_wave": self.psf_sigma_wave, "sky_line_width": self.sky_line_width,
                "wing_fraction": self.wing_fraction, "wing_scale": self.wing_scale,
                "fibre_pitch": self.fibre_pitch, "bundle_period": self.bundle_period,
                "bundle_size": self.bundle_size, "n_bundles": self.n_bundles,
                "tilt": self.tilt, "curvature": self.curvature,
                "seed": seed if isinstance(seed, int | None) else "generator"}
        return SpectroTile(clean=clean.astype(np.float32), ivar=ivar,
                           exposure_ivar=exposure_ivar, model=model.astype(np.float32),
                           psf_gradients=self.psf_gradients(),
                           psf_gradients_mean=self.psf_gradients(phase_average=True),
                           trace_x=trace_x.astype(np.float32),
                           psf_sigma=sigma.astype(np.float32), fibres=fibres, lines=lines,
                           read_noise=self.read_noise, exptime=exptime,
                           n_exposures=n_exposures, meta=meta)

    def __repr__(self) -> str:
        ny, nx = self.shape
        return (f"SpectroCamera({ny}x{nx}, band {self.band!r}, {self.n_fibres} fibres in "
                f"{self.n_bundles} bundles, read noise {self.read_noise:g} e-)")


def simulate_tile(shape: tuple[int, int] = FULL_FRAME, n_exposures: int = 5,
                  exptime: float = 900.0, seed: int | np.random.Generator | None = None,
                  progress: bool | None = None, **camera_kwargs) -> SpectroTile:
    """Simulate one tile: :class:`SpectroCamera` ``(shape, **camera_kwargs)``, then
    :meth:`SpectroCamera.observe`.

    Examples
    --------
    >>> tile = simulate_tile((512, 512), n_exposures=3, seed=0, progress=False)
    >>> tile.clean.shape, tile.clean.dtype
    ((512, 512), dtype('float32'))
    """
    camera = SpectroCamera(shape, **camera_kwargs)
    return camera.observe(exptime=exptime, n_exposures=n_exposures, seed=seed,
                          progress=progress)


# ---------------------------------------------------------------------- cosmic injection
def inject_cosmics(library: CosmicLibrary, image: np.ndarray, n: int | None = None,
                   rate: float | None = None, exptime: float | None = None,
                   seed: int | np.random.Generator | None = None, rotate: bool = True,
                   gain: float | None = None) -> InjectedCosmics:
    """Paint cosmics of ``library`` into ``image`` and keep their truth.

    The same as :meth:`cosmicbook.darks.CosmicLibrary.inject_with_truth` (same arguments,
    same random draws as :meth:`~cosmicbook.darks.CosmicLibrary.inject`).

    Returns
    -------
    InjectedCosmics
    """
    return library.inject_with_truth(image, n=n, rate=rate, exptime=exptime, seed=seed,
                                     rotate=rotate, gain=gain)


@dataclass(eq=False, repr=False)
class TrainingFrame:
    """One training/test frame: clean tile + noise + injected cosmics, in electrons.

    Unpacks as ``image, mask, ivar = frame``.

    Attributes
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` float32, e-.
    mask : numpy.ndarray
        ``(ny, nx)`` bool truth: the injected footprints.
    ivar : numpy.ndarray
        ``(ny, nx)`` float32 inverse variance, 1/e-^2: ``1 / (1/tile.ivar + noise_sigma^2 +
        max(cosmic charge, 0))`` -- the frame's noise, with the cosmics' shot noise counted as
        a preprocessing that estimates the variance from the image would.
    labels : numpy.ndarray
        ``(ny, nx)`` int32 cosmic ids (see :class:`InjectedCosmics`).
    signal : numpy.ndarray
        ``(ny, nx)`` float32 injected cosmic-ray charge, e-.
    cosmics : astropy.table.Table
        Per-cosmic truth (``id``, ``x``, ``y``, ``peak`` e-, ``total`` e-, ``npix``...).
    noise_sigma : float
        Sigma of the added Gaussian noise, e-.
    exptime : float
        Exposure time that set the number of cosmics, s.
    gain : float
        e-/ADU used to convert the library's stamps.
    instrument : dict or None
        The drawn instrument of a randomised frame
        (:func:`~cosmicbook.deepcr.randomise.make_randomised_frames`), else None.
    """

    image: np.ndarray
    mask: np.ndarray
    ivar: np.ndarray
    labels: np.ndarray
    signal: np.ndarray
    cosmics: Table
    noise_sigma: float
    exptime: float
    gain: float
    instrument: dict | None = None

    def __iter__(self):
        return iter((self.image, self.mask, self.ivar))

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return tuple(self.image.shape)

    def __repr__(self) -> str:
        ny, nx = self.shape
        return (f"TrainingFrame({ny}x{nx}, {len(self.cosmics)} cosmics, "
                f"{self.mask.mean():.2e} of the pixels flagged, noise {self.noise_sigma:.2f} e-)")


def make_training_frame(tile: SpectroTile, library: CosmicLibrary,
                        exptime: float | None = None,
                        seed: int | np.random.Generator | None = None,
                        gain: float | None = None, rate: float = DESI_RATE,
                        noise_sigma: float | None = None, n: int | None = None,
                        rotate: bool = True) -> TrainingFrame:
    """Add Gaussian noise and library cosmics to a clean tile.

    Parameters
    ----------
    tile : SpectroTile
        The clean image (:func:`simulate_tile`).
    library : CosmicLibrary
        Cosmic-ray stamps in ADU (chapter 1).
    exptime : float, optional
        Exposure time setting the number of cosmics, ``n ~ Poisson(rate x exptime x area /
        4096^2)``; default ``tile.exptime``.
    seed : None, int or numpy.random.Generator
        Randomness of the noise and the cosmics.
    gain : float, optional
        e-/ADU converting the stamps to electrons; default the library's own gain (a
        ValueError when the library does not know it).
    rate : float
        Cosmics per second per 4k x 4k frame (default :data:`DESI_RATE`, 1.4).
    noise_sigma : float, optional
        Sigma of the added noise, e-; default ``tile.noise_sigma`` = ``sqrt(1 /
        median(exposure ivar))`` as in DESI-6095. 0 adds none.
    n : int, optional
        Inject exactly ``n`` cosmics instead of drawing the number from ``exptime``.
    rotate : bool
        Random 90-degree rotations and flips of the stamps (default True).

    Returns
    -------
    TrainingFrame
        Unpacks as ``image, mask, ivar``; per-cosmic truth in ``.cosmics``.
    """
    if not isinstance(tile, SpectroTile):
        raise ValueError(f"tile must be a SpectroTile, got {type(tile).__name__}")
    if not isinstance(library, CosmicLibrary):
        raise ValueError(f"library must be a CosmicLibrary, got {type(library).__name__}")
    if gain is None:
        gain = library.gain
        if gain is None:
            raise ValueError("the library does not record its gain (e-/ADU); pass gain= "
                             "(the chapter-1 DarkCamera default is 1.5)")
    gain = _positive(gain, "gain")
    exptime = tile.exptime if exptime is None else _positive(exptime, "exptime",
                                                             allow_zero=True)
    sigma = tile.noise_sigma if noise_sigma is None else _positive(noise_sigma, "noise_sigma",
                                                                   allow_zero=True)
    rng = np.random.default_rng(seed)
    noise_rng, cosmic_rng = rng.spawn(2)
    image = tile.clean.copy()
    if sigma > 0:
        image += noise_rng.standard_normal(tile.shape, dtype=np.float32) * np.float32(sigma)
    if n is None:
        injected = inject_cosmics(library, image, rate=rate, exptime=exptime, seed=cosmic_rng,
                                  rotate=rotate, gain=gain)
    else:
        injected = inject_cosmics(library, image, n=n, seed=cosmic_rng, rotate=rotate,
                                  gain=gain)
    var = 1.0 / tile.ivar + np.float32(sigma**2) + np.maximum(injected.signal, 0.0)
    ivar = (1.0 / var).astype(np.float32)
    table = injected.table
    table["peak"].unit = "electron"
    table["total"].unit = "electron"
    return TrainingFrame(image=injected.image.astype(np.float32), mask=injected.mask,
                         ivar=ivar, labels=injected.labels, signal=injected.signal,
                         cosmics=table,
                         noise_sigma=float(sigma), exptime=float(exptime), gain=float(gain))


# ---------------------------------------------------------------------- library
def default_library(shape: tuple[int, int] = FULL_FRAME, n_darks: int = 6, seed: int = 2021,
                    path: str | os.PathLike | None = None, exptime: float = 300.0,
                    progress: bool | None = None, **camera_kwargs) -> CosmicLibrary:
    """A cosmic-ray library made with the chapter-1 pipeline, or read from a FITS file.

    Without ``path``: ``n_darks`` darks of ``exptime`` seconds from a
    :class:`~cosmicbook.darks.DarkCamera` ``(shape, detector_seed=seed)``, a hot-pixel mask
    learned from them (:func:`~cosmicbook.darks.hot_pixel_mask`), the cosmics of each dark
    (:func:`~cosmicbook.darks.extract_cosmics`, 400/250 ADU, grown to 3 sigma) cut into one
    :class:`~cosmicbook.darks.CosmicLibrary` that knows the camera's gain and exposure times.
    A 4k dark gives ~420 cosmics (~40 s for six darks on one core); a 1k dark ~26.

    Parameters
    ----------
    shape : (int, int)
        Dark frame shape (default 4096 x 4096).
    n_darks : int
        Number of darks (>= 3, for the hot-pixel mask).
    seed : int
        Seeds the camera's defects and the darks.
    path : str or path-like, optional
        Read this library file (:meth:`CosmicLibrary.read`) instead of simulating.
    exptime : float
        Dark exposure time, s (default 300, DESI's calibration darks).
    progress : bool or None
        Progress bar over the darks.
    **camera_kwargs
        Passed to :class:`~cosmicbook.darks.DarkCamera`.

    Returns
    -------
    CosmicLibrary
    """
    if path is not None:
        return CosmicLibrary.read(path)
    from cosmicbook.darks import DarkCamera, extract_cosmics, hot_pixel_mask

    if int(n_darks) != n_darks or n_darks < 3:
        raise ValueError(f"n_darks must be an integer >= 3 (the hot-pixel mask needs a stack), "
                         f"got {n_darks!r}")
    camera = DarkCamera(tuple(shape), detector_seed=seed, **camera_kwargs)
    darks = camera.expose_many([float(exptime)] * int(n_darks), seed=seed, progress=progress)
    hot = hot_pixel_mask([d.data for d in darks], progress=progress)
    libraries = []
    for dark in _progress(darks, enabled=progress, desc="extract", unit="dark"):
        labels, table = extract_cosmics(dark.data, mask=hot)
        libraries.append(CosmicLibrary.from_extraction(dark, labels, table, mask=hot))
    library = CosmicLibrary.concatenate(libraries)
    library.meta.update({"BUNIT": "adu", "ORIGIN": "cosmicbook.deepcr.default_library",
                         "SEED": int(seed)})
    return library
