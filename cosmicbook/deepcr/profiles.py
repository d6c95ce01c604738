"""Run profiles of the deepCR chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

import dataclasses

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/02_deepcr_masks``:
#:
#: ``seed``
#:     seeds the cosmic-ray library, every simulated frame, the split and the training.
#: ``library_size``, ``library_darks``
#:     side (pixels) and number of the chapter-1 darks the cosmic-ray library is cut from.
#: ``frame_size``
#:     side of the simulated training and test frames (DESI: 4096).
#: ``n_train_frames``
#:     frames cut into patches (75 % train / 25 % validation).
#: ``exptime_range``
#:     exposure times (s) that set the number of cosmics per training frame (1.4 per s per 4k
#:     frame); long ones pack more cosmics into every patch.
#: ``test_size``, ``test_exptime``
#:     side and exposure time of the held-out test frame (also used for the timings).
#: ``sdss_c2fudge``, ``lacosmic_sigclip``
#:     the sweeps of the classical methods' knobs that draw their ROC curves (the SDSS
#:     method's false-positive rate hardly moves with nsig: its 3 x 3 dilation ring sets it).
#: ``patch_size``, ``patch_stride``
#:     the overlapping training patches (DESI-6095: 256, overlapping).
#: ``epochs``, ``batch_size``, ``lr``, ``freeze_fraction``
#:     training of the 2-32 net: batch-norm statistics frozen (and the learning rate divided
#:     by 2.5) after ``freeze_fraction`` of the epochs (the seed: 24 of 60).
#: ``tile``
#:     tile side of the halo-tiled inference.
#: ``transfer_size``, ``transfer_frames``, ``transfer_exptime``
#:     held-out frames of the transfer map: side, frames per grid point, exposure time (s).
#: ``transfer_c2fudge``, ``transfer_sigclip``
#:     the classical methods' sweeps on the transfer map, wider than on the chapter's own
#:     frame so that they reach FPR 0.1 % on every instrument where they can.
#: ``psf_grid``, ``read_noise_grid``, ``sky_line_grid``
#:     the transfer map's grids: PSF core sigma (px, both directions), read noise (e-), sky
#:     lines per 4096 rows; the other parameters stay at the DESI-like instrument.
#: ``imager_size``, ``imager_frames``, ``finetune_epochs``, ``finetune_minutes``
#:     the fine-tuning demonstration: side and number of the clean imager frames it trains
#:     on, its epochs, and a wall-clock guard (the run stops after the epoch that crosses
#:     three times this many minutes; the epochs, not the clock, end a normal run, so that
#:     it reproduces).
PROFILES: dict[str, dict] = {
    # seconds: everything tiny, the numbers mean nothing
    "ci": {
        "seed": 2021,
        "library_size": 1024,
        "library_darks": 3,
        "frame_size": 256,
        "n_train_frames": 2,
        "exptime_range": [3000.0, 6000.0],
        "test_size": 256,
        "test_exptime": 6000.0,
        "sdss_c2fudge": [0.3, 0.5, 1.0],
        "lacosmic_sigclip": [3.0, 4.5, 8.0],
        "patch_size": 128,
        "patch_stride": 128,
        "epochs": 2,
        "batch_size": 4,
        "lr": 0.005,
        "freeze_fraction": 0.4,
        "tile": 128,
        "transfer_size": 256,
        "transfer_frames": 1,
        "transfer_exptime": 6000.0,
        "transfer_c2fudge": [0.5, 2.0],
        "transfer_sigclip": [4.5, 15.0],
        "psf_grid": [0.8, 2.2],
        "read_noise_grid": [3.0],
        "sky_line_grid": [60.0],
        "imager_size": 128,
        "imager_frames": 1,
        "finetune_epochs": 1,
        "finetune_minutes": 0.5,
    },
    # minutes on one CPU core: 6 dense 1k frames cut into 128 x 128 patches (more optimiser
    # steps per CPU second than 256 x 256), 5 epochs with BN frozen after 2; the transfer
    # map on 14 held-out 1k frames; 12 fine-tuning epochs
    "book": {
        "seed": 2021,
        "library_size": 2048,
        "library_darks": 4,
        "frame_size": 1024,
        "n_train_frames": 6,
        "exptime_range": [2700.0, 3600.0],
        "test_size": 2048,
        "test_exptime": 1200.0,
        "sdss_c2fudge": [0.2, 0.3, 0.4, 0.5, 0.7, 1.0],
        "lacosmic_sigclip": [2.0, 3.0, 4.5, 8.0],
        "patch_size": 128,
        "patch_stride": 128,
        "epochs": 5,
        "batch_size": 8,
        "lr": 0.005,
        "freeze_fraction": 0.4,
        "tile": 1024,
        "transfer_size": 1024,
        "transfer_frames": 1,
        "transfer_exptime": 1200.0,
        "transfer_c2fudge": [0.3, 0.5, 1.0, 2.0, 4.0],
        "transfer_sigclip": [3.0, 4.5, 8.0, 15.0, 30.0],
        "psf_grid": [0.8, 1.0, 1.25, 1.5, 1.8, 2.2],
        "read_noise_grid": [2.0, 3.0, 4.5, 6.0],
        "sky_line_grid": [15.0, 60.0, 110.0, 200.0],
        "imager_size": 512,
        "imager_frames": 4,
        "finetune_epochs": 12,
        "finetune_minutes": 1.5,
    },
    # the paper's data volume (DESI-6095: 10 frames -> 2404 patches; 60 epochs, BN frozen
    # after 24) on DESI-sized frames; for a GPU
    "full": {
        "seed": 2021,
        "library_size": 4096,
        "library_darks": 24,
        "frame_size": 4096,
        "n_train_frames": 10,
        "exptime_range": [300.0, 1800.0],
        "test_size": 4096,
        "test_exptime": 1200.0,
        "sdss_c2fudge": [0.2, 0.3, 0.4, 0.5, 0.7, 1.0],
        "lacosmic_sigclip": [2.0, 3.0, 4.5, 6.0, 10.0],
        "patch_size": 256,
        "patch_stride": 160,
        "epochs": 60,
        "batch_size": 16,
        "lr": 0.005,
        "freeze_fraction": 0.4,
        "tile": 1024,
        "transfer_size": 2048,
        "transfer_frames": 2,
        "transfer_exptime": 1200.0,
        "transfer_c2fudge": [0.3, 0.5, 1.0, 2.0, 4.0],
        "transfer_sigclip": [3.0, 4.5, 8.0, 15.0, 30.0],
        "psf_grid": [0.8, 1.0, 1.25, 1.5, 1.8, 2.2],
        "read_noise_grid": [2.0, 3.0, 4.5, 6.0],
        "sky_line_grid": [15.0, 60.0, 110.0, 200.0],
        "imager_size": 1024,
        "imager_frames": 16,
        "finetune_epochs": 20,
        "finetune_minutes": 20.0,
    },
}


def _array_bytes(obj) -> int:
    """Bytes of the numpy arrays among an object's attributes."""
    import numpy as np

    return sum(a.nbytes for a in vars(obj).values() if isinstance(a, np.ndarray))


