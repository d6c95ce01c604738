"""Counts maps of a Cherenkov telescope array: expected-count templates from gammapy, then fast
numpy sampling.

:func:`build_templates` reduces one 100 s observation per observing condition with gammapy
(:func:`reference_dataset`): the background counts map, the map of expected source counts per
unit flux at every pixel (exposure x spectrum x energy-dispersion losses), and the
energy-integrated containment of the PSF for a Crab-like spectrum. :func:`simulate_maps` then
draws thousands of maps per second from them:

* background: the total count ``N ~ Poisson(sum(lambda))``, placed by inverse-CDF sampling of
  the (per-map scaled and tilted) background template -- statistically identical to a Poisson
  draw in every pixel, and much faster for maps with 10^2-10^3 counts;
* each source: ``N ~ Poisson(mu)`` events scattered around a continuous true position with
  radii drawn from the PSF containment and uniform azimuths, then binned.

Pixel conventions follow gammapy and astropy: pixel ``(x, y)`` of ``image[y, x]`` covers
``[x - 0.5, x + 0.5)`` and its centre has integer coordinates; ``x`` increases to lower right
ascension (east is left, as on the sky).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from cosmicbook.cherenkov.irf import condition_irfs, condition_label, energy_axes

__all__ = [
    "ChapterMaps",
    "chapter_maps",
    "CRAB_AMPLITUDE",
    "CRAB_INDEX",
    "REFERENCE_POINTING",
    "DEFAULT_CONDITIONS",
    "NPIX",
    "BINSZ",
    "CountsMaps",
    "Templates",
    "as_counts",
    "build_templates",
    "map_wcs",
    "pixel_to_sky",
    "reference_dataset",
    "simulate_maps",
    "source_model",
]

#: Map size (pixels per side) and pixel size (deg) of the seed: 200 x 200 pixels of 0.025 deg.
NPIX = 200
BINSZ = 0.025
#: Amplitude at 1 TeV of the Crab-like power law (cm-2 s-1 TeV-1), index 2.48.
CRAB_AMPLITUDE = 3e-11
CRAB_INDEX = 2.48
#: Where the reference datasets point (the Crab); simulated maps get random pointings.
REFERENCE_POINTING = (83.63, 22.01)
#: Observing conditions (zenith deg, NSB relative to a dark sky) the templates are built for.
DEFAULT_CONDITIONS: tuple[tuple[float, float], ...] = (
    (20.0, 1.0), (40.0, 1.0), (60.0, 1.0), (20.0, 4.0), (40.0, 4.0), (60.0, 4.0),
)


def reference_dataset(irfs: dict, livetime: float = 100.0, *, npix: int = NPIX,
                      binsz: float = BINSZ, pointing: tuple[float, float] = REFERENCE_POINTING,
                      name: str = "ref", image: bool = False):
    """Reduce one observation pointed at the map centre to a gammapy ``MapDataset``.

    Parameters
    ----------
    irfs : dict
        ``{"aeff", "psf", "edisp", "bkg"}`` (:func:`~cosmicbook.cherenkov.irf.get_irfs`).
    livetime : float
        Live time, s.
    npix, binsz : int, float
        Pixels per side and pixel size (deg) of the square map.
    pointing : (float, float)
        RA, Dec (deg, ICRS) of the pointing and map centre.
    name : str
        Dataset name.
    image : bool
        One reconstructed-energy bin (0.05-50 TeV) instead of three per decade: the
        energy-integrated maps of the chapter (the true-energy axis is kept, so that models
        are folded with the full energy-dependent response).

    Returns
    -------
    gammapy.datasets.MapDataset
        With exposure, background, PSF and energy dispersion; the safe mask cuts offsets
        beyond 3.5 deg. It holds no models.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from gammapy.data import FixedPointingInfo, Observation, observatory_locations
    from gammapy.datasets import MapDataset
    from gammapy.makers import MapDatasetMaker, SafeMaskMaker
    from gammapy.maps import WcsGeom

    if not (np.isfinite(livetime) and livetime > 0):
        raise ValueError(f"livetime must be a positive number of seconds, got {livetime!r}")
    axes = energy_axes()
    pnt = SkyCoord(*pointing, unit="deg", frame="icrs")
    obs = Observation.create(pointing=FixedPointingInfo(fixed_icrs=pnt),
                             livetime=livetime * u.s, irfs=irfs,
                             location=observatory_locations["ctao_north"])
    e_reco = axes["energy"]
    if image:
        from gammapy.maps import MapAxis

        e_reco = MapAxis.from_energy_edges(e_reco.edges[[0, -1]], name="energy")
    geom = WcsGeom.create(skydir=pnt, binsz=binsz, npix=(npix, npix), frame="icrs",
                          axes=[e_reco])
    empty = MapDataset.create(geom, energy_axis_true=axes["energy_true"], rad_axis=axes["rad"],
                              migra_axis=axes["migra"], name=name)
    # one image bin spans three decades: integrate the background over 30 sub-bins, not as
    # a single power law between 0.05 and 50 TeV (wrong for curved spectra, zero for the
    # published ones, whose tables end below 50 TeV)
    maker = MapDatasetMaker(selection=["exposure", "background", "psf", "edisp"],
                            background_oversampling=30 if image else None)
    dataset = maker.run(empty, obs)
    return SafeMaskMaker(methods=["offset-max"], offset_max=3.5 * u.deg).run(dataset, obs)


