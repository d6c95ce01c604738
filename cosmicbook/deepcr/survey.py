"""Cosmic-ray masks of frames larger than memory, chunk by chunk with ``dask.array``.

:func:`predict_mask_dask` runs :func:`~cosmicbook.deepcr.predict_mask` on every chunk of a
:class:`dask.array.Array` with :func:`dask.array.map_overlap`: each chunk is handed to the
network together with a margin (the *overlap depth*) of its neighbours' pixels, and the margin
is cut off the result. The frame never has to be in memory at once, the chunks run in
parallel on whatever Dask scheduler is active (threads, a ``LocalCluster``, a cluster at
NERSC), and the result equals a whole-frame :func:`~cosmicbook.deepcr.predict_mask` to float
rounding, because

1. **the margin covers the receptive field.** An output pixel of the UNet depends only on the
   input pixels within its receptive radius ``r`` (:attr:`UNet.receptive_radius
   <cosmicbook.deepcr.UNet.receptive_radius>`: two 3 x 3 convolutions per level reach
   ``2**level`` pixels each on the way down and again on the way up, and every max-pool /
   transposed convolution between levels up to ``2**level``: ``r = 2**depth + 6 (2**(depth-1)
   - 1)``, 10 px for deepCR's depth-2 models). With at least ``r`` pixels of real
   neighbours, the pixels kept never see the edge of the cut-out.
2. **the margin keeps the pooling grid.** A depth-``d`` UNet max-pools ``d - 1`` times, so a
   cut-out must start at a multiple of ``m = 2**(d-1)`` pixels of the frame: otherwise the
   2 x 2 pooling windows pair different pixels than in the whole frame and the output changes
   everywhere, not only near the edges. Chunk boundaries must therefore lie on that grid, and
   the depth is ``r`` rounded up to a multiple of ``m`` -- :func:`overlap_depth`, the same
   number as :attr:`UNet.default_halo <cosmicbook.deepcr.UNet.default_halo>` (10 px at depth
   2, 28 px at depth 3).
3. **the frame edges are not padded.** ``boundary="none"``: a chunk on the border of the
   frame gets no margin on that side, exactly like the whole frame, whose convolutions
   zero-pad their inputs the same way.
4. **the normalisation is the whole frame's.** The model subtracts the frame's median and
   divides by its robust sigma; every chunk receives the statistics of its whole frame
   (computed in one task per frame, inside the same graph) instead of its own.

A frame that is a stack of CCDs (``(n_ccds, ny, nx)``: :func:`lazy_focal_plane`,
:func:`read_fits_mosaic`) is masked CCD by CCD, each with its own statistics and no margin
across CCDs. An LSST-like focal plane of 189 CCDs of 4k x 4k (3.2 gigapixels) is
``lazy_focal_plane(189, 4096)``: nothing is simulated until chunks of it are computed.

Dask and its ``distributed`` scheduler are the optional extra ``survey`` (``pip install
'cosmicbook[survey]'``); the batch tools over many files are in :mod:`cosmicbook.deepcr.cli`
(``cosmicbook mask ... --out-dir``) and :mod:`cosmicbook.core.batch`, where their use at
NERSC (dask-jobqueue's ``SLURMCluster`` or a scheduler file) is described.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cosmicbook.core.batch import expand_inputs, require, worker_cache
from cosmicbook.core.io import read_image
from cosmicbook.core.weights import read_weights_metadata

from .inference import DEFAULT_WEIGHTS, WEIGHTS_DIR, check_frame, load_model, predict_mask
from .model import UNet, frame_statistics

if TYPE_CHECKING:  # pragma: no cover
    import dask.array

__all__ = [
    "LSST_FOCAL_PLANE",
    "cached_model",
    "lazy_focal_plane",
    "overlap_depth",
    "predict_mask_dask",
    "read_fits_mosaic",
    "simulate_ccd",
]

#: ``(n_ccds, side)`` of an LSST-like focal plane: 189 science CCDs of 4k x 4k, 3.2 gigapixels.
LSST_FOCAL_PLANE: tuple[int, int] = (189, 4096)


# --------------------------------------------------------------------------------------------
# the model and its halo
# --------------------------------------------------------------------------------------------
def _weights_path(weights: str | os.PathLike | None) -> Path:
    return Path(WEIGHTS_DIR / DEFAULT_WEIGHTS if weights is None else weights).resolve()


def _architecture(model: UNet | str | os.PathLike | None) -> UNet:
    """A UNet with the architecture of ``model`` (its weights only when a path is needed)."""
    if isinstance(model, UNet):
        return model
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a cosmicbook.deepcr.UNet, a weights path or None, got "
                        f"{type(model).__name__}")
    path = _weights_path(model)
    config = read_weights_metadata(path, what="UNet").get("model")
    return UNet(**config) if isinstance(config, dict) else load_model(path)


def overlap_depth(model: UNet | str | os.PathLike | None = None) -> int:
    """The overlap (pixels) that makes chunked inference equal whole-frame inference.

    The network's receptive radius rounded up to its pooling grid (``2**(depth-1)`` pixels);
    see the module description for the reasoning.

    Parameters
    ----------
    model : UNet, path or None
        The network, its weights file, or ``None`` for the shipped weights.

    Returns
    -------
    int
        Pixels of margin per side: 10 for the shipped depth-2 networks.

    Notes
    -----
    The receptive radius is an upper bound. For the pixels next to a chunk boundary that lies
    on the pooling grid the reach is one grid step shorter (8 px at depth 2), so one step less
    happens to match as well; two steps less (6 px) does not, which the tests check. The
    default keeps the bound rather than rely on that.

    Examples
    --------
    >>> overlap_depth(UNet(2, 4)), overlap_depth(UNet(3, 4)), overlap_depth()
    (10, 28, 10)
    """
    return _architecture(model).default_halo


def cached_model(weights: str | os.PathLike | None = None, device: str = "cpu") -> UNet:
    """The fused network of ``weights`` (default: shipped), loaded once per process.

    Dask workers call this in every task; the first call in a worker reads the file
    (:func:`cosmicbook.core.batch.worker_cache`, keyed by the resolved path, its modification
    time and the device), later ones reuse the network.
    """
    path = _weights_path(weights)
    key = ("deepcr.UNet", str(path), path.stat().st_mtime_ns, str(device))
    return worker_cache(key, lambda: load_model(path, device=device).fused())


# --------------------------------------------------------------------------------------------
# map_overlap
# --------------------------------------------------------------------------------------------
def _statistics(frame: np.ndarray) -> tuple[float, float]:
    """``(center, scale)`` of a whole frame, as :func:`predict_mask` computes them."""
    import torch

    array = np.ascontiguousarray(check_frame(frame, name="the frame"))
    center, scale = frame_statistics(torch.from_numpy(array)[None, None])
    return float(center), float(scale)


def _predict_block(block: np.ndarray, *, statistics: tuple[float, float], model: Any,
                   threshold: float | None, device: str, precision: str) -> np.ndarray:
    if block.size == 0:  # dask's probe of the output type
        return np.zeros(block.shape, dtype=bool if threshold is not None else np.float32)
    if model is None or isinstance(model, str):
        model = cached_model(model, device)
    return predict_mask(block, model=model, threshold=threshold, device=device,
                        statistics=statistics, precision=precision)


def _check_chunks(frame, multiple: int, depth: int, name: str) -> None:
    for axis, chunks in zip(("rows", "columns"), frame.chunks, strict=True):
        edges = np.cumsum(chunks)[:-1]
        off = [int(e) for e in edges if e % multiple]
        if off:
            raise ValueError(
                f"chunk boundaries of the {axis} at {off[:3]} are not on the {multiple}-pixel "
                f"pooling grid of the {name} UNet; rechunk to multiples of {multiple}, e.g. "
                f"frame.rechunk({max(multiple, 128 // multiple * multiple)})")
        if len(chunks) > 1 and min(chunks) < depth:
            raise ValueError(
                f"a chunk of {min(chunks)} {axis} is smaller than the overlap depth {depth}; "
                f"rechunk so that every chunk has at least {depth} pixels")


def _check_depth(depth: Any, multiple: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0 \
            or depth % multiple:
        raise ValueError(f"depth must be a non-negative multiple of {multiple} (the pooling "
                         f"grid), got {depth!r}")
    return int(depth)


def predict_mask_dask(frame: dask.array.Array,
                      model: UNet | str | os.PathLike | None = None, *,
                      threshold: float | None = None, depth: int | None = None,
                      statistics: tuple[float, float] | Sequence[tuple[float, float]] | None
                      = None, device: str = "cpu", precision: str = "float32"
                      ) -> dask.array.Array:
    """Cosmic-ray probability (or mask) of a Dask array, chunk by chunk with ``map_overlap``.

    Lazy: nothing runs until the result (or part of it) is computed, on the active Dask
    scheduler. The result equals :func:`~cosmicbook.deepcr.predict_mask` of the whole frame
    to float rounding (about 1e-6) when ``depth`` is at least :func:`overlap_depth`.

    Parameters
    ----------
    frame : dask.array.Array, shape (ny, nx) or (n_frames, ny, nx)
        Bias-subtracted frame(s) in electrons; a 3-D array is a stack of independent frames
        (CCDs), each normalised with its own statistics. Chunk boundaries must lie on the
        model's pooling grid (even pixels for the shipped depth-2 networks) and chunks must
        be at least ``depth`` pixels; 1024 x 1024 chunks suit the 2-32 network.
    model : UNet, path or None
        A network (sent to the workers once), a weights file (loaded once per worker, see
        :func:`cached_model`), or ``None`` for the shipped 2-32 weights.
    threshold : float, optional
        Return the boolean mask ``probability > threshold`` instead of the probability.
    depth : int, optional
        Overlap between chunks, pixels; default :func:`overlap_depth` of the model. A smaller
        depth (a multiple of the pooling grid) is allowed for studying seams: the result then
        differs from the whole-frame inference near the chunk boundaries.
    statistics : (float, float) or sequence of them, optional
        The normalisation ``(center, scale)`` (e-) of the frame, or one pair per frame of a
        stack. Default: the exact median and robust sigma of each whole frame, computed in one
        task per frame in the same graph (so each frame must fit in one worker's memory; pass
        your own estimates for a single frame larger than that).
    device : str
        Torch device of the workers (default ``"cpu"``).
    precision : {"float32", "bfloat16"}
        See :func:`~cosmicbook.deepcr.predict_mask`.

    Returns
    -------
    dask.array.Array
        Same shape and chunks as ``frame``; float32 probabilities, or bool with ``threshold``.

    Raises
    ------
    TypeError
        If ``frame`` is not a Dask array.
    ValueError
        For a frame that is not 2-D or 3-D real numbers, chunks off the pooling grid or
        smaller than the depth, a bad ``depth``, ``threshold`` or ``statistics``.
    ModuleNotFoundError
        Without Dask (``pip install 'cosmicbook[survey]'``).

    Examples
    --------
    >>> import dask.array as da
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(100.0, 5.0, (256, 256)).astype(np.float32)
    >>> image[100, 40:80] += 5000.0
    >>> weights = WEIGHTS_DIR / "deepcr_2-8_randomised.pt"
    >>> lazy = predict_mask_dask(da.from_array(image, chunks=128), weights)
    >>> lazy.chunks
    ((128, 128), (128, 128))
    >>> whole = predict_mask(image, load_model(weights))
    >>> bool(np.abs(lazy.compute(scheduler="sync") - whole).max() < 1e-5)
    True
    """
    da = require("dask.array")
    dask = require("dask")
    if not isinstance(frame, da.Array):
        raise TypeError(f"frame must be a dask.array.Array, got {type(frame).__name__}; wrap a "
                        f"numpy array with dask.array.from_array(frame, chunks=1024)")
    if frame.dtype.kind not in "iuf":
        raise ValueError(f"frame must hold real numbers, got dtype {frame.dtype}")
    if frame.ndim not in (2, 3) or 0 in frame.shape:
        raise ValueError(f"frame must be a non-empty 2-D frame or 3-D stack of frames, got "
                         f"shape {frame.shape}")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
    net = _architecture(model)
    depth = net.default_halo if depth is None else _check_depth(depth, net.multiple)
    if isinstance(model, UNet):  # one copy in the graph, shared by every chunk
        ready = model if getattr(model, "is_fused", False) else model.fused()
        model_arg: Any = dask.delayed(ready, pure=False)
    else:
        model_arg = None if model is None else str(_weights_path(model))

    stack = frame if frame.ndim == 3 else frame[None]
    if frame.ndim == 2 and statistics is not None:
        statistics = [statistics]
    result = _predict_stack(stack, net, model_arg, threshold, depth, statistics, device,
                            precision)
    return result if frame.ndim == 3 else result[0]


def _check_pair(pair) -> tuple[float, float]:
    try:
        center, scale = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ValueError(f"statistics must be (center, scale) numbers, got {pair!r}") from None
    if not (np.isfinite(center) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"statistics must be finite with scale > 0, got {pair!r}")
    return center, scale


def _statistics_blocks(block: np.ndarray) -> np.ndarray:
    """``(center, scale)`` of every whole frame of a ``(k, ny, nx)`` block, shape (k, 1, 1)."""
    out = np.empty((block.shape[0], 1, 1), dtype=object)
    for i, frame in enumerate(block):
        out[i, 0, 0] = _statistics(frame)
    return out


def _predict_blocks(block: np.ndarray, statistics: np.ndarray, **kwargs) -> np.ndarray:
    """:func:`_predict_block` on every frame of a ``(k, ny, nx)`` block (with margins)."""
    dtype = bool if kwargs["threshold"] is not None else np.float32
    out = np.empty(block.shape, dtype=dtype)
    for i in range(block.shape[0]):
        out[i] = _predict_block(block[i], statistics=statistics[i, 0, 0], **kwargs)
    return out


def _predict_stack(frames, net: UNet, model_arg: Any, threshold: float | None, depth: int,
                   statistics, device: str, precision: str):
    """One ``map_overlap`` over a ``(n, ny, nx)`` stack: a margin of ``depth`` pixels along
    the rows and columns, none across frames, each frame with its own statistics (an object
    array ``(n, 1, 1)`` of ``(center, scale)``, broadcast over the chunks of its frame)."""
    da = require("dask.array")
    _check_chunks(frames[0], net.multiple, depth, net.name)
    frames = frames.astype(np.float32)
    n = frames.shape[0]
    per_frame = (frames.chunks[0], (1,), (1,))
    if statistics is None:  # one task per chunk of frames, on whole frames
        whole = frames.rechunk({1: -1, 2: -1})
        stats = whole.map_blocks(_statistics_blocks, chunks=per_frame, dtype=object,
                                 meta=np.empty((0, 0, 0), dtype=object))
    else:
        pairs = list(statistics)
        if len(pairs) != n:
            raise ValueError(f"statistics must give one (center, scale) per frame: "
                             f"{n} frames, {len(pairs)} pairs")
        table = np.empty((n, 1, 1), dtype=object)
        for i, pair in enumerate(pairs):
            table[i, 0, 0] = _check_pair(pair)
        stats = da.from_array(table, chunks=per_frame)
    dtype = bool if threshold is not None else np.float32
    return da.map_overlap(
        _predict_blocks, frames, stats, depth=[{0: 0, 1: depth, 2: depth}, 0],
        boundary="none", trim=True, align_arrays=True, dtype=dtype,
        meta=np.empty((0, 0, 0), dtype=dtype), model=model_arg,
        threshold=None if threshold is None else float(threshold), device=device,
        precision=precision)


# --------------------------------------------------------------------------------------------
# big frames: a simulated focal plane, a stack of FITS files
# --------------------------------------------------------------------------------------------
def simulate_ccd(size: int, seed: int | Sequence[int] | None = None, *,
                 library=None, exptime: float = 900.0, n_exposures: int = 3) -> np.ndarray:
    """One simulated DESI-like spectrograph frame with cosmic rays, float32 electrons.

    The same ``seed`` (an int or a sequence of ints, the entropy of
    :func:`numpy.random.default_rng`) gives the same frame.

    :func:`~cosmicbook.deepcr.simulate_tile` (``(size, size)``, ``n_exposures`` exposures of
    ``exptime`` seconds) plus noise and cosmic rays of ``library``
    (:func:`~cosmicbook.deepcr.make_training_frame`; default a library from three simulated
    512 x 512 darks).
    """
    from .simulate import default_library, make_training_frame, simulate_tile

    rng = np.random.default_rng(list(seed) if isinstance(seed, (tuple, list)) else seed)
    if library is None:
        library = default_library((512, 512), n_darks=3, seed=2021, progress=False)
    tile = simulate_tile((int(size), int(size)), n_exposures=n_exposures, exptime=exptime,
                         seed=rng, progress=False)
    return make_training_frame(tile, library, seed=rng).image


def lazy_focal_plane(n_ccds: int, size: int = 4096, seed: int = 0, *, chunks: int = 1024,
                     exptime: float = 900.0, n_exposures: int = 3) -> dask.array.Array:
    """A lazily simulated focal plane: ``n_ccds`` frames of :func:`simulate_ccd`, stacked.

    Each CCD is one ``dask.delayed`` call, simulated only when a chunk of it is computed
    (and again at every compute: ``persist()`` it to keep it in the cluster's memory). The
    cosmic-ray library is made once per compute and shared by the CCDs.

    Parameters
    ----------
    n_ccds : int
        Number of CCDs (:data:`LSST_FOCAL_PLANE`: 189 of 4096 pixels, 3.2 gigapixels).
    size : int
        Pixels per side of each CCD (>= 64).
    seed : int
        Seeds every CCD independently: CCD ``i`` is ``simulate_ccd(size, (seed, i))``.
    chunks : int
        Chunk side (pixels) of the returned array; even, for the pooling grid.
    exptime, n_exposures
        Passed to :func:`simulate_ccd`.

    Returns
    -------
    dask.array.Array, shape (n_ccds, size, size)
        float32 electrons, chunks ``(1, chunks, chunks)``.

    Examples
    --------
    >>> plane = lazy_focal_plane(*LSST_FOCAL_PLANE)
    >>> plane.shape, f"{plane.size / 1e9:.1f} gigapixels", plane.chunksize
    ((189, 4096, 4096), '3.2 gigapixels', (1, 1024, 1024))
    """
    da, dask = require("dask.array"), require("dask")
    for value, name in ((n_ccds, "n_ccds"), (size, "size"), (chunks, "chunks")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    from .simulate import default_library

    library = dask.delayed(default_library, pure=True)((512, 512), n_darks=3, seed=2021,
                                                       progress=False)
    ccds = [da.from_delayed(
        dask.delayed(simulate_ccd, pure=True)(int(size), (int(seed), i), library=library,
                                              exptime=exptime, n_exposures=n_exposures),
        shape=(int(size), int(size)), dtype=np.float32) for i in range(int(n_ccds))]
    return da.stack(ccds).rechunk((1, int(chunks), int(chunks)))


def _read_image(path: str, hdu: int | str | None) -> np.ndarray:
    return read_image(path, hdu, dtype=np.float32)[0]


def _image_shape(path: Path, hdu: int | str | None) -> tuple[int, int]:
    from astropy.io import fits

    from cosmicbook.core.io import open_fits

    with open_fits(path, "input FITS file") as hdul:
        chosen = None
        if hdu is None:
            chosen = next((h for h in hdul if getattr(h, "is_image", False)
                           and h.header.get("NAXIS", 0) == 2), None)
        else:
            try:
                chosen = hdul[hdu]
            except (KeyError, IndexError):
                chosen = None
        if chosen is None or not isinstance(chosen, (fits.ImageHDU, fits.PrimaryHDU,
                                                     fits.CompImageHDU)) \
                or chosen.header.get("NAXIS", 0) != 2:
            where = "any HDU" if hdu is None else f"HDU {hdu!r}"
            raise ValueError(f"{path} holds no 2-D image in {where}")
        return int(chosen.header["NAXIS2"]), int(chosen.header["NAXIS1"])


def read_fits_mosaic(paths, *, hdu: int | str | None = None,
                     grid: tuple[int, int] | None = None,
                     chunks: int | None = None) -> dask.array.Array:
    """A lazy Dask array of the 2-D images of many FITS files.

    Only the headers are read now (for the shapes); each image is read by
    ``astropy.io.fits`` in a ``dask.delayed`` task when its chunks are needed.

    Parameters
    ----------
    paths : path, glob, directory, ``@list`` or a sequence of them
        See :func:`cosmicbook.core.batch.expand_inputs`.
    hdu : int or str, optional
        HDU of the image in every file (default: the first 2-D image).
    grid : (int, int), optional
        ``(rows, columns)`` of files, in order, to lay out as one 2-D mosaic. Default: a 3-D
        stack ``(n_files, ny, nx)``, one frame per file -- what :func:`predict_mask_dask`
        masks CCD by CCD.
    chunks : int, optional
        Rechunk to this side (pixels); default one chunk per file.

    Returns
    -------
    dask.array.Array
        float32.

    Raises
    ------
    FileNotFoundError, ValueError
        For missing files, files without a 2-D image, images of different shapes, or a
        ``grid`` that does not hold the files.
    """
    da, dask = require("dask.array"), require("dask")
    files = expand_inputs(paths)
    shapes = [_image_shape(p, hdu) for p in files]
    if len(set(shapes)) > 1:
        first = shapes[0]
        odd = [f"{p.name} {s}" for p, s in zip(files, shapes, strict=True) if s != first]
        raise ValueError(f"images differ in shape: {files[0].name} is {first}, but "
                         f"{', '.join(odd[:3])}")
    shape = shapes[0]
    arrays = [da.from_delayed(dask.delayed(_read_image, pure=True)(str(p), hdu), shape=shape,
                              dtype=np.float32) for p in files]
    if grid is None:
        mosaic = da.stack(arrays)
        size = (1, chunks, chunks) if chunks else None
    else:
        rows, cols = (int(v) for v in grid)
        if rows * cols != len(files):
            raise ValueError(f"a {rows} x {cols} grid holds {rows * cols} images, got "
                             f"{len(files)} files")
        mosaic = da.block([arrays[r * cols:(r + 1) * cols] for r in range(rows)])
        size = (chunks, chunks) if chunks else None
    return mosaic.rechunk(size) if size else mosaic
