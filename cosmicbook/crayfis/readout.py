"""Stage 2 of the smartphone simulation: the camera readout, from electrons to 8-bit frames.

:class:`Readout` is the textbook model (crayfis-sim): a pedestal of 15 electrons, Gaussian read
noise, 25 electrons per ADC step, hot pixels fixed per phone, an optional Bayer colour-filter
mosaic (RGGB) with per-channel gains, an optional JPEG-like compression (8 x 8 block DCT
quantised with the JPEG luminance table) and 8-bit saturation at 255.

:class:`HiddenReadout` plays the *real* phone in the chapter's second half: a readout the
Transformation Adversarial Network never sees, with a different gain and black level, a
compressive (nonlinear) response, inter-pixel cross-talk, blooming of saturated charge along
columns and a different noise model (shot noise with an excess factor plus heavier-tailed read
noise). Both share the phone's hot-pixel map, which is measured from dark frames in practice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import dctn, idctn
from scipy.ndimage import convolve

__all__ = ["JPEG_LUMA", "HiddenReadout", "Readout", "bayer_gain_map", "hot_pixel_map",
           "jpeg_like"]

#: The JPEG standard's luminance quantisation table (quality 50).
JPEG_LUMA = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], float)


def _check_deposits(electrons) -> np.ndarray:
    e = np.asarray(electrons, dtype=np.float64)
    if e.ndim == 2:
        e = e[None]
    if e.ndim != 3 or e.shape[1] != e.shape[2]:
        raise ValueError(f"expected deposits of shape (n, size, size), got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("deposits contain NaN or infinite values")
    if np.any(e < 0):
        raise ValueError("deposits must be non-negative electrons")
    return e


def hot_pixel_map(size: int, phone_seed: int, fraction: float = 2e-3,
                  level_e: float = 60.0) -> np.ndarray:
    """The fixed dark-current excess of a phone's hot pixels (electrons per frame).

    A ``fraction`` of the pixels is hot, with an exponential distribution of excess charge
    of mean ``level_e``; the map depends only on ``phone_seed``.
    """
    rng = np.random.default_rng(phone_seed)
    hot = rng.random((size, size)) < fraction
    return np.where(hot, rng.exponential(level_e, (size, size)), 0.0)


def bayer_gain_map(size: int, gains: tuple[float, float, float]) -> np.ndarray:
    """Per-pixel gain of an RGGB Bayer mosaic: R at (even row, even col), B at (odd, odd)."""
    r, g, b = gains
    m = np.full((size, size), g, dtype=float)
    m[0::2, 0::2] = r
    m[1::2, 1::2] = b
    return m


def jpeg_like(frames: np.ndarray, quality: int) -> np.ndarray:
    """JPEG-like lossy compression: 8 x 8 block DCT, quantisation, inverse DCT, rounding.

    Parameters
    ----------
    frames : numpy.ndarray, shape (n, h, w)
        Values 0-255; ``h`` and ``w`` are padded (edge values) to multiples of 8.
    quality : int
        1-100, scaling :data:`JPEG_LUMA` as libjpeg does.

    Returns
    -------
    numpy.ndarray of float, shape (n, h, w), rounded and clipped to 0-255.
    """
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality!r}")
    q = int(quality)
    scale = 5000 / q if q < 50 else 200 - 2 * q
    table = np.clip(np.floor((JPEG_LUMA * scale + 50) / 100), 1, 255)
    n, h, w = frames.shape
    ph, pw = -h % 8, -w % 8
    x = np.pad(frames.astype(float), ((0, 0), (0, ph), (0, pw)), mode="edge") - 128.0
    hb, wb = x.shape[1] // 8, x.shape[2] // 8
    blocks = x.reshape(n, hb, 8, wb, 8).transpose(0, 1, 3, 2, 4)
    coef = dctn(blocks, axes=(-2, -1), norm="ortho")
    coef = np.round(coef / table) * table
    rec = idctn(coef, axes=(-2, -1), norm="ortho")
    rec = rec.transpose(0, 1, 3, 2, 4).reshape(n, hb * 8, wb * 8)[:, :h, :w] + 128.0
    return np.clip(np.round(rec), 0, 255)


@dataclass(frozen=True)
class Readout:
    """The approximate (textbook) readout of a phone camera.

    Attributes
    ----------
    pedestal_e : float
        Black level added to every pixel (electrons).
    gain_e_per_adu : float
        Electrons per ADC step.
    read_noise_e : float
        Gaussian read noise (electrons rms).
    hot_fraction, hot_level_e : float
        Fraction of hot pixels and their mean excess (electrons); see :func:`hot_pixel_map`.
    phone_seed : int
        Fixes the hot-pixel map: the same seed is the same phone.
    bayer : bool
        Apply an RGGB mosaic with per-channel gains ``bayer_gains`` (R, G, B).
    bayer_gains : (float, float, float)
    jpeg_quality : int or None
        JPEG-like compression at this quality; ``None`` stores raw frames.
    bits : int
        ADC bits: values saturate at ``2**bits - 1``.
    """

    pedestal_e: float = 15.0
    gain_e_per_adu: float = 25.0
    read_noise_e: float = 10.0
    hot_fraction: float = 2e-3
    hot_level_e: float = 60.0
    phone_seed: int = 7
    bayer: bool = False
    bayer_gains: tuple[float, float, float] = (0.55, 1.0, 0.7)
    jpeg_quality: int | None = None
    bits: int = 8

    def __post_init__(self) -> None:
        if not self.gain_e_per_adu > 0:
            raise ValueError(f"gain_e_per_adu must be positive, got {self.gain_e_per_adu!r}")
        if self.read_noise_e < 0 or self.pedestal_e < 0:
            raise ValueError("read_noise_e and pedestal_e must be >= 0")
        if not 0 <= self.hot_fraction <= 1:
            raise ValueError(f"hot_fraction must be in [0, 1], got {self.hot_fraction!r}")
        if not 1 <= int(self.bits) <= 16:
            raise ValueError(f"bits must be in 1..16, got {self.bits!r}")

    @property
    def saturation(self) -> int:
        """The largest ADC value."""
        return 2 ** int(self.bits) - 1

    def _signal(self, e: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Electrons -> electrons incl. noise and offsets (before the ADC)."""
        size = e.shape[-1]
        e = e + hot_pixel_map(size, self.phone_seed, self.hot_fraction, self.hot_level_e)
        return e + self.pedestal_e + rng.normal(0.0, self.read_noise_e, e.shape)

    def _adc(self, e: np.ndarray) -> np.ndarray:
        return e / self.gain_e_per_adu

    def apply(self, electrons, rng: np.random.Generator) -> np.ndarray:
        """Read out deposits.

        Parameters
        ----------
        electrons : array_like, shape (n, size, size) or (size, size)
            Collected charge (electrons), e.g. :attr:`Deposits.electrons`.
        rng : numpy.random.Generator
            Draws the noise (the hot-pixel map is fixed by ``phone_seed``).

        Returns
        -------
        numpy.ndarray of uint8 (uint16 for more than 8 bits), shape (n, size, size)
            ADC values 0 .. :attr:`saturation`.
        """
        e = _check_deposits(electrons)
        adu = self._adc(self._signal(e, rng))
        if self.bayer:
            adu = adu * bayer_gain_map(e.shape[-1], self.bayer_gains)
        adu = np.clip(np.round(adu), 0, self.saturation)
        if self.jpeg_quality is not None:
            if self.saturation != 255:
                raise ValueError("JPEG-like compression needs 8-bit frames")
            adu = jpeg_like(adu, self.jpeg_quality)
        return adu.astype(np.uint8 if self.saturation <= 255 else np.uint16)

    def pedestal_adu(self) -> float:
        """The black level in ADU (pedestal / gain, before rounding)."""
        return self.pedestal_e / self.gain_e_per_adu


