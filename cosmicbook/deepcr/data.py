"""Training data for the mask network: frames, overlapping patches, a torch Dataset, splits.

As in DESI-6095 the frames are cut into overlapping 256 x 256 patches, 75 % of which train the
network and 25 % validate it; whole frames that no patch came from are kept for testing.
Patches stay in electrons: the network normalises its input itself.

:class:`PatchDataset` keeps the frames and cuts each patch when asked for it, so a dataset of
many overlapping patches costs only the memory of its frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from cosmicbook.core.progress import progress as _progress
from cosmicbook.darks.library import CosmicLibrary
from cosmicbook.deepcr.simulate import (
    DESI_RATE,
    TrainingFrame,
    make_training_frame,
    simulate_tile,
)

__all__ = [
    "PatchDataset",
    "extract_patches",
    "make_dataset",
    "make_frames",
    "patch_positions",
    "train_val_split",
]


def _check_size_stride(size, stride) -> tuple[int, int]:
    if int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    size = int(size)
    stride = (3 * size) // 4 if stride is None else stride
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    return size, int(stride)


def _starts(n: int, size: int, stride: int) -> np.ndarray:
    """Patch starts along one axis: every ``stride`` px plus one flush with the far edge."""
    if n < size:
        raise ValueError(f"an image side of {n} px is smaller than the patch size {size}")
    starts = np.arange(0, n - size + 1, stride)
    if starts[-1] != n - size:
        starts = np.append(starts, n - size)
    return starts


def patch_positions(shape: tuple[int, int], size: int = 256, stride: int | None = None
                    ) -> np.ndarray:
    """Top-left corners of the overlapping patches covering an image.

    Patches start every ``stride`` pixels along each axis, plus one patch flush with the last
    row/column, so every pixel is covered.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` of the image.
    size : int
        Patch side, pixels (default 256).
    stride : int, optional
        Step between patches (default ``3 * size // 4`` = 192: neighbouring patches overlap
        by a quarter). A 4096 x 4096 frame then gives 21 x 21 = 441 patches, a 1024 x 1024
        frame 5 x 5 = 25.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` int64 ``(y0, x0)``, row-major order.
    """
    size, stride = _check_size_stride(size, stride)
    if len(shape) != 2:
        raise ValueError(f"shape must be (ny, nx), got {shape!r}")
    ys = _starts(int(shape[0]), size, stride)
    xs = _starts(int(shape[1]), size, stride)
    return np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)


def _as_2d(array, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric or boolean, got dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def extract_patches(image: np.ndarray, mask: np.ndarray | None = None, size: int = 256,
                    stride: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Cut an image (and its mask) into overlapping square patches.

    Parameters
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` frame, e- (finite).
    mask : numpy.ndarray, optional
        ``(ny, nx)`` truth mask (bool or 0/1).
    size, stride : int
        See :func:`patch_positions` (default 256 and 192).

    Returns
    -------
    images : numpy.ndarray
        ``(n, size, size)`` float32 copies.
    masks : numpy.ndarray or None
        ``(n, size, size)`` bool, or None without ``mask``.
    """
    image = _as_2d(image, "image")
    if mask is not None:
        mask = _as_2d(mask, "mask", image.shape).astype(bool)
    pos = patch_positions(image.shape, size, stride)
    size = int(size)
    iy = pos[:, 0, None, None] + np.arange(size)[None, :, None]
    ix = pos[:, 1, None, None] + np.arange(size)[None, None, :]
    images = image[iy, ix].astype(np.float32)
    masks = None if mask is None else mask[iy, ix]
    return images, masks


