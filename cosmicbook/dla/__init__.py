"""Damped Lyman-alpha systems in quasar spectra with the multitask 1D CNN of Parks et al.

The chapter's workflow:

1. :func:`simulate_sightlines` / :class:`SightlineSimulator` -- SDSS-like quasar spectra with
   a forest, DLAs and sub-DLAs injected with exact Voigt profiles (:func:`voigt_tau`);
2. :func:`make_labels` and :func:`make_windows` -- per-pixel labels of the three tasks and
   400-pixel training windows;
3. :class:`DLACNN` and :func:`train_model` -- the network and its combined loss, trained with
   :func:`cosmicbook.core.training.fit`;
4. :func:`find_dlas` -- DLAs in a spectrum (z_abs, log NHI, confidence), with the weights the
   package ships when ``model=None``; :func:`find_dlas_classical` is the classical baseline
   (trough search and Voigt fit); :func:`read_spectrum` reads SDSS spectrum files;
5. :func:`match_catalogue`, :func:`score`, :func:`binned_rates`, :func:`confusion_matrix`
   and the ``plot_*`` figures.
"""

from cosmicbook.dla.classical import estimate_continuum, find_dlas_classical
from cosmicbook.dla.evaluate import (
    DLAScore,
    binned_rates,
    confusion_matrix,
    match_catalogue,
    score,
)
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
from cosmicbook.dla.plotting import (
    plot_accuracy,
    plot_confusion,
    plot_learning_curves,
    plot_rates,
    plot_walk,
)
from cosmicbook.dla.profiles import PROFILES
from cosmicbook.dla.simulate import (
    DLA_RANGE,
    SUBDLA_RANGE,
    Sightline,
    SightlineSimulator,
    sample_log_nhi,
    simulate_sightlines,
    tau_eff,
)
from cosmicbook.dla.training import TASKS, WindowSet, make_windows, multitask_loss, train_model
from cosmicbook.dla.voigt import absorber_transmission, equivalent_width, voigt_tau

__all__ = [
    "DLACNN",
    "DLA_RANGE",
    "PROFILES",
    "SUBDLA_RANGE",
    "TASKS",
    "DLAScore",
    "PixelLabels",
    "Sightline",
    "SightlineSimulator",
    "Spectrum",
    "Tracks",
    "WindowSet",
    "absorber_transmission",
    "binned_rates",
    "check_spectrum",
    "confusion_matrix",
    "detect",
    "equivalent_width",
    "estimate_continuum",
    "extract_windows",
    "find_dlas",
    "find_dlas_classical",
    "forest_pixels",
    "load_model",
    "make_labels",
    "make_windows",
    "match_catalogue",
    "multitask_loss",
    "normalise_flux",
    "plot_accuracy",
    "plot_confusion",
    "plot_learning_curves",
    "plot_rates",
    "plot_walk",
    "predict_tracks",
    "read_spectrum",
    "sample_log_nhi",
    "save_model",
    "score",
    "sightline_inputs",
    "simulate_sightlines",
    "tau_eff",
    "train_model",
    "voigt_tau",
    "write_spectrum",
]