@dataclass(frozen=True)
class HiddenReadout(Readout):
    """The "real" phone: a readout the TAN never sees (see the module docstring).

    Extra attributes
    ----------------
    crosstalk : float
        Fraction of a pixel's charge that leaks to *each* of its 4 neighbours (charge is
        conserved).
    full_well_e : float
        Charge above which a pixel blooms: the excess spills to its column neighbours.
    excess_noise : float
        Shot noise is ``sqrt(excess_noise * signal)`` electrons (1 = Poisson).
    tail_dof : float
        Read noise is Student-t with this many degrees of freedom (heavy tails), scaled to
        ``read_noise_e`` rms.
    compress_adu : float
        Nonlinear response: ``adu = c * log(1 + linear / c)`` with ``c = compress_adu``.
    """

    pedestal_e: float = 30.0
    gain_e_per_adu: float = 21.0
    read_noise_e: float = 16.0
    crosstalk: float = 0.07
    full_well_e: float = 2500.0
    excess_noise: float = 4.0
    tail_dof: float = 4.0
    compress_adu: float = 60.0

    def _signal(self, e: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.crosstalk
        kernel = np.array([[0, c, 0], [c, 1 - 4 * c, c], [0, c, 0]])
        e = convolve(e, kernel[None], mode="constant")
        excess = np.clip(e - self.full_well_e, 0, None)  # blooming along columns (axis 1)
        spill = np.zeros_like(excess)
        spill[:, 1:] += 0.5 * excess[:, :-1]
        spill[:, :-1] += 0.5 * excess[:, 1:]
        e = e - excess + spill
        e = e + np.sqrt(self.excess_noise * e) * rng.normal(0.0, 1.0, e.shape)
        size = e.shape[-1]
        e = e + hot_pixel_map(size, self.phone_seed, self.hot_fraction, self.hot_level_e)
        t = rng.standard_t(self.tail_dof, e.shape) * np.sqrt((self.tail_dof - 2) / self.tail_dof)
        return e + self.pedestal_e + self.read_noise_e * t

    def _adc(self, e: np.ndarray) -> np.ndarray:
        lin = np.clip(e, 0, None) / self.gain_e_per_adu
        return self.compress_adu * np.log1p(lin / self.compress_adu)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.crosstalk < 0.25:
            raise ValueError(f"crosstalk must be in [0, 0.25), got {self.crosstalk!r}")
        if not self.tail_dof > 2:
            raise ValueError(f"tail_dof must be > 2 (finite variance), got {self.tail_dof!r}")
        if not self.compress_adu > 0:
            raise ValueError(f"compress_adu must be positive, got {self.compress_adu!r}")
