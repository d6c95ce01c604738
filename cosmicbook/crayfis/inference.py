"""P(track | frame) with the weakly supervised classifier, and its shipped weights.

A :class:`WeakTrackModel` bundles the D1-vs-D2 :class:`~cosmicbook.crayfis.model.TrackCNN`,
the :class:`~cosmicbook.crayfis.training.Calibration` of its logits and the track fractions
``a`` and ``b`` of the two datasets it was trained on; :func:`track_probability` applies the
mixture formula (:func:`~cosmicbook.crayfis.weak.weak_to_posterior`) to its calibrated output.
With
``model=None`` the weights shipped in ``cosmicbook/crayfis/weights/`` are used: they come from
the book-profile run of ``notebooks/06_crayfis`` and know only *that* simulated phone (Bayer
mosaic, JPEG quality 95, its hot pixels) — retrain on frames of your own phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosmicbook.core.weights import load_weights, read_weights_metadata, save_weights
from cosmicbook.crayfis.interaction import FRAME_SIZE
from cosmicbook.crayfis.model import TrackCNN
from cosmicbook.crayfis.training import Calibration
from cosmicbook.crayfis.weak import weak_to_posterior

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "WeakTrackModel", "check_frames", "load_model",
           "save_model", "track_probability"]

#: Where the shipped weights live.
WEIGHTS_DIR = Path(__file__).with_name("weights")
#: The shipped weights (book-profile run of the chapter).
DEFAULT_WEIGHTS = "crayfis_weak_cnn_book.pt"


def check_frames(frames) -> np.ndarray:
    """Validate 8-bit frames; return them as float32 of shape ``(n, 40, 40)``.

    Raises
    ------
    ValueError
        For a shape other than ``(n, 40, 40)`` or ``(40, 40)``, an empty stack, NaNs, or values
        outside 0-255.
    """
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(f"expected {FRAME_SIZE} x {FRAME_SIZE} frames, shape (n, "
                         f"{FRAME_SIZE}, {FRAME_SIZE}) or ({FRAME_SIZE}, {FRAME_SIZE}); got "
                         f"{np.shape(frames)}")
    if len(x) == 0:
        raise ValueError("no frames")
    if not np.all(np.isfinite(x)):
        raise ValueError("frames contain NaN or infinite values")
    if x.min() < 0 or x.max() > 255:
        raise ValueError(f"frames must be 8-bit ADC values (0-255), got values in "
                         f"[{x.min():g}, {x.max():g}]")
    return x


@dataclass
class WeakTrackModel:
    """A weakly supervised track classifier.

    Attributes
    ----------
    network : TrackCNN
        Trained to tell D1 (label 1) from D2 (label 0).
    calibration : Calibration
        Maps the network's logits to the calibrated ``f = P(D1|X)``.
    a, b : float
        Track fractions of D1 and D2 used in the mixture formula.
    """

    network: TrackCNN
    calibration: Calibration
    a: float
    b: float

    def mixture_probability(self, frames) -> np.ndarray:
        """The calibrated ``f = P(D1|X)``, float64 of shape ``(n,)``."""
        from cosmicbook.crayfis.training import predict_logits

        return self.calibration(predict_logits(self.network, check_frames(frames)))

    def track_probability(self, frames, prior: float | None = None) -> np.ndarray:
        """``P(track|X)`` for the pooled D1+D2 prior, or for ``prior``."""
        return weak_to_posterior(self.mixture_probability(frames), self.a, self.b, prior=prior)


def save_model(model: WeakTrackModel, path: str | Path, **metadata) -> Path:
    """Write the network's weights to ``path`` and the rest (plus ``metadata``) to a JSON of
    the same stem."""
    meta = {"model": model.network.config(), "calibration": model.calibration.to_dict(),
            "a": model.a, "b": model.b, **metadata}
    return save_weights(model.network, path, meta)


def load_model(path: str | Path | None = None) -> WeakTrackModel:
    """Load a :class:`WeakTrackModel` written by :func:`save_model` (default: shipped weights).

    Raises
    ------
    FileNotFoundError
        When the weights or their JSON are missing.
    """
    path = WEIGHTS_DIR / DEFAULT_WEIGHTS if path is None else Path(path)
    net = load_weights(path, lambda meta: TrackCNN(**meta["model"]), what="CRAYFIS model",
                       chapter="06_crayfis")
    meta = read_weights_metadata(path)
    return WeakTrackModel(net, Calibration.from_dict(meta["calibration"]), float(meta["a"]),
                          float(meta["b"]))


def track_probability(frames, model: WeakTrackModel | str | Path | None = None,
                      prior: float | None = None) -> np.ndarray:
    """The probability that each frame holds a charged-particle track.

    Parameters
    ----------
    frames : array_like, shape (n, 40, 40) or (40, 40)
        8-bit frames (ADC values 0-255) of the phone the model was trained for.
    model : WeakTrackModel, path or None
        ``None``: the weights shipped with the package (book-profile run of the chapter);
        a path: weights written by :func:`save_model`.
    prior : float, optional
        Track prior of the sample the frames come from; ``None`` uses the pooled prior of the
        training data, ``(a + b) / 2``.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        ``P(track|X)`` in [0, 1].

    Raises
    ------
    ValueError
        For frames of the wrong shape or values (see :func:`check_frames`) or a bad prior.
    FileNotFoundError
        When the weights are missing.
    """
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    return model.track_probability(frames, prior=prior)
