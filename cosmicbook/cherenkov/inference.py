"""Clean and localise: the public entry points on raw counts maps.

:func:`clean` and :func:`localize` take raw counts maps -- an array ``(N, 200, 200)`` or
``(200, 200)``, or gammapy ``Map`` objects -- do their own smoothing and normalisation, and
with ``model=None`` use the weights the package ships from the chapter's book-profile run
(:data:`WEIGHTS_DIR`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Table
from scipy.ndimage import maximum_filter

from cosmicbook.cherenkov.model import CNNCleaner, CNNRegressor, HeatmapLocaliser
from cosmicbook.cherenkov.preprocess import CELL, cell_to_pixel, cleaner_inputs, localiser_inputs
from cosmicbook.cherenkov.simulate import BINSZ, NPIX, as_counts, map_wcs
from cosmicbook.core.weights import load_weights, save_weights

__all__ = ["DEFAULT_WEIGHTS", "WEIGHTS_DIR", "clean", "heatmaps", "load_model", "localize",
           "refine_centroid", "regress", "save_model"]

#: Where the shipped weights live.
WEIGHTS_DIR = Path(__file__).with_name("weights")
#: File names of the shipped weights (the book-profile run of ``notebooks/04_cherenkov``).
DEFAULT_WEIGHTS = {"cleaner": "cnn_cleaner_book.pt", "regressor": "cnn_regressor_book.pt",
                   "localiser": "heatmap_localiser_book.pt"}
_CLASSES = {"CNNCleaner": CNNCleaner, "CNNRegressor": CNNRegressor,
            "HeatmapLocaliser": HeatmapLocaliser}
_KINDS = {"cleaner": CNNCleaner, "regressor": CNNRegressor, "localiser": HeatmapLocaliser}
def save_model(model, path: str | Path, **metadata) -> Path:
    """Write ``model``'s weights to ``path`` and its class, configuration and ``metadata`` to
    a JSON file of the same stem."""
    meta = {"class": type(model).__name__, "model": model.config(), **metadata}
    return save_weights(model, path, meta)


def load_model(kind: str, path: str | Path | None = None):
    """Load a network written by :func:`save_model`.

    Parameters
    ----------
    kind : {"cleaner", "regressor", "localiser"}
        Which network.
    path : str or Path, optional
        A ``.pt`` file next to its ``.json``; default: the shipped weights.

    Raises
    ------
    ValueError
        For an unknown ``kind`` or a file holding another kind of network.
    FileNotFoundError
        When the weights or their JSON are missing.
    """
    if kind not in DEFAULT_WEIGHTS:
        raise ValueError(f"unknown network {kind!r}: expected one of {sorted(DEFAULT_WEIGHTS)}")
    path = WEIGHTS_DIR / DEFAULT_WEIGHTS[kind] if path is None else Path(path)

    def build(meta):
        cls = _CLASSES.get(meta.get("class"))
        if cls is not _KINDS[kind]:
            raise ValueError(f"{path} holds a {meta.get('class')!r}, not a {kind}")
        return cls(**meta["model"])

    return load_weights(path, build, what=kind, chapter="04_cherenkov")


def _resolve(kind: str, model):
    if model is None or isinstance(model, (str, Path)):
        return load_model(kind, model)
    if not isinstance(model, _KINDS[kind]):
        raise TypeError(f"model must be a {_KINDS[kind].__name__}, a path or None, not "
                        f"{type(model).__name__}")
    return model


def _predict(model, inputs: np.ndarray, batch_size: int, device) -> np.ndarray:
    from cosmicbook.core.training import predict

    return predict(model, inputs, batch_size=batch_size, device=device, progress=False)


def clean(counts_maps, model: CNNCleaner | str | Path | None = None, *,
          batch_size: int = 64, device=None) -> np.ndarray:
    """Background-subtract counts maps with the CNN-cleaner.

    Parameters
    ----------
    counts_maps : array_like or gammapy Map(s)
        Raw counts, ``(N, 200, 200)`` or ``(200, 200)`` (or Maps, summed over energy).
    model : CNNCleaner, path or None
        The network; None loads the shipped weights.
    batch_size : int
        Maps per forward pass.
    device : str or None
        Where to run (None: where the model is, the CPU for shipped weights).

    Returns
    -------
    numpy.ndarray of float32
        Cleaned maps in [0, 1] (the seed's normalisation), same shape as a 2-D or 3-D input.
    """
    model = _resolve("cleaner", model)
    single = _is_single(counts_maps)
    out = _predict(model, cleaner_inputs(counts_maps), batch_size, device)[:, 0]
    return out[0] if single else out


def regress(counts_maps, model: CNNRegressor | str | Path | None = None,
            cleaner: CNNCleaner | str | Path | None = None, *, batch_size: int = 64,
            device=None) -> np.ndarray:
    """The seed's pipeline: CNN-cleaner, then the CNN-regressor's (x, y) in pixels.

    Returns
    -------
    numpy.ndarray, shape (N, 2) (or (2,) for one map)
        One position per map (the seed's network always answers one).
    """
    model = _resolve("regressor", model)
    single = _is_single(counts_maps)
    cleaned = clean(counts_maps, cleaner, batch_size=batch_size, device=device)
    cleaned = cleaned[None] if single else cleaned
    xy = _predict(model, cleaned[:, None], batch_size, device).astype(np.float64)
    xy = xy * cleaned.shape[-1] - 0.5
    return xy[0] if single else xy


def _is_single(maps) -> bool:
    if hasattr(maps, "geom") and hasattr(maps, "data"):
        return True
    arr = maps.counts if hasattr(maps, "counts") else maps
    return isinstance(arr, np.ndarray) and arr.ndim == 2


def heatmaps(counts_maps, model: HeatmapLocaliser | str | Path | None = None, *,
             batch_size: int = 256, device=None) -> np.ndarray:
    """The localiser's heat maps: probability of a source centre per 0.1-deg cell (N, 50, 50).

    The network runs batched under ``torch.no_grad`` with channels-last tensors (about twice
    as fast on CPUs for its few channels).
    """
    import torch

    from cosmicbook.core.device import get_device

    model = _resolve("localiser", model)
    if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    inputs = localiser_inputs(counts_maps)
    dev = next(model.parameters()).device if device is None else get_device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), int(batch_size)):
                x = torch.from_numpy(inputs[start:start + int(batch_size)]).to(dev)
                out.append(model(x.contiguous(memory_format=torch.channels_last))
                           .float().cpu().numpy()[:, 0])
    finally:
        model.train(was_training)
    logits = np.concatenate(out).astype(np.float64)
    return 1.0 / (1.0 + np.exp(-logits))


def refine_centroid(counts: np.ndarray, x0, y0, *, sigma: float = 6.0, background=0.0,
                    iterations: int = 10, max_shift: float = 6.0, index=None):
    """Sub-pixel positions: iterated Gaussian-weighted centroids of background-subtracted
    counts around starting points.

    Parameters
    ----------
    counts : numpy.ndarray, shape (H, W) or (M, H, W)
        One map, or several maps with ``index`` saying which map each start belongs to.
    x0, y0 : float or array_like, shape (N,)
        Starts (pixels).
    sigma : float
        Width of the Gaussian window, pixels (6 = 0.15 deg, about the PSF's width).
    background : float or array_like, shape (N,)
        Background counts per pixel, subtracted first.
    iterations : int
        Maximum iterations (all starts stop once every step is below 0.01 pixel).
    max_shift : float
        A centroid that moves farther than this from its start, or whose window holds no
        excess, is rejected: the start is returned (the window drifted to a fluctuation).
    index : array_like of int, shape (N,), optional
        Map of each start, for 3-D ``counts`` (default: start ``k`` in map ``k``).

    Returns
    -------
    (x, y) : floats, or arrays of shape (N,)
    """
    scalar = np.ndim(x0) == 0
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    y0 = np.atleast_1d(np.asarray(y0, dtype=float))
    counts = np.asarray(counts)
    if counts.ndim == 2:
        counts, index = counts[None], np.zeros(len(x0), dtype=int)
    index = np.arange(len(x0)) if index is None else np.asarray(index, dtype=int)
    if counts.ndim != 3 or x0.shape != y0.shape or index.shape != x0.shape \
            or (len(index) and (index.min() < 0 or index.max() >= len(counts))):
        raise ValueError(f"counts {counts.shape}, starts {x0.shape}, {y0.shape} and index "
                         f"{index.shape} disagree")
    n, (h, w) = len(x0), counts.shape[1:]
    if not (np.all(np.isfinite(x0)) and np.all(np.isfinite(y0))):
        raise ValueError("starts must be finite")
    half = int(np.ceil(3 * sigma + max_shift)) + 1
    ix, iy = np.rint(x0).astype(int), np.rint(y0).astype(int)
    off = np.arange(-half, half + 1)
    rows, cols = iy[:, None] + off[None, :], ix[:, None] + off[None, :]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    patch = counts[index[:, None, None], np.clip(rows, 0, h - 1)[:, :, None],
                   np.clip(cols, 0, w - 1)[:, None, :]].astype(np.float64)
    level = np.broadcast_to(np.asarray(background, float), (n,))[:, None, None]
    excess = np.where(inside, patch - level, 0.0)
    gx = (ix[:, None] + off[None, :]).astype(float)  # pixel coordinates of the patch
    gy = (iy[:, None] + off[None, :]).astype(float)
    xc, yc = x0.copy(), y0.copy()
    ok = np.ones(n, dtype=bool)
    for _ in range(int(iterations)):
        wx = np.exp(-0.5 * (gx - xc[:, None]) ** 2 / sigma ** 2)
        wy = np.exp(-0.5 * (gy - yc[:, None]) ** 2 / sigma ** 2)
        weighted = excess * wy[:, :, None] * wx[:, None, :]
        total = weighted.sum(axis=(1, 2))
        ok &= total > 0
        safe = np.where(total > 0, total, 1.0)
        xn = np.where(ok, (weighted.sum(axis=1) * gx).sum(axis=1) / safe, xc)
        yn = np.where(ok, (weighted.sum(axis=2) * gy).sum(axis=1) / safe, yc)
        step = np.hypot(xn - xc, yn - yc)
        xc, yc = xn, yn
        ok &= np.hypot(xc - x0, yc - y0) <= max_shift
        if np.all(step[ok] < 0.01):
            break
    xc, yc = np.where(ok, xc, x0), np.where(ok, yc, y0)
    return (float(xc[0]), float(yc[0])) if scalar else (xc, yc)


def _peaks(heat: np.ndarray, threshold: float, max_sources: int):
    """Local maxima (3 x 3) of every heat map above ``threshold``: (map, iy, ix), at most
    ``max_sources`` per map, highest first within each map."""
    local = heat == maximum_filter(heat, size=(1, 3, 3), mode="constant")
    m, iy, ix = np.nonzero(local & (heat >= threshold))
    score = heat[m, iy, ix]
    order = np.lexsort((-score, m))
    m, iy, ix = m[order], iy[order], ix[order]
    rank = np.arange(len(m)) - np.searchsorted(m, m, side="left")
    keep = rank < max_sources
    return m[keep], iy[keep], ix[keep]


def _subcell(heat: np.ndarray, m, iy, ix):
    """Centroid of the heat map in the 3 x 3 cells around each peak (cell coordinates)."""
    padded = np.pad(heat, ((0, 0), (1, 1), (1, 1)))
    d = np.arange(-1, 2)
    patch = padded[m[:, None, None], iy[:, None, None] + 1 + d[None, :, None],
                   ix[:, None, None] + 1 + d[None, None, :]]
    total = patch.sum(axis=(1, 2))
    u = ix + (patch.sum(axis=1) * d).sum(axis=1) / total
    v = iy + (patch.sum(axis=2) * d).sum(axis=1) / total
    return u, v


def _background_level(counts: np.ndarray, m, x, y, radius: int = 20) -> np.ndarray:
    """Mean counts per pixel of each map outside boxes of +-radius around its detections."""
    n, h, w = counts.shape
    integral = np.zeros((n, h + 1, w + 1))
    integral[:, 1:, 1:] = counts.cumsum(axis=1).cumsum(axis=2)
    x_lo = np.clip(np.rint(x).astype(int) - radius, 0, w)
    x_hi = np.clip(np.rint(x).astype(int) + radius + 1, 0, w)
    y_lo = np.clip(np.rint(y).astype(int) - radius, 0, h)
    y_hi = np.clip(np.rint(y).astype(int) + radius + 1, 0, h)
    box = (integral[m, y_hi, x_hi] - integral[m, y_lo, x_hi] - integral[m, y_hi, x_lo]
           + integral[m, y_lo, x_lo])
    area = (x_hi - x_lo) * (y_hi - y_lo)
    in_box = np.bincount(m, weights=box, minlength=n)
    box_area = np.bincount(m, weights=area, minlength=n)
    rest = np.maximum(h * w - box_area, 1.0)
    level = np.maximum(integral[:, -1, -1] - in_box, 0.0) / rest
    return level[m]


def _wcs_list(counts_maps, n: int, pointing, wcs):
    if wcs is not None:
        wcs = list(wcs) if isinstance(wcs, (list, tuple)) else [wcs] * n
        if len(wcs) != n:
            raise ValueError(f"got {len(wcs)} WCS for {n} maps")
        return wcs
    if hasattr(counts_maps, "geom"):
        return [counts_maps.geom.to_image().wcs]
    if isinstance(counts_maps, (list, tuple)) and counts_maps and hasattr(counts_maps[0],
                                                                          "geom"):
        return [m.geom.to_image().wcs for m in counts_maps]
    if hasattr(counts_maps, "pointing") and pointing is None:
        pointing = counts_maps.pointing
    if pointing is None:
        return None
    pointing = np.asarray(pointing, dtype=float)
    pointing = np.broadcast_to(pointing, (n, 2)) if pointing.shape == (2,) else pointing
    if pointing.shape != (n, 2):
        raise ValueError(f"pointing must be (2,) or ({n}, 2), got {pointing.shape}")
    return [map_wcs(p, npix=NPIX, binsz=BINSZ) for p in pointing]


def localize(counts_maps, model: HeatmapLocaliser | str | Path | None = None, *,
             threshold: float = 0.5, max_sources: int = 5, refine: bool = True,
             pointing=None, wcs=None, batch_size: int = 256, device=None) -> Table:
    """Find point sources in counts maps: heat-map CNN, peak finding, centroid refinement.

    Parameters
    ----------
    counts_maps : array_like or gammapy Map(s)
        Raw counts, ``(N, 200, 200)`` or ``(200, 200)``; gammapy Maps bring their WCS.
    model : HeatmapLocaliser, path or None
        The network; None loads the shipped weights.
    threshold : float
        Minimum heat-map peak (0-1) of a detection. ``threshold=0`` with ``max_sources=1``
        returns the single most likely position of every map (one-source localisation).
    max_sources : int
        At most this many detections per map, the highest peaks first.
    refine : bool
        Refine each peak to sub-pixel precision with :func:`refine_centroid` on the counts
        (background: the map's mean counts per pixel away from the detections).
    pointing : array_like, shape (2,) or (N, 2), optional
        RA, Dec (deg) of the map centres, for the sky coordinates of arrays.
    wcs : astropy.wcs.WCS or list of them, optional
        The maps' WCS (instead of ``pointing``).

    Returns
    -------
    astropy.table.Table
        One row per detection: ``map`` (index), ``x``, ``y`` (pixels), ``score`` (heat-map
        peak), ``x_cnn``, ``y_cnn`` (before refinement), ``ra``, ``dec`` (deg; NaN without a
        WCS or pointing) and ``offset`` (deg from the map centre).
    """
    model = _resolve("localiser", model)
    if not (0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    if isinstance(max_sources, bool) or int(max_sources) < 1:
        raise ValueError(f"max_sources must be a positive int, got {max_sources!r}")
    counts = as_counts(counts_maps)
    n, npix = counts.shape[0], counts.shape[-1]
    heat = heatmaps(counts, model, batch_size=batch_size, device=device)
    wcs_list = _wcs_list(counts_maps, n, pointing, wcs)
    m, iy, ix = _peaks(heat, threshold, int(max_sources))
    u, v = _subcell(heat, m, iy, ix)
    x_cnn, y_cnn = cell_to_pixel(u, CELL), cell_to_pixel(v, CELL)
    x, y = x_cnn, y_cnn
    if refine and len(m):
        bkg = _background_level(counts, m, x_cnn, y_cnn)
        x, y = refine_centroid(counts, x_cnn, y_cnn, background=bkg, index=m)
    table = Table({"map": m.astype(int), "x": np.asarray(x, float),
                   "y": np.asarray(y, float), "score": heat[m, iy, ix].astype(float),
                   "x_cnn": np.asarray(x_cnn, float), "y_cnn": np.asarray(y_cnn, float)})
    ra = np.full(len(table), np.nan)
    dec = np.full(len(table), np.nan)
    if wcs_list is not None:
        for i in np.unique(m):
            sel = m == i
            ra[sel], dec[sel] = wcs_list[i].wcs_pix2world(table["x"][sel], table["y"][sel], 0)
    table["ra"], table["dec"] = ra, dec
    centre = (npix - 1) / 2.0
    table["offset"] = np.hypot(table["x"] - centre, table["y"] - centre) * BINSZ
    for col in ("ra", "dec", "offset"):
        table[col].unit = "deg"
    table["x"].unit = table["y"].unit = "pix"
    return table
