"""Run profiles of the dark-frame chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/01_dark_frames``:
#:
#: ``frame_size``
#:     pixels per side of the simulated CCD (DESI's are 4096).
#: ``exptimes``
#:     exposure times of the dark series, seconds; repeated values are separate darks.
#: ``timing_size``
#:     side of the frame on which the extraction is timed (4096 = a full DESI CCD).
#: ``seed``
#:     seeds the camera's defects and every exposure.
PROFILES: dict[str, dict] = {
    "ci": {
        "frame_size": 512,
        "exptimes": [60.0, 300.0, 600.0, 1200.0],
        "timing_size": 1024,
        "seed": 2021,
    },
    # DESI-sized CCDs; six 5-minute darks for the library (~2,500 cosmics), plus a series of
    # exposure times for the rate.
    "book": {
        "frame_size": 4096,
        "exptimes": [60.0, 120.0, 300.0, 300.0, 300.0, 300.0, 300.0, 300.0, 600.0, 900.0,
                     1200.0],
        "timing_size": 4096,
        "seed": 2021,
    },
    # 24 five-minute darks (~10,000 cosmics; DESI's library had ~41,000 from more darks). Holds
    # all frames in memory: ~11 GB (memory_estimate), more while one is being extracted.
    "full": {
        "frame_size": 4096,
        "exptimes": [60.0, 120.0, 600.0, 900.0, 1200.0, 1800.0] + [300.0] * 24,
        "timing_size": 4096,
        "seed": 2021,
    },
}


def memory_estimate(cfg):
    """What a profile holds in memory (:class:`~cosmicbook.core.MemoryEstimate`, data only).

    The chapter trains no network: its memory is the dark series, all held at once -- each
    dark's frame, noiseless cosmic image, truth labels and defect mask, and the label images
    of its two extractions (seed + flood fill, 7-sigma threshold) -- plus the hot-pixel mask
    and the timing frame. The bytes per pixel are measured on a 128 x 128 dark and scaled to
    ``frame_size`` (``timing_size`` for the timing frame); the per-cosmic tables and the
    library's stamps (kB to MB) and the transient arrays of one extraction are not counted.
    The global random states are left untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import numpy as np

    from cosmicbook.core.memory import MemoryEstimate, isolated_rng
    from cosmicbook.darks.baselines import extract_threshold
    from cosmicbook.darks.extract import extract_cosmics, hot_pixel_mask
    from cosmicbook.darks.simulate import simulate_dark

    side = 128
    with isolated_rng():
        dark = simulate_dark(shape=(side, side), exptime=300.0, seed=0)
        labels, _ = extract_cosmics(dark.data)
        baseline, _ = extract_threshold(dark.data, nsigma=7.0)
        hot = hot_pixel_mask([dark.data] * 3, progress=False)
    per_dark = sum(a.nbytes for a in vars(dark).values() if isinstance(a, np.ndarray))
    per_series = (per_dark + labels.nbytes + baseline.nbytes) / side**2
    data = (len(cfg.exptimes) * per_series + hot.nbytes / side**2) * cfg.frame_size**2 + \
        per_dark / side**2 * cfg.timing_size**2
    return MemoryEstimate(weights=0, gradients=0, optimizer=0, activations=0, data=int(data))
