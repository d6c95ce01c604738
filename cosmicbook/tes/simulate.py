"""Monte-Carlo time-ordered data (TOD) of TES bolometers on one wafer hit by cosmic rays.

The simulator follows the Planck HFI description of energetic-particle glitches
(Planck 2013 X) and the cosmic-ray model of TOAST (``sim_cosmic_rays``), as summarised in the
chapter's reference notes:

* **noise**: white noise plus a :math:`1/f^\\alpha` component above a knee frequency, with a
  common-mode part shared by the detectors of the wafer (TOAST's detector-pair common mode,
  :math:`\\rho = 0.5`), so that the detector-detector correlation matrix is not diagonal;
* **direct hits**: an independent Poisson process per detector for each glitch family, with
  power-law amplitudes :math:`dN/dA \\propto A^{-\\gamma}` (:math:`\\gamma = 2.4` for long
  glitches, 1.7 for short ones) between a lower cut-off and an upper cap;
* **pulse shapes**: short glitches decay with one fast exponential (TOAST: :math:`\\tau \\simeq
  4 \\pm 2` ms, drawn per glitch); long glitches follow a template that is a sum of four
  exponentials (the Planck long-glitch template), a fast decay plus a low-amplitude tail over
  about one second;
* **wafer events** ("high-coincidence events", showers): a Poisson process per segment, about
  100 per hour, in which every bolometer of the wafer rises at the same time with the long
  template;
* glitches are laid down on a time grid ``oversample`` times finer than the sampling period
  and **decimated** by averaging each block of ``oversample`` fine samples (a boxcar
  anti-alias filter, which is what an integrating readout does);
* a **pre-roll** of a few seconds is simulated and discarded, so that segments start with the
  tails of earlier glitches, as a cut of a long observation would.

Units
-----
Every TOD of the chapter is in units of the rms of a detector's white noise per sample at the
sampling rate (``sigma`` units): a value of 3.2 is the Planck deglitching threshold.

Flux
----
``flux`` multiplies every rate (direct hits and wafer events) and stands for the cosmic-ray
flux relative to the Planck-at-L2 level (about 5 protons cm^-2 s^-1 above 39 MeV, one glitch
per second per detector). It may differ per segment, which is how the conditional GAN is
trained.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from astropy.table import Table
from scipy.signal import lfilter

from cosmicbook.core.progress import progress as _progress

__all__ = [
    "FAMILIES",
    "TODConfig",
    "long_template",
    "noise_psd",
    "sample_power_law",
    "segment_seconds",
    "simulate_glitches",
    "simulate_tod",
]

#: Glitch families of the truth table (``"shower"`` = wafer event, one row per detector).
FAMILIES: tuple[str, ...] = ("long", "short", "shower")


@dataclass(frozen=True)
class TODConfig:
    """Parameters of the Monte-Carlo TOD simulator; the defaults are the chapter's.

    Attributes
    ----------
    n_bolometers : int
        Detectors on the wafer (channels of a segment).
    n_samples : int
        Samples per segment (1060 in the CRAB seed deck).
    sample_rate : float
        Hz. 180.37 Hz is Planck HFI's: a segment lasts 5.88 s.
    oversample : int
        Fine time steps per sample on which glitches are laid down before decimation.
    preroll : float
        Seconds simulated before each segment and discarded (glitch tails of earlier hits).
    f_knee : float
        Hz, knee frequency of the :math:`1/f` noise (where it equals the white level).
    noise_alpha : float
        Spectral index of the low-frequency noise, :math:`P \\propto f^{-\\alpha}`.
    common_mode : tuple of float
        Coupling :math:`c_i \\in [0, 1)` of each detector to a noise stream shared by the wafer;
        the noise correlation of detectors i and j is :math:`c_i c_j`. The defaults bracket
        TOAST's pair common mode of 0.5.
    rate_long, rate_short : float
        Direct hits per second per detector at ``flux = 1``. Together Planck's "typically one
        glitch per second per detector".
    rate_shower : float
        Wafer events per second at ``flux = 1``: 100 per hour (Planck high-coincidence events).
    index_long, index_short, index_shower : float
        Power-law indices :math:`\\gamma` of :math:`dN/dA \\propto A^{-\\gamma}`.
    a_min, a_max : float
        Amplitude range of direct hits, sigma units (lower cut-off, upper cap).
    shower_a_min, shower_a_max : float
        Amplitude range of wafer events, sigma units.
    shower_gain_spread : float
        Each detector's response to a wafer event is the event amplitude times a gain drawn
        uniformly in ``1 +- shower_gain_spread``.
    tau_short, tau_short_sigma : float
        Seconds: mean and spread of the decay time of short glitches (TOAST 4 +- 2 ms); draws
        are clipped to ``[tau_short_min, tau_short_max]``.
    tau_short_min, tau_short_max : float
        Seconds.
    long_taus : tuple of float
        Seconds: the four decay times of the long-glitch template.
    long_weights : tuple of float
        Amplitudes of the four exponentials (normalised to sum 1, so a long glitch of amplitude
        A starts at A on the fine grid).
    """

    n_bolometers: int = 4
    n_samples: int = 1060
    sample_rate: float = 180.37
    oversample: int = 8
    preroll: float = 5.0
    f_knee: float = 1.0
    noise_alpha: float = 1.0
    common_mode: tuple[float, ...] = (0.8, 0.7, 0.6, 0.5)
    rate_long: float = 0.6
    rate_short: float = 0.4
    rate_shower: float = 100.0 / 3600.0
    index_long: float = 2.4
    index_short: float = 1.7
    index_shower: float = 2.4
    a_min: float = 2.0
    a_max: float = 100.0
    shower_a_min: float = 1.0
    shower_a_max: float = 50.0
    shower_gain_spread: float = 0.3
    tau_short: float = 4e-3
    tau_short_sigma: float = 2e-3
    tau_short_min: float = 1e-3
    tau_short_max: float = 10e-3
    long_taus: tuple[float, ...] = (3e-3, 20e-3, 150e-3, 0.9)
    long_weights: tuple[float, ...] = (0.90, 0.06, 0.03, 0.01)

    def __post_init__(self) -> None:
        for name in ("n_bolometers", "n_samples", "oversample"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        positive = ("sample_rate", "f_knee", "a_min", "a_max", "shower_a_min", "shower_a_max",
                    "tau_short", "tau_short_min", "tau_short_max")
        for name in positive:
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        for name in ("preroll", "noise_alpha", "rate_long", "rate_short", "rate_shower",
                     "tau_short_sigma", "shower_gain_spread"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
        if self.a_max <= self.a_min or self.shower_a_max <= self.shower_a_min:
            raise ValueError("amplitude caps must exceed the lower cut-offs")
        if self.tau_short_max < self.tau_short_min:
            raise ValueError("tau_short_max must be >= tau_short_min")
        for name in ("index_long", "index_short", "index_shower"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if len(self.common_mode) != self.n_bolometers:
            raise ValueError(f"common_mode needs one coupling per bolometer "
                             f"({self.n_bolometers}), got {len(self.common_mode)}")
        if any(not (0 <= c < 1) for c in self.common_mode):
            raise ValueError(f"common_mode couplings must lie in [0, 1), got {self.common_mode}")
        if len(self.long_taus) != len(self.long_weights) or not self.long_taus:
            raise ValueError("long_taus and long_weights must be non-empty and equally long")
        if any(t <= 0 for t in self.long_taus) or any(w < 0 for w in self.long_weights) \
                or sum(self.long_weights) <= 0:
            raise ValueError("long_taus must be positive and long_weights non-negative")
        if self.shower_gain_spread >= 1:
            raise ValueError("shower_gain_spread must be below 1")

    @property
    def dt(self) -> float:
        """Sampling period, s."""
        return 1.0 / self.sample_rate

    @property
    def n_preroll(self) -> int:
        """Samples simulated before each segment and discarded."""
        return int(np.ceil(self.preroll * self.sample_rate))

    def to_dict(self) -> dict:
        """The parameters as a JSON-ready dict."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _config(config: TODConfig | None, params: dict) -> TODConfig:
    base = TODConfig() if config is None else config
    if not isinstance(base, TODConfig):
        raise TypeError(f"config must be a TODConfig, got {type(base).__name__}")
    known = {f.name for f in fields(TODConfig)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown simulator parameter(s) {unknown}; expected some of "
                         f"{sorted(known)}")
    params = {k: (tuple(v) if isinstance(v, (list, np.ndarray)) else v)
              for k, v in params.items()}
    return replace(base, **params) if params else base