def memory_estimate(cfg):
    """What a profile's training holds in memory (:class:`~cosmicbook.core.MemoryEstimate`).

    The network: the 2-32 mask net in the larger of its two trainings -- the chapter's, at the
    profile's ``patch_size`` and ``batch_size``, or the fine-tuning's, at the patch and batch
    sizes of :class:`~cosmicbook.deepcr.FineTuneConfig` (they run one after the other). The
    data: what the notebook keeps from its first cells to its last -- the cosmic-ray library,
    the clean tile, the training frames (with the patches' ignore masks), the test frame and
    its probability maps and masks -- plus the larger of what comes and goes: the
    ``library_darks`` darks a library is extracted from (all held at once), or the transfer
    map's frames together with the fine-tuning's imager fields and frames. Bytes per pixel
    are measured on small simulated frames (256 x 256; a 512 x 512 library) and scaled to the
    profile's sizes. The global random states are left untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import torch

    from cosmicbook.core.memory import estimate_training_memory, isolated_rng
    from cosmicbook.darks.simulate import simulate_dark
    from cosmicbook.deepcr.data import PatchDataset, make_frames
    from cosmicbook.deepcr.finetune import FineTuneConfig
    from cosmicbook.deepcr.imager import simulate_imager
    from cosmicbook.deepcr.model import UNet
    from cosmicbook.deepcr.simulate import default_library, simulate_tile

    side, lib_side, lib_darks = 256, 512, 3
    with isolated_rng():
        dark = simulate_dark(shape=(side, side), exptime=300.0, seed=0)
        library = default_library((lib_side, lib_side), n_darks=lib_darks, seed=0,
                                  progress=False)
        tile = simulate_tile((side, side), seed=0, progress=False)
        frame = make_frames(1, side, library, seed=1, progress=False)[0]
        patches = PatchDataset.from_frames([frame], size=side)
        imager = simulate_imager((side, side), seed=0)
        tuning = FineTuneConfig(max_epochs=cfg.finetune_epochs)
        net = max((estimate_training_memory(UNet(2, 32), torch.zeros(2, 1, size, size), batch)
                   for size, batch in ((cfg.patch_size, cfg.batch_size),
                                       (tuning.patch_size, tuning.batch_size))),
                  key=lambda e: e.device)
    px = side**2
    dark_px = _array_bytes(dark) / px + 4  # + the int32 labels of the dark being extracted
    library_px = sum(s.nbytes + m.nbytes for s, m in library) / (lib_darks * lib_side**2)
    tile_px = _array_bytes(tile) / px
    frame_px = _array_bytes(frame) / px
    patch_px = frame_px + sum(g.nbytes for g in patches.ignore if g is not None) / px
    imager_px = _array_bytes(imager) / px
    test_px = frame_px + 4 * 4 + 3  # 4 float32 probability maps (1 + 3 timed), 3 bool masks

    dark_area = cfg.library_darks * cfg.library_size**2
    kept = (library_px * dark_area + tile_px * cfg.frame_size**2
            + patch_px * cfg.n_train_frames * cfg.frame_size**2 + test_px * cfg.test_size**2)
    darks = dark_px * dark_area  # the darks of the held-out library, all at once
    n_grid = len(cfg.psf_grid) + len(cfg.read_noise_grid) + len(cfg.sky_line_grid)
    later = (library_px * dark_area  # the held-out library
             + frame_px * n_grid * cfg.transfer_frames * cfg.transfer_size**2
             + imager_px * (cfg.imager_frames + 2) * cfg.imager_size**2
             + frame_px * 2 * cfg.imager_size**2  # the imager's test frames
             + patch_px * tuning.frames_per_clean * cfg.imager_frames * cfg.imager_size**2)
    return dataclasses.replace(net, data=int(kept + max(darks, later)))
