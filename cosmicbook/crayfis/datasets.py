"""The two mixtures of the weak-label experiment: D1 (Co-60-like) and D2 (Ra-226-like).

Both datasets come from the same phone (the same readout and hot-pixel map) and hold the same
kinds of tracks and of noise; only the fraction of frames with a track differs: ``a`` in D1,
``b`` in D2. With ``violate=True`` the tracks of D2 are alpha particles (dense blobs of the
Ra-226 chain) instead of the muons and electrons of D1, which breaks the assumption that a
track looks the same in both datasets. Truth labels are kept for evaluation only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmicbook.crayfis.interaction import Deposits, Sensor, draw_kinds, simulate_deposits
from cosmicbook.crayfis.readout import HiddenReadout, Readout

__all__ = ["PHONE", "Mixtures", "ReadoutSets", "simulate_mixtures", "simulate_readout_sets"]

#: The phone of the weak-label experiment: the textbook readout with an RGGB Bayer mosaic and
#: JPEG-like compression at quality 95.
PHONE = Readout(bayer=True, jpeg_quality=95)


@dataclass
class Mixtures:
    """Frames of D1 and D2 with their truth.

    Attributes
    ----------
    frames : numpy.ndarray of uint8, shape (n1 + n2, size, size)
        D1's frames first, then D2's.
    in_d1 : numpy.ndarray of bool, shape (n,)
        The weak label: the frame comes from D1.
    is_track : numpy.ndarray of bool, shape (n,)
        Truth (evaluation only): the frame holds a charged-particle track.
    kind : numpy.ndarray of str, shape (n,)
        Truth: the event kind (see :mod:`cosmicbook.crayfis.interaction`).
    a, b : float
        Track fractions the datasets were drawn with.
    """

    frames: np.ndarray
    in_d1: np.ndarray
    is_track: np.ndarray
    kind: np.ndarray
    a: float
    b: float

    def __len__(self) -> int:
        return len(self.in_d1)

    def subset(self, index) -> Mixtures:
        """The frames selected by ``index`` (same ``a`` and ``b``)."""
        return Mixtures(self.frames[index], self.in_d1[index], self.is_track[index],
                        self.kind[index], self.a, self.b)


def simulate_mixtures(n_per_set: int, a: float, b: float, *, seed: int,
                      readout: Readout | None = None, sensor: Sensor | None = None,
                      violate: bool = False, progress: bool | None = None) -> Mixtures:
    """Simulate D1 and D2, ``n_per_set`` frames each.

    Parameters
    ----------
    n_per_set : int
        Frames per dataset.
    a, b : float
        Fraction of frames with a track in D1 and in D2, in [0, 1].
    seed : int
        Seeds the events and the noise (not the phone: its hot pixels are fixed by
        ``readout.phone_seed``).
    readout : Readout, optional
        Default :data:`PHONE`.
    sensor : Sensor, optional
        Default :class:`~cosmicbook.crayfis.interaction.Sensor`.
    violate : bool
        Make D2's tracks alpha particles (breaks the mixture assumption).
    progress : bool, optional
        Progress bar of the interaction simulation.

    Returns
    -------
    Mixtures
    """
    if int(n_per_set) != n_per_set or n_per_set < 1:
        raise ValueError(f"n_per_set must be a positive int, got {n_per_set!r}")
    readout = PHONE if readout is None else readout
    rng = np.random.default_rng(seed)
    k1 = draw_kinds(int(n_per_set), a, rng)
    k2 = draw_kinds(int(n_per_set), b, rng, track_mix={"alpha": 1.0} if violate else None)
    dep = simulate_deposits(np.concatenate([k1, k2]), rng, sensor, progress=progress)
    frames = readout.apply(dep.electrons, rng)
    in_d1 = np.r_[np.ones(len(k1), bool), np.zeros(len(k2), bool)]
    return Mixtures(frames, in_d1, dep.is_track, dep.kind, float(a), float(b))



@dataclass
class ReadoutSets:
    """Frames for learning and judging a readout model (the TAN).

    Attributes
    ----------
    approx_train, real_train : numpy.ndarray of uint8, shape (n_train, size, size)
        Approximate and real (hidden-readout) frames of two *independent* interaction draws:
        the unpaired training data.
    deposits : Deposits
        The evaluation draw (n_eval frames).
    real, approx : numpy.ndarray of uint8, shape (n_eval, size, size)
        ``deposits`` through the hidden and the approximate readout: distances between
        distributions are measured on the same deposits, so that only the readout differs.
    real_repeat : numpy.ndarray of uint8
        ``deposits`` through the hidden readout again, with other noise: the floor of the
        distances.
    approx_other : numpy.ndarray of uint8
        Approximate frames of yet another draw, for two-sample tests against ``real``.
    """

    approx_train: np.ndarray
    real_train: np.ndarray
    deposits: Deposits
    real: np.ndarray
    approx: np.ndarray
    real_repeat: np.ndarray
    approx_other: np.ndarray


def simulate_readout_sets(n_train: int, n_eval: int, *, seed: int,
                          track_fraction: float = 0.6, approx: Readout | None = None,
                          real: Readout | None = None, sensor: Sensor | None = None,
                          progress: bool | None = None) -> ReadoutSets:
    """Simulate the training and evaluation frames of the TAN (see :class:`ReadoutSets`).

    Parameters
    ----------
    n_train, n_eval : int
        Frames per training set and in the evaluation draw.
    seed : int
    track_fraction : float
        Fraction of frames with a track (muons and electrons; the rest photon spots or empty).
    approx, real : Readout, optional
        Default :class:`Readout` (raw, no Bayer, no JPEG) and :class:`HiddenReadout`.
    """
    for n, name in ((n_train, "n_train"), (n_eval, "n_eval")):
        if int(n) != n or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    approx = Readout() if approx is None else approx
    real = HiddenReadout() if real is None else real
    rng = np.random.default_rng(seed)
    sizes = [int(n_train), int(n_train), int(n_eval), int(n_eval)]
    deps = [simulate_deposits(draw_kinds(n, track_fraction, rng), rng, sensor,
                              progress=progress) for n in sizes]
    ev = deps[2]
    return ReadoutSets(approx.apply(deps[0].electrons, rng), real.apply(deps[1].electrons, rng),
                       ev, real.apply(ev.electrons, rng), approx.apply(ev.electrons, rng),
                       real.apply(ev.electrons, rng), approx.apply(deps[3].electrons, rng))