def source_model(ra: float, dec: float, amplitude: float = CRAB_AMPLITUDE,
                 index: float = CRAB_INDEX, name: str = "src"):
    """A gammapy point source with a power-law spectrum (amplitude at 1 TeV, cm-2 s-1 TeV-1)."""
    import astropy.units as u
    from gammapy.modeling.models import PointSpatialModel, PowerLawSpectralModel, SkyModel

    spectral = PowerLawSpectralModel(index=index, amplitude=amplitude * u.Unit("cm-2 s-1 TeV-1"),
                                     reference=1 * u.TeV)
    spatial = PointSpatialModel(lon_0=ra * u.deg, lat_0=dec * u.deg, frame="icrs")
    return SkyModel(spectral_model=spectral, spatial_model=spatial, name=name)


@dataclass
class Templates:
    """Expected-count templates of the fast simulator, one per observing condition.

    Attributes
    ----------
    conditions : list of (float, float)
        (zenith deg, NSB) of each template; ``("file", 0)`` marks IRFs read from a file.
    background : numpy.ndarray, shape (K, npix, npix)
        Expected background counts per pixel for ``livetime`` seconds (energy-integrated).
    source_per_amplitude : numpy.ndarray, shape (K, npix, npix)
        Expected counts of a point source of amplitude 1 cm-2 s-1 TeV-1 (index ``index``)
        centred on each pixel, for ``livetime`` seconds.
    psf_rad : numpy.ndarray, shape (R,)
        Radii (deg) of the containment tables.
    psf_containment : numpy.ndarray, shape (K, R)
        Fraction of a source's events within each radius (energy-integrated, weighted with the
        source's expected counts per energy), 0 at radius 0 and normalised to 1 at the last.
    livetime : float
        Live time of the templates, s.
    index : float
        Spectral index the source templates assume.
    geom : gammapy.maps.WcsGeom
        The 2-D image geometry of the templates (pointing at :data:`REFERENCE_POINTING`).
    irf_path : str or None
        The IRF file the templates come from (None: analytic IRFs).
    """

    conditions: list
    background: np.ndarray
    source_per_amplitude: np.ndarray
    psf_rad: np.ndarray
    psf_containment: np.ndarray
    livetime: float
    index: float
    geom: object
    irf_path: str | None = None

    @property
    def npix(self) -> int:
        """Pixels per side."""
        return int(self.background.shape[-1])

    @property
    def binsz(self) -> float:
        """Pixel size, deg."""
        return float(abs(self.geom.pixel_scales[0].to_value("deg")))

    def psf_radius(self, fraction: float = 0.68, condition: int = 0) -> float:
        """Radius (deg) containing ``fraction`` of a source's events."""
        return float(np.interp(fraction, self.psf_containment[condition], self.psf_rad))

    def select(self, conditions) -> Templates:
        """The templates of some of the conditions (indices into :attr:`conditions`), for
        maps simulated at those conditions only.

        Examples
        --------
        >>> south = templates.select([0])  # doctest: +SKIP
        """
        idx = np.atleast_1d(np.asarray(conditions, dtype=int))
        if idx.size == 0 or idx.min() < 0 or idx.max() >= len(self.conditions):
            raise ValueError(f"condition indices must lie in 0..{len(self.conditions) - 1}, "
                             f"got {idx.tolist()}")
        return Templates([self.conditions[i] for i in idx], self.background[idx],
                         self.source_per_amplitude[idx], self.psf_rad,
                         self.psf_containment[idx], self.livetime, self.index, self.geom,
                         self.irf_path)


