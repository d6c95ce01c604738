"""The classical methods, run with gammapy on the same maps as the networks.

* :func:`blind_search` -- ``ExcessMapEstimator`` (correlation radius 0.1 deg) with only the
  background model attached, then ``find_peaks`` on ``sqrt_ts`` (the authors' "standard"
  pipeline);
* :func:`ml_fit` -- a full-field maximum-likelihood fit of a point source with a power-law
  spectrum (index fixed) on top of the IRF background, started at the brightest pixel of the
  0.1-deg-smoothed counts with its position bounded to +-0.5 deg;
* :func:`aperture_significance` -- aperture photometry: Li & Ma significance of the counts
  in a circle, with the background from the IRF template or from a ring around it.

:class:`GammapyAnalysis` holds one energy-integrated gammapy ``MapDataset`` per observing
condition and turns each simulated map into a dataset (counts, and exposure and background
scaled to the map's live time) -- what an analysis that knows the IRFs but not the source
would start from.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from cosmicbook.cherenkov.irf import condition_irfs
from cosmicbook.cherenkov.simulate import (
    CRAB_AMPLITUDE,
    CRAB_INDEX,
    CountsMaps,
    Templates,
    as_counts,
    reference_dataset,
    source_model,
)

__all__ = ["FitResult", "GammapyAnalysis", "aperture_significance", "li_ma"]


@contextlib.contextmanager
def _quiet_gammapy():
    """Silence gammapy's log messages and warnings (e.g. "outside valid IRF map range" for
    a trial position near the edge) so that notebooks stay free of stderr output."""
    logger = logging.getLogger("gammapy")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def li_ma(n_on, n_off, alpha):
    """Li & Ma (1983) eq. 17 significance, signed (negative for deficits).

    Parameters
    ----------
    n_on, n_off : array_like
        Counts in the on and off regions.
    alpha : array_like
        On/off exposure ratio. ``n_off / alpha`` -> the expected background ``b`` for
        ``alpha -> 0`` gives the known-background limit ``sqrt(2 (n ln(n/b) - n + b))``.
    """
    from gammapy.stats import WStatCountsStatistic

    stat = WStatCountsStatistic(np.asarray(n_on, float), np.asarray(n_off, float),
                                np.asarray(alpha, float))
    return np.asarray(stat.sqrt_ts, dtype=float)


def aperture_significance(counts, x, y, radius: float = 4.0, *, background=None,
                          ring: tuple[float, float] = (20.0, 40.0)) -> np.ndarray:
    """Aperture photometry: the significance of the counts within ``radius`` of (x, y).

    Parameters
    ----------
    counts : array_like, shape (N, H, W) or (H, W)
        Counts maps.
    x, y : array_like, shape (N,)
        Aperture centres, pixels.
    radius : float
        Aperture radius, pixels (4 = 0.1 deg).
    background : array_like, shape (N, H, W), optional
        Expected background counts (the IRF template): the known-background Li & Ma / Cash
        significance. Without it, the background comes from a ring of ``ring`` (inner,
        outer) pixels around the aperture (Li & Ma eq. 17 with alpha = area ratio).

    Returns
    -------
    numpy.ndarray, shape (N,)
        Significance (sigma); NaN where the aperture centre is not finite.
    """
    from gammapy.stats import CashCountsStatistic

    counts = as_counts(counts, npix=None)
    n, h, w = counts.shape
    x = np.broadcast_to(np.asarray(x, dtype=float), (n,))
    y = np.broadcast_to(np.asarray(y, dtype=float), (n,))
    if radius <= 0 or not ring[0] < ring[1]:
        raise ValueError(f"bad aperture radius {radius} or ring {ring}")
    if background is not None:
        background = np.asarray(background, dtype=float).reshape(counts.shape)
    yy, xx = np.mgrid[:h, :w]
    out = np.full(n, np.nan)
    for i in range(n):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        r = np.hypot(xx - x[i], yy - y[i])
        on = r <= radius
        n_on = counts[i][on].sum()
        if background is not None:
            b = background[i][on].sum()
            out[i] = float(CashCountsStatistic(n_on, max(b, 1e-12)).sqrt_ts)
        else:
            off = (r >= ring[0]) & (r < ring[1])
            out[i] = float(li_ma(n_on, counts[i][off].sum(), on.sum() / off.sum()))
    return out


@dataclass
class FitResult:
    """Positions found by a gammapy method on one map (pixels and sky)."""

    x: float
    y: float
    ra: float
    dec: float
    value: float
    seconds: float
    error_deg: float = math.nan
    success: bool = True


class GammapyAnalysis:
    """Energy-integrated gammapy datasets for the maps simulated from ``templates``.

    Parameters
    ----------
    templates : Templates
        The templates the maps were simulated from (their conditions and IRF file).
    """

    def __init__(self, templates: Templates):
        self.templates = templates
        self._datasets = []
        for condition in templates.conditions:
            irfs = condition_irfs(condition, templates.irf_path)
            self._datasets.append(reference_dataset(
                irfs, templates.livetime, npix=templates.npix, binsz=templates.binsz,
                image=True, name="map"))

    def dataset(self, maps: CountsMaps, i: int, counts: np.ndarray | None = None):
        """A gammapy MapDataset of map ``i``: its counts, IRFs of its observing condition,
        exposure and background scaled to its live time (background norm 1, no gradient:
        the analysis does not know them). Its geometry points at :data:`REFERENCE_POINTING`;
        pixel positions are the same as in the map's own WCS."""
        ref = self._datasets[int(maps.condition[i])]
        scale = float(maps.livetime[i]) / self.templates.livetime
        ds = ref.copy(name=f"map{i}")
        ds.exposure.data = ref.exposure.data * scale
        # the background the maps were simulated from (integrated over the reconstructed
        # energies bin by bin): gammapy's single-bin image integration is a single power law
        # between 0.05 and 50 TeV, exact only for a power-law background spectrum
        cond = int(maps.condition[i])
        ds.background.data = self.templates.background[cond][None].astype(float) * scale
        data = maps.counts[i] if counts is None else counts
        ds.counts.data = as_counts(data, npix=self.templates.npix)[0][None].astype(float)
        return ds

    def blind_search(self, maps: CountsMaps, i: int, *, threshold: float = -np.inf,
                     correlation_radius: float = 0.1, min_distance: int = 8,
                     max_peaks: int = 10) -> list[FitResult]:
        """``ExcessMapEstimator`` + ``find_peaks`` on ``sqrt_ts`` (background model only).

        Returns the peaks above ``threshold`` (sigma), brightest first, at most
        ``max_peaks``; with the default threshold at least the brightest pixel.
        """
        import time

        import astropy.units as u
        from gammapy.estimators import ExcessMapEstimator
        from gammapy.estimators.utils import find_peaks
        from gammapy.modeling.models import FoVBackgroundModel, Models

        t0 = time.perf_counter()
        ds = self.dataset(maps, i)
        ds.models = Models([FoVBackgroundModel(dataset_name=ds.name)])
        est = ExcessMapEstimator(correlation_radius=correlation_radius * u.deg,
                                 selection_optional=[])
        with _quiet_gammapy():
            sqrt_ts = est.run(ds)["sqrt_ts"]
            floor = float(np.nanmin(sqrt_ts.data)) if not np.isfinite(threshold) else threshold
            peaks = find_peaks(sqrt_ts, threshold=floor, min_distance=min_distance)
        seconds = time.perf_counter() - t0
        out = []
        for row in peaks[:max_peaks]:
            px, py = float(row["x"]), float(row["y"])
            sky = self._sky(maps, i, px, py)
            out.append(FitResult(px, py, sky[0], sky[1], float(row["value"]), seconds))
        return out

    def _sky(self, maps: CountsMaps, i: int, x: float, y: float) -> tuple[float, float]:
        from cosmicbook.cherenkov.simulate import pixel_to_sky

        s = pixel_to_sky(x, y, maps.pointing[i], self.templates)
        return float(s.ra.deg), float(s.dec.deg)

    def ml_fit(self, maps: CountsMaps, i: int, *, bound: float = 0.5,
               smooth_deg: float = 0.1) -> FitResult:
        """Maximum-likelihood fit of one point source (Cash statistic, full field).

        The source (power law of index 2.48, amplitude free) starts at the brightest pixel of
        the counts smoothed with a Gaussian of ``smooth_deg``; its position is bounded to
        +-``bound`` deg around the start. The background is the IRF template (norm fixed).
        """
        import time

        from gammapy.modeling import Fit
        from gammapy.modeling.models import FoVBackgroundModel, Models

        t0 = time.perf_counter()
        ds = self.dataset(maps, i)
        sm = gaussian_filter(ds.counts.data[0], smooth_deg / self.templates.binsz)
        py, px = np.unravel_index(np.argmax(sm), sm.shape)
        coord = ds.counts.geom.to_image().pix_to_coord((np.array([px]), np.array([py])))
        lon0, lat0 = float(coord[0][0].to_value("deg")), float(coord[1][0].to_value("deg"))
        src = source_model(lon0, lat0, CRAB_AMPLITUDE * 0.05, CRAB_INDEX, name="src")
        src.spectral_model.index.frozen = True
        src.spectral_model.amplitude.min = 0.0
        pos = src.spatial_model
        pos.lon_0.min, pos.lon_0.max = lon0 - bound / np.cos(np.radians(lat0)), \
            lon0 + bound / np.cos(np.radians(lat0))
        pos.lat_0.min, pos.lat_0.max = lat0 - bound, lat0 + bound
        bkg = FoVBackgroundModel(dataset_name=ds.name)
        bkg.spectral_model.norm.frozen = True
        ds.models = Models([src, bkg])
        with _quiet_gammapy():
            result = Fit().run([ds])
        lon = float(pos.lon_0.value)
        lat = float(pos.lat_0.value)
        from astropy.coordinates import SkyCoord

        fx, fy = ds.counts.geom.to_image().coord_to_pix(
            SkyCoord(lon, lat, unit="deg", frame="icrs"))
        fx, fy = float(np.squeeze(fx)), float(np.squeeze(fy))
        try:
            err = float(np.hypot(pos.lat_0.error, pos.lon_0.error * np.cos(np.radians(lat))))
        except (TypeError, ValueError):
            err = math.nan
        seconds = time.perf_counter() - t0
        sky = self._sky(maps, i, fx, fy)
        return FitResult(fx, fy, sky[0], sky[1], float(result.total_stat), seconds, err,
                         bool(result.success))

