"""Simulated DESI-like calibration darks with cosmic-ray truth.

A :class:`DarkCamera` is one fixed detector: a 4k x 4k (by default) fully depleted,
back-illuminated LBNL CCD like those of the DESI spectrographs (15 um pixels, 250 um depletion
depth), read out through four amplifiers (one per quadrant). Its defects -- hot pixels and hot
column segments -- and its per-amplifier read noise and residual bias are drawn once from
``detector_seed``, as they are fixed on a real CCD, so a hot-pixel mask can be learned from a
stack of its darks. :meth:`DarkCamera.expose` then takes one dark of a given exposure time and
returns a :class:`SimulatedDark` with the frame and its truth: the noiseless cosmic-ray image, a
truth label image and a table with one row per cosmic.

Cosmic rays come in three morphologies, each deposited as many charge points along a path and
spread by charge diffusion (a Gaussian whose width grows with the drift distance through the
depletion depth), integrated exactly over the pixels:

``muon``
    straight tracks through the whole depth; zenith angle from a cos^2 intensity, energy loss
    80 e-/um most probable with Landau (Moyal) fluctuations per 15 um segment.
``electron``
    "worms": Compton/delta electrons doing a curly random walk (multiple scattering), ranged out
    by a Kanaya-Okayama range-energy relation in silicon or leaving the depletion volume.
``spot``
    compact deposits (X-rays, low-energy photons): one diffusion-spread point, with a wide
    energy distribution that reaches below the detection threshold.

Frames are in ADU and bias-subtracted, as the DESI preprocessing writes them; electrons are
converted with the camera gain (e-/ADU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.table import Table
from scipy import special, stats

from cosmicbook.core.progress import progress as _progress

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_RATE",
    "EV_PER_PAIR",
    "FULL_FRAME",
    "KINDS",
    "DarkCamera",
    "SimulatedDark",
    "kanaya_okayama_range",
    "simulate_dark",
]

#: The reference frame size for cosmic-ray rates: a full DESI CCD, (ny, nx) pixels.
FULL_FRAME: tuple[int, int] = (4096, 4096)

#: The cosmic-ray morphologies, in the order of the ``kind`` codes.
KINDS: tuple[str, ...] = ("muon", "electron", "spot")

#: Default mix of morphologies (fractions of all events, bright and dim).
DEFAULT_FRACTIONS: dict[str, float] = {"muon": 0.5, "electron": 0.3, "spot": 0.2}

#: Default rate of cosmic-ray events of all brightnesses, per second per 4096 x 4096 frame.
#: Calibrated by simulation (``DarkCamera()`` defaults, 40 097 events on 4k frames) so that
#: the events whose noiseless peak exceeds 400 ADU come at 1.40 per second per 4k frame, the
#: rate of the DESI dark library; 88.0 % of all events are that bright (muons 100 %,
#: electrons 97.6 %, spots 43 %), so dim events come at ~0.19/s.
DEFAULT_RATE: float = 1.59

#: Mean energy to create one electron-hole pair in silicon, eV.
EV_PER_PAIR: float = 3.65

_SQRT2 = np.sqrt(2.0)
_ELECTRON_MASS_MEV = 0.51099895
_X0_SILICON_UM = 93_700.0  # radiation length of silicon, um
_KO_EXPONENT = 1.67


def kanaya_okayama_range(energy: float | np.ndarray) -> np.ndarray:
    """Kanaya-Okayama electron range in silicon.

    ``R = 0.0276 A E^1.67 / (Z^0.889 rho)`` um for ``E`` in keV, with A = 28.09, Z = 14 and
    rho = 2.33 g/cm^3: about 4.7 um at 20 keV, 70 um at 100 keV and 3.3 mm at 1 MeV (the
    relation is fitted below ~100 keV and overestimates the CSDA range at 1 MeV by ~60 %, which
    matters little here as such electrons leave the 250 um depletion volume first).

    Parameters
    ----------
    energy : float or array
        Kinetic energy, keV.

    Returns
    -------
    numpy.ndarray
        Range, um (same shape as ``energy``).
    """
    energy = np.asarray(energy, dtype=float)
    a_si, z_si, rho_si = 28.086, 14.0, 2.329
    return 0.0276 * a_si * energy**_KO_EXPONENT / (z_si**0.889 * rho_si)


def _amp_slices(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """The four amplifier quadrants: lower-left, lower-right, upper-left, upper-right."""
    ny, nx = shape
    hy, hx = ny // 2, nx // 2
    rows = (slice(0, hy), slice(hy, ny))
    cols = (slice(0, hx), slice(hx, nx))
    return [(r, c) for r in rows for c in cols]


def _amp_index(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Amplifier index (0-3) of pixels ``(rows[:, None], cols[None, :])``."""
    ny, nx = shape
    return 2 * (rows[:, None] >= ny // 2) + (cols[None, :] >= nx // 2)


def _fold_angle(angle_deg: np.ndarray) -> np.ndarray:
    """Map position angles (deg) of undirected lines to (-90, 90]."""
    a = np.mod(np.asarray(angle_deg, dtype=float) + 90.0, 180.0) - 90.0
    return np.where(a <= -90.0, a + 180.0, a)


def _pixel_weights(centres: np.ndarray, sigma: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Fraction of each Gaussian point (rows) falling in pixels ``lo..hi`` (columns).

    Pixel ``j`` spans ``[j - 0.5, j + 0.5]``. Shape ``(len(centres), hi - lo + 1)``.
    """
    edges = np.arange(lo, hi + 2, dtype=float) - 0.5
    cdf = special.erf((edges[None, :] - centres[:, None]) / (_SQRT2 * sigma[:, None]))
    return 0.5 * np.diff(cdf, axis=1)


def _render_points(xs: np.ndarray, ys: np.ndarray, sigma: np.ndarray, charge: np.ndarray,
                   shape: tuple[int, int], nsig: float = 4.0):
    """Pixel-integrated image of Gaussian charge points, on the smallest enclosing stamp.

    The stamp is ``(Wy * q).T @ Wx`` with per-point 1-D pixel weights ``Wy`` and ``Wx`` --
    one matrix product per cosmic, no loop over pixels.

    Returns
    -------
    stamp : numpy.ndarray or None
        ``(y1 - y0, x1 - x0)`` float64 image in the units of ``charge`` (None if the deposit
        lies entirely off the frame).
    y0, x0 : int
        Frame coordinates of the stamp's first pixel.
    """
    ny, nx = shape
    sigma = np.maximum(sigma, 0.02)
    x0 = max(int(np.floor(np.min(xs - nsig * sigma) + 0.5)), 0)
    x1 = min(int(np.floor(np.max(xs + nsig * sigma) + 0.5)), nx - 1)
    y0 = max(int(np.floor(np.min(ys - nsig * sigma) + 0.5)), 0)
    y1 = min(int(np.floor(np.max(ys + nsig * sigma) + 0.5)), ny - 1)
    if x0 > x1 or y0 > y1:
        return None, y0, x0
    wx = _pixel_weights(xs, sigma, x0, x1)
    wy = _pixel_weights(ys, sigma, y0, y1)
    return (wy * charge[:, None]).T @ wx, y0, x0


@dataclass(eq=False, repr=False)
class SimulatedDark:
    """One simulated dark frame and its truth.

    Attributes
    ----------
    data : numpy.ndarray
        ``(ny, nx)`` float32 frame, ADU, bias-subtracted: read noise, residual per-amplifier
        bias, dark current, hot pixels and columns, cosmic rays; clipped at saturation.
    exptime : float
        Exposure time, s.
    cosmic_image : numpy.ndarray
        ``(ny, nx)`` float32 noiseless sum of all cosmic-ray deposits, ADU.
    truth_labels : numpy.ndarray
        ``(ny, nx)`` int32: in each pixel, the id of the cosmic that deposits the most there,
        where that deposit is at least ``truth_sigma`` x the local noise (:meth:`noise_map`);
        0 elsewhere.
    truth : astropy.table.Table
        One row per cosmic (dim ones included): ``id``, ``kind``, ``x``, ``y`` (noiseless peak
        pixel), ``peak`` and ``total`` (noiseless, ADU, inside the frame), ``npix`` (pixels
        with this id in ``truth_labels``), ``length`` (projected path length, pix),
        ``extent`` (projected end-to-end distance, pix), ``angle`` (position angle of the
        end-to-end direction, deg from the x axis, in (-90, 90]; NaN for spots), ``zenith``
        (muons, deg; NaN otherwise), ``energy`` (deposited, keV).
    read_noise : numpy.ndarray
        ``(4,)`` read noise of the amplifiers (quadrants: lower-left, lower-right, upper-left,
        upper-right), ADU.
    bias : numpy.ndarray
        ``(4,)`` residual bias offset of the amplifiers, ADU.
    dark_level : float
        Mean dark current of normal pixels accumulated in ``exptime``, ADU.
    hot_mask : numpy.ndarray
        ``(ny, nx)`` bool: the camera's defects (hot pixels and hot column segments).
    gain : float
        e-/ADU.
    truth_sigma : float
        The significance cut used for ``truth_labels``.
    meta : dict
        Camera parameters (pixel size, thickness, saturation, rates...).
    """

    data: np.ndarray
    exptime: float
    cosmic_image: np.ndarray
    truth_labels: np.ndarray
    truth: Table
    read_noise: np.ndarray
    bias: np.ndarray
    dark_level: float
    hot_mask: np.ndarray
    gain: float
    truth_sigma: float = 1.0
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return tuple(self.data.shape)

    @property
    def amp_noise(self) -> np.ndarray:
        """``(4,)`` per-amplifier noise of a clean dark: read noise and dark shot noise, ADU."""
        return np.sqrt(self.read_noise**2 + max(self.dark_level, 0.0) / self.gain)

    def amp_index(self) -> np.ndarray:
        """``(ny, nx)`` int8 map of the amplifier (0-3) that reads each pixel."""
        ny, nx = self.shape
        return _amp_index(np.arange(ny), np.arange(nx), self.shape).astype(np.int8)

    def noise_map(self) -> np.ndarray:
        """``(ny, nx)`` float32 noise of a clean dark (no cosmics, no defects), ADU."""
        return self.amp_noise.astype(np.float32)[self.amp_index()]

    def background_map(self) -> np.ndarray:
        """``(ny, nx)`` float32 true mean level of normal pixels (residual bias + dark), ADU."""
        return (self.bias + self.dark_level).astype(np.float32)[self.amp_index()]

    @property
    def header(self) -> dict:
        """FITS keywords describing the frame (``EXPTIME``, ``GAIN``, ``BUNIT``...)."""
        return {"EXPTIME": float(self.exptime), "GAIN": float(self.gain), "BUNIT": "adu",
                "NCOSMIC": len(self.truth)}

    def __repr__(self) -> str:
        ny, nx = self.shape
        nbright = int(np.sum(self.truth["peak"] > 400.0)) if len(self.truth) else 0
        return (f"SimulatedDark({ny}x{nx}, exptime={self.exptime:g} s, "
                f"{len(self.truth)} cosmics ({nbright} with peak > 400 ADU), "
                f"{int(self.hot_mask.sum())} defect pixels)")


class DarkCamera:
    """A fixed DESI-like CCD that takes simulated calibration darks.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` pixels; default a full 4096 x 4096 DESI CCD. Four amplifiers read the four
        quadrants.
    detector_seed : int
        Seed of the detector's fixed properties (read noise, bias offsets, defects).
    gain : float
        e-/ADU (default 1.5, typical of the DESI CCDs).
    read_noise : float or sequence of 4 floats, optional
        Read noise per amplifier, ADU; default drawn uniformly in [1, 3] ADU.
    bias_offset : float or sequence of 4 floats, optional
        Residual bias per amplifier left after bias subtraction, ADU; default drawn uniformly
        in [-0.5, 0.5] ADU.
    dark_current : float
        Dark current of normal pixels, e-/s/pixel (default 5e-4, i.e. 1.8 e-/hour). Its shot
        noise is treated as Gaussian and included in :meth:`SimulatedDark.noise_map`.
    hot_fraction : float
        Fraction of hot pixels (default 1e-4).
    hot_dark_median, hot_dark_sigma : float
        Log-normal dark current of hot pixels: median in e-/s (default 0.1) and sigma of its
        natural log (default 1.5). About 2 % of hot pixels exceed 400 ADU in a 300 s dark.
    hot_columns : float
        Expected number of hot column segments per 4096 columns (Poisson; default 4). Each runs
        over a random 1/16 to 1/2 of the rows with 0.02-0.2 e-/s/pixel (log-uniform).
    saturation : float
        Saturation of the bias-subtracted frame, ADU (default 63000).
    pixel_size : float
        um (default 15).
    thickness : float
        Depletion depth, um (default 250, the LBNL fully depleted CCDs).
    diffusion_sigma : float
        Lateral charge-diffusion sigma for charge created at the back surface (full drift), in
        pixels (default 0.6); it scales as ``sqrt(drift / thickness)``, so charge created next to
        the collecting gates does not spread.
    rate : float
        Cosmic-ray events of all brightnesses per second per 4096 x 4096 frame, scaled by the
        frame area (default :data:`DEFAULT_RATE`, 1.59/s, giving 1.40/s with a noiseless peak
        above 400 ADU).
    fractions : mapping, optional
        Fractions of ``"muon"``, ``"electron"`` and ``"spot"`` events (normalised; default
        :data:`DEFAULT_FRACTIONS`, 0.5 / 0.3 / 0.2).
    muon_mpv : float
        Most probable energy loss of muons, e-/um (default 80).
    landau_width : float
        Moyal scale relative to ``muon_mpv`` for one ``landau_segment`` of track (default 0.2,
        which makes the mean loss ~100 e-/um).
    landau_segment : float
        Track length sharing one Landau draw, um (default 15).
    max_track_length : float
        Longest projected muon track, pixels (default 200, reached only beyond 85 deg
        zenith: < 0.01 % of muons are clipped).
    electron_energy : (float, float)
        Range of the electron kinetic energies, keV (default 20-1000).
    electron_index : float
        The electron spectrum falls as ``E^-index`` (default 1: flat in log E).
    electron_step : float
        Largest random-walk step, um (default 2; at least 20 steps per range).
    spot_energy : float
        Median energy of spots, keV (log-normal; default 4).
    spot_energy_sigma : float
        Sigma of ln(energy) of spots (default 1.0); about 57 % of the spots peak below 400 ADU.
    truth_sigma : float
        Significance (in units of the clean-dark noise) a deposit needs to enter
        ``truth_labels`` (default 1).

    Attributes
    ----------
    read_noise, bias_offset : numpy.ndarray
        ``(4,)`` per-amplifier read noise and residual bias, ADU (quadrants lower-left,
        lower-right, upper-left, upper-right).
    hot_index : numpy.ndarray
        Flat indices of the hot pixels.
    hot_current : numpy.ndarray
        Their dark current, e-/s.
    hot_columns : list of (int, int, int, float)
        Hot column segments: ``(x, first row, last row + 1, dark current e-/s/pixel)``.
    hot_mask : numpy.ndarray
        ``(ny, nx)`` bool map of all defects.

    Examples
    --------
    >>> camera = DarkCamera(shape=(512, 512), detector_seed=1)
    >>> dark = camera.expose(300.0, seed=2)
    >>> dark.data.shape, dark.data.dtype
    ((512, 512), dtype('float32'))
    """

    def __init__(self, shape: tuple[int, int] = FULL_FRAME, *, detector_seed: int = 0,
                 gain: float = 1.5, read_noise: float | Sequence[float] | None = None,
                 bias_offset: float | Sequence[float] | None = None,
                 dark_current: float = 5e-4, hot_fraction: float = 1e-4,
                 hot_dark_median: float = 0.1, hot_dark_sigma: float = 1.5,
                 hot_columns: float = 4.0, saturation: float = 63000.0,
                 pixel_size: float = 15.0, thickness: float = 250.0,
                 diffusion_sigma: float = 0.6, rate: float = DEFAULT_RATE,
                 fractions: Mapping[str, float] | None = None, muon_mpv: float = 80.0,
                 landau_width: float = 0.2, landau_segment: float = 15.0,
                 max_track_length: float = 200.0,
                 electron_energy: tuple[float, float] = (20.0, 1000.0),
                 electron_index: float = 1.0, electron_step: float = 2.0,
                 spot_energy: float = 4.0, spot_energy_sigma: float = 1.0,
                 truth_sigma: float = 1.0):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or min(shape) < 2:
            raise ValueError(f"shape must be (ny, nx) with both >= 2, got {shape}")
        self.shape: tuple[int, int] = shape
        for name, value in [("gain", gain), ("saturation", saturation),
                            ("pixel_size", pixel_size), ("thickness", thickness),
                            ("muon_mpv", muon_mpv), ("landau_segment", landau_segment),
                            ("max_track_length", max_track_length),
                            ("electron_step", electron_step), ("spot_energy", spot_energy),
                            ("truth_sigma", truth_sigma)]:
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name, value in [("dark_current", dark_current), ("hot_fraction", hot_fraction),
                            ("hot_columns", hot_columns), ("rate", rate),
                            ("diffusion_sigma", diffusion_sigma),
                            ("landau_width", landau_width),
                            ("spot_energy_sigma", spot_energy_sigma)]:
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not 0 < electron_energy[0] < electron_energy[1]:
            raise ValueError(f"electron_energy must be (low, high) keV with 0 < low < high, "
                             f"got {electron_energy}")
        fractions = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
        unknown = set(fractions) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown cosmic kinds {sorted(unknown)}; expected some of {KINDS}")
        probs = np.array([float(fractions.get(k, 0.0)) for k in KINDS])
        if np.any(probs < 0) or probs.sum() <= 0:
            raise ValueError(f"fractions must be non-negative and not all 0, got {fractions}")
        self.fractions: dict[str, float] = dict(zip(KINDS, probs / probs.sum(), strict=True))

        self.detector_seed = detector_seed
        self.gain = float(gain)
        self.dark_current = float(dark_current)
        self.saturation = float(saturation)
        self.pixel_size = float(pixel_size)
        self.thickness = float(thickness)
        self.diffusion_sigma = float(diffusion_sigma)
        self.rate = float(rate)
        self.muon_mpv = float(muon_mpv)
        self.landau_width = float(landau_width)
        self.landau_segment = float(landau_segment)
        self.max_track_length = float(max_track_length)
        self.electron_energy = (float(electron_energy[0]), float(electron_energy[1]))
        self.electron_index = float(electron_index)
        self.electron_step = float(electron_step)
        self.spot_energy = float(spot_energy)
        self.spot_energy_sigma = float(spot_energy_sigma)
        self.truth_sigma = float(truth_sigma)

        rng = np.random.default_rng(detector_seed)
        self.read_noise = self._per_amp(read_noise, rng.uniform(1.0, 3.0, 4), "read_noise")
        if np.any(self.read_noise <= 0):
            raise ValueError(f"read_noise must be positive, got {self.read_noise}")
        self.bias_offset = self._per_amp(bias_offset, rng.uniform(-0.5, 0.5, 4), "bias_offset")

        ny, nx = shape
        npix = ny * nx
        n_hot = int(rng.binomial(npix, hot_fraction)) if hot_fraction > 0 else 0
        self.hot_index = np.sort(rng.choice(npix, size=n_hot, replace=False))
        self.hot_current = hot_dark_median * np.exp(hot_dark_sigma * rng.standard_normal(n_hot))
        n_cols = int(rng.poisson(hot_columns * nx / FULL_FRAME[1])) if hot_columns > 0 else 0
        col_x = rng.integers(0, nx, n_cols)
        col_len = rng.integers(max(ny // 16, 1), max(ny // 2, 2), n_cols)
        col_y0 = rng.integers(0, ny, n_cols)
        col_cur = np.exp(rng.uniform(np.log(0.02), np.log(0.2), n_cols))
        self.hot_columns = [(int(x), int(y0), int(min(y0 + n, ny)), float(c))
                            for x, y0, n, c in zip(col_x, col_y0, col_len, col_cur, strict=True)]

    @staticmethod
    def _per_amp(value, default: np.ndarray, name: str) -> np.ndarray:
        if value is None:
            return default
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            arr = np.full(4, float(arr))
        if arr.shape != (4,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be a number or 4 finite numbers (one per amplifier), "
                             f"got {value!r}")
        return arr

    def __repr__(self) -> str:
        ny, nx = self.shape
        return (f"DarkCamera({ny}x{nx}, detector_seed={self.detector_seed}, gain={self.gain:g} "
                f"e-/ADU, read noise {np.round(self.read_noise, 2).tolist()} ADU, "
                f"{self.hot_index.size} hot pixels, {len(self.hot_columns)} hot columns, "
                f"rate={self.rate:g}/s per 4k frame)")

    # ------------------------------------------------------------------ detector
    @property
    def hot_mask(self) -> np.ndarray:
        """``(ny, nx)`` bool mask of the camera's defects (hot pixels and hot columns)."""
        mask = np.zeros(self.shape, dtype=bool)
        mask.ravel()[self.hot_index] = True
        for x, y0, y1, _ in self.hot_columns:
            mask[y0:y1, x] = True
        return mask

    @property
    def area_fraction(self) -> float:
        """Frame area relative to a 4096 x 4096 frame."""
        return self.shape[0] * self.shape[1] / (FULL_FRAME[0] * FULL_FRAME[1])

    def expected_cosmics(self, exptime: float) -> float:
        """Mean number of cosmic-ray events (all brightnesses) in a dark of ``exptime`` s."""
        return self.rate * float(exptime) * self.area_fraction

    def _sigma_at_depth(self, depth: np.ndarray) -> np.ndarray:
        """Diffusion sigma (pixels) of charge created ``depth`` um from the collecting gates."""
        frac = np.clip(depth / self.thickness, 0.0, 1.0)
        return self.diffusion_sigma * np.sqrt(frac)

    # ------------------------------------------------------------------ exposures
    def expose(self, exptime: float, seed: int | np.random.Generator | None = None
               ) -> SimulatedDark:
        """Take one dark of ``exptime`` seconds.

        Parameters
        ----------
        exptime : float
            Exposure time, s (>= 0).
        seed : None, int or numpy.random.Generator
            Randomness of this exposure (noise and cosmics); an int gives bit-identical frames.

        Returns
        -------
        SimulatedDark
        """
        exptime = float(exptime)
        if not np.isfinite(exptime) or exptime < 0:
            raise ValueError(f"exptime must be a finite number >= 0 s, got {exptime!r}")
        rng = np.random.default_rng(seed)
        ny, nx = self.shape
        dark_level = self.dark_current * exptime / self.gain
        amp_noise = np.sqrt(self.read_noise**2 + dark_level / self.gain)

        data = rng.standard_normal(self.shape, dtype=np.float32)
        for a, (sy, sx) in enumerate(_amp_slices(self.shape)):
            quad = data[sy, sx]
            quad *= np.float32(amp_noise[a])
            quad += np.float32(self.bias_offset[a] + dark_level)

        cosmic_image, truth_labels, truth = self._simulate_cosmics(rng, exptime, amp_noise)
        data += cosmic_image

        flat = data.ravel()
        flat[self.hot_index] += (rng.poisson(self.hot_current * exptime) / self.gain
                                 ).astype(np.float32)
        for x, y0, y1, cur in self.hot_columns:
            data[y0:y1, x] += (rng.poisson(cur * exptime, y1 - y0) / self.gain
                               ).astype(np.float32)
        np.minimum(data, np.float32(self.saturation), out=data)

        meta = {"pixel_size": self.pixel_size, "thickness": self.thickness,
                "saturation": self.saturation, "rate": self.rate,
                "diffusion_sigma": self.diffusion_sigma, "detector_seed": self.detector_seed,
                "fractions": dict(self.fractions)}
        return SimulatedDark(data=data, exptime=exptime, cosmic_image=cosmic_image,
                             truth_labels=truth_labels, truth=truth,
                             read_noise=self.read_noise.copy(), bias=self.bias_offset.copy(),
                             dark_level=dark_level, hot_mask=self.hot_mask, gain=self.gain,
                             truth_sigma=self.truth_sigma, meta=meta)

    def expose_many(self, exptimes: Sequence[float],
                    seed: int | np.random.Generator | None = None,
                    progress: bool | None = None) -> list[SimulatedDark]:
        """Take one dark per exposure time, with independent randomness per frame.

        Parameters
        ----------
        exptimes : sequence of float
            Exposure times, s.
        seed : None, int or numpy.random.Generator
            Seed of the whole sequence (frames get spawned child generators).
        progress : bool or None
            Show a progress bar (None: see :func:`cosmicbook.core.progress.progress_enabled`).

        Returns
        -------
        list of SimulatedDark
        """
        exptimes = [float(t) for t in np.atleast_1d(exptimes)]
        children = np.random.default_rng(seed).spawn(len(exptimes))
        return [self.expose(t, seed=child) for t, child in
                _progress(zip(exptimes, children, strict=True), enabled=progress,
                         desc="darks", total=len(exptimes), unit="frame")]

    # ------------------------------------------------------------------ cosmics
    def _muons(self, rng: np.random.Generator, n: int):
        """Charge points of ``n`` muons: list of (xs, ys, sigma, electrons) + truth columns."""
        ny, nx = self.shape
        xc = rng.uniform(-0.5, nx - 0.5, n)
        yc = rng.uniform(-0.5, ny - 0.5, n)
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
        # cos^2(theta) intensity through a horizontal detector: p(theta) ~ cos^3 sin,
        # i.e. cos(theta)^4 uniform.
        cos_t = rng.uniform(0.0, 1.0, n) ** 0.25
        theta = np.arccos(cos_t)
        with np.errstate(divide="ignore"):
            length = np.minimum(self.thickness * np.tan(theta) / self.pixel_size,
                                self.max_track_length)
        path3d = np.hypot(length * self.pixel_size, self.thickness)  # um
        nseg = np.maximum(np.ceil(path3d / self.landau_segment).astype(int), 1)
        moyal = stats.moyal.rvs(size=int(nseg.sum()), random_state=rng)
        dedx_all = self.muon_mpv * np.maximum(1.0 + self.landau_width * moyal, 0.0)
        seg_start = np.concatenate([[0], np.cumsum(nseg)[:-1]])
        points = []
        for i in range(n):
            npts = max(16, int(np.ceil(4.0 * length[i])))
            s = (np.arange(npts) + 0.5) / npts
            xs = xc[i] + (s - 0.5) * length[i] * np.cos(phi[i])
            ys = yc[i] + (s - 0.5) * length[i] * np.sin(phi[i])
            depth = self.thickness * (1.0 - s)  # enters at the back, leaves at the gates
            dedx = dedx_all[seg_start[i] + np.minimum((s * nseg[i]).astype(int), nseg[i] - 1)]
            q = dedx * path3d[i] / npts
            points.append((xs, ys, self._sigma_at_depth(depth), q))
        angle = _fold_angle(np.degrees(phi))
        info = {"length": length, "extent": length, "angle": angle,
                "zenith": np.degrees(theta)}
        return points, info

    def _electrons(self, rng: np.random.Generator, n: int):
        """Charge points of ``n`` electrons (3-D random walks) + truth columns."""
        ny, nx = self.shape
        emin, emax = self.electron_energy
        a = 1.0 - self.electron_index
        uu = rng.uniform(0.0, 1.0, n)
        if abs(a) < 1e-9:
            energy = emin * (emax / emin) ** uu
        else:
            energy = (emin**a + uu * (emax**a - emin**a)) ** (1.0 / a)
        rng_um = kanaya_okayama_range(energy)
        ds = np.minimum(self.electron_step, rng_um / 20.0)
        nsteps = np.ceil(rng_um / ds - 1e-9).astype(int)
        pos = np.empty((n, 3))
        pos[:, 0] = rng.uniform(-0.5, nx - 0.5, n) * self.pixel_size
        pos[:, 1] = rng.uniform(-0.5, ny - 0.5, n) * self.pixel_size
        pos[:, 2] = rng.uniform(0.0, self.thickness, n)
        cz = rng.uniform(-1.0, 1.0, n)
        ph = rng.uniform(0.0, 2.0 * np.pi, n)
        sz = np.sqrt(1.0 - cz**2)
        direction = np.stack([sz * np.cos(ph), sz * np.sin(ph), cz], axis=1)

        kmax = int(nsteps.max()) if n else 0
        track = [pos.copy()]
        deposits = []
        alive = np.ones(n, dtype=bool)
        inv = 1.0 / _KO_EXPONENT
        for k in range(kmax):
            alive &= k < nsteps
            if not alive.any():
                break
            r0 = np.maximum(rng_um - k * ds, 0.0)
            r1 = np.maximum(rng_um - (k + 1) * ds, 0.0)
            e0 = energy * (r0 / rng_um) ** inv  # keV left, from the residual range
            de = e0 - energy * (r1 / rng_um) ** inv
            # a step that leaves the depletion volume is cut at the surface, with its share
            dz = ds * direction[:, 2]
            z_new = pos[:, 2] + dz
            out = (z_new < 0.0) | (z_new > self.thickness)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(dz > 0, self.thickness - pos[:, 2], -pos[:, 2]) / dz
            frac = np.clip(np.where(out, frac, 1.0), 0.0, 1.0)
            deposits.append(np.where(alive, frac * de, 0.0))
            pos = np.where(alive[:, None], pos + (frac * ds)[:, None] * direction, pos)
            alive &= ~out
            track.append(pos)
            # multiple scattering (Highland, without the log term): curlier as it slows down
            t_mev = np.maximum(e0, 1e-3) / 1000.0
            pc2 = t_mev * (t_mev + 2.0 * _ELECTRON_MASS_MEV)
            beta_cp = pc2 / (t_mev + _ELECTRON_MASS_MEV)
            theta0 = np.minimum(13.6 / beta_cp * np.sqrt(ds / _X0_SILICON_UM), 1.0)
            g = rng.standard_normal((n, 3))
            g -= np.sum(g * direction, axis=1)[:, None] * direction
            direction = direction + theta0[:, None] * g
            direction /= np.linalg.norm(direction, axis=1)[:, None]
        track = np.stack(track)  # (k + 1, n, 3) um
        deposits = np.stack(deposits) if deposits else np.zeros((0, n))
        nused = np.count_nonzero(deposits > 0, axis=0) if deposits.size else np.zeros(n, int)

        points = []
        length = np.zeros(n)
        extent = np.zeros(n)
        angle = np.full(n, np.nan)
        for i in range(n):
            m = max(int(nused[i]), 1)
            p = track[: m + 1, i, :]
            mid = 0.5 * (p[1:] + p[:-1]) if len(p) > 1 else p
            q = deposits[:m, i] * 1000.0 / EV_PER_PAIR if deposits.size else np.zeros(1)
            xs = mid[:, 0] / self.pixel_size
            ys = mid[:, 1] / self.pixel_size
            points.append((xs, ys, self._sigma_at_depth(mid[:, 2]), q))
            dxy = np.diff(p[:, :2], axis=0) / self.pixel_size
            length[i] = np.hypot(dxy[:, 0], dxy[:, 1]).sum()
            end = (p[-1, :2] - p[0, :2]) / self.pixel_size
            extent[i] = np.hypot(*end)
            if extent[i] > 0:
                angle[i] = _fold_angle(np.degrees(np.arctan2(end[1], end[0])))
        info = {"length": length, "extent": extent, "angle": angle,
                "zenith": np.full(n, np.nan)}
        return points, info

    def _spots(self, rng: np.random.Generator, n: int):
        """Charge points of ``n`` compact spots + truth columns."""
        ny, nx = self.shape
        xs = rng.uniform(-0.5, nx - 0.5, n)
        ys = rng.uniform(-0.5, ny - 0.5, n)
        depth = rng.uniform(0.0, self.thickness, n)
        energy = self.spot_energy * np.exp(self.spot_energy_sigma * rng.standard_normal(n))
        q = energy * 1000.0 / EV_PER_PAIR
        sig = self._sigma_at_depth(depth)
        points = [(xs[i:i + 1], ys[i:i + 1], sig[i:i + 1], q[i:i + 1]) for i in range(n)]
        info = {"length": np.zeros(n), "extent": np.zeros(n), "angle": np.full(n, np.nan),
                "zenith": np.full(n, np.nan)}
        return points, info

    def _simulate_cosmics(self, rng: np.random.Generator, exptime: float,
                          amp_noise: np.ndarray):
        """Render Poisson(rate x exptime x area) cosmics; returns image, labels, truth."""
        ny, nx = self.shape
        n = int(rng.poisson(self.expected_cosmics(exptime)))
        kind_code = rng.choice(len(KINDS), size=n,
                               p=[self.fractions[k] for k in KINDS])
        generators = (self._muons, self._electrons, self._spots)
        points: list = [None] * n
        cols = {c: np.full(n, np.nan) for c in ("length", "extent", "angle", "zenith")}
        for code, gen in enumerate(generators):
            idx = np.flatnonzero(kind_code == code)
            pts, info = gen(rng, idx.size)
            for j, i in enumerate(idx):
                points[i] = pts[j]
            for c in cols:
                cols[c][idx] = info[c]

        cosmic_image = np.zeros(self.shape, dtype=np.float32)
        truth_labels = np.zeros(self.shape, dtype=np.int32)
        maxdep = np.zeros(self.shape, dtype=np.float32)
        peak = np.zeros(n)
        total = np.zeros(n)
        xpk = np.zeros(n, dtype=np.int32)
        ypk = np.zeros(n, dtype=np.int32)
        cut = self.truth_sigma * amp_noise
        for i in range(n):
            xs, ys, sig, q = points[i]
            stamp, y0, x0 = _render_points(xs, ys, sig, q / self.gain, self.shape)
            if stamp is None:
                continue
            sy, sx = stamp.shape
            sl = (slice(y0, y0 + sy), slice(x0, x0 + sx))
            stamp32 = stamp.astype(np.float32)
            cosmic_image[sl] += stamp32
            cur = maxdep[sl]
            better = stamp32 > cur
            cur[better] = stamp32[better]
            thr = cut[_amp_index(np.arange(y0, y0 + sy), np.arange(x0, x0 + sx), self.shape)]
            truth_labels[sl][better & (stamp32 >= thr)] = i + 1
            k = int(np.argmax(stamp32))
            ypk[i], xpk[i] = y0 + k // sx, x0 + k % sx
            peak[i] = stamp32.ravel()[k]
            total[i] = stamp.sum()
        nz = truth_labels.ravel()
        nz = nz[np.flatnonzero(nz)]
        npix = np.bincount(nz, minlength=n + 1)[1:]

        truth = Table()
        truth["id"] = np.arange(1, n + 1, dtype=np.int32)
        truth["kind"] = np.array([KINDS[c] for c in kind_code], dtype="U8")
        truth["x"] = xpk
        truth["y"] = ypk
        truth["peak"] = peak * u.adu
        truth["total"] = total * u.adu
        truth["npix"] = npix.astype(np.int32)
        truth["length"] = cols["length"] * u.pix
        truth["extent"] = cols["extent"] * u.pix
        truth["angle"] = cols["angle"] * u.deg
        truth["zenith"] = cols["zenith"] * u.deg
        truth["energy"] = total * self.gain * EV_PER_PAIR / 1000.0 * u.keV
        truth["x"].unit = u.pix
        truth["y"].unit = u.pix
        truth.meta["exptime"] = exptime
        return cosmic_image, truth_labels, truth


def simulate_dark(shape: tuple[int, int] = FULL_FRAME, exptime: float = 300.0,
                  seed: int | np.random.Generator | None = None, **camera_kwargs
                  ) -> SimulatedDark:
    """Simulate one dark frame with a :class:`DarkCamera` built from ``camera_kwargs``.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` pixels.
    exptime : float
        Exposure time, s (default 300, the DESI 5-minute calibration darks).
    seed : None, int or numpy.random.Generator
        Randomness of the exposure; the detector itself is fixed by ``detector_seed``
        (default 0) in ``camera_kwargs``.
    **camera_kwargs
        Any other :class:`DarkCamera` parameter.

    Returns
    -------
    SimulatedDark
    """
    return DarkCamera(shape, **camera_kwargs).expose(exptime, seed=seed)
