"""Scoring: localisation errors per flux bin, detections matched to the truth, image S/N.

Every function works on plain arrays, so that the networks and the gammapy baselines are
scored by the same code.
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from cosmicbook.cherenkov.simulate import BINSZ, CRAB_AMPLITUDE, CountsMaps

__all__ = ["DetectionScore", "binned_errors", "crab_units", "image_snr", "localisation_error",
           "second_peak",
           "match_detections", "per_map_positions"]


def localisation_error(x_pred, y_pred, x_true, y_true, binsz: float = BINSZ) -> np.ndarray:
    """Angular distance (deg) between predicted and true positions (pixels), small-angle.

    NaN predictions (no answer) give NaN errors.
    """
    return np.hypot(np.asarray(x_pred, float) - np.asarray(x_true, float),
                    np.asarray(y_pred, float) - np.asarray(y_true, float)) * binsz


def per_map_positions(table: Table, n: int,
                      columns: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """The first (highest-score) detection of each of ``n`` maps from a :func:`localize`
    table, as (x, y) arrays with NaN for maps without a detection; ``columns`` names the
    position columns (``("x_cnn", "y_cnn")``: the heat map's positions before refinement)."""
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if len(table):
        order = np.lexsort((-np.asarray(table["score"]), np.asarray(table["map"])))
        maps = np.asarray(table["map"])[order]
        first = np.unique(maps, return_index=True)[1]
        x[maps[first]] = np.asarray(table[columns[0]])[order][first]
        y[maps[first]] = np.asarray(table[columns[1]])[order][first]
    return x, y


def binned_errors(errors: dict[str, np.ndarray], flux: np.ndarray,
                  bins: list[float]) -> Table:
    """Median localisation error (deg) of each method in flux bins.

    Parameters
    ----------
    errors : dict of str -> array
        Method name -> error per map (NaN: not run on this map, or no answer; a method that
        gives no answer on a map it was run on should have received a large error instead).
    flux : array
        Source flux (Crab units) of each map.
    bins : list of float
        Bin edges in Crab units.

    Returns
    -------
    astropy.table.Table
        ``flux_lo``, ``flux_hi``, then per method ``<name>`` (median, deg) and ``n_<name>``.
    """
    flux = np.asarray(flux, float)
    table = Table()
    table["flux_lo"] = np.asarray(bins[:-1], float)
    table["flux_hi"] = np.asarray(bins[1:], float)
    for name, err in errors.items():
        err = np.asarray(err, float)
        med, num = [], []
        for lo, hi in zip(bins[:-1], bins[1:], strict=True):
            sel = (flux >= lo) & (flux < hi) & np.isfinite(err)
            med.append(float(np.median(err[sel])) if sel.any() else np.nan)
            num.append(int(sel.sum()))
        table[name] = med
        table[name].unit = "deg"
        table[f"n_{name}"] = num
    return table


class DetectionScore:
    """Detections matched to true sources.

    Attributes
    ----------
    completeness : float
        Fraction of the true sources above ``min_significance`` matched by a detection.
    false_fraction : float
        Fraction of detections not within ``radius`` of any true source (of any flux).
    n_true, n_detected, n_false : int
        Sources above the significance cut, detections, unmatched detections.
    matched : numpy.ndarray of bool, shape (N, k)
        Whether each true source (padding: False) is matched.
    """

    def __init__(self, completeness, false_fraction, n_true, n_detected, n_false, matched):
        self.completeness = completeness
        self.false_fraction = false_fraction
        self.n_true, self.n_detected, self.n_false = n_true, n_detected, n_false
        self.matched = matched

    def __repr__(self) -> str:
        return (f"DetectionScore(completeness={self.completeness:.3f} of {self.n_true}, "
                f"false={self.false_fraction:.3f} of {self.n_detected})")


def match_detections(maps: CountsMaps, det_map, det_x, det_y, significance: np.ndarray, *,
                     radius: float = 6.0, min_significance: float = 5.0) -> DetectionScore:
    """Match detections to true sources within ``radius`` pixels (closest pairs first).

    Parameters
    ----------
    maps : CountsMaps
        The truth (``x``, ``y`` with NaN padding).
    det_map, det_x, det_y : array_like
        Map index and pixel position of each detection.
    significance : numpy.ndarray, shape (N, k)
        Significance of each true source (e.g. :func:`aperture_significance` at its true
        position with the IRF background); sources above ``min_significance`` enter the
        completeness.
    radius : float
        Match radius, pixels (6 = 0.15 deg, about half the PSF's 68% radius).
    """
    det_map = np.asarray(det_map, int)
    det_x, det_y = np.asarray(det_x, float), np.asarray(det_y, float)
    matched = np.zeros(maps.x.shape, dtype=bool)
    det_ok = np.zeros(len(det_map), dtype=bool)
    for i in np.unique(det_map):
        dets = np.nonzero(det_map == i)[0]
        k = int(maps.n_sources[i])
        if k == 0:
            continue
        d = np.hypot(det_x[dets][:, None] - maps.x[i, :k][None],
                     det_y[dets][:, None] - maps.y[i, :k][None])
        for flat in np.argsort(d, axis=None):
            a, b = np.unravel_index(flat, d.shape)
            if d[a, b] > radius:
                break
            if det_ok[dets[a]] or matched[i, b]:
                continue
            det_ok[dets[a]] = True
            matched[i, b] = True
    strong = np.nan_to_num(np.asarray(significance, float), nan=-np.inf) >= min_significance
    n_true = int(strong.sum())
    n_det = len(det_map)
    n_false = int((~det_ok).sum())
    completeness = float(matched[strong].mean()) if n_true else np.nan
    false_fraction = n_false / n_det if n_det else 0.0
    return DetectionScore(completeness, false_fraction, n_true, n_det, n_false, matched)


def image_snr(images: np.ndarray, x, y, *, radius: float = 4.0, exclusion: float = 20.0,
              n_random: int = 200, seed: int = 0, other_x=None, other_y=None) -> np.ndarray:
    """Signal-to-noise of a source in an image: aperture mean at the true position against
    the distribution of aperture means at random positions of the same image.

    ``snr = (A(x, y) - mean(A_off)) / std(A_off)``, where ``A`` is the mean of the image in a
    circle of ``radius`` pixels and the ``n_random`` off apertures lie at least ``exclusion``
    pixels from every source and ``radius`` from the edges. Applied in the same way to the
    noisy input and to the cleaned output of the cleaner, it measures what the seed calls the
    improvement of the signal-to-noise ratio. It is an image statistic, not a detection
    significance: a network's output has no Poisson noise model.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, H, W)
    x, y : array_like, shape (N,)
        Source positions, pixels.
    other_x, other_y : array_like, shape (N, k), optional
        All source positions (NaN padding) to keep the off apertures away from.

    Returns
    -------
    numpy.ndarray, shape (N,)
        NaN where the off apertures have no spread (a constant image).
    """
    from scipy.ndimage import convolve

    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got {images.shape}")
    n, h, w = images.shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    disk = (np.hypot(*np.mgrid[-int(radius):int(radius) + 1,
                               -int(radius):int(radius) + 1]) <= radius).astype(float)
    disk /= disk.sum()
    out = np.full(n, np.nan)
    for i in range(n):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        mean_img = convolve(images[i], disk, mode="nearest")
        ok = np.ones((h, w), dtype=bool)
        ok[:int(radius) + 1] = ok[-int(radius) - 1:] = False
        ok[:, :int(radius) + 1] = ok[:, -int(radius) - 1:] = False
        xs = [x[i]] if other_x is None else [v for v in other_x[i] if np.isfinite(v)]
        ys = [y[i]] if other_y is None else [v for v in other_y[i] if np.isfinite(v)]
        for sx, sy in zip(xs, ys, strict=True):
            ok &= np.hypot(xx - sx, yy - sy) > exclusion
        cand = np.flatnonzero(ok)
        if cand.size < 10:
            continue
        pick = rng.choice(cand, min(n_random, cand.size), replace=False)
        off = mean_img.ravel()[pick]
        sd = off.std()
        on = mean_img[int(round(y[i])), int(round(x[i]))]
        out[i] = (on - off.mean()) / sd if sd > 0 else np.nan
    return out


def crab_units(amplitude) -> np.ndarray:
    """Amplitude (cm-2 s-1 TeV-1 at 1 TeV) -> flux in Crab units."""
    return np.asarray(amplitude, float) / CRAB_AMPLITUDE


def second_peak(image: np.ndarray, min_distance: float = 20.0) -> float:
    """Height of the highest local maximum at least ``min_distance`` pixels from the global
    maximum, relative to the global maximum (0 when there is none): a measure of the
    "double-peaked residuals" of the cleaner."""
    from scipy.ndimage import maximum_filter

    image = np.asarray(image, dtype=float)
    top = image.max()
    if top <= 0:
        return 0.0
    ty, tx = np.unravel_index(np.argmax(image), image.shape)
    local = (image == maximum_filter(image, size=5)) & (image > 0)
    ys, xs = np.nonzero(local)
    far = np.hypot(xs - tx, ys - ty) >= min_distance
    return float(image[ys[far], xs[far]].max() / top) if far.any() else 0.0
