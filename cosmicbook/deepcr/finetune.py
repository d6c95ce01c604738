"""Adapting the shipped mask to your own camera: training data from your darks and sky frames.

What a user of another instrument has is darks (cosmic rays on an empty frame) and science or
sky exposures of their own scenes, several of each field. :func:`fine_tune` turns those into
training data the way the chapter does for DESI -- cosmic rays cut from the darks with the
chapter-1 extraction (:func:`library_from_darks`), injected into clean images (the per-pixel
median of exposures, :func:`median_clean`) with the noise of one exposure added back
(:func:`frames_from_clean`) -- and continues training the shipped weights for a bounded time
on a CPU, with batch-norm statistics kept frozen. The result is saved atomically with its
metadata: an interrupted run leaves the previous weights file as it was.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cosmicbook.core.progress import progress as _progress
from cosmicbook.core.training import FitOptions, History, fit, freeze_batchnorm
from cosmicbook.darks.library import CosmicLibrary
from cosmicbook.deepcr.data import PatchDataset
from cosmicbook.deepcr.model import UNet
from cosmicbook.deepcr.randomise import CosmicAugmentation, augment_library
from cosmicbook.deepcr.simulate import DESI_RATE, TrainingFrame, median_variance_factor
from cosmicbook.deepcr.training import make_loader, masked_bce

__all__ = ["FineTuneConfig", "FineTuneResult", "fine_tune", "frames_from_clean",
           "library_from_darks", "median_clean"]


def _frames_list(frames, name: str) -> list[np.ndarray]:
    if isinstance(frames, np.ndarray) and frames.ndim == 2:
        frames = [frames]
    frames = list(frames) if frames is not None else []
    if not frames:
        raise ValueError(f"{name} is empty: give at least one 2-D frame")
    out = []
    for i, f in enumerate(frames):
        a = np.asarray(getattr(f, "data", f), dtype=np.float32)
        if a.ndim != 2 or min(a.shape) < 16:
            raise ValueError(f"{name}[{i}] must be a 2-D frame of at least 16 x 16 pixels, got "
                             f"shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name}[{i}] contains NaN or inf: mask or interpolate bad pixels "
                             f"first")
        out.append(a)
    return out


def median_clean(exposures) -> np.ndarray:
    """The per-pixel median of registered exposures of one field: a frame without cosmics.

    Parameters
    ----------
    exposures : sequence of numpy.ndarray or a 3-D array
        At least 3 exposures of the same shape, e-.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` float32.
    """
    stack = _frames_list(list(exposures), "exposures")
    if len(stack) < 3:
        raise ValueError(f"need at least 3 exposures for a median without cosmics, got "
                         f"{len(stack)}")
    shapes = {s.shape for s in stack}
    if len(shapes) != 1:
        raise ValueError(f"exposures have different shapes {sorted(shapes)}")
    return np.median(np.stack(stack), axis=0).astype(np.float32)


def library_from_darks(darks, gain: float, exptime: float, *, threshold: float | None = None,
                       seed_level: float | None = None, read_noise: float | None = None,
                       progress: bool | None = None) -> CosmicLibrary:
    """The chapter-1 extraction on your own darks: their cosmic rays as a library.

    Parameters
    ----------
    darks : sequence of numpy.ndarray
        At least 3 bias-subtracted darks of one camera, ADU.
    gain : float
        e-/ADU.
    exptime : float
        Exposure time of each dark, s.
    threshold, seed_level : float, optional
        Extraction levels in ADU (default the DESI values scaled to the camera: 400 and 250
        ADU at gain 1.5, i.e. 600 and 375 e-).
    read_noise : float, optional
        e-; only used for the default levels' floor (30 and 20 x the read noise).
    progress : bool or None

    Returns
    -------
    CosmicLibrary
        In ADU, knowing ``gain`` and ``exptime``.
    """
    from cosmicbook.darks import extract_cosmics, hot_pixel_mask

    darks = _frames_list(darks, "darks")
    if len(darks) < 3:
        raise ValueError(f"need at least 3 darks (for the hot-pixel mask), got {len(darks)}")
    if len({d.shape for d in darks}) != 1:
        raise ValueError(f"darks have different shapes {sorted({d.shape for d in darks})}")
    if not np.isfinite(gain) or gain <= 0 or not np.isfinite(exptime) or exptime <= 0:
        raise ValueError(f"gain and exptime must be positive, got {gain!r} and {exptime!r}")
    floor = 0.0 if read_noise is None else float(read_noise) / gain
    threshold = max(600.0 / gain, 30 * floor) if threshold is None else float(threshold)
    seed_level = max(375.0 / gain, 20 * floor) if seed_level is None else float(seed_level)
    hot = hot_pixel_mask(darks, progress=False)
    libraries = []
    for dark in _progress(darks, enabled=progress, desc="extract", unit="dark"):
        labels, table = extract_cosmics(dark, threshold=threshold, seed=seed_level, mask=hot)
        libraries.append(CosmicLibrary.from_extraction(dark, labels, table, mask=hot,
                                                       exptime=exptime, gain=gain))
    library = CosmicLibrary.concatenate(libraries)
    if not len(library):
        raise ValueError("no cosmic rays found in the darks: check the units (ADU), the "
                         "gain and the extraction levels")
    return library


def frames_from_clean(clean, library: CosmicLibrary, read_noise: float, *,
                      n_exposures: int | None = None, exptime: float = 1800.0,
                      rate: float = DESI_RATE,
                      augmentation: CosmicAugmentation | None = None,
                      frames_per_clean: int = 1, seed: int = 0) -> list[TrainingFrame]:
    """Training frames from clean images: one exposure's noise back, library cosmics in.

    Parameters
    ----------
    clean : sequence of numpy.ndarray
        Clean images, e- (:func:`median_clean`).
    library : CosmicLibrary
        Cosmic rays in ADU with a known gain (:func:`library_from_darks`).
    read_noise : float
        e- per pixel of one exposure (>= 0).
    n_exposures : int, optional
        Exposures in each median: the noise added is one exposure's minus what the median
        kept, ``(read_noise^2 + max(clean, 0)) x (1 - v_n)`` with ``v_n`` the variance factor
        of a median of ``n`` (:func:`~cosmicbook.deepcr.simulate.median_variance_factor`).
        ``None`` adds one exposure's full noise (the clean image is noiseless).
    exptime : float
        The number of cosmics is Poisson(``rate`` x ``exptime`` x area / 4096^2).
    augmentation : CosmicAugmentation, optional
        Default: rotations and flips, amplitudes 0.7-1.4, 10 % thin tracks.
    frames_per_clean : int
        Frames made from each clean image (different noise and cosmics).
    seed : int

    Returns
    -------
    list of TrainingFrame
    """
    from cosmicbook.deepcr.simulate import inject_cosmics

    clean = _frames_list(clean, "clean")
    if not np.isfinite(read_noise) or read_noise < 0:
        raise ValueError(f"read_noise must be a non-negative number of e-, got {read_noise!r}")
    if int(frames_per_clean) != frames_per_clean or frames_per_clean < 1:
        raise ValueError(f"frames_per_clean must be a positive integer, got {frames_per_clean!r}")
    if n_exposures is not None and (int(n_exposures) != n_exposures or n_exposures < 1):
        raise ValueError(f"n_exposures must be a positive integer, got {n_exposures!r}")
    augmentation = (CosmicAugmentation(amplitude=(0.7, 1.4), track_fraction=0.1)
                    if augmentation is None else augmentation)
    keep = 0.0 if n_exposures is None else median_variance_factor(int(n_exposures))
    gain = library.gain
    if gain is None:
        raise ValueError("the library does not record its gain (e-/ADU)")
    rngs = np.random.default_rng(seed).spawn(len(clean) * int(frames_per_clean))
    frames = []
    for k, rng in enumerate(rngs):
        image = clean[k // int(frames_per_clean)]
        lib_rng, noise_rng, cosmic_rng = rng.spawn(3)
        var1 = read_noise**2 + np.maximum(image, 0.0)
        noisy = image + noise_rng.standard_normal(image.shape, dtype=np.float32) * np.sqrt(
            var1 * (1.0 - keep)).astype(np.float32)
        lib = augment_library(library, augmentation, lib_rng)
        injected = inject_cosmics(lib, noisy, rate=rate, exptime=exptime, seed=cosmic_rng,
                                  rotate=augmentation.rotate, gain=gain)
        ivar = (1.0 / (var1 + np.maximum(injected.signal, 0.0))).astype(np.float32)
        frames.append(TrainingFrame(image=injected.image.astype(np.float32),
                                    mask=injected.mask, ivar=ivar, labels=injected.labels,
                                    signal=injected.signal, cosmics=injected.table,
                                    noise_sigma=float(np.sqrt(np.median(var1))),
                                    exptime=float(exptime), gain=float(gain)))
    return frames


@dataclass(frozen=True)
class FineTuneConfig:
    """How :func:`fine_tune` trains.

    Attributes
    ----------
    max_minutes : float
        Wall-clock budget: training stops after the epoch that crosses it.
    max_epochs : int
        Upper bound on the epochs.
    lr : float
        Adam's learning rate (small: the shipped weights are a good start).
    batch_size, patch_size : int
        Patches of ``patch_size`` x ``patch_size`` px, ``batch_size`` per step.
    frames_per_clean : int
        Training frames made from each clean image.
    exptime : float
        Sets the number of injected cosmics per frame (s at 1.4 per s per 4k frame).
    val_fraction : float
        Patches held out to watch the validation loss.
    augmentation : CosmicAugmentation
    seed : int
    """

    max_minutes: float = 5.0
    max_epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 8
    patch_size: int = 128
    frames_per_clean: int = 2
    exptime: float = 3600.0
    val_fraction: float = 0.25
    augmentation: CosmicAugmentation = field(
        default_factory=lambda: CosmicAugmentation(amplitude=(0.7, 1.4), track_fraction=0.1))
    seed: int = 0

    def __post_init__(self):
        if not np.isfinite(self.max_minutes) or self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive, got {self.max_minutes!r}")
        for name in ("max_epochs", "batch_size", "patch_size", "frames_per_clean"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["augmentation"] = self.augmentation.to_dict()
        return d


@dataclass(eq=False)
class FineTuneResult:
    """What :func:`fine_tune` returns: the model, its history, and the saved file (or None)."""

    model: UNet
    history: History
    path: Path | None
    metadata: dict


def _atomic_save(model: UNet, path: Path, metadata: dict) -> Path:
    """:func:`~cosmicbook.deepcr.save_model` to temporary files, then rename both into place."""
    from cosmicbook.deepcr.inference import save_model

    tmp = path.with_name(f".{path.stem}.tmp.pt")
    try:
        save_model(model, tmp, metadata=metadata)
        os.replace(tmp.with_suffix(".json"), path.with_suffix(".json"))
        os.replace(tmp, path)
    finally:
        for t in (tmp, tmp.with_suffix(".json")):
            if t.exists():
                t.unlink()
    return path


def fine_tune(clean: Sequence[np.ndarray], library: CosmicLibrary, read_noise: float, *,
              model: UNet | None = None, n_exposures: int | None = None,
              config: FineTuneConfig | None = None, out: str | os.PathLike | None = None,
              device: str | torch.device | None = None,
              progress: bool | None = None) -> FineTuneResult:
    """Fine-tune a mask network on your camera's clean images and cosmic rays.

    Parameters
    ----------
    clean : sequence of numpy.ndarray
        Clean images of your camera, e- (medians of exposures: :func:`median_clean`).
    library : CosmicLibrary
        Your camera's cosmic rays (:func:`library_from_darks`), ADU with a known gain.
    read_noise : float
        e- per pixel of one exposure.
    model : UNet, optional
        The starting point (default the shipped weights, :func:`~cosmicbook.deepcr.
        load_model`); it is copied, not changed.
    n_exposures : int, optional
        Exposures in each median (see :func:`frames_from_clean`).
    config : FineTuneConfig, optional
    out : path-like, optional
        Save the fine-tuned weights here (``.pt`` + ``.json``), atomically.
    device : str or torch.device, optional
    progress : bool or None

    Returns
    -------
    FineTuneResult
    """
    from cosmicbook.deepcr.inference import load_model

    config = FineTuneConfig() if config is None else config
    if not isinstance(config, FineTuneConfig):
        raise ValueError(f"config must be a FineTuneConfig, got {type(config).__name__}")
    if not isinstance(library, CosmicLibrary) or not len(library):
        raise ValueError("library must be a non-empty CosmicLibrary (library_from_darks)")
    clean = _frames_list(clean, "clean")
    small = [c.shape for c in clean if min(c.shape) < config.patch_size]
    if small:
        raise ValueError(f"clean frames {small} are smaller than the patch size "
                         f"{config.patch_size}")
    start = load_model(device="cpu") if model is None else model
    if not isinstance(start, UNet) or getattr(start, "is_fused", False):
        raise ValueError("model must be a trainable cosmicbook.deepcr.UNet (not a fused copy)")
    net = UNet(**start.config())
    net.load_state_dict(start.state_dict())
    frames = frames_from_clean(clean, library, read_noise, n_exposures=n_exposures,
                               exptime=config.exptime, augmentation=config.augmentation,
                               frames_per_clean=config.frames_per_clean, seed=config.seed)
    patches = PatchDataset.from_frames(frames, size=config.patch_size,
                                       stride=config.patch_size)
    if len(patches) < 2:
        raise ValueError("the clean frames give fewer than 2 patches: give larger or more "
                         "frames")
    train, val = patches.split(1.0 - config.val_fraction, seed=config.seed)
    freeze_batchnorm(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    t0 = time.perf_counter()

    def over_budget(epoch: int, _net, _history) -> bool:
        return time.perf_counter() - t0 > 60.0 * config.max_minutes

    history = fit(net, make_loader(train, config.batch_size, shuffle=True, seed=config.seed),
                  masked_bce, optimizer, epochs=config.max_epochs,
                  val_loader=make_loader(val, config.batch_size, shuffle=False),
                  device=device, progress=progress,
                  options=FitOptions(epoch_callback=over_budget, seed=config.seed))
    net = net.cpu().eval()
    metadata = {"fine_tuned": True, "config": config.to_dict(), "read_noise": read_noise,
                "n_exposures": n_exposures, "n_clean_frames": len(clean),
                "train_patches": len(train), "val_patches": len(val),
                "epochs": len(history), "minutes": (time.perf_counter() - t0) / 60,
                "history": history.state_dict()["records"],
                "library": {"cosmics": len(library), "gain": library.gain}}
    path = None if out is None else _atomic_save(net, Path(out), metadata)
    return FineTuneResult(model=net, history=history, path=path, metadata=metadata)
