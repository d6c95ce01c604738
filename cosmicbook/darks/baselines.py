"""The classical baseline of the chapter: plain threshold-and-connect extraction.

:func:`extract_threshold` flags every connected region above ``nsigma`` x the clean-dark noise
(imSim's cosmic-ray library recipe, at 7 sigma), to measure the DESI seed-and-grow method of
:func:`~cosmicbook.darks.extract.extract_cosmics` against; it shares that function's
background, noise and segmentation code.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from cosmicbook.darks.extract import _as_image, _segment

__all__ = ["extract_threshold"]


def extract_threshold(dark, nsigma: float = 7.0, noise_sigma=None, *, background=None,
                      mask=None, connectivity: int = 8, block: int = 256
                      ) -> tuple[np.ndarray, Table]:
    """Baseline: every connected region of pixels above ``nsigma`` x the noise is a cosmic.

    The plain threshold-and-connect recipe (as in imSim's cosmic-ray library, at 7 sigma):
    no seeds, no separate threshold, no growth. Same inputs and outputs as
    :func:`~cosmicbook.darks.extract.extract_cosmics`.

    Parameters
    ----------
    dark : numpy.ndarray or SimulatedDark
        ``(ny, nx)`` dark frame (not modified).
    nsigma : float
        Detection level in units of the clean-dark noise (default 7).
    noise_sigma, background, mask, connectivity, block
        As for :func:`~cosmicbook.darks.extract.extract_cosmics`.

    Returns
    -------
    labels : numpy.ndarray
        ``(ny, nx)`` int32 label image (0 = none, 1..N).
    table : astropy.table.Table
        Per-region properties, the columns of
        :func:`~cosmicbook.darks.extract.extract_cosmics` (``nseed`` is 0).

    Raises
    ------
    ValueError
        For bad images, maps, masks or a non-positive ``nsigma``.
    """
    image = _as_image(dark)
    if np.ndim(nsigma) != 0 or not np.isfinite(float(nsigma)) or float(nsigma) <= 0:
        raise ValueError(f"nsigma must be a positive number, got {nsigma!r}")
    labels, table = _segment(image, float(nsigma), np.inf, np.inf, background, noise_sigma,
                             mask, connectivity, block, keep_all=True)
    table.meta.update({"NSIGMA": float(nsigma), "CONNECT": connectivity})
    return labels, table
