"""Cosmic-ray masks for whole frames: tiled inference, shipped weights, seams and memory.

:func:`predict_mask` is what a pipeline calls: a bias-subtracted frame in electrons in, a float32
probability map (or a boolean mask) out. It runs under ``torch.inference_mode`` with batch norm
folded into the convolutions, one tile at a time: each tile is cut out with a *halo* of at least
the network's receptive radius, the halo is thrown away after the forward pass, and tiles start
on the pooling grid. Together with normalisation statistics computed once for the whole frame,
this makes the tiled result equal to a whole-frame pass to float rounding, while the memory is
set by the tile, not the frame.

:func:`predict_quadrants` is the naive alternative (cut the frame into blocks and run each as if
it were a frame): it leaves *seams* along the block edges, quantified by
:func:`cosmicbook.deepcr.evaluate.seam_difference`.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cosmicbook.core.device import get_device
from cosmicbook.core.weights import load_weights, read_weights_metadata, save_weights

from .model import UNet, frame_statistics

__all__ = [
    "DEFAULT_TILE",
    "DEFAULT_WEIGHTS",
    "SINGLE_INSTRUMENT_WEIGHTS",
    "WEIGHTS_DIR",
    "check_frame",
    "load_model",
    "measure_peak_memory",
    "predict_mask",
    "predict_quadrants",
    "save_model",
    "shipped_metadata",
]

#: Default tile side (pixels) of :func:`predict_mask`: ~0.3 GB of activations for the 2-32 net.
DEFAULT_TILE = 1024
#: Folder of the weights shipped with the package.
WEIGHTS_DIR = Path(__file__).with_name("weights")
#: File name of the shipped 2-32 weights: trained on randomised instruments (PSF sigma 0.8-2.2
#: px, read noise 2-6 e-, ...) by ``benchmarks/train_deepcr_release.py`` (its metadata name the
#: machine and the recipe).
DEFAULT_WEIGHTS = "deepcr_2-32_randomised.pt"
#: The single-instrument 2-32 of the chapter's book-profile run (one DESI-like camera).
SINGLE_INSTRUMENT_WEIGHTS = "deepcr_2-32.pt"


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------
def save_model(model: UNet, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save a UNet's weights (``.pt``) and its architecture and metadata (``.json`` beside it),
    through :func:`cosmicbook.core.weights.save_weights`.

    Parameters
    ----------
    model : UNet
    path : path-like
        The ``.pt`` file; the metadata go to the same name with suffix ``.json``.
    metadata : dict, optional
        JSON-serialisable description: training profile, epochs, metrics... (its ``"model"``
        key is the network configuration, written here).

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    if not isinstance(model, UNet) or getattr(model, "is_fused", False):
        raise TypeError("save_model takes a trainable cosmicbook.deepcr.UNet (not a fused copy)")
    meta = {"architecture": model.name, "n_parameters": model.n_parameters, **(metadata or {}),
            "model": model.config()}
    return save_weights(model, path, meta)


def load_model(path: str | os.PathLike | None = None, device: str | torch.device | None = None
               ) -> UNet:
    """A UNet in eval mode from :func:`save_model`'s file (default: the shipped weights).

    Read by :func:`cosmicbook.core.weights.load_weights`, which also reads the older layout
    of the shipped files (network configuration inside the ``.pt``). Every call returns a new
    network (nothing is cached).

    Parameters
    ----------
    path : path-like, optional
        A ``.pt`` file written by :func:`save_model`, with its ``.json``. ``None`` loads
        ``WEIGHTS_DIR / DEFAULT_WEIGHTS``, the release weights trained on randomised
        instruments (``WEIGHTS_DIR / SINGLE_INSTRUMENT_WEIGHTS`` is the single-camera model).
    device : str or torch.device, optional

    Raises
    ------
    FileNotFoundError
        If the file or its JSON does not exist.
    ValueError
        If it is not a file written by :func:`save_model`.
    """
    path = Path(WEIGHTS_DIR / DEFAULT_WEIGHTS if path is None else path)

    def build(meta: dict) -> UNet:
        if not isinstance(meta.get("model"), dict):
            raise ValueError(f"{path} is not a weights file written by "
                             f"cosmicbook.deepcr.save_model (no network configuration)")
        return UNet(**meta["model"])

    model = load_weights(path, build, what="UNet", cache=False)
    return model.to(get_device(device)).eval()


def shipped_metadata() -> dict[str, Any]:
    """Training metadata and metrics of the shipped weights (the JSON next to them)."""
    return read_weights_metadata(WEIGHTS_DIR / DEFAULT_WEIGHTS, what="UNet")


@functools.lru_cache(maxsize=4)
def _shipped_model(device: str) -> UNet:
    return load_model(None, device=device).fused()


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def check_frame(image: Any, name: str = "image") -> np.ndarray:
    """Validate a frame for inference and return it as a float32 array.

    Integer frames are converted; anything that is not a finite, non-empty 2-D array of
    numbers raises ``ValueError`` (bools, strings, objects and complex numbers included).
    """
    array = np.asarray(image)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D frame, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(
            f"{name} has {array.size - int(finite.sum())} NaN or infinite pixels; replace them "
            "(e.g. by the local median) and mask them yourself before asking for a cosmic mask"
        )
    return array


def _resolve_model(model: UNet | None, device: torch.device, fast: bool) -> UNet:
    if model is None:
        return _shipped_model(str(device))
    if not isinstance(model, UNet):
        raise TypeError(f"model must be a cosmicbook.deepcr.UNet or None, got "
                        f"{type(model).__name__}")
    if getattr(model, "is_fused", False):
        return model.to(device)
    net = model.to(device).eval()
    return net.fused() if fast else net


# --------------------------------------------------------------------------------------------
# prediction
# --------------------------------------------------------------------------------------------
def _check_statistics(statistics) -> tuple[torch.Tensor, torch.Tensor]:
    """``(center, scale)`` as float32 tensors shaped like :func:`frame_statistics`'."""
    try:
        center, scale = (float(v) for v in statistics)
    except (TypeError, ValueError):
        raise ValueError(f"statistics must be a pair (center, scale) of numbers, got "
                         f"{statistics!r}") from None
    if not (np.isfinite(center) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"statistics must be finite with scale > 0, got {statistics!r}")
    return (torch.tensor(center, dtype=torch.float32).view(1, 1, 1, 1),
            torch.tensor(scale, dtype=torch.float32).view(1, 1, 1, 1))


