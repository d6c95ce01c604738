"""Run profiles of the survey chapter, ``notebooks/07_survey`` (see
:func:`cosmicbook.core.config.resolve_profile`).

The chapter runs the book's models over many files and over frames larger than memory with
Dask (:mod:`cosmicbook.core.batch`, :mod:`cosmicbook.deepcr.survey`,
:mod:`cosmicbook.dla.survey`).
"""

from __future__ import annotations

__all__ = ["PROFILES"]

#: Knobs of ``notebooks/07_survey``:
#:
#: ``n_frames``, ``frame_size``
#:     the simulated night: frames written as FITS files, pixels per side (DESI: 4096).
#: ``n_spectra``
#:     quasar spectra of the simulated catalogue, written as SDSS-style files.
#: ``workers``
#:     the worker counts of the throughput measurement (local processes, one thread each).
#: ``check_size``, ``chunk``
#:     side of the frame on which chunked inference is compared with whole-frame inference,
#:     and the chunk side (both even: the pooling grid).
#: ``plane_ccd``
#:     side of the CCDs of the lazily simulated focal plane (LSST: 4096); one chunk of it is
#:     masked.
#: ``seed``
#:     seeds the frames, the spectra and the focal plane.
PROFILES: dict[str, dict] = {
    "ci": {
        "n_frames": 4,
        "frame_size": 256,
        "n_spectra": 4,
        "workers": [1, 2],
        "check_size": 256,
        "chunk": 64,
        "plane_ccd": 256,
        "seed": 7,
    },
    # a few minutes on one core: 16 frames of 1 Mpix, 48 spectra
    "book": {
        "n_frames": 16,
        "frame_size": 1024,
        "n_spectra": 48,
        "workers": [1, 2],
        "check_size": 1024,
        "chunk": 256,
        "plane_ccd": 4096,
        "seed": 7,
    },
    # two DESI exposures (60 CCD frames of 4k x 4k) and 1,000 spectra; meant for a node with
    # many cores (the worker counts), or a cluster through a scheduler address
    "full": {
        "n_frames": 60,
        "frame_size": 4096,
        "n_spectra": 1000,
        "workers": [1, 2, 4, 8],
        "check_size": 4096,
        "chunk": 1024,
        "plane_ccd": 4096,
        "seed": 7,
    },
}
