"""The small CNN that reads a 40 x 40 frame, and the input scaling every network here shares.

:class:`TrackCNN` is used three times with the same architecture: as the weak (D1-vs-D2)
classifier, as the fully supervised oracle (track vs noise on the truth labels) and as the
classifier of the two-sample tests of the TAN. It is fully convolutional up to a global
pooling, so it accepts any frame size::

    conv 3x3 (c1) -> ReLU -> max-pool 2
    conv 3x3 (c2) -> ReLU -> max-pool 2
    conv 3x3 (c3) -> ReLU
    [global max-pool, global mean-pool] -> dense 1 (a logit)
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["INPUT_SCALE", "TrackCNN", "to_input"]

#: ADU values are fed to the networks as ``log1p(adu) / INPUT_SCALE`` (0-255 -> 0-1).
INPUT_SCALE = float(np.log1p(255.0))


def to_input(frames) -> np.ndarray:
    """8-bit frames -> float32 network input of shape ``(n, 1, h, w)``.

    Parameters
    ----------
    frames : array_like, shape (n, h, w) or (h, w)
        ADC values (0-255), e.g. from :meth:`Readout.apply`.

    Raises
    ------
    ValueError
        For a wrong number of dimensions, NaNs, or negative values.
    """
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"expected frames of shape (n, h, w) or (h, w), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("frames contain NaN or infinite values")
    if np.any(x < 0):
        raise ValueError("frames must be non-negative ADC values")
    return (np.log1p(x) / INPUT_SCALE)[:, None].astype(np.float32)


class TrackCNN(nn.Module):
    """A three-layer CNN giving one logit per frame.

    Parameters
    ----------
    channels : tuple of int
        Filters of the three convolutions.

    Notes
    -----
    Input ``(batch, 1, h, w)`` (see :func:`to_input`), output ``(batch,)`` logits.
    """

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 32)):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) != 3 or min(channels) < 1:
            raise ValueError(f"channels must be three positive ints, got {channels!r}")
        c1, c2, c3 = channels
        self.channels = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(2 * c3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected input of shape (batch, 1, h, w), got {tuple(x.shape)}")
        h = self.features(x)
        pooled = torch.cat([h.amax(dim=(2, 3)), h.mean(dim=(2, 3))], dim=1)
        return self.head(pooled).squeeze(1)

    def config(self) -> dict:
        """Constructor arguments (stored with shipped weights)."""
        return {"channels": list(self.channels)}
