"""Instrument randomisation and cosmic-ray augmentation for training masks that transfer.

A mask network trained on one simulated camera learns that camera: its PSF width, its sky
lines, its noise. Domain randomisation (Tobin et al. 2017) trains instead on many cameras, each
frame drawn from ranges wide enough to contain the instruments the network will meet:

* :class:`InstrumentRanges` -- ranges of the spectrograph's PSF (cross-dispersion and
  wavelength sigma drawn separately, growth towards the corners, Gaussian wings), its trace
  geometry (fibre pitch, bundle size and gaps, tilt, curvature), its sky (line density, width
  and strength, continuum), object continua, read noise, gain (the frame is digitised in ADU),
  residual bias steps between the amplifiers, exposure time and the number of exposures in the
  clean median. :meth:`InstrumentRanges.draw` returns one :class:`Instrument`.
* :class:`CosmicAugmentation` -- on top of the chapter-1 library: random flips and 90-degree
  rotations, amplitude scaling (log-uniform) and a fraction of short, thin synthetic tracks
  (:func:`thin_track`) that the darks' extraction rarely yields.
* :func:`make_randomised_frames` -- training or test frames, each from its own drawn instrument.

Every range is ``(low, high)``; a range with ``low == high`` fixes the parameter, which is how
:func:`instrument_grid` builds the held-out frames of a transfer map (one parameter on a grid,
the others at the DESI-like defaults).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.table import Table

from cosmicbook.core.progress import progress as _progress
from cosmicbook.darks.library import CosmicLibrary
from cosmicbook.deepcr.simulate import (
    DESI_RATE,
    SpectroCamera,
    TrainingFrame,
    make_training_frame,
)

__all__ = [
    "DESI_INSTRUMENT",
    "CosmicAugmentation",
    "Instrument",
    "InstrumentRanges",
    "augment_library",
    "instrument_grid",
    "make_randomised_frames",
    "thin_track",
]

#: Parameters whose range holds integers.
_INTEGER = {"bundle_size", "n_exposures"}
#: Parameters drawn log-uniformly (scales and rates spanning factors of several).
_LOG = {"n_sky_lines", "sky_line_scale", "sky_continuum", "continuum_scale", "exptime"}
#: Parameters that may be negative (signed geometry).
_SIGNED = {"tilt", "curvature"}


def _check_range(name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}") from err
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if lo > hi:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    if name not in _SIGNED and lo < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    if name in _LOG and lo <= 0:
        raise ValueError(f"{name} must be positive (it is drawn log-uniformly), got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class Instrument:
    """One drawn spectrograph camera and exposure.

    Attributes
    ----------
    camera : dict
        Keyword arguments of :class:`~cosmicbook.deepcr.simulate.SpectroCamera` (without the
        shape).
    gain : float
        e-/ADU: the frame is digitised in steps of ``gain`` electrons, and the library's
        stamps (ADU of the chapter-1 camera) keep their charge in electrons.
    bias_step : float
        Sigma of the residual bias offsets of the four amplifiers (quadrants), e-.
    exptime : float
        Exposure time, s: sets the sky and object levels and the number of cosmics.
    n_exposures : int
        Exposures in the clean median.
    """

    camera: dict
    gain: float
    bias_step: float
    exptime: float
    n_exposures: int

    def make_camera(self, shape: tuple[int, int]) -> SpectroCamera:
        """The :class:`~cosmicbook.deepcr.simulate.SpectroCamera` of this instrument."""
        return SpectroCamera(tuple(shape), **self.camera)

    @property
    def psf_sigma(self) -> float:
        """Core PSF sigma at the centre of the CCD, mean of the two directions, pixels."""
        return 0.5 * (self.camera["psf_sigma"][0] + self.camera["psf_sigma_wave"][0])

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {"gain": self.gain, "bias_step": self.bias_step, "exptime": self.exptime,
                "n_exposures": self.n_exposures,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in self.camera.items()}}


@dataclass(frozen=True)
class InstrumentRanges:
    """Ranges ``(low, high)`` of the randomised spectrograph instruments.

    The defaults span the book's target: PSF core sigma 0.8-2.2 px in each direction, read
    noise 2-6 e-, and DESI's camera (pitch 7.4 px, 25 fibres per bundle, sigma ~1.45 px, 3 e-)
    well inside. Log-uniform: ``n_sky_lines``, ``sky_line_scale``, ``sky_continuum``,
    ``continuum_scale``, ``exptime``; the others uniform.

    Attributes
    ----------
    psf_sigma_cross, psf_sigma_wave : (float, float)
        Core sigma at the CCD centre across the traces and along the wavelength direction,
        drawn independently, pixels.
    psf_growth : (float, float)
        Fractional growth of both sigmas from the centre to the corners.
    wing_fraction, wing_scale : (float, float)
        Fraction of the light in the Gaussian wings and their sigma relative to the core.
    fibre_pitch : (float, float)
        Distance between neighbouring traces, pixels.
    bundle_size : (int, int)
        Fibres per bundle.
    bundle_gap : (float, float)
        Gap between bundles, in fibre pitches.
    tilt, curvature : (float, float)
        Trace tilt and bow over 4096 rows, pixels (signed).
    n_sky_lines : (float, float)
        Sky lines per 4096 rows.
    sky_line_width : (float, float)
        Intrinsic sigma of the sky lines, pixels.
    sky_line_scale : (float, float)
        Factor on DESI's sky-line fluxes (0.02-20 e- per fibre per s).
    sky_continuum : (float, float)
        Sky continuum, e- per row per fibre per s.
    continuum_scale : (float, float)
        Factor on the galaxy and star continua.
    read_noise : (float, float)
        e- per pixel.
    gain : (float, float)
        e-/ADU.
    bias_step : (float, float)
        Sigma of the amplifier offsets, e-.
    exptime : (float, float)
        Exposure time, s.
    n_exposures : (int, int)
        Exposures in the clean median.

    Examples
    --------
    >>> ranges = InstrumentRanges(read_noise=(3.0, 3.0))
    >>> inst = ranges.draw(np.random.default_rng(0))
    >>> inst.camera["read_noise"]
    3.0
    >>> InstrumentRanges(read_noise=(6.0, 2.0))
    Traceback (most recent call last):
    ...
    ValueError: read_noise must have low <= high, got (6.0, 2.0)
    """

    psf_sigma_cross: tuple[float, float] = (0.8, 2.2)
    psf_sigma_wave: tuple[float, float] = (0.8, 2.2)
    psf_growth: tuple[float, float] = (0.0, 0.2)
    wing_fraction: tuple[float, float] = (0.0, 0.25)
    wing_scale: tuple[float, float] = (1.8, 3.5)
    fibre_pitch: tuple[float, float] = (5.5, 9.5)
    bundle_size: tuple[int, int] = (10, 25)
    bundle_gap: tuple[float, float] = (1.5, 4.0)
    tilt: tuple[float, float] = (-6.0, 6.0)
    curvature: tuple[float, float] = (-8.0, 8.0)
    n_sky_lines: tuple[float, float] = (10.0, 200.0)
    sky_line_width: tuple[float, float] = (0.0, 1.0)
    sky_line_scale: tuple[float, float] = (0.3, 3.0)
    sky_continuum: tuple[float, float] = (0.01, 0.2)
    continuum_scale: tuple[float, float] = (0.3, 3.0)
    read_noise: tuple[float, float] = (2.0, 6.0)
    gain: tuple[float, float] = (0.8, 2.5)
    bias_step: tuple[float, float] = (0.0, 5.0)
    exptime: tuple[float, float] = (300.0, 3600.0)
    n_exposures: tuple[int, int] = (3, 7)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            lo, hi = _check_range(f.name, getattr(self, f.name))
            if f.name in _INTEGER:
                if lo != int(lo) or hi != int(hi) or lo < 1:
                    raise ValueError(f"{f.name} must be a pair of positive integers, got "
                                     f"{getattr(self, f.name)!r}")
                lo, hi = int(lo), int(hi)
            object.__setattr__(self, f.name, (lo, hi))
        if self.psf_sigma_cross[0] <= 0 or self.psf_sigma_wave[0] <= 0:
            raise ValueError("PSF sigmas must be positive")
        if self.wing_fraction[1] >= 1:
            raise ValueError(f"wing_fraction must stay below 1, got {self.wing_fraction}")
        for name in ("fibre_pitch", "gain", "wing_scale"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def fixed(cls, instrument: Instrument | None = None, **values: float) -> InstrumentRanges:
        """Ranges that all collapse to one instrument: ``values`` (by range name) on top of
        :data:`DESI_INSTRUMENT` (or ``instrument``'s own ranges)."""
        base = dict(DESI_INSTRUMENT if instrument is None else instrument)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}")
        base.update(values)
        return cls(**{k: (v, v) for k, v in base.items()})

    def replace(self, **ranges) -> InstrumentRanges:
        """A copy with some ranges replaced."""
        return dataclasses.replace(self, **ranges)

    def to_dict(self) -> dict:
        """JSON-ready ``{name: [low, high]}``."""
        return {f.name: list(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def _value(self, name: str, rng: np.random.Generator) -> float:
        lo, hi = getattr(self, name)
        if name in _INTEGER:
            return int(rng.integers(lo, hi + 1))
        if lo == hi:
            return lo
        if name in _LOG:
            return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        return float(rng.uniform(lo, hi))

    def draw(self, rng: np.random.Generator | int | None = None,
             shape: tuple[int, int] | None = None) -> Instrument:
        """Draw one instrument.

        Parameters
        ----------
        rng : numpy.random.Generator, int or None
        shape : (int, int), optional
            The frame the camera will render: the number of bundles is chosen so that the
            traces fill it (default a 4096-pixel-wide CCD).

        Returns
        -------
        Instrument
        """
        rng = np.random.default_rng(rng)
        v = {f.name: self._value(f.name, rng) for f in dataclasses.fields(self)}
        nx = 4096 if shape is None else int(shape[1])
        pitch, size = v["fibre_pitch"], v["bundle_size"]
        period = (size - 1 + v["bundle_gap"]) * pitch
        n_bundles = max(int((nx - 16 - (size - 1) * pitch) // period) + 1, 1)
        while n_bundles > 1 and (n_bundles - 1) * period + (size - 1) * pitch > nx - 8:
            n_bundles -= 1
        if (size - 1) * pitch > nx - 8:
            size = max(int((nx - 8) // pitch), 1)
        growth = 1.0 + v["psf_growth"]
        scale = v["continuum_scale"]
        line = v["sky_line_scale"]
        camera = {
            "read_noise": v["read_noise"],
            "n_bundles": n_bundles, "bundle_size": size, "fibre_pitch": pitch,
            "bundle_period": period if n_bundles > 1 else max(period, size * pitch + 1),
            "psf_sigma": (v["psf_sigma_cross"], v["psf_sigma_cross"] * growth),
            "psf_sigma_wave": (v["psf_sigma_wave"], v["psf_sigma_wave"] * growth),
            "wing_fraction": v["wing_fraction"], "wing_scale": v["wing_scale"],
            "tilt": v["tilt"], "curvature": v["curvature"],
            "n_sky_lines": int(round(v["n_sky_lines"])), "sky_line_width": v["sky_line_width"],
            "sky_line_flux": (0.02 * line, 20.0 * line), "sky_continuum": v["sky_continuum"],
            "galaxy_flux": (0.03 * scale, 1.0), "star_flux": (0.3 * scale, 8.0 * scale),
        }
        return Instrument(camera=camera, gain=v["gain"], bias_step=v["bias_step"],
                          exptime=v["exptime"], n_exposures=v["n_exposures"])


#: The DESI-like instrument of the chapter's single-camera simulation, as range values: the
#: centre of a transfer map.
DESI_INSTRUMENT: dict[str, float] = {
    "psf_sigma_cross": 1.45, "psf_sigma_wave": 1.45, "psf_growth": 0.1, "wing_fraction": 0.1,
    "wing_scale": 2.5, "fibre_pitch": 7.4, "bundle_size": 25, "bundle_gap": 3.03,
    "tilt": 3.0, "curvature": 4.0, "n_sky_lines": 60.0, "sky_line_width": 0.0,
    "sky_line_scale": 1.0, "sky_continuum": 0.05, "continuum_scale": 1.0, "read_noise": 3.0,
    "gain": 1.5, "bias_step": 0.0, "exptime": 1200.0, "n_exposures": 5,
}


def instrument_grid(parameter: str, values: Sequence[float], base: dict | None = None,
                    **fixed: float) -> list[InstrumentRanges]:
    """Fixed instruments with one parameter on a grid: the rows of a transfer map.

    Parameters
    ----------
    parameter : str
        A range name of :class:`InstrumentRanges`, or ``"psf_sigma"`` for both PSF directions
        together.
    values : sequence of float
        The grid.
    base : dict, optional
        The other parameters (default :data:`DESI_INSTRUMENT`).
    **fixed
        Overrides of ``base``.

    Returns
    -------
    list of InstrumentRanges
        One collapsed range set per grid value.
    """
    names = {f.name for f in dataclasses.fields(InstrumentRanges)}
    if parameter != "psf_sigma" and parameter not in names:
        raise ValueError(f"unknown parameter {parameter!r}; expected 'psf_sigma' or one of "
                         f"{sorted(names)}")
    values = list(values)
    if not values:
        raise ValueError("values must not be empty")
    base = dict(DESI_INSTRUMENT if base is None else base)
    base.update(fixed)
    out = []
    for value in values:
        point = dict(base)
        if parameter == "psf_sigma":
            point["psf_sigma_cross"] = point["psf_sigma_wave"] = float(value)
        else:
            point[parameter] = value
        out.append(InstrumentRanges.fixed(**point))
    return out


# ---------------------------------------------------------------------- cosmic augmentation
def thin_track(length: float, angle: float, width: float, charge: float,
               rng: np.random.Generator | None = None, threshold: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """A short, thin straight track: a line segment blurred by a Gaussian of ``width``.

    The deposit per unit length fluctuates (a Gamma distribution of shape 4, mean 1, as a
    crude Landau-like straggling) and the ends are sharp, so the track looks like a glancing
    muon or a delta ray.

    Parameters
    ----------
    length : float
        Projected length, pixels (>= 0; 0 is a point-like hit).
    angle : float
        Direction, radians.
    width : float
        Gaussian sigma across the track, pixels (> 0).
    charge : float
        Mean deposit per pixel of length, e- (a point-like hit gets this as its total).
    rng : numpy.random.Generator, optional
        For the straggling (default: none, a uniform deposit).
    threshold : float
        Footprint: pixels holding more than this, e- (default 0: every pixel above 1 % of
        the peak).

    Returns
    -------
    stamp, footprint : numpy.ndarray
        Float32 charge (e-) and its bool footprint, of the same odd square shape.
    """
    if length < 0 or width <= 0 or charge <= 0:
        raise ValueError(f"need length >= 0, width > 0 and charge > 0, got {length}, "
                         f"{width}, {charge}")
    half = int(np.ceil(0.5 * length + 3 * width)) + 1
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(float)
    n_steps = max(int(np.ceil(length * 4)), 1)
    t = (np.arange(n_steps) + 0.5) / n_steps - 0.5
    dq = np.full(n_steps, charge * max(length, 1.0) / n_steps)
    if rng is not None:
        dq *= rng.gamma(4.0, 0.25, n_steps)
    cy, cx = t * length * np.sin(angle), t * length * np.cos(angle)
    stamp = np.zeros_like(y)
    norm = 1.0 / (2 * np.pi * width**2)
    for q, py, px in zip(dq, cy, cx, strict=True):
        stamp += q * norm * np.exp(-0.5 * ((y - py) ** 2 + (x - px) ** 2) / width**2)
    cut = threshold if threshold > 0 else 0.01 * stamp.max()
    footprint = stamp > cut
    return np.where(footprint, stamp, 0.0).astype(np.float32), footprint


@dataclass(frozen=True)
class CosmicAugmentation:
    """Augmentation of the chapter-1 cosmic-ray library.

    Attributes
    ----------
    rotate : bool
        Random flips and 90-degree rotations of every injected stamp.
    amplitude : (float, float)
        Log-uniform range of the factor on each stamp's charge.
    track_fraction : float
        Fraction of the augmented library made of :func:`thin_track` s, in [0, 1).
    track_length : (float, float)
        Uniform range of their length, pixels.
    track_width : (float, float)
        Uniform range of their Gaussian sigma, pixels.
    track_charge : (float, float)
        Log-uniform range of their charge per pixel of length, e-.
    size : int
        Entries of the augmented library drawn for each frame.
    """

    rotate: bool = True
    amplitude: tuple[float, float] = (0.5, 2.0)
    track_fraction: float = 0.25
    track_length: tuple[float, float] = (0.0, 30.0)
    track_width: tuple[float, float] = (0.3, 0.9)
    track_charge: tuple[float, float] = (60.0, 3000.0)
    size: int = 400

    def __post_init__(self):
        for name in ("amplitude", "track_length", "track_width", "track_charge"):
            lo, hi = _check_range(name, getattr(self, name))
            object.__setattr__(self, name, (lo, hi))
        if self.amplitude[0] <= 0 or self.track_charge[0] <= 0 or self.track_width[0] <= 0:
            raise ValueError("amplitude, track_charge and track_width must be positive")
        if not 0 <= self.track_fraction < 1:
            raise ValueError(f"track_fraction must be in [0, 1), got {self.track_fraction!r}")
        if int(self.size) != self.size or self.size < 1:
            raise ValueError(f"size must be a positive integer, got {self.size!r}")

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}


def augment_library(library: CosmicLibrary, augmentation: CosmicAugmentation | None = None,
                    seed: int | np.random.Generator | None = None,
                    gain: float | None = None) -> CosmicLibrary:
    """A new library of ``augmentation.size`` entries: scaled stamps and thin tracks.

    Parameters
    ----------
    library : CosmicLibrary
        Stamps in ADU with a known gain (chapter 1).
    augmentation : CosmicAugmentation, optional
        Default :class:`CosmicAugmentation` ``()``.
    seed : int or numpy.random.Generator, optional
    gain : float, optional
        e-/ADU of the *returned* library (the tracks are made in electrons and stored in its
        ADU); default the library's own.

    Returns
    -------
    CosmicLibrary
        Stamps in ADU of ``gain``; its ``table`` has ``kind`` (``library`` / ``track``) and
        ``amplitude``.
    """
    if not isinstance(library, CosmicLibrary):
        raise ValueError(f"library must be a CosmicLibrary, got {type(library).__name__}")
    if not len(library):
        raise ValueError("cannot augment an empty library")
    aug = CosmicAugmentation() if augmentation is None else augmentation
    g_in = library.gain
    if g_in is None:
        raise ValueError("the library does not record its gain (e-/ADU)")
    gain = g_in if gain is None else float(gain)
    rng = np.random.default_rng(seed)
    n_tracks = int(rng.binomial(aug.size, aug.track_fraction))
    n_lib = aug.size - n_tracks
    stamps, masks, kinds, amps = [], [], [], []
    lo, hi = np.log(aug.amplitude)
    for i in rng.integers(0, len(library), n_lib):
        stamp, fp = library[int(i)]
        a = float(np.exp(rng.uniform(lo, hi)))
        stamps.append(stamp * np.float32(a * g_in / gain))
        masks.append(fp)
        kinds.append("library")
        amps.append(a)
    clo, chi = np.log(aug.track_charge)
    for _ in range(n_tracks):
        q = float(np.exp(rng.uniform(clo, chi)))
        stamp, fp = thin_track(rng.uniform(*aug.track_length), rng.uniform(0, np.pi),
                               rng.uniform(*aug.track_width), q, rng)
        stamps.append(stamp / np.float32(gain))
        masks.append(fp)
        kinds.append("track")
        amps.append(1.0)
    sources = Table(library.sources, copy=True)
    sources["gain"] = gain
    table = Table({"kind": np.array(kinds, dtype="U7"), "amplitude": np.array(amps),
                   "source": np.zeros(len(stamps), dtype=np.int32)})
    return CosmicLibrary(stamps, masks, table=table, sources=sources[:1],
                         meta={**library.meta, "AUGMENT": True})


# ---------------------------------------------------------------------- frames
def _digitise_and_bias(frame: TrainingFrame, instrument: Instrument,
                       rng: np.random.Generator) -> None:
    """Residual amplifier offsets and ADU quantisation, in place (truth unchanged)."""
    image = frame.image
    ny, nx = image.shape
    if instrument.bias_step > 0:
        offsets = rng.normal(0.0, instrument.bias_step, 4).astype(np.float32)
        hy, hx = ny // 2, nx // 2
        image[:hy, :hx] += offsets[0]
        image[:hy, hx:] += offsets[1]
        image[hy:, :hx] += offsets[2]
        image[hy:, hx:] += offsets[3]
    g = np.float32(instrument.gain)
    np.multiply(np.round(image / g), g, out=image)


def make_randomised_frames(n_frames: int, frame_size: int | tuple[int, int],
                           library: CosmicLibrary,
                           ranges: InstrumentRanges | None = None,
                           augmentation: CosmicAugmentation | None = None, seed: int = 0, *,
                           rate: float = DESI_RATE, exptime_factor: float = 1.0,
                           progress: bool | None = None) -> list[TrainingFrame]:
    """Frames each seen by its own randomly drawn instrument, with augmented cosmics.

    Parameters
    ----------
    n_frames : int
    frame_size : int or (int, int)
    library : CosmicLibrary
        The chapter-1 library (ADU, with its gain).
    ranges : InstrumentRanges, optional
        Default :class:`InstrumentRanges` ``()`` (a collapsed one from
        :func:`instrument_grid` gives frames of one fixed instrument).
    augmentation : CosmicAugmentation, optional
        Default :class:`CosmicAugmentation` ``()``; ``CosmicAugmentation(amplitude=(1, 1),
        track_fraction=0)`` keeps the library as it is (still rotated and flipped).
    seed : int
    rate : float
        Cosmics per s per 4k frame.
    exptime_factor : float
        The number of cosmics is drawn for ``exptime_factor`` x the drawn exposure time:
        values > 1 pack more cosmics into every training frame (more positives per CPU
        second) without changing the sky.
    progress : bool or None

    Returns
    -------
    list of TrainingFrame
        Each with ``instrument``: the drawn :class:`Instrument` as a dict, plus the camera's
        ``psf_gradients`` (what the SDSS method needs).
    """
    if int(n_frames) != n_frames or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if not np.isfinite(exptime_factor) or exptime_factor <= 0:
        raise ValueError(f"exptime_factor must be positive, got {exptime_factor!r}")
    ranges = InstrumentRanges() if ranges is None else ranges
    augmentation = CosmicAugmentation() if augmentation is None else augmentation
    if not isinstance(ranges, InstrumentRanges):
        raise ValueError(f"ranges must be InstrumentRanges, got {type(ranges).__name__}")
    shape = (frame_size, frame_size) if np.ndim(frame_size) == 0 else tuple(frame_size)
    children = np.random.default_rng(seed).spawn(int(n_frames))
    frames = []
    for child in _progress(children, enabled=progress, desc="frames", unit="frame"):
        inst_rng, tile_rng, lib_rng, frame_rng, adc_rng = child.spawn(5)
        inst = ranges.draw(inst_rng, shape)
        tile = inst.make_camera(shape).observe(exptime=inst.exptime,
                                               n_exposures=inst.n_exposures, seed=tile_rng,
                                               progress=False)
        lib = augment_library(library, augmentation, lib_rng, gain=inst.gain)
        frame = make_training_frame(tile, lib, exptime=inst.exptime * exptime_factor,
                                    seed=frame_rng, gain=inst.gain, rate=rate,
                                    rotate=augmentation.rotate)
        _digitise_and_bias(frame, inst, adc_rng)
        frame.instrument = {**inst.to_dict(), "psf_gradients": tile.psf_gradients.tolist()}
        frames.append(frame)
    return frames