def predict_mask(
    image: np.ndarray,
    model: UNet | None = None,
    threshold: float | None = None,
    tile: int | None = None,
    device: str | torch.device | None = None,
    *,
    halo: int | None = None,
    fast: bool = True,
    precision: str = "float32",
    statistics: tuple[float, float] | None = None,
) -> np.ndarray:
    """Cosmic-ray probability (or mask) of a preprocessed frame, tiled seamlessly.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Bias-subtracted frame in electrons (integers are accepted). The sky level does not
        matter: the model subtracts the frame's median.
    model : UNet, optional
        The network; ``None`` uses the shipped 2-32 weights (:func:`load_model`).
    threshold : float, optional
        Return ``probability > threshold`` (deepCR's convention; 0.5 is the usual choice)
        instead of the probability.
    tile : int, optional
        Side of the tiles in pixels (default :data:`DEFAULT_TILE`; rounded up to a multiple of
        ``model.multiple``). ``0`` runs the whole frame in one pass (needs ~0.5 GB per Mpix for
        the 2-32 net on the CPU).
    device : str or torch.device, optional
        Where to run (default: the best available).
    halo : int, optional
        Pixels of context added around every tile; default ``model.default_halo``, the
        receptive radius rounded up to the pooling grid, which makes tiling exact. A smaller
        halo is allowed (to study seams) but must be a multiple of ``model.multiple``.
    fast : bool
        Fold batch norm into the convolutions and use the channels-last layout (same result
        to ~1e-6, faster on CPUs).
    precision : {"float32", "bfloat16"}
        ``"bfloat16"`` runs the convolutions in bfloat16 (``torch.autocast``): about 1.9x
        faster on CPUs with bfloat16 instructions (AVX512-BF16, AMX) and on GPUs, slower on
        other CPUs; probabilities change by up to ~0.06 (on held-out 1k frames at PSF sigma
        0.8 and 2.2 px: TPR at FPR 0.1 % within 0.05 point of float32, 4-9 mask pixels
        flipped), so halo tiling then matches the whole frame only to that level. The frame
        statistics and the sigmoid stay float32.
    statistics : (float, float), optional
        The normalisation ``(center, scale)`` in electrons (median and robust sigma, see
        :func:`~cosmicbook.deepcr.model.frame_statistics`); default: those of ``image``.
        Pass the whole frame's values when ``image`` is a cut-out of a larger frame, as
        :func:`cosmicbook.deepcr.predict_mask_dask` does for every chunk.

    Returns
    -------
    numpy.ndarray, shape (H, W)
        float32 probabilities in [0, 1], or a boolean mask when ``threshold`` is given.

    Raises
    ------
    ValueError
        For a frame that is not a finite 2-D numeric array, or bad ``threshold``/``tile``/``halo``.
    """
    frame = check_frame(image)
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    dev = get_device(device)
    net = _resolve_model(model, dev, fast)
    m = net.multiple
    if tile is None:
        tile = DEFAULT_TILE
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 0:
        raise ValueError(f"tile must be a non-negative int (0 = whole frame), got {tile!r}")
    halo = net.default_halo if halo is None else halo
    if isinstance(halo, bool) or not isinstance(halo, (int, np.integer)) or halo < 0 or halo % m:
        raise ValueError(f"halo must be a non-negative multiple of {m}, got {halo!r}")

    height, width = frame.shape
    if statistics is None:
        center, scale = frame_statistics(torch.from_numpy(frame)[None, None])
    else:
        center, scale = _check_statistics(statistics)
    padded = np.pad(frame, ((0, -height % m), (0, -width % m)), mode="edge")
    hp, wp = padded.shape
    tile = hp if tile == 0 else int(-(-int(tile) // m) * m)
    out = np.empty((hp, wp), dtype=np.float32)
    center, scale = center.to(dev), scale.to(dev)
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16,
                              enabled=precision == "bfloat16")
    with torch.inference_mode(), autocast:
        for y0 in range(0, hp, tile):
            for x0 in range(0, wp, tile):
                y1, x1 = min(y0 + tile, hp), min(x0 + tile, wp)
                a0, b0 = max(y0 - halo, 0), max(x0 - halo, 0)
                a1, b1 = min(y1 + halo, hp), min(x1 + halo, wp)
                cut = torch.from_numpy(np.ascontiguousarray(padded[a0:a1, b0:b1]))
                logits = net(cut[None, None].to(dev), center, scale)[0, 0]
                keep = logits[y0 - a0:y1 - a0, x0 - b0:x1 - b0]
                out[y0:y1, x0:x1] = torch.sigmoid(keep.float()).cpu().numpy()
    prob = out[:height, :width]
    return prob > threshold if threshold is not None else prob


def predict_quadrants(image: np.ndarray, model: UNet | None = None, blocks: int = 4,
                      device: str | torch.device | None = None) -> np.ndarray:
    """Naive tiling: cut the frame into ``blocks x blocks`` pieces and run each on its own.

    This is how the DESI study ran deepCR "in 16 quadrants" (``blocks=4``). Each piece is
    normalised with the whole frame's statistics, so that the only difference from a
    whole-frame pass is the missing context at the piece edges: the seams.

    Returns
    -------
    numpy.ndarray, shape (H, W)
        float32 probabilities.
    """
    frame = check_frame(image)
    if isinstance(blocks, bool) or not isinstance(blocks, (int, np.integer)) or blocks < 1:
        raise ValueError(f"blocks must be a positive int, got {blocks!r}")
    dev = get_device(device)
    net = _resolve_model(model, dev, fast=True)
    center, scale = frame_statistics(torch.from_numpy(frame)[None, None])
    ys = np.linspace(0, frame.shape[0], blocks + 1).astype(int)
    xs = np.linspace(0, frame.shape[1], blocks + 1).astype(int)
    m = net.multiple
    out = np.empty(frame.shape, dtype=np.float32)
    with torch.inference_mode():
        for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
            for x0, x1 in zip(xs[:-1], xs[1:], strict=True):
                piece = np.pad(frame[y0:y1, x0:x1], ((0, -(y1 - y0) % m), (0, -(x1 - x0) % m)),
                               mode="edge")
                logits = net(torch.from_numpy(piece)[None, None].to(dev), center.to(dev),
                             scale.to(dev))[0, 0, :y1 - y0, :x1 - x0]
                out[y0:y1, x0:x1] = torch.sigmoid(logits).float().cpu().numpy()
    return out


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def measure_peak_memory(func: Callable[[], Any], device: str | torch.device | None = None,
                        interval: float = 0.002) -> tuple[Any, int, str]:
    """Run ``func()`` and measure the peak memory it added, in bytes.

    On a CUDA device: ``torch.cuda.max_memory_allocated`` above what was allocated before (exact
    for torch tensors). On the CPU (Linux): the process's resident set size sampled every
    ``interval`` s by a background thread, minus its value at the start; a lower bound (short
    spikes between samples and memory that the allocator had kept from earlier calls are not
    seen). Elsewhere: the growth of ``ru_maxrss``, which only sees new all-time peaks.

    Returns
    -------
    result, peak_bytes, method
        ``func``'s return value, the peak, and a short description of how it was measured.
    """
    dev = get_device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        result = func()
        torch.cuda.synchronize(dev)
        return result, int(torch.cuda.max_memory_allocated(dev) - before), "cuda allocator"
    start = _rss_bytes()
    if start is None:
        scale = 1 if sys.platform == "darwin" else 1024
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        result = func()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        return result, int(after - before), "ru_maxrss growth"
    peak = [start]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            value = _rss_bytes()
            if value is not None and value > peak[0]:
                peak[0] = value
            time.sleep(interval)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        result = func()
    finally:
        done.set()
        thread.join()
    end = _rss_bytes() or start
    return result, int(max(peak[0], end) - start), "sampled RSS"
