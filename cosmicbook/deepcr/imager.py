"""An undersampled imaging camera: an instrument outside the spectrograph training ranges.

Stars (pixel-integrated Gaussian PSF, sigma ~0.6 px, so a star's peak pixel holds ~35 % of its
light, as on HST's WFPC2 or an undersampled wide-field imager) and small galaxies (Gaussian
blobs of 1-4 px) on a flat sky, observed ``n_exposures`` times with Poisson and read noise;
the clean image is the per-pixel median. It is what :func:`~cosmicbook.deepcr.fine_tune` is
shown on in the chapter: sharp stars are exactly what a mask trained on spectrograph frames
has never seen, and what the classical methods' fine-structure tests were designed for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from cosmicbook.deepcr.simulate import median_variance_factor, psf_gradients

__all__ = ["ImagerTile", "simulate_imager"]


@dataclass(eq=False)
class ImagerTile:
    """A simulated imaging field, e-.

    Attributes
    ----------
    clean : numpy.ndarray
        Median of ``n_exposures`` noisy exposures (float32).
    ivar : numpy.ndarray
        Inverse variance of the median, 1/e-^2.
    exposure_ivar : numpy.ndarray
        Inverse variance of one exposure.
    model : numpy.ndarray
        Noiseless image.
    psf_sigma, read_noise, sky : float
    n_exposures : int
    psf_gradients : numpy.ndarray
        ``(4,)`` the PSF's neighbour-to-peak ratios (row, column, diagonal, anti-diagonal).
    """

    clean: np.ndarray
    ivar: np.ndarray
    exposure_ivar: np.ndarray
    model: np.ndarray
    psf_sigma: float
    read_noise: float
    sky: float
    n_exposures: int
    psf_gradients: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.clean.shape)


def _pixel_gauss(offsets: np.ndarray, sigma: float) -> np.ndarray:
    s = np.sqrt(2.0) * sigma
    return 0.5 * (special.erf((offsets + 0.5) / s) - special.erf((offsets - 0.5) / s))


def simulate_imager(shape: tuple[int, int] = (1024, 1024), psf_sigma: float = 0.6,
                    star_density: float = 2e-3, galaxy_density: float = 2e-3,
                    sky: float = 150.0, read_noise: float = 4.0, n_exposures: int = 5,
                    seed: int | np.random.Generator | None = None) -> ImagerTile:
    """Simulate an imaging field (see the module docstring).

    Parameters
    ----------
    shape : (int, int)
    psf_sigma : float
        Gaussian PSF sigma, pixels (> 0).
    star_density, galaxy_density : float
        Objects per pixel; star fluxes log-uniform 300 - 3e5 e-, galaxies 300 - 3e4 e- with
        sigma 1-4 px.
    sky : float
        Sky per pixel per exposure, e-.
    read_noise : float
        e- per pixel.
    n_exposures : int
        Exposures in the median (>= 1).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ImagerTile
    """
    ny, nx = (int(s) for s in shape)
    if min(ny, nx) < 32:
        raise ValueError(f"shape must be at least 32 x 32, got {shape}")
    for name, v in (("psf_sigma", psf_sigma), ("sky", sky + 1e-30),
                    ("read_noise", read_noise + 1e-30)):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be positive, got {v!r}")
    if int(n_exposures) != n_exposures or n_exposures < 1:
        raise ValueError(f"n_exposures must be a positive integer, got {n_exposures!r}")
    rng = np.random.default_rng(seed)
    model = np.full((ny, nx), float(sky))
    half = 12
    offs = np.arange(-half, half + 1)
    n_star = rng.poisson(star_density * ny * nx)
    n_gal = rng.poisson(galaxy_density * ny * nx)
    sig = np.concatenate([np.full(n_star, float(psf_sigma)),
                          np.hypot(rng.uniform(1.0, 4.0, n_gal), psf_sigma)])
    flux = np.exp(np.concatenate([rng.uniform(np.log(300), np.log(3e5), n_star),
                                  rng.uniform(np.log(300), np.log(3e4), n_gal)]))
    ys, xs = rng.uniform(0, ny, sig.size), rng.uniform(0, nx, sig.size)
    for y, x, s, f in zip(ys, xs, sig, flux, strict=True):
        iy, ix = int(np.floor(y + 0.5)), int(np.floor(x + 0.5))
        wy, wx = _pixel_gauss(iy + offs - y, s), _pixel_gauss(ix + offs - x, s)
        y0, x0 = iy - half, ix - half
        ya, yb = max(y0, 0), min(y0 + 2 * half + 1, ny)
        xa, xb = max(x0, 0), min(x0 + 2 * half + 1, nx)
        if ya >= yb or xa >= xb:
            continue
        model[ya:yb, xa:xb] += f * np.outer(wy[ya - y0:yb - y0], wx[xa - x0:xb - x0])
    stack = np.empty((int(n_exposures), ny, nx), dtype=np.float32)
    for i in range(int(n_exposures)):
        stack[i] = rng.poisson(model) + rng.standard_normal((ny, nx)) * read_noise
    clean = np.median(stack, axis=0) if n_exposures > 1 else stack[0]
    var1 = read_noise**2 + model
    return ImagerTile(clean=clean.astype(np.float32),
                      ivar=(1.0 / (var1 * median_variance_factor(int(n_exposures)))
                            ).astype(np.float32),
                      exposure_ivar=(1.0 / var1).astype(np.float32),
                      model=model.astype(np.float32), psf_sigma=float(psf_sigma),
                      read_noise=float(read_noise), sky=float(sky),
                      n_exposures=int(n_exposures),
                      psf_gradients=psf_gradients(psf_sigma, psf_sigma, 0.0, 1.0))