def segment_seconds(config: TODConfig | None = None) -> float:
    """Duration of one segment in seconds (1060 / 180.37 Hz = 5.88 s by default)."""
    config = TODConfig() if config is None else config
    return config.n_samples / config.sample_rate


def noise_psd(freq, config: TODConfig | None = None) -> np.ndarray:
    """The one-sided noise power spectral density the simulator draws from, units^2 / Hz.

    :math:`P(f) = (2/f_s)\\,[1 + (f_\\mathrm{knee}/f)^\\alpha]`: white noise of unit variance
    per sample plus the low-frequency part (for one detector, common mode included).

    Parameters
    ----------
    freq : array_like
        Frequencies in Hz (> 0).
    """
    config = TODConfig() if config is None else config
    freq = np.asarray(freq, dtype=np.float64)
    if np.any(freq <= 0):
        raise ValueError("noise_psd needs positive frequencies")
    return 2.0 / config.sample_rate * (1.0 + (config.f_knee / freq) ** config.noise_alpha)


def sample_power_law(rng: np.random.Generator, n: int, index: float, a_min: float,
                     a_max: float) -> np.ndarray:
    """Draw ``n`` values from :math:`p(A) \\propto A^{-\\gamma}` on ``[a_min, a_max]``.

    Inverse-transform sampling of the truncated power law (any ``index > 0``).

    Examples
    --------
    >>> a = sample_power_law(np.random.default_rng(0), 5, 2.4, 2.0, 500.0)
    >>> bool(np.all((a >= 2.0) & (a <= 500.0)))
    True
    """
    if not (a_max > a_min > 0):
        raise ValueError(f"need 0 < a_min < a_max, got {a_min}, {a_max}")
    u = rng.random(n)
    g = 1.0 - index
    if abs(g) < 1e-12:
        return a_min * (a_max / a_min) ** u
    lo, hi = a_min ** g, a_max ** g
    return (lo + u * (hi - lo)) ** (1.0 / g)