def train_val_split(n: int, fraction: float = 0.75, seed: int | None = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``n`` items into training and validation indices.

    Parameters
    ----------
    n : int
        Number of items (patches).
    fraction : float
        Fraction for training (default 0.75, DESI-6095); ``round(fraction * n)`` items.
    seed : int or None
        Seed of the permutation.

    Returns
    -------
    train, val : numpy.ndarray
        Sorted int64 indices, disjoint, together ``0 .. n-1``.
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    n = int(n)
    n_train = min(max(int(round(fraction * n)), 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


class PatchDataset(Dataset):
    """Overlapping patches of frames, as a torch Dataset.

    Each item is ``(image, mask, ignore)``: float32 tensors of shape ``(1, size, size)``; the
    image in electrons, the mask 1 in cosmic-ray pixels, ``ignore`` 1 in pixels the loss must
    skip (pixels with zero inverse variance, or the given ignore masks).

    Parameters
    ----------
    images : sequence of numpy.ndarray or a 3-D array
        Frames, ``(ny, nx)`` each (they may differ in shape), e-.
    masks : sequence of numpy.ndarray
        Truth masks, one per frame.
    ignore : sequence of numpy.ndarray, optional
        Pixels to leave out of the loss, one mask per frame (default none).
    size, stride : int
        See :func:`patch_positions` (default 256 and 192).
    index : array of int, optional
        Keep only these patches (of the full list, in the order of :attr:`positions`).
    frames : list of TrainingFrame, optional
        The frames the images came from (kept for their per-cosmic truth).

    Attributes
    ----------
    positions : numpy.ndarray
        ``(len(self), 3)`` int64 ``(frame, y0, x0)`` of each patch.

    Examples
    --------
    >>> import numpy as np
    >>> ds = PatchDataset([np.zeros((512, 512))], [np.zeros((512, 512), bool)])
    >>> len(ds), ds[0][0].shape
    (9, torch.Size([1, 256, 256]))
    """

    def __init__(self, images, masks, ignore=None, size: int = 256, stride: int | None = None,
                 index=None, frames: list[TrainingFrame] | None = None):
        size, stride = _check_size_stride(size, stride)
        images = list(images)
        masks = list(masks)
        if not images:
            raise ValueError("need at least one frame")
        if len(masks) != len(images):
            raise ValueError(f"got {len(images)} images but {len(masks)} masks")
        ignore = [None] * len(images) if ignore is None else list(ignore)
        if len(ignore) != len(images):
            raise ValueError(f"got {len(images)} images but {len(ignore)} ignore masks")
        self.images = [_as_2d(im, f"images[{i}]").astype(np.float32, copy=False)
                       for i, im in enumerate(images)]
        self.masks = [_as_2d(m, f"masks[{i}]", im.shape).astype(bool, copy=False)
                      for i, (m, im) in enumerate(zip(masks, self.images, strict=True))]
        self.ignore = [None if g is None else _as_2d(g, f"ignore[{i}]", im.shape).astype(bool)
                       for i, (g, im) in enumerate(zip(ignore, self.images, strict=True))]
        self.size, self.stride = size, stride
        self.frames = frames
        pos = [np.column_stack([np.full(len(p), i), p]) for i, im in enumerate(self.images)
               for p in [patch_positions(im.shape, size, stride)]]
        self._all_positions = np.concatenate(pos).astype(np.int64)
        if index is None:
            self.index = np.arange(len(self._all_positions))
        else:
            index = np.asarray(index)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            if index.size and (index.min() < 0 or index.max() >= len(self._all_positions)):
                raise ValueError(f"index out of range for {len(self._all_positions)} patches")
            self.index = index.astype(np.int64)

    @classmethod
    def from_frames(cls, frames: Sequence[TrainingFrame], size: int = 256,
                    stride: int | None = None, index=None) -> PatchDataset:
        """Patches of :class:`~cosmicbook.deepcr.simulate.TrainingFrame` s; ``ignore`` is
        where ``ivar == 0``."""
        frames = list(frames)
        return cls([f.image for f in frames], [f.mask for f in frames],
                   [f.ivar <= 0 for f in frames], size=size, stride=stride, index=index,
                   frames=frames)

    @property
    def positions(self) -> np.ndarray:
        """``(len(self), 3)`` ``(frame, y0, x0)`` of the patches in this dataset."""
        return self._all_positions[self.index]

    @property
    def n_patches_total(self) -> int:
        """Patches of all frames, before any ``index`` selection."""
        return len(self._all_positions)

    def subset(self, index) -> PatchDataset:
        """A dataset with the patches ``index`` of this one (sharing the frames)."""
        new = object.__new__(PatchDataset)
        new.__dict__.update(self.__dict__)
        new.index = self.index[np.asarray(index)]
        return new

    def split(self, fraction: float = 0.75, seed: int | None = 0
              ) -> tuple[PatchDataset, PatchDataset]:
        """Training and validation subsets (:func:`train_val_split` of the patches)."""
        train, val = train_val_split(len(self), fraction, seed)
        return self.subset(train), self.subset(val)

    def __len__(self) -> int:
        return len(self.index)

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Patch ``i`` as numpy ``(image float32, mask bool, ignore bool)``, ``(size, size)``."""
        f, y0, x0 = self._all_positions[self.index[i]]
        sl = (slice(y0, y0 + self.size), slice(x0, x0 + self.size))
        ign = self.ignore[f]
        return (self.images[f][sl], self.masks[f][sl],
                np.zeros((self.size, self.size), bool) if ign is None else ign[sl])

    def __getitem__(self, i: int):
        if not -len(self) <= i < len(self):
            raise IndexError(f"patch {i} out of range for {len(self)} patches")
        image, mask, ignore = self.arrays(int(i) % len(self))
        return (torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None],
                torch.from_numpy(mask.astype(np.float32))[None],
                torch.from_numpy(ignore.astype(np.float32))[None])

    def __repr__(self) -> str:
        return (f"PatchDataset({len(self)} patches of {self.size}x{self.size} from "
                f"{len(self.images)} frame(s), stride {self.stride})")


def make_frames(n_frames: int, frame_size: int | tuple[int, int], library: CosmicLibrary,
                seed: int = 0, *, exptime_range: tuple[float, float] = (300.0, 1800.0),
                tile_exptime: float = 900.0, n_exposures: int = 5, frames_per_tile: int = 1,
                gain: float | None = None, rate: float = DESI_RATE,
                progress: bool | None = None, **camera_kwargs) -> list[TrainingFrame]:
    """Simulate training or test frames: tiles, noise and library cosmics.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    frame_size : int or (int, int)
        Frame shape (an int means square).
    library : CosmicLibrary
        Cosmic-ray stamps (chapter 1; :func:`~cosmicbook.deepcr.simulate.default_library`).
    seed : int
        Seeds everything; different seeds give independent frames (use different seeds for
        training and test frames).
    exptime_range : (float, float)
        The exposure time that sets each frame's number of cosmics is drawn uniformly in this
        range, s (default 300-1800; 1.4 cosmics per second per 4k frame).
    tile_exptime : float
        Exposure time of the simulated sky and fibre spectra, s (default 900).
    n_exposures : int
        Exposures in each clean median (default 5).
    frames_per_tile : int
        Frames sharing one simulated tile (with different noise and cosmics; default 1).
    gain : float, optional
        e-/ADU of the library (default the library's own).
    rate : float
        Cosmics per second per 4k frame (default 1.4).
    progress : bool or None
        Progress bar over the frames.
    **camera_kwargs
        Passed to :class:`~cosmicbook.deepcr.simulate.SpectroCamera`.

    Returns
    -------
    list of TrainingFrame
    """
    if int(n_frames) != n_frames or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    if int(frames_per_tile) != frames_per_tile or frames_per_tile < 1:
        raise ValueError(f"frames_per_tile must be a positive integer, got {frames_per_tile!r}")
    shape = (frame_size, frame_size) if np.ndim(frame_size) == 0 else tuple(frame_size)
    lo, hi = (float(t) for t in exptime_range)
    if not 0 <= lo <= hi:
        raise ValueError(f"exptime_range must be (low, high) with 0 <= low <= high, got "
                         f"{exptime_range!r}")
    rng = np.random.default_rng(seed)
    children = rng.spawn(int(n_frames))
    exptimes = rng.uniform(lo, hi, int(n_frames))
    frames, tile = [], None
    for i in _progress(range(int(n_frames)), enabled=progress, desc="frames", unit="frame"):
        if i % frames_per_tile == 0:
            tile = simulate_tile(shape, n_exposures=n_exposures, exptime=tile_exptime,
                                 seed=children[i].spawn(1)[0], progress=False, **camera_kwargs)
        frames.append(make_training_frame(tile, library, exptime=exptimes[i],
                                          seed=children[i], gain=gain, rate=rate))
    return frames


def make_dataset(n_frames: int, frame_size: int | tuple[int, int], library: CosmicLibrary,
                 seed: int = 0, *, size: int = 256, stride: int | None = None,
                 progress: bool | None = None, **frame_kwargs) -> PatchDataset:
    """Simulate ``n_frames`` frames (:func:`make_frames`) and cut them into patches.

    Split the result with :meth:`PatchDataset.split` (75/25 by default). The frames are kept in
    ``dataset.frames``.

    Examples
    --------
    >>> from cosmicbook.deepcr.simulate import default_library
    >>> library = default_library((512, 512), n_darks=3, seed=0, progress=False)
    >>> ds = make_dataset(2, 512, library, seed=1, progress=False)
    >>> train, val = ds.split(0.75, seed=0)
    >>> len(ds), len(train), len(val)
    (18, 14, 4)
    """
    frames = make_frames(n_frames, frame_size, library, seed, progress=progress,
                         **frame_kwargs)
    return PatchDataset.from_frames(frames, size=size, stride=stride)