def _source_weights(dataset, index: float, position):
    """Expected counts per unit amplitude in each true-energy bin at ``position``."""
    import astropy.units as u
    from gammapy.modeling.models import PowerLawSpectralModel

    e_true = dataset.exposure.geom.axes["energy_true"]
    pl = PowerLawSpectralModel(index=index, amplitude=1 * u.Unit("cm-2 s-1 TeV-1"))
    flux = pl.integral(e_true.edges[:-1], e_true.edges[1:]).to_value("cm-2 s-1")
    kernel = dataset.edisp.get_edisp_kernel(position=position,
                                            energy_axis=dataset.counts.geom.axes["energy"])
    kept = np.asarray(kernel.data).sum(axis=1)  # fraction reconstructed inside the reco range
    return flux * kept


def build_templates(conditions: Sequence[tuple[float, float]] = DEFAULT_CONDITIONS,
                    irf_path: str | os.PathLike | None = None, *, livetime: float = 100.0,
                    index: float = CRAB_INDEX, npix: int = NPIX,
                    binsz: float = BINSZ) -> Templates:
    """Compute the expected-count templates with gammapy, once per observing condition.

    Parameters
    ----------
    conditions : sequence of (zenith, nsb)
        Observing conditions of the analytic IRFs (ignored when ``irf_path`` is given).
    irf_path : path, optional
        A real IRF file (e.g. CTA prod5): one template, from these IRFs.
    livetime : float
        Live time of the templates, s (maps of other live times are scaled).
    index : float
        Spectral index of the sources.
    npix, binsz : int, float
        Map size and pixel size (deg).

    Returns
    -------
    Templates

    Raises
    ------
    FileNotFoundError, ValueError
        From :func:`~cosmicbook.cherenkov.irf.load_irfs` for a bad ``irf_path``; ValueError
        for no conditions.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if irf_path is not None:
        conditions = [("file", 0.0)]
    conditions = [tuple(c) for c in conditions]
    if not conditions:
        raise ValueError("at least one observing condition is needed")
    if isinstance(npix, bool) or not isinstance(npix, (int, np.integer)) or npix < 16:
        raise ValueError(f"npix must be an int >= 16, got {npix!r}")
    centre = SkyCoord(*REFERENCE_POINTING, unit="deg", frame="icrs")
    rad = energy_axes()["rad"].center.to_value("deg")
    rad = np.concatenate([[0.0], rad])
    backgrounds, sources, containments = [], [], []
    geom = None
    for zenith, nsb in conditions:
        irfs = condition_irfs((zenith, nsb), irf_path)
        ds = reference_dataset(irfs, livetime, npix=npix, binsz=binsz)
        mask = ds.mask_safe.data.any(axis=0)
        backgrounds.append(np.where(mask, ds.background.data.sum(axis=0), 0.0))
        weights = _source_weights(ds, index, centre)
        exposure = ds.exposure.quantity.to_value("cm2 s").astype(np.float64)
        sources.append(np.where(mask, np.tensordot(weights, exposure, axes=1), 0.0))
        e_true = ds.exposure.geom.axes["energy_true"]
        cont = ds.psf.containment(rad * u.deg, e_true.center[:, None], centre)
        w = weights * exposure[:, npix // 2, npix // 2]
        c = (w[:, None] * np.asarray(cont)).sum(axis=0) / w.sum()
        containments.append(c / c[-1])
        geom = ds.counts.geom.to_image()
    return Templates(conditions, np.stack(backgrounds), np.stack(sources), rad,
                     np.stack(containments), float(livetime), float(index), geom,
                     None if irf_path is None else str(irf_path))


@dataclass
class CountsMaps:
    """Simulated counts maps and their truth.

    Attributes
    ----------
    counts : numpy.ndarray of uint16, shape (N, npix, npix)
        Noisy maps: background and source events.
    source : numpy.ndarray of uint16, shape (N, npix, npix)
        The source events alone (the seed's "clean", source-only maps).
    background : numpy.ndarray of float32, shape (N, npix, npix) or None
        Expected background counts of each map (``keep_background=True``), for background
        subtraction: ``counts - background`` is the seed's IRF-background-subtracted map.
    x, y : numpy.ndarray, shape (N, max_sources)
        True source positions, pixels (NaN where a map has fewer sources).
    amplitude : numpy.ndarray, shape (N, max_sources)
        Source amplitudes at 1 TeV, cm-2 s-1 TeV-1 (NaN padding).
    mu : numpy.ndarray, shape (N, max_sources)
        Expected source counts (NaN padding).
    n_sources : numpy.ndarray of int, shape (N,)
    livetime, bkg_norm, mu_background : numpy.ndarray, shape (N,)
        Live time (s), background normalisation, total expected background counts.
    condition : numpy.ndarray of int, shape (N,)
        Index into ``templates.conditions``.
    gradient : numpy.ndarray, shape (N, 2)
        Fractional background change from the centre to the right and top edges.
    pointing : numpy.ndarray, shape (N, 2)
        RA, Dec (deg) of the pointing (= map centre).
    templates : Templates
    """

    counts: np.ndarray
    source: np.ndarray
    background: np.ndarray | None
    x: np.ndarray
    y: np.ndarray
    amplitude: np.ndarray
    mu: np.ndarray
    n_sources: np.ndarray
    livetime: np.ndarray
    bkg_norm: np.ndarray
    mu_background: np.ndarray
    condition: np.ndarray
    gradient: np.ndarray
    pointing: np.ndarray
    templates: Templates = field(repr=False)

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    def expected_background(self, i: int) -> np.ndarray:
        """The expected background counts map of map ``i`` (npix, npix), float64."""
        return _background_lambda(self.templates, int(self.condition[i]),
                                  float(self.livetime[i]), float(self.bkg_norm[i]),
                                  self.gradient[i])

    def sky(self, i: int | None = None):
        """True source positions as SkyCoord: of map ``i`` (its sources), or all (N, k)."""
        if i is None:
            return pixel_to_sky(self.x, self.y, self.pointing, self.templates)
        n = int(self.n_sources[i])
        return pixel_to_sky(self.x[i, :n], self.y[i, :n], self.pointing[i], self.templates)

    def subset(self, index) -> CountsMaps:
        """The maps selected by ``index`` (slice, integer or boolean array)."""
        background = None if self.background is None else self.background[index]
        return CountsMaps(self.counts[index], self.source[index], background,
                          self.x[index], self.y[index], self.amplitude[index], self.mu[index],
                          self.n_sources[index], self.livetime[index], self.bkg_norm[index],
                          self.mu_background[index], self.condition[index],
                          self.gradient[index], self.pointing[index], self.templates)


def map_wcs(pointing, templates: Templates | None = None, *, npix: int = NPIX,
            binsz: float = BINSZ):
    """The astropy WCS of a map centred on ``pointing`` (RA, Dec deg).

    The maps use gammapy's default CAR projection with its reference point at the map
    centre, so the pixel geometry (offsets from the pointing) is the same for every pointing.
    """
    from astropy.wcs import WCS

    if templates is not None:
        npix, binsz = templates.npix, templates.binsz
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---CAR", "DEC--CAR"]
    w.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    w.wcs.cdelt = [-binsz, binsz]
    w.wcs.crval = [float(pointing[0]), float(pointing[1])]
    w.wcs.radesys = "ICRS"
    return w


def pixel_to_sky(x, y, pointing, templates: Templates | None = None, *, npix: int = NPIX,
                 binsz: float = BINSZ):
    """Sky coordinates (ICRS) of pixel positions in maps centred on ``pointing``.

    Parameters
    ----------
    x, y : array_like, shape (N, ...) or (...)
        Pixel coordinates (0-based, pixel centres at integers); NaN stays NaN.
    pointing : array_like, shape (N, 2) or (2,)
        RA, Dec (deg) of each map's centre; one row per map along the first axis of x, y.
    templates : Templates, optional
        Take ``npix`` and ``binsz`` from these.

    Returns
    -------
    astropy.coordinates.SkyCoord
        The shape of ``x``.
    """
    from astropy.coordinates import SkyCoord

    pointing = np.asarray(pointing, dtype=float)
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    if pointing.shape == (2,):
        ra, dec = map_wcs(pointing, templates, npix=npix, binsz=binsz).wcs_pix2world(
            x.ravel(), y.ravel(), 0)
        return SkyCoord(ra.reshape(x.shape), dec.reshape(x.shape), unit="deg", frame="icrs")
    if pointing.ndim != 2 or pointing.shape[1] != 2 or x.ndim == 0 \
            or x.shape[0] != pointing.shape[0]:
        raise ValueError(f"pointing must be (2,) or (N, 2) with N = len(x); got {pointing.shape}"
                         f" for x of shape {x.shape}")
    ra = np.full(x.shape, np.nan)
    dec = np.full(x.shape, np.nan)
    for i in range(x.shape[0]):
        w = map_wcs(pointing[i], templates, npix=npix, binsz=binsz)
        r, d = w.wcs_pix2world(x[i].ravel(), y[i].ravel(), 0)
        ra[i], dec[i] = r.reshape(x.shape[1:]), d.reshape(x.shape[1:])
    return SkyCoord(ra, dec, unit="deg", frame="icrs")


def _background_lambda(templates: Templates, cond: int, livetime: float, norm: float,
                       gradient) -> np.ndarray:
    npix = templates.npix
    ramp = (np.arange(npix) - (npix - 1) / 2.0) / ((npix - 1) / 2.0)
    tilt = 1.0 + gradient[0] * ramp[None, :] + gradient[1] * ramp[:, None]
    return templates.background[cond] * (livetime / templates.livetime * norm) * tilt


def _as_range(value, name: str, positive: bool = True) -> tuple[float, float]:
    lo, hi = (value, value) if np.isscalar(value) else tuple(value)
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo or (positive and lo <= 0):
        raise ValueError(f"{name} must be a positive number or a (low, high) range, "
                         f"got {value!r}")
    return lo, hi


def _log_uniform(rng, lo, hi, size):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def simulate_maps(n: int, templates: Templates, *, seed: int | np.random.Generator = 0,
                  n_sources: int | tuple[int, int] = 1,
                  flux: float | tuple[float, float] = (0.002, 1.0),
                  livetime: float | tuple[float, float] = 100.0,
                  bkg_norm: float | tuple[float, float] = (0.8, 1.25),
                  gradient: float = 0.1, margin: float = 4.0,
                  pointing_dec: tuple[float, float] = (-30.0, 60.0),
                  positions=None, keep_background: bool = False) -> CountsMaps:
    """Simulate ``n`` counts maps from the gammapy templates (thousands per second).

    Parameters
    ----------
    n : int
        Number of maps.
    templates : Templates
        From :func:`build_templates`.
    seed : int or numpy.random.Generator
        Random seed (or generator) of the draw.
    n_sources : int or (int, int)
        Sources per map, or an inclusive range drawn uniformly (e.g. ``(0, 3)``).
    flux : float or (float, float)
        Source flux in units of the Crab (:data:`CRAB_AMPLITUDE`), or a range drawn
        log-uniformly.
    livetime : float or (float, float)
        Live time (s), or a range drawn log-uniformly.
    bkg_norm : float or (float, float)
        Background normalisation, or a range drawn uniformly (residual cosmic-ray rate).
    gradient : float
        Largest fractional change of the background from the centre to an edge, drawn
        uniformly in [-gradient, gradient] along each axis (azimuth-dependent zenith).
    margin : float
        Sources are placed uniformly at least this many pixels inside the map edges.
    pointing_dec : (float, float)
        Range of pointing declinations (deg); right ascensions are uniform.
    positions : array_like, shape (k, 2), optional
        Fixed source positions (x, y in pixels) used in every map instead of random ones
        (``n_sources`` is then ``k``).
    keep_background : bool
        Also return each map's expected background (N x npix x npix float32).

    Returns
    -------
    CountsMaps

    Raises
    ------
    ValueError
        For a non-positive ``n``, bad ranges, or a margin that leaves no room.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if positions is not None:
        positions = np.asarray(positions, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(positions)):
            raise ValueError("positions must be finite pixel coordinates")
        n_sources = len(positions)
    if np.isscalar(n_sources):
        k_lo = k_hi = int(n_sources)
    else:
        k_lo, k_hi = (int(v) for v in n_sources)
    if k_lo < 0 or k_hi < k_lo:
        raise ValueError(f"n_sources must be >= 0 or a (low, high) range, got {n_sources!r}")
    f_lo, f_hi = _as_range(flux, "flux")
    t_lo, t_hi = _as_range(livetime, "livetime")
    b_lo, b_hi = _as_range(bkg_norm, "bkg_norm")
    if not (0 <= gradient < 1):
        raise ValueError(f"gradient must be in [0, 1), got {gradient!r}")
    npix, binsz = templates.npix, templates.binsz
    if not (0 <= margin < npix / 2 - 1):
        raise ValueError(f"margin must be in [0, {npix / 2 - 1}) pixels, got {margin!r}")

    n_cond = len(templates.conditions)
    cond = rng.integers(0, n_cond, n)
    t = _log_uniform(rng, t_lo, t_hi, n)
    norm = rng.uniform(b_lo, b_hi, n)
    grad = rng.uniform(-gradient, gradient, (n, 2))
    ks = rng.integers(k_lo, k_hi + 1, n)
    kmax = max(k_hi, 1)
    xs = np.full((n, kmax), np.nan)
    ys = np.full((n, kmax), np.nan)
    amps = np.full((n, kmax), np.nan)
    mus = np.full((n, kmax), np.nan)
    lo, hi = margin - 0.5, npix - 0.5 - margin
    for i in range(n):
        if positions is None:
            xs[i, :ks[i]] = rng.uniform(lo, hi, ks[i])
            ys[i, :ks[i]] = rng.uniform(lo, hi, ks[i])
        else:
            xs[i, :ks[i]], ys[i, :ks[i]] = positions[:, 0], positions[:, 1]
        amps[i, :ks[i]] = CRAB_AMPLITUDE * _log_uniform(rng, f_lo, f_hi, ks[i])
    pointing = np.stack([rng.uniform(0, 360, n),
                         np.degrees(np.arcsin(rng.uniform(*np.sin(np.radians(pointing_dec)),
                                                          n)))], axis=1)

    counts = np.zeros((n, npix, npix), dtype=np.uint16)
    source = np.zeros((n, npix, npix), dtype=np.uint16)
    background = np.zeros((n, npix, npix), dtype=np.float32) if keep_background else None
    mu_bkg = np.zeros(n)
    cdf_rad = templates.psf_rad / binsz  # pixels
    base_cum = np.cumsum(templates.background.reshape(n_cond, -1), axis=1)
    ramp = (np.arange(npix) - (npix - 1) / 2.0) / ((npix - 1) / 2.0)
    moment_x = (templates.background * ramp[None, None, :]).sum(axis=(1, 2))
    moment_y = (templates.background * ramp[None, :, None]).sum(axis=(1, 2))
    for i in range(n):
        # background: a Poisson process on the condition's template, thinned by the tilt
        scale = t[i] / templates.livetime * norm[i]
        tilt_max = 1.0 + abs(grad[i, 0]) + abs(grad[i, 1])
        cum = base_cum[cond[i]]
        nb = rng.poisson(cum[-1] * scale * tilt_max)
        bidx = np.minimum(np.searchsorted(cum, rng.uniform(0, cum[-1], nb), side="right"),
                          npix * npix - 1)
        by, bx = np.divmod(bidx, npix)
        tilt = 1.0 + grad[i, 0] * ramp[bx] + grad[i, 1] * ramp[by]
        bidx = bidx[rng.uniform(0, tilt_max, nb) < tilt]
        mu_bkg[i] = scale * (base_cum[cond[i], -1] + grad[i, 0] * moment_x[cond[i]]
                             + grad[i, 1] * moment_y[cond[i]])
        if background is not None:
            background[i] = _background_lambda(templates, cond[i], t[i], norm[i], grad[i])
        sidx = []
        for j in range(ks[i]):
            px = int(np.clip(np.rint(xs[i, j]), 0, npix - 1))
            py = int(np.clip(np.rint(ys[i, j]), 0, npix - 1))
            mus[i, j] = (amps[i, j] * templates.source_per_amplitude[cond[i], py, px]
                         * t[i] / templates.livetime)
            ns = rng.poisson(mus[i, j])
            r = np.interp(rng.uniform(0, 1, ns), templates.psf_containment[cond[i]], cdf_rad)
            phi = rng.uniform(0, 2 * np.pi, ns)
            ex = np.floor(xs[i, j] + r * np.cos(phi) + 0.5).astype(np.int64)
            ey = np.floor(ys[i, j] + r * np.sin(phi) + 0.5).astype(np.int64)
            inside = (ex >= 0) & (ex < npix) & (ey >= 0) & (ey < npix)
            sidx.append(ey[inside] * npix + ex[inside])
        src = np.concatenate(sidx) if sidx else np.zeros(0, np.int64)
        src_map = np.bincount(src, minlength=npix * npix)
        source[i] = src_map.reshape(npix, npix)
        counts[i] = (src_map + np.bincount(bidx, minlength=npix * npix)).reshape(npix, npix)
    return CountsMaps(counts, source, background, xs, ys, amps, mus, ks, t, norm, mu_bkg,
                      cond, grad, pointing, templates)


def as_counts(maps, npix: int | None = NPIX) -> np.ndarray:
    """Counts maps as a float32 array (N, npix, npix), from arrays or gammapy Maps.

    Parameters
    ----------
    maps : array_like, gammapy Map or sequence of Maps
        ``(npix, npix)`` or ``(N, npix, npix)`` arrays, a gammapy ``Map`` (a 3-D counts
        cube is summed over its energy axis), a list of Maps, or a :class:`CountsMaps`.
    npix : int or None
        Required map size (None accepts any square size).

    Raises
    ------
    ValueError
        For other shapes, non-finite or negative values.
    """
    if isinstance(maps, CountsMaps):
        maps = maps.counts
    if hasattr(maps, "geom") and hasattr(maps, "data"):
        maps = [maps]
    if isinstance(maps, (list, tuple)) and maps and hasattr(maps[0], "geom"):
        arrays = []
        for m in maps:
            data = np.asarray(m.data, dtype=np.float64)
            arrays.append(data.reshape(-1, *data.shape[-2:]).sum(axis=0))
        maps = np.stack(arrays)
    arr = np.asarray(maps)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"counts maps must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or (npix is not None
                                                         and arr.shape[1] != npix):
        want = f"({npix}, {npix})" if npix else "square"
        raise ValueError(f"expected counts maps of shape {want} or (N, {npix}, {npix}), got "
                         f"{arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("got zero maps")
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("counts maps contain NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError("counts maps contain negative values")
    return arr


def _zenith_label(cond) -> str:
    return condition_label(cond)



class ChapterMaps(NamedTuple):
    """The chapter's data sets (:func:`chapter_maps`): one-source maps for the seed's networks
    and the localisation benchmark, zero-to-three-source maps for the heat-map localiser and the
    multi-source test; the test sets keep their background maps."""

    seed_train: CountsMaps
    seed_val: CountsMaps
    loc_train: CountsMaps
    loc_val: CountsMaps
    test: CountsMaps
    multi: CountsMaps


def chapter_maps(cfg, templates: Templates) -> ChapterMaps:
    """Simulate the chapter's six data sets for a profile, each from its own seed
    (``cfg.seed`` to ``cfg.seed + 5``), with the profile's sizes, flux and livetime ranges.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`~cosmicbook.cherenkov.PROFILES`.
    templates : Templates
        The instrument response the maps are drawn from.
    """
    sim = dict(flux=cfg.flux, livetime=cfg.livetime)
    multi = dict(n_sources=(0, 3), **sim)
    return ChapterMaps(
        simulate_maps(cfg.n_seed_train, templates, seed=cfg.seed, **sim),
        simulate_maps(cfg.n_seed_val, templates, seed=cfg.seed + 1, **sim),
        simulate_maps(cfg.n_loc_train, templates, seed=cfg.seed + 2, **multi),
        simulate_maps(cfg.n_loc_val, templates, seed=cfg.seed + 3, **multi),
        simulate_maps(cfg.n_test, templates, seed=cfg.seed + 4, keep_background=True, **sim),
        simulate_maps(cfg.n_multi_test, templates, seed=cfg.seed + 5, keep_background=True,
                      **multi))
