"""Stage 1 of the smartphone simulation: energy deposits of particles in a CMOS pixel grid.

Everything here is in *electrons* (electron-hole pairs, 3.6 eV each) per pixel, before any
readout: :mod:`cosmicbook.crayfis.readout` turns deposits into 8-bit frames. Keeping the two
stages apart is the point of the chapter's second half: the interaction can be simulated from
first principles, the readout of a particular phone cannot.

Event kinds (one event per 40 x 40 frame, as in the cut-outs around a trigger of CRAYFIS):

``"muon"``
    A minimum-ionising muon crossing the depletion layer in a straight line. Zenith angles
    follow the sea-level flux through a horizontal sensor, ``dN/dcos(theta)`` proportional to
    ``cos^3(theta)`` (``cos^2`` per solid angle times the projected area); the projected length
    is ``depth * tan(theta) / pitch`` pixels; the charge per micron of path is
    ``MIP_E_PER_UM`` times a Landau-like (Moyal) fluctuation per step.
``"electron"``
    A Compton or beta electron of 30-150 keV (log-uniform) starting in the sensor plane: a
    curly random walk whose scattering grows as it slows down; energy loss follows the
    continuous-slowing-down range ``R(E) = 81 um (E / 100 keV)^1.7`` of silicon (NIST ESTAR).
``"photon"``
    A low-energy photon (X-ray, photo-absorption) converting in one point: a small diffuse
    spot of 200-1200 electrons.
``"alpha"``
    An alpha particle of the Ra-226 chain (4-6 MeV): a short, very dense blob, saturating.
    Only used to *break* the mixture assumption.
``"empty"``
    Nothing: the frame is pure readout noise.

Every deposit is smeared by charge diffusion (a Gaussian of ``diffusion`` pixels).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

from cosmicbook.core.progress import progress as _progress

__all__ = [
    "EV_PER_PAIR",
    "FRAME_SIZE",
    "KINDS",
    "MIP_E_PER_UM",
    "TRACK_KINDS",
    "Deposits",
    "Sensor",
    "draw_kinds",
    "simulate_deposits",
]

#: Pixels per side of a frame (the seed deck's examples are 40 x 40).
FRAME_SIZE = 40
#: Energy per electron-hole pair in silicon (eV).
EV_PER_PAIR = 3.6
#: Most probable charge of a minimum-ionising particle in silicon (electrons per micron).
MIP_E_PER_UM = 76.0
#: All event kinds the simulator knows.
KINDS = ("empty", "photon", "muon", "electron", "alpha")
#: Kinds that count as a *track* (a charged particle crossing the sensor).
TRACK_KINDS = ("muon", "electron", "alpha")


@dataclass(frozen=True)
class Sensor:
    """Geometry of a phone's CMOS sensor (defaults from the DECO / crayfis-sim numbers).

    Attributes
    ----------
    pitch_um : float
        Pixel pitch (micron); phones: ~1.1-1.5.
    depth_um : float
        Depletion depth (micron); DECO measured 14-28.
    diffusion : float
        Charge diffusion, Gaussian sigma in pixels.
    size : int
        Pixels per side of a frame.
    """

    pitch_um: float = 1.5
    depth_um: float = 20.0
    diffusion: float = 0.55
    size: int = FRAME_SIZE

    def __post_init__(self) -> None:
        for name in ("pitch_um", "depth_um"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not self.diffusion >= 0:
            raise ValueError(f"diffusion must be >= 0, got {self.diffusion!r}")
        if int(self.size) != self.size or self.size < 8:
            raise ValueError(f"size must be an int >= 8, got {self.size!r}")


@dataclass
class Deposits:
    """Simulated energy deposits and their truth.

    Attributes
    ----------
    electrons : numpy.ndarray of float32, shape (n, size, size)
        Collected charge per pixel (electrons).
    kind : numpy.ndarray of str, shape (n,)
        Event kind of each frame (one of :data:`KINDS`).
    params : dict of str -> numpy.ndarray, each of shape (n,)
        ``theta`` (muon zenith angle, rad; NaN otherwise), ``energy_kev`` (deposited energy,
        keV), ``length`` (projected muon length, pixels; NaN otherwise).
    """

    electrons: np.ndarray
    kind: np.ndarray
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def is_track(self) -> np.ndarray:
        """Bool, shape (n,): the frame holds a charged-particle track (:data:`TRACK_KINDS`)."""
        return np.isin(self.kind, TRACK_KINDS)

    def subset(self, index) -> Deposits:
        """The frames selected by ``index`` (bool mask or integer array)."""
        return Deposits(self.electrons[index], self.kind[index],
                        {k: v[index] for k, v in self.params.items()})

    @staticmethod
    def concatenate(parts: list[Deposits]) -> Deposits:
        """Join several :class:`Deposits` along the frame axis."""
        if not parts:
            raise ValueError("nothing to concatenate")
        keys = parts[0].params.keys()
        return Deposits(np.concatenate([p.electrons for p in parts]),
                        np.concatenate([p.kind for p in parts]),
                        {k: np.concatenate([p.params[k] for p in parts]) for k in keys})


# --------------------------------------------------------------------------------------------
# single events (charge placed at sub-pixel points, then diffused)
# --------------------------------------------------------------------------------------------
def _deposit_points(grid: np.ndarray, x: np.ndarray, y: np.ndarray, q: np.ndarray) -> None:
    """Add charges ``q`` at sub-pixel positions ``(x, y)`` by bilinear splitting (in place)."""
    size = grid.shape[0]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                      (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < size) & (yi >= 0) & (yi < size)
        np.add.at(grid, (yi[ok], xi[ok]), q[ok] * w[ok])


def _moyal(rng: np.random.Generator, n: int) -> np.ndarray:
    """Landau-like fluctuations (Moyal distribution), normalised to a most probable value 1."""
    # Moyal variate: -log(chi2_1) ; most probable value 0, long tail to the right.
    z = -np.log(rng.chisquare(1, n))
    return np.clip(1.0 + 0.18 * z, 0.2, 15.0)


def _muon(rng: np.random.Generator, sensor: Sensor, grid: np.ndarray) -> dict:
    cos_t = (1.0 - rng.uniform(0, 0.999)) ** 0.25  # dN/dcos ~ cos^3 through a flat sensor
    theta = float(np.arccos(cos_t))
    phi = rng.uniform(0, 2 * np.pi)
    length = sensor.depth_um * np.tan(theta) / sensor.pitch_um  # pixels
    path_um = sensor.depth_um / cos_t
    n = max(int(np.ceil(path_um / 0.5)), 4)  # 0.5 micron steps along the 3D path
    t = (np.arange(n) + 0.5) / n - 0.5
    c = sensor.size / 2 + rng.uniform(-8, 8, 2)
    x = c[0] + t * length * np.cos(phi)
    y = c[1] + t * length * np.sin(phi)
    q = MIP_E_PER_UM * (path_um / n) * _moyal(rng, n)
    _deposit_points(grid, x, y, q)
    return {"theta": theta, "length": length, "energy_kev": q.sum() * EV_PER_PAIR / 1e3}


def _electron(rng: np.random.Generator, sensor: Sensor, grid: np.ndarray,
              e_range: tuple[float, float] = (30.0, 150.0)) -> dict:
    e0 = float(np.exp(rng.uniform(np.log(e_range[0]), np.log(e_range[1]))))  # keV
    k_um = 81.0 / 100.0 ** 1.7  # CSDA range R(E) = k E^1.7 (micron, keV), silicon
    range_px = k_um * e0 ** 1.7 / sensor.pitch_um
    ds = 0.4  # pixels per step
    n = max(int(np.ceil(range_px / ds)), 2)
    s = np.arange(1, n + 1) * ds
    # energy left after a path s: E(s) = (E0^1.7 - s / k)^(1/1.7)
    e_left = np.clip(e0 ** 1.7 - s * sensor.pitch_um / k_um, 0, None) ** (1 / 1.7)
    de = -np.diff(np.concatenate([[e0], e_left]))
    # multiple scattering: angular kicks grow as the electron slows down
    sigma = np.clip(0.12 * (60.0 / np.maximum(e_left, 2.0)) ** 0.9, 0.0, 1.2)
    angle = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 1, n) * sigma)
    c = sensor.size / 2 + rng.uniform(-8, 8, 2)
    x = c[0] + np.cumsum(ds * np.cos(angle))
    y = c[1] + np.cumsum(ds * np.sin(angle))
    x, y = x - x.mean() + c[0], y - y.mean() + c[1]  # centre the walk near c
    q = de * 1e3 / EV_PER_PAIR
    _deposit_points(grid, x, y, q)
    return {"theta": np.nan, "length": np.nan, "energy_kev": float(de.sum())}


def _photon(rng: np.random.Generator, sensor: Sensor, grid: np.ndarray) -> dict:
    q = rng.uniform(200.0, 1200.0)
    c = sensor.size / 2 + rng.uniform(-10, 10, 2)
    n = 8
    x = c[0] + rng.normal(0, 0.3, n)
    y = c[1] + rng.normal(0, 0.3, n)
    _deposit_points(grid, x, y, np.full(n, q / n))
    return {"theta": np.nan, "length": np.nan, "energy_kev": q * EV_PER_PAIR / 1e3}


def _alpha(rng: np.random.Generator, sensor: Sensor, grid: np.ndarray) -> dict:
    e_kev = rng.uniform(4000.0, 6000.0)
    length = rng.uniform(1.0, 6.0)  # pixels in the plane (grazing alphas are rare)
    phi = rng.uniform(0, 2 * np.pi)
    n = 40
    t = np.linspace(-0.5, 0.5, n) * length
    c = sensor.size / 2 + rng.uniform(-8, 8, 2)
    x = c[0] + t * np.cos(phi) + rng.normal(0, 1.2, n)
    y = c[1] + t * np.sin(phi) + rng.normal(0, 1.2, n)
    # only the part in the depletion layer is collected: 5-20% of the energy
    q = np.full(n, e_kev * rng.uniform(0.05, 0.2) * 1e3 / EV_PER_PAIR / n)
    _deposit_points(grid, x, y, q)
    return {"theta": np.nan, "length": length, "energy_kev": q.sum() * EV_PER_PAIR / 1e3}


_EVENT = {"muon": _muon, "electron": _electron, "photon": _photon, "alpha": _alpha}


def draw_kinds(n: int, track_fraction: float, rng: np.random.Generator,
               track_mix: Mapping[str, float] | None = None,
               noise_mix: Mapping[str, float] | None = None) -> np.ndarray:
    """Event kinds for ``n`` frames: tracks with probability ``track_fraction``.

    Parameters
    ----------
    n : int
        Number of frames.
    track_fraction : float
        Probability that a frame holds a track, in [0, 1] (a = P(track|D1) of the chapter).
    rng : numpy.random.Generator
    track_mix : mapping, optional
        Relative rates of the track kinds (default ``{"muon": 0.3, "electron": 0.7}``).
    noise_mix : mapping, optional
        Relative rates of the non-track kinds (default ``{"empty": 0.5, "photon": 0.5}``).

    Returns
    -------
    numpy.ndarray of str, shape (n,)
    """
    if not 0.0 <= track_fraction <= 1.0:
        raise ValueError(f"track_fraction must be in [0, 1], got {track_fraction!r}")
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    track_mix = dict(track_mix or {"muon": 0.3, "electron": 0.7})
    noise_mix = dict(noise_mix or {"empty": 0.5, "photon": 0.5})
    for mix, allowed, name in ((track_mix, TRACK_KINDS, "track_mix"),
                               (noise_mix, ("empty", "photon"), "noise_mix")):
        bad = sorted(set(mix) - set(allowed))
        if bad:
            raise ValueError(f"{name} has kinds {bad}; allowed: {allowed}")
        w = np.array(list(mix.values()), dtype=float)
        if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"{name} needs non-negative weights with a positive sum: {mix}")
    is_track = rng.random(int(n)) < track_fraction
    tk, tw = list(track_mix), np.array(list(track_mix.values()), float)
    nk, nw = list(noise_mix), np.array(list(noise_mix.values()), float)
    kinds = np.where(is_track, rng.choice(tk, int(n), p=tw / tw.sum()),
                     rng.choice(nk, int(n), p=nw / nw.sum()))
    return kinds.astype("U8")


def simulate_deposits(kinds, rng: np.random.Generator, sensor: Sensor | None = None,
                      progress: bool | None = None) -> Deposits:
    """Simulate one event of the given kind per frame.

    Parameters
    ----------
    kinds : sequence of str, shape (n,)
        One of :data:`KINDS` per frame (see :func:`draw_kinds`).
    rng : numpy.random.Generator
    sensor : Sensor, optional
        Geometry and diffusion (default :class:`Sensor`).
    progress : bool, optional
        Progress bar over frames (``None`` follows ``COSMICBOOK_PROGRESS``).

    Returns
    -------
    Deposits
        Charge in electrons, shape ``(n, size, size)``, with the kinds and event parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> dep = simulate_deposits(["muon", "empty"], rng)
    >>> dep.electrons.shape, bool(dep.electrons[1].sum() == 0)
    ((2, 40, 40), True)
    """
    sensor = sensor or Sensor()
    kinds = np.asarray(kinds).astype("U8")
    if kinds.ndim != 1:
        raise ValueError(f"kinds must be 1-D, got shape {kinds.shape}")
    unknown = sorted(set(kinds.tolist()) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown event kind(s) {unknown}; expected some of {KINDS}")
    n = len(kinds)
    out = np.zeros((n, sensor.size, sensor.size), dtype=np.float32)
    params = {k: np.full(n, np.nan) for k in ("theta", "length", "energy_kev")}
    grid = np.zeros((sensor.size, sensor.size))
    for i in _progress(range(n), enabled=progress, desc="interaction", unit="frame"):
        if kinds[i] == "empty":
            params["energy_kev"][i] = 0.0
            continue
        grid[:] = 0.0
        info = _EVENT[kinds[i]](rng, sensor, grid)
        if sensor.diffusion > 0:
            grid = gaussian_filter(grid, sensor.diffusion, mode="constant")
        out[i] = grid
        for key, value in info.items():
            params[key][i] = value
    return Deposits(out, kinds, params)
