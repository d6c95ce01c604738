"""Generating TOD with a trained CRAB GAN; saving and loading its weights.

``generate(n_segments, model=None)`` uses the weights shipped in :data:`WEIGHTS_DIR`, written by
the book-profile run of ``notebooks/05_crab`` (the better of its two GANs), so that a reader can
produce cosmic-ray TOD without training anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosmicbook.core.weights import load_weights, save_weights
from cosmicbook.tes.model import CRAB

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "generate", "load_model", "save_model"]

#: Where the shipped weights live.
WEIGHTS_DIR = Path(__file__).with_name("weights")
#: File name of the shipped weights (the book-profile run of the chapter).
DEFAULT_WEIGHTS = "crab_book.pt"


def save_model(model: CRAB, path: str | Path, **metadata) -> Path:
    """Write ``model``'s weights to ``path`` and its configuration plus ``metadata`` to a JSON
    file of the same stem."""
    if not isinstance(model, CRAB):
        raise TypeError(f"model must be a CRAB, got {type(model).__name__}")
    return save_weights(model, path, {"model": model.config(), **metadata})


def load_model(path: str | Path | None = None) -> CRAB:
    """Load a :class:`~cosmicbook.tes.model.CRAB` written by :func:`save_model`.

    Parameters
    ----------
    path : str or Path, optional
        A ``.pt`` file next to a ``.json`` of the same stem; default: the shipped weights.

    Raises
    ------
    FileNotFoundError
        When the weights or their JSON are missing.
    """
    path = WEIGHTS_DIR / DEFAULT_WEIGHTS if path is None else Path(path)
    return load_weights(path, lambda meta: CRAB.from_config(meta["model"]), what="CRAB",
                        chapter="05_crab")


def generate(n_segments: int, model: CRAB | str | Path | None = None, flux=None, *,
             seed: int | None = None, batch_size: int = 256) -> np.ndarray:
    """Generate cosmic-ray TOD segments with a CRAB GAN.

    Parameters
    ----------
    n_segments : int
        Segments to generate.
    model : CRAB, path or None
        The GAN; ``None`` loads the weights shipped with the package (the chapter's
        book-profile run), a path loads those weights.
    flux : float, array_like of shape (n_segments,) or None
        Cosmic-ray flux relative to Planck at L2 for a conditional model (``None`` = 1); must
        be ``None`` for an unconditional one.
    seed : int, optional
        Seeds the latent vectors (global RNGs are untouched).
    batch_size : int
        Segments per forward pass.

    Returns
    -------
    numpy.ndarray of float32, shape (n_segments, n_bolometers, 1060)
        In sigma units, like :func:`~cosmicbook.tes.simulate.simulate_tod`.

    Raises
    ------
    ValueError
        For a non-positive ``n_segments``, a non-positive flux, or a flux for an
        unconditional model.
    FileNotFoundError
        When ``model`` is a path (or ``None``) and the weights are missing.
    """
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    if not isinstance(model, CRAB):
        raise TypeError(f"model must be a CRAB, a path or None, got {type(model).__name__}")
    return model.generate(n_segments, flux, seed=seed, batch_size=batch_size)
