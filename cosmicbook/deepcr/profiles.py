"""Run profiles of the deepCR chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES"]

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
