"""From raw counts maps to network inputs and training targets.

* The seed's preprocessing (:func:`cleaner_inputs`): Gaussian smoothing (sigma 5 pixels) and a
  per-map linear stretch to [0, 1]; the clean targets (:func:`cleaner_targets`) are the
  source-only counts, smoothed and stretched the same way.
* The heat-map localiser (:func:`localiser_inputs`): counts summed into 4 x 4-pixel (0.1 deg)
  cells, as an Anscombe-transformed channel and a smoothed channel, *not* min-max stretched --
  the absolute number of counts is what tells a source from a background fluctuation.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from cosmicbook.cherenkov.simulate import as_counts

__all__ = ["CELL", "SMOOTH_SIGMA", "cell_to_pixel", "cleaner_inputs", "cleaner_targets",
           "heatmap_targets", "localiser_inputs", "minmax", "pixel_to_cell", "smooth"]

#: Gaussian smoothing of the seed, pixels.
SMOOTH_SIGMA = 5.0
#: Pixels per side of a localiser cell (4 x 0.025 deg = 0.1 deg).
CELL = 4


def smooth(maps: np.ndarray, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Gaussian-smooth each map of ``(N, H, W)`` (float32; the edges are reflected).

    One separable filter call over the stack (no smoothing along the first axis), which is
    the same as filtering map by map but without the per-map overhead.
    """
    maps = np.asarray(maps, dtype=np.float32)
    return gaussian_filter(maps, (0, sigma, sigma), mode="reflect", truncate=3.0)


def minmax(maps: np.ndarray) -> np.ndarray:
    """Stretch each map linearly to [0, 1]; a constant map becomes all zeros."""
    maps = np.asarray(maps, dtype=np.float32)
    lo = maps.min(axis=(-2, -1), keepdims=True)
    span = maps.max(axis=(-2, -1), keepdims=True) - lo
    return np.where(span > 0, (maps - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)


def cleaner_inputs(counts, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """The seed's network input: smoothed, min-max normalised maps, shape (N, 1, H, W)."""
    return minmax(smooth(as_counts(counts), sigma))[:, None]


def cleaner_targets(source_counts, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Clean targets from source-only counts: smoothed and min-max normalised (N, 1, H, W)."""
    return minmax(smooth(np.asarray(source_counts, dtype=np.float32), sigma))[:, None]


def _bin(maps: np.ndarray, cell: int) -> np.ndarray:
    n, h, w = maps.shape
    if h % cell or w % cell:
        raise ValueError(f"map sides {h} x {w} are not multiples of the cell size {cell}")
    return maps.reshape(n, h // cell, cell, w // cell, cell).sum(axis=(2, 4))


def localiser_inputs(counts, cell: int = CELL) -> np.ndarray:
    """Inputs of :class:`~cosmicbook.cherenkov.model.HeatmapLocaliser`, shape (N, 2, h, w).

    Channel 0 is the Anscombe transform ``2 sqrt(c + 3/8) - 2 sqrt(3/8)`` of the counts ``c``
    in each cell (variance ~1 whatever the count); channel 1 is the square root of the cell
    counts smoothed with a Gaussian of one cell, times 2 (a matched filter for the PSF core).
    """
    binned = _bin(as_counts(counts), cell)
    anscombe = 2 * np.sqrt(binned + 0.375) - 2 * np.sqrt(0.375)
    smoothed = 2 * np.sqrt(smooth(binned, 1.0) * 4.0)
    return np.stack([anscombe, smoothed], axis=1).astype(np.float32)


def pixel_to_cell(x, cell: int = CELL):
    """Pixel coordinate -> cell coordinate (cell centres at integers)."""
    return (np.asarray(x, dtype=float) + 0.5) / cell - 0.5


def cell_to_pixel(u, cell: int = CELL):
    """Cell coordinate -> pixel coordinate (the inverse of :func:`pixel_to_cell`)."""
    return (np.asarray(u, dtype=float) + 0.5) * cell - 0.5


def heatmap_targets(x: np.ndarray, y: np.ndarray, npix: int, cell: int = CELL,
                    sigma: float = 1.0) -> np.ndarray:
    """Gaussian heat-map targets (CenterNet): shape (N, 1, h, w).

    Each source adds a Gaussian of ``sigma`` cells around its position and exactly 1 in the
    cell that holds its centre (the "positive" of the focal loss); ``x, y`` are (N, k) pixel
    positions with NaN padding; overlapping Gaussians take the maximum.
    """
    side = npix // cell
    g = np.arange(side, dtype=np.float32)
    out = np.zeros((len(x), 1, side, side), dtype=np.float32)
    for i in range(len(x)):
        for xp, yp in zip(x[i], y[i], strict=True):
            if not np.isfinite(xp):
                continue
            u, v = pixel_to_cell(xp, cell), pixel_to_cell(yp, cell)
            blob = np.exp(-0.5 * ((g[None, :] - u) ** 2 + (g[:, None] - v) ** 2) / sigma ** 2)
            out[i, 0] = np.maximum(out[i, 0], np.minimum(blob, 0.999))
            iu = int(np.clip(np.rint(u), 0, side - 1))
            iv = int(np.clip(np.rint(v), 0, side - 1))
            out[i, 0, iv, iu] = 1.0
    return out