def long_template(t, config: TODConfig | None = None) -> np.ndarray:
    """The long-glitch template at times ``t`` (s) after the hit, for unit amplitude.

    A sum of exponentials :math:`\\sum_j w_j e^{-t/\\tau_j}` with ``long_weights`` normalised to
    sum 1 (zero before the hit).
    """
    config = TODConfig() if config is None else config
    t = np.asarray(t, dtype=np.float64)
    w = np.asarray(config.long_weights, dtype=np.float64)
    w = w / w.sum()
    out = np.zeros_like(t)
    after = t >= 0
    for wj, tau in zip(w, config.long_taus, strict=True):
        out[after] += wj * np.exp(-t[after] / tau)
    return out


def _check_flux(flux, n_segments: int) -> np.ndarray:
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim == 0:
        flux = np.full(n_segments, float(flux))
    if flux.shape != (n_segments,):
        raise ValueError(f"flux must be a number or an array of shape ({n_segments},), got "
                         f"shape {flux.shape}")
    if not np.all(np.isfinite(flux)) or np.any(flux < 0):
        raise ValueError("flux must be finite and non-negative")
    return flux


def _noise(rng: np.random.Generator, n_seg: int, cfg: TODConfig, n_tot: int) -> np.ndarray:
    """White + 1/f noise with a common mode, shape (n_seg, n_bolo, n_samples)."""
    nb = cfg.n_bolometers
    # one extra stream per segment: the wafer's common mode
    white = rng.standard_normal((n_seg, nb + 1, n_tot))
    freq = np.fft.rfftfreq(n_tot, d=cfg.dt)
    shape = np.zeros_like(freq)
    shape[1:] = (cfg.f_knee / freq[1:]) ** (cfg.noise_alpha / 2.0)
    red = np.fft.irfft(np.fft.rfft(rng.standard_normal((n_seg, nb + 1, n_tot)), axis=-1)
                       * shape, n=n_tot, axis=-1)
    streams = (white + red)[..., -cfg.n_samples:]
    c = np.asarray(cfg.common_mode, dtype=np.float64)[None, :, None]
    return np.sqrt(1.0 - c ** 2) * streams[:, :nb] + c * streams[:, nb:]


