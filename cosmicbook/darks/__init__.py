"""Cosmic rays in calibration darks: simulation, extraction, evaluation and a cosmic library.

The chapter's workflow, after the DESI cosmic-ray library (D. Green, DESI-6095):

1. :class:`DarkCamera` / :func:`simulate_dark` -- DESI-like darks with truth;
2. :func:`extract_cosmics` -- seeds above 250 ADU, kept when reaching 400 ADU, grown down to
   3 sigma of a clean dark; :func:`hot_pixel_mask` learns the defects from a stack of darks;
   :func:`extract_threshold` (:mod:`~cosmicbook.darks.baselines`) is the plain n-sigma
   threshold-and-connect baseline;
3. :func:`evaluate_extraction`, :func:`combine_scores` and :func:`fit_rate` -- completeness,
   coverage, purity and the rate of cosmics per second;
4. :class:`CosmicLibrary` -- the footprints as stamps, stored in FITS and injected into clean
   images to make training data;
5. figures: :func:`plot_histogram`, :func:`plot_extraction_stamps`,
   :func:`plot_completeness`, :func:`plot_rate_fit`.
"""

from cosmicbook.darks.baselines import extract_threshold
from cosmicbook.darks.evaluate import (
    SCORE_ROWS,
    ExtractionScore,
    RateFit,
    combine_scores,
    compare_scores,
    evaluate_extraction,
    fit_rate,
)
from cosmicbook.darks.extract import (
    estimate_background,
    extract_cosmics,
    hot_pixel_mask,
    read_dark,
)
from cosmicbook.darks.library import CosmicLibrary, InjectedCosmics
from cosmicbook.darks.plotting import (
    plot_completeness,
    plot_extraction_stamps,
    plot_histogram,
    plot_rate_fit,
)
from cosmicbook.darks.profiles import PROFILES, memory_estimate
from cosmicbook.darks.simulate import (
    DEFAULT_FRACTIONS,
    DEFAULT_RATE,
    KINDS,
    DarkCamera,
    SimulatedDark,
    kanaya_okayama_range,
    simulate_dark,
)

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_RATE",
    "KINDS",
    "PROFILES",
    "SCORE_ROWS",
    "CosmicLibrary",
    "DarkCamera",
    "ExtractionScore",
    "InjectedCosmics",
    "RateFit",
    "SimulatedDark",
    "combine_scores",
    "compare_scores",
    "estimate_background",
    "evaluate_extraction",
    "extract_cosmics",
    "extract_threshold",
    "fit_rate",
    "hot_pixel_mask",
    "kanaya_okayama_range",
    "memory_estimate",
    "plot_completeness",
    "plot_extraction_stamps",
    "plot_histogram",
    "plot_rate_fit",
    "read_dark",
    "simulate_dark",
]
