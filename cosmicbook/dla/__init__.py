"""Damped Lyman-alpha systems in quasar spectra with the multitask 1D CNN of Parks et al.

The chapter's workflow:

1. :func:`simulate_sightlines` / :class:`SightlineSimulator` -- SDSS-like quasar spectra with
   a forest, DLAs and sub-DLAs injected with exact Voigt profiles (:func:`voigt_tau`);
2. :func:`make_labels` and :func:`make_windows` -- per-pixel labels of the three tasks and
   400-pixel training windows;
3. :class:`DLACNN` and :func:`train_model` -- the network and its combined loss; the caller
   builds the network and :func:`train_model` trains it in place with
   :func:`cosmicbook.core.training.fit` (settings in a :class:`TrainingConfig`);
4. :func:`find_dlas` -- DLAs in a spectrum (z_abs, log NHI, confidence), with the weights the
   package ships when ``model=None``; :func:`find_dlas_classical` is the classical baseline
   (trough search and Voigt fit); :func:`read_spectrum` reads SDSS spectrum files;
5. :func:`match_catalogue`, :func:`score`, :func:`binned_rates`, :func:`binned_scores`,
   :func:`confusion_matrix` and the ``plot_*`` figures;
6. real spectra (:mod:`cosmicbook.dla.real`: readers, :func:`degrade_resolution`,
   :func:`rebin_loglinear`, :data:`REAL_SPECTRA`), sightlines of an independently written
   simulator (:func:`independent_sightlines`) and the Gaussian-process finder of Garnett et
   al. as a peer (:class:`GPFinder`, optional ``gp-dla-finder``);
7. surveys -- :func:`find_dlas_catalogue`: every spectrum file of a catalogue on a
   ``dask.distributed`` cluster (optional extra ``survey``), one table of DLAs
   (:class:`DLACatalogue`).
"""

from cosmicbook.dla.baselines import estimate_continuum, find_dlas_classical
from cosmicbook.dla.evaluate import (
    DLAScore,
    add_beyond_simulator_results,
    binned_rates,
    binned_scores,
    confusion_matrix,
    match_catalogue,
    score,
    stack_scores,
    time_finders,
)
from cosmicbook.dla.independent import IndependentConfig, becker_tau_eff, independent_sightlines
from cosmicbook.dla.inference import (
    Tracks,
    check_spectrum,
    detect,
    find_dlas,
    load_model,
    predict_tracks,
    save_model,
)
from cosmicbook.dla.io import Spectrum, read_spectrum, write_spectrum
from cosmicbook.dla.labels import (
    PixelLabels,
    extract_windows,
    forest_pixels,
    make_labels,
    normalise_flux,
    sightline_inputs,
)
from cosmicbook.dla.model import DLACNN
from cosmicbook.dla.peers import (
    GPFinder,
    GPFinderConfig,
    compare_finders,
    describe_gp_comparison,
    gp_available,
    gp_real_spectra,
    load_gp_comparison,
)
from cosmicbook.dla.plotting import (
    plot_accuracy,
    plot_confusion,
    plot_learning_curves,
    plot_rates,
    plot_real_spectra,
    plot_walk,
)
from cosmicbook.dla.profiles import PROFILES, memory_estimate
from cosmicbook.dla.real import (
    REAL_SPECTRA,
    SDSS_RESOLUTION,
    LiteratureDLA,
    RealTarget,
    degrade_resolution,
    describe_real,
    linetools_available,
    linetools_spectrum,
    load_real_spectrum,
    read_boss_hdus,
    read_loglinear_fits,
    read_xshooter_table,
    rebin_loglinear,
    search_real_spectra,
)
from cosmicbook.dla.simulate import (
    DLA_RANGE,
    SUBDLA_RANGE,
    Sightline,
    SightlineSimulator,
    sample_log_nhi,
    simulate_sightlines,
    tau_eff,
)
from cosmicbook.dla.survey import (
    DLACatalogue,
    cached_model,
    find_dlas_catalogue,
    find_dlas_file,
)
from cosmicbook.dla.training import (
    TASKS,
    StreamingWindows,
    TrainingConfig,
    WindowSet,
    make_windows,
    multitask_loss,
    train_model,
)
from cosmicbook.dla.voigt import absorber_transmission, equivalent_width, voigt_tau

__all__ = [
    "DLACNN",
    "DLACatalogue",
    "DLA_RANGE",
    "PROFILES",
    "REAL_SPECTRA",
    "SDSS_RESOLUTION",
    "SUBDLA_RANGE",
    "TASKS",
    "DLAScore",
    "GPFinder",
    "GPFinderConfig",
    "IndependentConfig",
    "LiteratureDLA",
    "PixelLabels",
    "RealTarget",
    "Sightline",
    "SightlineSimulator",
    "Spectrum",
    "StreamingWindows",
    "Tracks",
    "TrainingConfig",
    "WindowSet",
    "absorber_transmission",
    "add_beyond_simulator_results",
    "becker_tau_eff",
    "binned_rates",
    "binned_scores",
    "cached_model",
    "check_spectrum",
    "compare_finders",
    "confusion_matrix",
    "degrade_resolution",
    "describe_gp_comparison",
    "describe_real",
    "detect",
    "equivalent_width",
    "estimate_continuum",
    "extract_windows",
    "find_dlas",
    "find_dlas_catalogue",
    "find_dlas_classical",
    "find_dlas_file",
    "forest_pixels",
    "gp_available",
    "gp_real_spectra",
    "independent_sightlines",
    "linetools_available",
    "linetools_spectrum",
    "load_gp_comparison",
    "load_model",
    "load_real_spectrum",
    "make_labels",
    "make_windows",
    "match_catalogue",
    "memory_estimate",
    "multitask_loss",
    "normalise_flux",
    "plot_accuracy",
    "plot_confusion",
    "plot_learning_curves",
    "plot_rates",
    "plot_real_spectra",
    "plot_walk",
    "predict_tracks",
    "read_boss_hdus",
    "read_loglinear_fits",
    "read_spectrum",
    "read_xshooter_table",
    "rebin_loglinear",
    "sample_log_nhi",
    "save_model",
    "score",
    "search_real_spectra",
    "sightline_inputs",
    "simulate_sightlines",
    "stack_scores",
    "tau_eff",
    "time_finders",
    "train_model",
    "voigt_tau",
    "write_spectrum",
]