def _draw_hits(rng, n_seg, cfg, flux, n_fine, family):
    """Poisson hits of one family: (segment, detector, fine index, amplitude, extra)."""
    seconds = n_fine / (cfg.oversample * cfg.sample_rate)
    if family == "shower":
        counts = rng.poisson(cfg.rate_shower * flux * seconds)
        seg = np.repeat(np.arange(n_seg), counts)
        det = np.zeros(seg.size, dtype=np.int64)
        amp = sample_power_law(rng, seg.size, cfg.index_shower, cfg.shower_a_min,
                               cfg.shower_a_max)
    else:
        rate = cfg.rate_long if family == "long" else cfg.rate_short
        counts = rng.poisson(rate * flux[:, None] * seconds * np.ones((1, cfg.n_bolometers)))
        seg = np.repeat(np.arange(n_seg), counts.sum(axis=1))
        det = np.concatenate([np.repeat(np.arange(cfg.n_bolometers), row) for row in counts]) \
            if n_seg else np.zeros(0, dtype=np.int64)
        index = cfg.index_long if family == "long" else cfg.index_short
        amp = sample_power_law(rng, seg.size, index, cfg.a_min, cfg.a_max)
    fine = rng.integers(0, n_fine, seg.size)
    return seg, det.astype(np.int64), fine, amp


def _glitch_block(rng, n_seg, cfg, flux):
    """Glitch signal of ``n_seg`` segments at the sampling rate, plus the truth rows."""
    nb, ovs = cfg.n_bolometers, cfg.oversample
    n_tot = cfg.n_preroll + cfg.n_samples
    n_fine = n_tot * ovs
    dt_fine = cfg.dt / ovs
    impulses = np.zeros((n_seg, nb, n_fine))
    signal = np.zeros((n_seg, nb, n_fine))
    rows = []

    seg, det, fine, amp = _draw_hits(rng, n_seg, cfg, flux, n_fine, "long")
    np.add.at(impulses, (seg, det, fine), amp)
    rows.append((seg, det, fine, amp, np.full(seg.size, "long")))

    seg_s, _, fine_s, amp_s = _draw_hits(rng, n_seg, cfg, flux, n_fine, "shower")
    spread = cfg.shower_gain_spread
    gains = rng.uniform(1.0 - spread, 1.0 + spread, (seg_s.size, nb))
    for d in range(nb):
        np.add.at(impulses, (seg_s, np.full(seg_s.size, d), fine_s), amp_s * gains[:, d])
        rows.append((seg_s, np.full(seg_s.size, d), fine_s, amp_s * gains[:, d],
                     np.full(seg_s.size, "shower")))

    weights = np.asarray(cfg.long_weights, dtype=np.float64)
    weights = weights / weights.sum()
    for w, tau in zip(weights, cfg.long_taus, strict=True):
        signal += w * lfilter([1.0], [1.0, -np.exp(-dt_fine / tau)], impulses, axis=-1)

    seg, det, fine, amp = _draw_hits(rng, n_seg, cfg, flux, n_fine, "short")
    tau = np.clip(rng.normal(cfg.tau_short, cfg.tau_short_sigma, seg.size),
                  cfg.tau_short_min, cfg.tau_short_max)
    length = int(np.ceil(10.0 * cfg.tau_short_max / dt_fine))
    k = np.arange(length)
    idx = fine[:, None] + k[None, :]
    pulse = amp[:, None] * np.exp(-k[None, :] * dt_fine / tau[:, None])
    inside = idx < n_fine
    np.add.at(signal, (np.broadcast_to(seg[:, None], idx.shape)[inside],
                       np.broadcast_to(det[:, None], idx.shape)[inside], idx[inside]),
              pulse[inside])
    rows.append((seg, det, fine, amp, np.full(seg.size, "short")))

    decimated = signal.reshape(n_seg, nb, n_tot, ovs).mean(axis=-1)[..., -cfg.n_samples:]
    return decimated, rows


