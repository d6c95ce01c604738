"""Run profiles of the dark-frame chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES"]

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
    # all frames in memory: ~8 GB.
    "full": {
        "frame_size": 4096,
        "exptimes": [60.0, 120.0, 600.0, 900.0, 1200.0, 1800.0] + [300.0] * 24,
        "timing_size": 4096,
        "seed": 2021,
    },
}