def _simulate(n_segments, flux, config, seed, rng, progress, chunk, truth):
    if isinstance(n_segments, bool) or not isinstance(n_segments, numbers.Integral) \
            or n_segments < 1:
        raise ValueError(f"n_segments must be a positive int, got {n_segments!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    if rng is None:
        rng = np.random.default_rng(seed)
    elif seed is not None:
        raise ValueError("pass either seed or rng, not both")
    cfg = config
    flux = _check_flux(flux, int(n_segments))
    n_tot = cfg.n_preroll + cfg.n_samples
    out = np.empty((n_segments, cfg.n_bolometers, cfg.n_samples), dtype=np.float32)
    tables = []
    starts = range(0, n_segments, chunk)
    bar = _progress(starts, desc="simulating TOD", unit="chunk", enabled=progress,
                    total=len(starts))
    try:
        for start in bar:
            stop = min(start + chunk, n_segments)
            n = stop - start
            glitches, rows = _glitch_block(rng, n, cfg, flux[start:stop])
            out[start:stop] = _noise(rng, n, cfg, n_tot) + glitches
            if truth:
                tables.append(_truth_rows(rows, cfg, start))
    finally:
        bar.close()
    if not truth:
        return out
    names = ("segment", "detector", "time", "amplitude", "family")
    cols = [np.concatenate([t[i] for t in tables]) for i in range(5)]
    table = Table(cols, names=names)
    table["time"].unit = "s"
    table["time"].description = "arrival time after the start of the segment"
    table["amplitude"].description = "amplitude on the fine grid, sigma units"
    table.sort(["segment", "detector", "time"])
    table.meta["n_segments"] = int(n_segments)
    table.meta["segment_seconds"] = segment_seconds(cfg)
    return out, table


def _truth_rows(rows, cfg, offset):
    """Rows of the truth table for the glitches that arrive inside the segment."""
    seg = np.concatenate([r[0] for r in rows]).astype(np.int64)
    det = np.concatenate([r[1] for r in rows]).astype(np.int64)
    time = np.concatenate([r[2] for r in rows]) / (cfg.oversample * cfg.sample_rate)
    time = time - cfg.n_preroll / cfg.sample_rate
    amp = np.concatenate([r[3] for r in rows])
    fam = np.concatenate([r[4] for r in rows]).astype("U6")
    keep = time >= 0
    return seg[keep] + offset, det[keep], time[keep], amp[keep], fam[keep]


def simulate_tod(n_segments: int, flux: float | np.ndarray = 1.0, *,
                 config: TODConfig | None = None, seed: int | None = None,
                 rng: np.random.Generator | None = None, progress: bool | None = None,
                 chunk: int = 64, **params) -> np.ndarray:
    """Simulate segments of time-ordered data of a wafer of TES bolometers.

    Parameters
    ----------
    n_segments : int
        Number of independent segments.
    flux : float or array_like, shape (n_segments,)
        Cosmic-ray flux relative to Planck at L2; multiplies every glitch rate.
    config : TODConfig, optional
        Simulator parameters (default: :class:`TODConfig`'s).
    seed : int, optional
        Seed of a new ``numpy.random.Generator``; or pass ``rng``.
    rng : numpy.random.Generator, optional
        Generator to draw from (continues its stream).
    progress : bool or None
        Progress bar over chunks; ``None`` follows ``COSMICBOOK_PROGRESS``.
    chunk : int
        Segments simulated at once (memory: ``chunk * n_bolometers * n_fine`` doubles). The
        output depends on it for a given seed.
    **params
        Any :class:`TODConfig` field, overriding ``config`` (``f_knee=0.2``, ``rate_long=2``).

    Returns
    -------
    numpy.ndarray of float32, shape (n_segments, n_bolometers, n_samples)
        The TOD in sigma units (rms of the white noise per sample).

    Raises
    ------
    ValueError
        For a non-positive ``n_segments``, a bad ``flux`` or unknown / invalid parameters.

    Examples
    --------
    >>> tod = simulate_tod(2, seed=0, progress=False)
    >>> tod.shape
    (2, 4, 1060)
    """
    cfg = _config(config, params)
    return _simulate(n_segments, flux, cfg, seed, rng, progress, chunk, truth=False)


def simulate_glitches(n_segments: int, flux: float | np.ndarray = 1.0, *,
                      config: TODConfig | None = None, seed: int | None = None,
                      rng: np.random.Generator | None = None, progress: bool | None = None,
                      chunk: int = 64, **params) -> tuple[np.ndarray, Table]:
    """Like :func:`simulate_tod`, and also return the truth of every glitch in the segments.

    Returns
    -------
    tod : numpy.ndarray of float32, shape (n_segments, n_bolometers, n_samples)
        Identical to :func:`simulate_tod` with the same arguments.
    truth : astropy.table.Table
        One row per glitch arriving inside a segment (hits of the pre-roll are not listed,
        their tails are in the TOD): ``segment``, ``detector``, ``time`` (s after the segment
        start), ``amplitude`` (sigma units, on the fine grid: the decimated peak is lower for
        fast pulses) and ``family`` (``"long"``, ``"short"`` or ``"shower"``; a wafer event
        has one row per detector).
    """
    cfg = _config(config, params)
    return _simulate(n_segments, flux, cfg, seed, rng, progress, chunk, truth=True)
